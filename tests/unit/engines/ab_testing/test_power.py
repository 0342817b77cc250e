"""Power and sample size against statsmodels' NormalIndPower."""

from __future__ import annotations

import math

import pytest
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    proportion_effectsize,
)

from assay.engines.ab_testing import (
    cohens_h,
    plan_sample_size,
    power_two_proportions,
    sample_size_per_variant,
)


@pytest.mark.parametrize(("p1", "p2"), [(0.12, 0.10), (0.5, 0.45), (0.01, 0.02)])
@pytest.mark.parametrize("alternative", ["two-sided", "larger"])
@pytest.mark.parametrize("ratio", [1.0, 2.0])
def test_power_and_sample_size_match_statsmodels(p1, p2, alternative, ratio):
    h = cohens_h(p1, p2)
    assert h == pytest.approx(proportion_effectsize(p1, p2), abs=1e-12)
    h = abs(h)
    sm = NormalIndPower()
    for n in (100, 2500, 40_000):
        assert power_two_proportions(h, n, 0.05, ratio, alternative) == pytest.approx(
            sm.power(h, n, 0.05, ratio, alternative), abs=1e-9
        )
    n = sample_size_per_variant(h, 0.05, 0.8, ratio, alternative)
    n_sm = sm.solve_power(h, nobs1=None, alpha=0.05, power=0.8, ratio=ratio, alternative=alternative)
    # statsmodels' own power function says our n is exact; its root finder stops ~1e-9 relative short of it
    assert sm.power(h, n, 0.05, ratio, alternative) == pytest.approx(0.8, abs=1e-12)
    assert n == pytest.approx(n_sm, rel=1e-8)


def test_power_smaller_alternative():
    assert power_two_proportions(-0.1, 800, 0.05, alternative="smaller") == pytest.approx(
        NormalIndPower().power(-0.1, 800, 0.05, alternative="smaller"), abs=1e-12
    )


def test_plan_sample_size():
    plan = plan_sample_size(0.10, 0.02, alpha=0.05, power=0.8)
    expected = NormalIndPower().solve_power(proportion_effectsize(0.12, 0.10), nobs1=None, alpha=0.05, power=0.8)
    assert plan.per_variant == pytest.approx(expected, rel=1e-9)
    assert plan.per_variant_ceil == math.ceil(expected) and plan.target_rate == pytest.approx(0.12)
    with pytest.raises(ValueError, match="must stay in"):
        plan_sample_size(0.99, 0.05)
    assert sample_size_per_variant(0.0, 0.05, 0.8) == math.inf
