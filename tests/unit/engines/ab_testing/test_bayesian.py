"""The Beta-Binomial comparison against the exact closed-form sum and by Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import betaln

from assay.engines.ab_testing import (
    VariantCounts,
    beta_binomial,
    prob_b_greater,
)


def evan_miller(a1, b1, a2, b2):
    """Closed-form P(p2 > p1) for integer a2 (Evan Miller), an independent check of the integration."""
    i = np.arange(int(a2))
    return float(np.sum(np.exp(betaln(a1 + i, b1 + b2) - np.log(b2 + i) - betaln(1 + i, b2) - betaln(a1, b1))))


@pytest.mark.parametrize("params", [(3, 9, 5, 7), (101, 901, 121, 881), (1001, 9001, 1051, 8951), (1, 50, 2, 49)])
def test_exact_probability_matches_closed_form(params):
    assert prob_b_greater(*params) == pytest.approx(evan_miller(*params), abs=1e-9)


def test_beta_binomial_lift_and_monte_carlo():
    a, b = VariantCounts(2000, 200), VariantCounts(2000, 240)
    res = beta_binomial(a, b, draws=400_000, seed=1)
    aa, ab, ba, bb = 201, 1801, 241, 1761
    assert res.prob_challenger_higher == pytest.approx(evan_miller(aa, ab, ba, bb), abs=1e-9)
    assert res.expected_lift == pytest.approx(ba / (ba + bb) * (aa + ab - 1) / (aa - 1) - 1, abs=1e-12)
    rng = np.random.default_rng(9)
    pa, pb = rng.beta(aa, ab, 400_000), rng.beta(ba, bb, 400_000)
    assert (pb / pa - 1).mean() == pytest.approx(res.expected_lift, abs=0.003)
    assert (pb > pa).mean() == pytest.approx(res.prob_challenger_higher, abs=0.003)
    lo, hi = res.lift_interval
    assert lo < res.expected_lift < hi and lo < 0.2 - 0.05
    assert beta_binomial(a, b, seed=1, draws=5000) == beta_binomial(a, b, seed=1, draws=5000)
    assert beta_binomial(VariantCounts(100, 0), b).expected_lift is None  # E[1/p] infinite with Beta(1, .)
