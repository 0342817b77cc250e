"""Power and sample size of the two-proportion z-test, with Cohen's h as the effect size.

Cohen's h and the power are statsmodels' (``proportion_effectsize``, ``NormalIndPower().power``). The sample
size solves that same power function with ``scipy.optimize.brentq`` rather than calling
``NormalIndPower().solve_power``, on purpose: solve_power's n misses the power it was asked for by up to
~4e-10 (e.g. 0.8000000004), while this root meets it to 1e-12, which the tests check. Its bracket starts at
the normal-approximation guess and widens until it holds the root (a power just above alpha included).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import optimize, stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from assay.engines.ab_testing.frequentist import Alternative

_NORMAL_IND_POWER = NormalIndPower()


def cohens_h(p1: float, p2: float) -> float:
    """Effect size of two proportions (Cohen's h): statsmodels ``proportion_effectsize(p1, p2)``."""
    return float(proportion_effectsize(p1, p2))


def power_two_proportions(
    effect_size: float, nobs1: float, alpha: float, ratio: float = 1.0, alternative: Alternative = "two-sided"
) -> float:
    """Power of the two-sample z-test: statsmodels ``NormalIndPower().power``."""
    return float(_NORMAL_IND_POWER.power(effect_size, nobs1, alpha, ratio, alternative))


def sample_size_per_variant(
    effect_size: float, alpha: float, power: float, ratio: float = 1.0, alternative: Alternative = "two-sided"
) -> float:
    """Exposures of the first variant (the second gets ``ratio`` times as many) giving ``power``.

    Power rises from ``alpha`` (no exposures) towards 1, so ``power`` must lie in (alpha, 1); an effect of
    0 (or, one-sided, in the wrong direction) never reaches it: infinite.
    """
    if not alpha < power < 1:
        raise ValueError(f"power ({power:g}) must be greater than alpha ({alpha:g}) and below 1")
    h = abs(effect_size) if alternative == "two-sided" else effect_size
    if h == 0 or (alternative == "larger" and h < 0) or (alternative == "smaller" and h > 0):
        return math.inf

    def shortfall(n: float) -> float:
        return power_two_proportions(h, n, alpha, ratio, alternative) - power

    z_a = stats.norm.isf(alpha / 2 if alternative == "two-sided" else alpha)
    guess = max((1 + 1 / ratio) * ((z_a + stats.norm.ppf(power)) / h) ** 2, 1e-300)
    lo, hi = guess / 4, guess * 4
    while shortfall(lo) > 0 and lo > 1e-300:  # power just above alpha: the normal guess overshoots
        lo /= 16
    while shortfall(hi) < 0:
        hi *= 16
    return float(optimize.brentq(shortfall, lo, hi, xtol=1e-12, rtol=1e-14, maxiter=500))


@dataclass(frozen=True)
class SampleSizePlan:
    baseline_rate: float
    target_rate: float
    effect_size: float
    alpha: float
    power: float
    per_variant: float
    per_variant_ceil: int


def plan_sample_size(
    baseline_rate: float, minimum_detectable_effect: float, alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0
) -> SampleSizePlan:
    """Exposures per variant needed to detect ``baseline_rate + minimum_detectable_effect`` (absolute)."""
    target = baseline_rate + minimum_detectable_effect
    if not 0 <= baseline_rate <= 1 or not 0 <= target <= 1 or minimum_detectable_effect == 0:
        raise ValueError(
            f"baseline rate {baseline_rate} plus effect {minimum_detectable_effect} must stay in [0, 1] "
            "and the effect must not be 0"
        )
    h = cohens_h(target, baseline_rate)
    n = sample_size_per_variant(h, alpha, power, ratio)
    return SampleSizePlan(baseline_rate, target, h, alpha, power, n, math.ceil(n))
