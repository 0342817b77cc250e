"""Bayesian Beta-Binomial comparison: exact P(challenger better) by numerical integration, exact expected
relative lift E[p_challenger / p_champion] - 1, and a seeded Monte Carlo credible interval of the lift and
the expected loss."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import integrate, stats

from assay.engines.ab_testing.outcomes import VariantCounts


@dataclass(frozen=True)
class BayesResult:
    prob_challenger_higher: float
    expected_lift: float | None  # E[p_challenger / p_champion] - 1; None when infinite
    lift_interval: tuple[float, float]
    expected_loss_choosing_challenger: float  # E[max(p_champion - p_challenger, 0)] for higher-is-better


def prob_b_greater(a_alpha: float, a_beta: float, b_alpha: float, b_beta: float) -> float:
    """Exact P(p_B > p_A) for independent Beta posteriors: integral of f_B(x) F_A(x) over [0, 1]."""
    dist_a, dist_b = stats.beta(a_alpha, a_beta), stats.beta(b_alpha, b_beta)
    lo = min(dist_a.ppf(1e-15), dist_b.ppf(1e-15))
    hi = max(dist_a.isf(1e-15), dist_b.isf(1e-15))
    points = sorted({float(dist_a.mean()), float(dist_b.mean())})
    value, _ = integrate.quad(
        lambda x: dist_b.pdf(x) * dist_a.cdf(x), lo, hi, points=points, limit=500, epsabs=1e-13, epsrel=1e-11
    )
    return float(min(max(value, 0.0), 1.0))


def beta_binomial(
    champion: VariantCounts,
    challenger: VariantCounts,
    *,
    prior_alpha: float = 1.0,
    prior_beta: float = 1.0,
    draws: int = 200_000,
    seed: int = 0,
    interval: float = 0.95,
) -> BayesResult:
    """Posterior comparison of the two rates under Beta(prior_alpha, prior_beta) priors."""
    aa, ab = prior_alpha + champion.conversions, prior_beta + champion.exposures - champion.conversions
    ba, bb = prior_alpha + challenger.conversions, prior_beta + challenger.exposures - challenger.conversions
    prob = prob_b_greater(aa, ab, ba, bb)
    lift = ba / (ba + bb) * (aa + ab - 1) / (aa - 1) - 1 if aa > 1 else None
    rng = np.random.default_rng(seed)
    pa, pb = rng.beta(aa, ab, size=draws), rng.beta(ba, bb, size=draws)
    with np.errstate(divide="ignore"):
        lifts = pb / pa - 1
    tail = (1 - interval) / 2
    lo, hi = np.quantile(lifts, [tail, 1 - tail])
    return BayesResult(prob, lift, (float(lo), float(hi)), float(np.maximum(pa - pb, 0).mean()))
