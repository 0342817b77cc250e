"""A/B analysis of a champion and a challenger model from recorded experiment outcomes.

Input: rows of ``metric, variant, exposures, conversions`` (one per user, day or variant), as a
DataFrame or as mappings; ``outcomes_from_frame`` sums them per metric and variant with vectorised
validation (no per-row Python objects, so 1M per-user rows stay columnar end to end). For every metric:

* frequentist: pooled two-proportion z-test (challenger - champion) and a confidence interval of the
  difference (Newcomb hybrid score by default, or Wald). The closed forms below are vectorised so
  that sequential simulations can use them; the tests hold them to statsmodels'
  ``proportions_ztest`` and ``confint_proportions_2indep`` within 1e-9;
* small samples: the z-test is only used when every expected count of the 2x2 table (variant x
  converted) under H0 is at least ``MIN_EXPECTED_COUNT`` (5, Cochran's rule); below it the p-value is
  Fisher's exact test (``scipy.stats.fisher_exact``), e.g. 0/3 vs 3/3 gives p = 0.1, not the z-test's 0.014;
* Bayesian Beta-Binomial: exact P(challenger better) by numerical integration, exact expected
  relative lift E[p_challenger / p_champion] - 1, and a seeded Monte Carlo credible interval of the
  lift and expected loss; a winner needs P(better) > ``prob_better_threshold`` (0.95);
* power: achieved power for the minimum detectable effect at the observed exposures and the sample
  size per variant it needs (Cohen's h, as statsmodels ``NormalIndPower``);
* sequential monitoring (optional): the standard two-sided Lan-DeMets boundary (alpha/2 spent per side
  with the O'Brien-Fleming- or Pocock-type function, as gsDesign ``test.type=2``, rpact ``sided=2`` and
  ldbounds do) for the current look, computed by recursive numerical integration;
* several primary metrics: p-values adjusted by Holm or Benjamini-Hochberg (statsmodels
  ``multipletests``); with sequential monitoring, Bonferroni splits alpha across primary metrics;
* guardrail metrics: a one-sided test that the challenger is worse; significant degradation is FAIL.

Statuses: a primary metric significantly better is PASS, significantly worse FAIL, inconclusive (or
an interim look below its boundary) WARN; invalid input is ERROR. ``decision`` says what to do.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from scipy import integrate, optimize, stats
from statsmodels.stats.multitest import multipletests

from assay.errors import ConfigError
from assay.status import Status, worst
from assay.store.records import CheckRecord, MetricRecord

Alternative = Literal["two-sided", "larger", "smaller"]
Decision = Literal["challenger_wins", "champion_wins", "inconclusive", "continue", "invalid"]


# --------------------------------------------------------------------------- configuration


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ABMetricConfig(_Strict):
    role: Literal["primary", "guardrail"] = "primary"
    higher_is_better: bool = True


class SequentialConfig(_Strict):
    """Planned looks at equal information fractions of ``planned_exposures_per_variant``."""

    planned_exposures_per_variant: int = Field(gt=0)
    looks: int = Field(5, ge=1, le=50)
    spending: Literal["obrien_fleming", "pocock"] = "obrien_fleming"


class ABTestConfig(_Strict):
    champion: str = "champion"
    challenger: str = "challenger"
    alpha: float = Field(0.05, gt=0, lt=0.5)
    power: float = Field(0.8, gt=0, lt=1)
    minimum_detectable_effect: float = Field(0.01, gt=0, lt=1)  # absolute difference of rates
    ci_method: Literal["newcomb", "wald"] = "newcomb"
    correction: Literal["holm", "fdr_bh", "none"] = "holm"
    prob_better_threshold: float = Field(0.95, gt=0.5, lt=1)
    prior_alpha: float = Field(1.0, gt=0)
    prior_beta: float = Field(1.0, gt=0)
    monte_carlo_draws: int = Field(200_000, ge=1000, le=10_000_000)
    seed: int = 0
    metrics: dict[str, ABMetricConfig] = Field(default_factory=dict)  # unlisted metrics: primary, higher better
    sequential: SequentialConfig | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ABTestConfig:
        if self.champion == self.challenger:
            raise ValueError("champion and challenger must be different variant names")
        if self.power <= self.alpha:
            raise ValueError(
                f"power ({self.power:g}) must be greater than alpha ({self.alpha:g}): a level-alpha test already "
                "rejects with probability alpha when there is no effect, so no sample size gives less power"
            )
        return self

    def metric(self, name: str) -> ABMetricConfig:
        return self.metrics.get(name, ABMetricConfig())


def parse_ab_config(data: Mapping[str, Any]) -> ABTestConfig:
    """Validate an A/B config mapping; a bad key or value raises ConfigError naming its dotted path."""
    try:
        return ABTestConfig.model_validate(dict(data))
    except ValidationError as exc:
        lines = [f"{'.'.join(str(p) for p in err['loc']) or '<config>'}: {err['msg']}" for err in exc.errors()]
        raise ConfigError("invalid A/B test config:\n  " + "\n  ".join(lines)) from None


# --------------------------------------------------------------------------- input


@dataclass(frozen=True)
class VariantCounts:
    exposures: int
    conversions: int

    @property
    def rate(self) -> float:
        return self.conversions / self.exposures


@dataclass(frozen=True)
class MetricCounts:
    name: str
    champion: VariantCounts
    challenger: VariantCounts


REQUIRED_COLUMNS = ("metric", "variant", "exposures", "conversions")
_SHOWN_ROWS = 5  # rows quoted per kind of bad row; the rest are counted


def _quoted_rows(kind: str, rows: list[str], total: int) -> list[str]:
    more = total - len(rows)
    return rows + ([f"... and {more} more row(s) with the same problem ({kind})"] if more > 0 else [])


def outcomes_from_frame(
    frame: pd.DataFrame, champion: str = "champion", challenger: str = "challenger"
) -> tuple[list[MetricCounts], list[str]]:
    """Sum rows of ``metric, variant, exposures, conversions`` per metric and variant, columnar.

    Returns the metrics that are complete and valid, and a list of problems (each one explains itself; at
    most five bad rows of each kind are quoted, the rest counted). Rows of the same metric and variant
    (e.g. one per user or per day) are added up; metrics keep the order of their first row.
    """
    if len(frame) == 0:
        return [], ["no experiment outcomes were recorded"]
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        return [], [
            f"the outcomes have no column(s) {missing}; each row needs {list(REQUIRED_COLUMNS)} "
            f"(columns found: {[str(c) for c in frame.columns]})"
        ]
    problems: list[str] = []
    # metrics: factorised once; values whose str() is equal are one metric, empty ones are invalid
    codes, uniques = pd.factorize(frame["metric"], use_na_sentinel=True)  # NaN/None: code -1
    names = [str(u) if u else None for u in uniques]  # an empty metric name is invalid
    position = {name: i for i, name in enumerate(dict.fromkeys(n for n in names if n is not None))}
    distinct = list(position)
    # the appended -1 is what the NaN sentinel (code -1) picks
    metric = np.array([position.get(n, -1) for n in names] + [-1], dtype=np.int64)[codes]
    vcodes, vuniques = pd.factorize(frame["variant"], use_na_sentinel=True)
    side = {champion: 0, challenger: 1}
    variant = np.array([side.get(u, -1) if isinstance(u, str) else -1 for u in vuniques] + [-1], dtype=np.int64)[vcodes]
    bad_key = (metric < 0) | (variant < 0)
    if bad_key.any():
        idx = np.flatnonzero(bad_key)
        shown = frame.iloc[idx[:_SHOWN_ROWS]]
        rows = [
            f"row {i}: needs a metric and a variant of {champion!r} or {challenger!r}, got metric={m!r} variant={v!r}"
            for i, m, v in zip(
                idx[:_SHOWN_ROWS].tolist(), shown["metric"].tolist(), shown["variant"].tolist(), strict=True
            )
        ]
        problems += _quoted_rows("metric or variant", rows, len(idx))
    exposures = pd.to_numeric(frame["exposures"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    conversions = pd.to_numeric(frame["conversions"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        whole = (
            np.isfinite(exposures)
            & np.isfinite(conversions)
            & (exposures >= 0)
            & (conversions >= 0)
            & (exposures == np.floor(exposures))
            & (conversions == np.floor(conversions))
        )
    bad_value = ~bad_key & ~whole
    if bad_value.any():
        idx = np.flatnonzero(bad_value)
        shown = frame.iloc[idx[:_SHOWN_ROWS]]
        rows = [
            f"row {i} ({m}/{v}): exposures and conversions must be whole numbers >= 0, got {e!r} and {c!r}"
            for i, m, v, e, c in zip(
                idx[:_SHOWN_ROWS].tolist(),
                shown["metric"].tolist(),
                shown["variant"].tolist(),
                shown["exposures"].tolist(),
                shown["conversions"].tolist(),
                strict=True,
            )
        ]
        problems += _quoted_rows("exposures or conversions", rows, len(idx))
    good = ~bad_key & whole
    keys = metric[good] * 2 + variant[good]
    size = 2 * len(distinct)
    n = np.bincount(keys, weights=exposures[good], minlength=size).reshape(-1, 2)
    x = np.bincount(keys, weights=conversions[good], minlength=size).reshape(-1, 2)
    rows_per = np.bincount(keys, minlength=size).reshape(-1, 2)
    present = np.bincount(metric[good], minlength=len(distinct)) > 0
    outcomes = []
    for m, name in enumerate(distinct):
        if not present[m]:
            continue  # every row of this metric was invalid and is reported above
        bad = False
        for j, variant_name in enumerate((champion, challenger)):
            nj, xj = int(n[m, j]), int(x[m, j])
            if rows_per[m, j] == 0 or nj == 0:
                problems.append(f"metric {name!r}: variant {variant_name!r} has zero exposures; nothing to compare")
                bad = True
            elif xj > nj:
                problems.append(
                    f"metric {name!r}: variant {variant_name!r} has {xj} conversions but only {nj} exposures"
                )
                bad = True
        if not bad:
            outcomes.append(
                MetricCounts(
                    name,
                    VariantCounts(int(n[m, 0]), int(x[m, 0])),
                    VariantCounts(int(n[m, 1]), int(x[m, 1])),
                )
            )
    return outcomes, problems


def outcomes_from_records(
    records: Iterable[Mapping[str, Any]] | pd.DataFrame, champion: str = "champion", challenger: str = "challenger"
) -> tuple[list[MetricCounts], list[str]]:
    """:func:`outcomes_from_frame` for rows given as mappings (or already as a DataFrame)."""
    if not isinstance(records, pd.DataFrame):
        records = pd.DataFrame([dict(r) for r in records])
    return outcomes_from_frame(records, champion, challenger)


# --------------------------------------------------------------------------- frequentist


def two_proportion_ztest(x1, n1, x2, n2, alternative: Alternative = "two-sided"):  # noqa: ANN001, ANN201
    """Pooled z statistic and p-value of p1 - p2 (arrays broadcast); as ``proportions_ztest([x1, x2], [n1, n2])``.

    With no variance (both rates 0 or both 1) z is 0 and p is 1: there is no evidence of a difference.
    """
    x1, n1, x2, n2 = (np.asarray(v, dtype=np.float64) for v in (x1, n1, x2, n2))
    pooled = (x1 + x2) / (n1 + n2)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (x1 / n1 - x2 / n2) / np.where(se > 0, se, 1.0), 0.0)
    if alternative == "two-sided":
        p = 2 * stats.norm.sf(np.abs(z))
    elif alternative == "larger":
        p = stats.norm.sf(z)
    else:
        p = stats.norm.cdf(z)
    return (float(z), float(p)) if z.ndim == 0 else (z, p)


MIN_EXPECTED_COUNT = 5.0  # Cochran's rule: the z-test needs every expected 2x2 count >= 5 under H0


def min_expected_count(x1: int, n1: int, x2: int, n2: int) -> float:
    """Smallest expected cell of the 2x2 table (variant x converted or not) under H0 (the pooled rate)."""
    total, converted = n1 + n2, x1 + x2
    return min(n1, n2) * min(converted, total - converted) / total


def fisher_exact_test(x1: int, n1: int, x2: int, n2: int, alternative: Alternative = "two-sided") -> float:
    """Fisher's exact p-value of p1 vs p2 (``alternative`` as in :func:`two_proportion_ztest`)."""
    side = {"two-sided": "two-sided", "larger": "greater", "smaller": "less"}[alternative]
    table = [[x1, n1 - x1], [x2, n2 - x2]]
    return float(stats.fisher_exact(table, alternative=side).pvalue)


def wilson_interval(x: float, n: float, alpha: float) -> tuple[float, float]:
    """Wilson score interval of a proportion."""
    z = stats.norm.isf(alpha / 2)
    p = x / n
    denom = 1 + z**2 / n
    center = (p + z**2 / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return center - half, center + half


def diff_confint(x1: int, n1: int, x2: int, n2: int, alpha: float, method: str = "newcomb") -> tuple[float, float]:
    """Confidence interval of p1 - p2 (``confint_proportions_2indep(..., compare='diff')``)."""
    p1, p2 = x1 / n1, x2 / n2
    if method == "wald":
        half = stats.norm.isf(alpha / 2) * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
        return p1 - p2 - half, p1 - p2 + half
    low1, upp1 = wilson_interval(x1, n1, alpha)
    low2, upp2 = wilson_interval(x2, n2, alpha)
    return (
        p1 - p2 - math.sqrt((p1 - low1) ** 2 + (upp2 - p2) ** 2),
        p1 - p2 + math.sqrt((p2 - low2) ** 2 + (upp1 - p1) ** 2),
    )


def cohens_h(p1: float, p2: float) -> float:
    """Effect size of two proportions, as statsmodels ``proportion_effectsize(p1, p2)``."""
    return 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2))


def power_two_proportions(
    effect_size: float, nobs1: float, alpha: float, ratio: float = 1.0, alternative: Alternative = "two-sided"
) -> float:
    """Power of the two-sample z-test, as statsmodels ``NormalIndPower().power``."""
    nobs = 1.0 / (1.0 / nobs1 + 1.0 / (nobs1 * ratio))
    shift = effect_size * math.sqrt(nobs)
    if alternative == "two-sided":
        crit = stats.norm.isf(alpha / 2)
        return float(stats.norm.sf(crit - shift) + stats.norm.cdf(-crit - shift))
    if alternative == "larger":
        return float(stats.norm.sf(stats.norm.isf(alpha) - shift))
    return float(stats.norm.cdf(stats.norm.ppf(alpha) - shift))


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


def adjust_pvalues(pvalues: Sequence[float], alpha: float, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Reject flags and adjusted p-values across metrics (statsmodels ``multipletests``).

    With one p-value every correction is the identity, so statsmodels is not called (its Holm branch runs
    a full ``gc.collect()``, 0.1-0.3 s in a process that holds a million-row frame).
    """
    p = np.asarray(pvalues, dtype=np.float64)
    if method == "none" or len(p) <= 1:
        return p < alpha, p
    reject, adjusted, _, _ = multipletests(p, alpha=alpha, method=method)
    return reject, adjusted


# --------------------------------------------------------------------------- Bayesian


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


# --------------------------------------------------------------------------- sequential


def alpha_spent(t: np.ndarray | float, alpha: float, spending: str = "obrien_fleming") -> np.ndarray:
    """Cumulative two-sided alpha spent by information fraction ``t``: ``alpha / 2`` per side, each side
    spent with the Lan-DeMets (1983) function, as gsDesign (``sfLDOF`` / ``sfLDPocock``, ``test.type=2``),
    rpact (``asOF`` / ``asP``, ``sided=2``) and ldbounds (``iuse=1`` / ``2``, ``alpha=c(a/2, a/2)``) do.

    O'Brien-Fleming type, per side: ``2 - 2 Phi(z_{1 - (alpha/2)/2} / sqrt(t))``; Pocock type, per side:
    ``(alpha/2) ln(1 + (e - 1) t)``. (Spending the whole ``alpha`` with the one-sided formula, as Assay
    did before, spends 11x more at t = 0.2.)
    """
    t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
    per_side = alpha / 2
    if spending == "obrien_fleming":
        with np.errstate(divide="ignore"):
            return 2 * np.where(t > 0, 2 * stats.norm.sf(stats.norm.isf(per_side / 2) / np.sqrt(t)), 0.0)
    if spending == "pocock":
        return 2 * per_side * np.log1p((math.e - 1) * t)
    raise ValueError(f"unknown spending function {spending!r}; use 'obrien_fleming' or 'pocock'")


def _simpson_weights(m: int, width: float) -> np.ndarray:
    w = np.ones(m)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    return w * width / (3 * (m - 1))


def _excess_exit(b: float, s: np.ndarray, mass: np.ndarray, tk: float, sd: float, spend: float) -> float:
    """P(continue until now, then |Z_k| >= b) minus the alpha to spend at this look."""
    c = b * math.sqrt(tk)
    return float(np.sum(mass * (stats.norm.cdf((-c - s) / sd) + stats.norm.sf((c - s) / sd)))) - spend


def group_sequential_bounds(
    fractions: Sequence[float], alpha: float = 0.05, spending: str = "obrien_fleming", grid: int = 401
) -> np.ndarray:
    """Two-sided |z| boundaries for looks at increasing information ``fractions`` (the last may be < 1).

    Under H0 the score process S(t) = Z(t) * sqrt(t) has independent N(0, dt) increments. The boundary
    of look k makes P(no earlier crossing, |Z_k| >= b_k) equal the alpha spent between looks k-1 and k;
    the sub-density of continuing paths is carried from look to look on a Simpson grid.
    """
    t = np.asarray(fractions, dtype=np.float64)
    if t.ndim != 1 or len(t) == 0 or t[0] <= 0 or t[-1] > 1 + 1e-12 or np.any(np.diff(t) <= 0):
        raise ValueError(f"information fractions must increase within (0, 1], got {list(fractions)}")
    m = grid | 1
    increments = np.diff(np.concatenate([[0.0], alpha_spent(t, alpha, spending)]))
    bounds = np.empty(len(t))
    s = weights = density = None
    for k, (tk, spend) in enumerate(zip(t, increments, strict=True)):
        if k == 0:
            bounds[0] = stats.norm.isf(spend / 2) if spend > 0 else np.inf
            half = min(bounds[0], 40.0) * math.sqrt(tk)
            s = np.linspace(-half, half, m)
            density = stats.norm.pdf(s, scale=math.sqrt(tk))
        else:
            sd = math.sqrt(tk - t[k - 1])
            mass = weights * density
            bounds[k] = (
                optimize.brentq(_excess_exit, 1e-9, 40.0, args=(s, mass, tk, sd, spend), xtol=1e-12)
                if spend > 1e-15
                else np.inf
            )
            half = min(bounds[k], 40.0) * math.sqrt(tk)
            new_s = np.linspace(-half, half, m)
            density = stats.norm.pdf((new_s[:, None] - s[None, :]) / sd) @ mass / sd
            s = new_s
        weights = _simpson_weights(m, s[-1] - s[0])
    return bounds


@dataclass(frozen=True)
class SequentialLook:
    look: int
    fractions: tuple[float, ...]
    boundary: float
    alpha: float
    final: bool


def current_look(cfg: SequentialConfig, exposures: int, alpha: float) -> SequentialLook:
    """The boundary for a look at ``exposures`` per variant: earlier looks at the planned equal fractions."""
    t_now = min(exposures / cfg.planned_exposures_per_variant, 1.0)
    planned = [j / cfg.looks for j in range(1, cfg.looks + 1)]
    fractions = [f for f in planned if f < t_now - 1e-9] + [t_now]
    bounds = group_sequential_bounds(fractions, alpha, cfg.spending)
    return SequentialLook(len(fractions), tuple(fractions), float(bounds[-1]), alpha, t_now >= 1.0)


# --------------------------------------------------------------------------- analysis


@dataclass
class MetricAnalysis:
    name: str
    role: str
    higher_is_better: bool
    champion: VariantCounts
    challenger: VariantCounts
    difference: float  # challenger rate - champion rate
    confidence_interval: tuple[float, float]
    z: float
    p_value: float  # two-sided for primary metrics, one-sided (challenger worse) for guardrails
    test: Literal["z", "fisher_exact"] = "z"  # which test gave p_value (see MIN_EXPECTED_COUNT)
    min_expected: float | None = None  # smallest expected 2x2 count under H0
    normal_p_value: float | None = None  # the z-test's p when an exact test replaced it
    p_adjusted: float | None = None
    outcome: Literal["better", "worse", "no_difference", "continue"] = "no_difference"
    bayes: BayesResult | None = None
    prob_better: float | None = None
    power: float | None = None
    required_per_variant: float | None = None
    sequential: SequentialLook | None = None

    def describe_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["champion_rate"], data["challenger_rate"] = self.champion.rate, self.challenger.rate
        return _json_safe(data)


def _json_safe(value: Any) -> Any:
    """Non-finite floats become None and tuples lists, so the summary survives strict JSON."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


@dataclass
class ABTestResult:
    name: str
    started_at: datetime
    finished_at: datetime
    decision: Decision
    checks: list[CheckRecord] = field(default_factory=list)
    metrics: list[MetricRecord] = field(default_factory=list)
    analyses: list[MetricAnalysis] = field(default_factory=list)
    message: str = ""

    @property
    def status(self) -> Status:
        return worst(c.status for c in self.checks)

    def describe_dict(self) -> dict[str, Any]:
        bad = [c for c in self.checks if c.status in ("FAIL", "ERROR", "WARN")]
        return {
            "name": self.name,
            "kind": "ab_test",
            "status": self.status.value,
            "decision": self.decision,
            "message": self.message,
            "duration_s": round((self.finished_at - self.started_at).total_seconds(), 3),
            "evaluated": len(self.checks),
            "successful": len(self.checks) - len(bad),
            "unsuccessful": len(bad),
            "metrics": [a.describe_dict() for a in self.analyses],
        }


def _direction(diff_sign: float, higher_is_better: bool) -> str:
    return "better" if (diff_sign > 0) == higher_is_better else "worse"


def _analyse(counts: MetricCounts, cfg: ABTestConfig) -> MetricAnalysis:
    mc = cfg.metric(counts.name)
    a, b = counts.champion, counts.challenger
    # guardrails are one-sided: is the challenger worse?
    alternative: Alternative = "two-sided" if mc.role == "primary" else ("smaller" if mc.higher_is_better else "larger")
    cells = (b.conversions, b.exposures, a.conversions, a.exposures)
    z, p = two_proportion_ztest(*cells, alternative)
    ci = diff_confint(*cells, cfg.alpha, cfg.ci_method)
    expected = min_expected_count(*cells)
    analysis = MetricAnalysis(
        counts.name, mc.role, mc.higher_is_better, a, b, b.rate - a.rate, ci, z, p, min_expected=expected
    )
    if expected < MIN_EXPECTED_COUNT:  # the normal approximation does not hold: Fisher's exact test decides
        analysis.test, analysis.normal_p_value = "fisher_exact", p
        analysis.p_value = fisher_exact_test(*cells, alternative)
    return analysis


def _test_note(a: MetricAnalysis) -> str:
    """How ``a.p_value`` was computed, for check messages."""
    if a.test == "z":
        return f"z={a.z:.3f}, p={a.p_value:.4g}"
    return (
        f"Fisher's exact p={a.p_value:.4g} (smallest expected count {a.min_expected:.2f} < {MIN_EXPECTED_COUNT:g}: "
        f"the z-test's normal approximation does not hold; z={a.z:.3f} would give p={a.normal_p_value:.4g})"
    )


def analyze_experiment(
    outcomes: Sequence[MetricCounts],
    config: ABTestConfig | None = None,
    *,
    problems: Sequence[str] = (),
    name: str = "ab_test",
) -> ABTestResult:
    """Analyse every metric of an experiment; input problems (from ``outcomes_from_records``) are ERROR."""
    cfg = config or ABTestConfig()
    started = datetime.now(UTC)
    checks = [CheckRecord("ab:input", Status.ERROR, message=p) for p in problems]
    present = {o.name for o in outcomes}
    checks += [
        CheckRecord(f"ab:{m}:input", Status.ERROR, message=f"configured metric {m!r} has no recorded outcomes")
        for m in cfg.metrics
        if m not in present and not any(m in p for p in problems)
    ]
    analyses = [_analyse(o, cfg) for o in outcomes]
    primary = [a for a in analyses if a.role == "primary"]
    guardrails = [a for a in analyses if a.role == "guardrail"]
    if not primary and not checks:
        checks.append(CheckRecord("ab:input", Status.ERROR, message="no primary metric to decide on (only guardrails)"))
    metrics: list[MetricRecord] = []
    _decide_primary(primary, cfg, checks, metrics)
    for g in guardrails:
        worse = g.p_value < cfg.alpha
        g.outcome = "worse" if worse else "no_difference"
        checks.append(
            CheckRecord(
                f"ab:guardrail:{g.name}",
                Status.FAIL if worse else Status.PASS,
                observed=g.p_value,
                threshold=cfg.alpha,
                comparator=">=",
                message=f"guardrail {g.name}: challenger {g.challenger.rate:.4%} vs champion "
                f"{g.champion.rate:.4%} ({'higher' if g.higher_is_better else 'lower'} is better); one-sided "
                + _test_note(g)
                + (" - significantly worse" if worse else " - no significant degradation"),
            )
        )
    for a in analyses:
        labels = {"metric": a.name, "role": a.role}
        metrics += [
            MetricRecord("ab.champion_rate", a.champion.rate, "ratio", labels),
            MetricRecord("ab.challenger_rate", a.challenger.rate, "ratio", labels),
            MetricRecord("ab.difference", a.difference, "ratio", labels),
            MetricRecord("ab.z", a.z, None, labels),
            MetricRecord("ab.p_value", a.p_value, None, labels),
            MetricRecord("ab.min_expected_count", a.min_expected, None, labels),
        ]
    decision = _decision(checks, primary, guardrails, cfg)
    return ABTestResult(
        name, started, datetime.now(UTC), decision, checks, metrics, analyses, _message(decision, analyses, checks)
    )


def _decide_primary(
    primary: list[MetricAnalysis], cfg: ABTestConfig, checks: list[CheckRecord], metrics: list[MetricRecord]
) -> None:
    if not primary:
        return
    reject, adjusted = adjust_pvalues([a.p_value for a in primary], cfg.alpha, cfg.correction)
    seq_alpha = cfg.alpha / len(primary) if cfg.correction != "none" else cfg.alpha
    for a, rej, p_adj in zip(primary, reject, adjusted, strict=True):
        labels = {"metric": a.name}
        a.p_adjusted = float(p_adj)
        a.bayes = beta_binomial(
            a.champion,
            a.challenger,
            prior_alpha=cfg.prior_alpha,
            prior_beta=cfg.prior_beta,
            draws=cfg.monte_carlo_draws,
            seed=cfg.seed,
        )
        a.prob_better = a.bayes.prob_challenger_higher if a.higher_is_better else 1 - a.bayes.prob_challenger_higher
        base = a.champion.rate
        target = min(
            max(base + (cfg.minimum_detectable_effect if a.higher_is_better else -cfg.minimum_detectable_effect), 0.0),
            1.0,
        )
        h = cohens_h(target, base)
        n_now = min(a.champion.exposures, a.challenger.exposures)
        a.power = power_two_proportions(abs(h), n_now, cfg.alpha) if h else 0.0
        a.required_per_variant = sample_size_per_variant(h, cfg.alpha, cfg.power) if h else math.inf
        rates = f"challenger {a.challenger.rate:.4%} vs champion {a.champion.rate:.4%}"
        ci = f"{1 - cfg.alpha:.0%} CI of the difference [{a.confidence_interval[0]:+.4%}, {a.confidence_interval[1]:+.4%}]"
        if cfg.sequential is not None:
            a.sequential = current_look(cfg.sequential, n_now, seq_alpha)
            look = (
                f"look {a.sequential.look} at information {a.sequential.fractions[-1]:.2f}, boundary "
                f"{a.sequential.boundary:.3f} ({cfg.sequential.spending} spending, alpha {seq_alpha:g})"
            )
            if a.test == "z":
                crossed = abs(a.z) >= a.sequential.boundary
                observed, threshold, comparator = abs(a.z), a.sequential.boundary, ">="
                test = f"{look}: |z|={abs(a.z):.3f}"
            else:  # the exact p-value against the boundary's nominal level
                nominal = float(2 * stats.norm.sf(a.sequential.boundary))
                crossed = a.p_value <= nominal
                observed, threshold, comparator = a.p_value, nominal, "<="
                test = f"{look}, i.e. nominal p <= {nominal:.4g}: {_test_note(a)}"
            a.outcome = (
                _direction(a.difference, a.higher_is_better)
                if crossed
                else ("no_difference" if a.sequential.final else "continue")
            )
            checks.append(
                CheckRecord(
                    f"ab:{a.name}:sequential",
                    _outcome_status(a.outcome),
                    observed=observed,
                    threshold=threshold,
                    comparator=comparator,
                    message=f"{rates}; {test}; {ci}",
                )
            )
            metrics.append(MetricRecord("ab.sequential_boundary", a.sequential.boundary, None, labels))
        else:
            a.outcome = _direction(a.difference, a.higher_is_better) if rej else "no_difference"
            checks.append(
                CheckRecord(
                    f"ab:{a.name}:{'ztest' if a.test == 'z' else 'fisher_exact'}",
                    _outcome_status(a.outcome),
                    observed=a.p_adjusted,
                    threshold=cfg.alpha,
                    comparator="<",
                    message=f"{rates}; {_test_note(a)} ({cfg.correction}-adjusted {a.p_adjusted:.4g}); {ci}",
                )
            )
        bayes_status = (
            Status.PASS
            if a.prob_better > cfg.prob_better_threshold
            else (Status.FAIL if a.prob_better < 1 - cfg.prob_better_threshold else Status.WARN)
        )
        lift = (
            "undefined (no champion conversions)" if a.bayes.expected_lift is None else f"{a.bayes.expected_lift:+.2%}"
        )
        checks.append(
            CheckRecord(
                f"ab:{a.name}:bayes",
                bayes_status,
                observed=a.prob_better,
                threshold=cfg.prob_better_threshold,
                comparator=">",
                message=f"P(challenger better)={a.prob_better:.4f}; expected relative lift {lift} "
                f"(95% credible [{a.bayes.lift_interval[0]:+.2%}, {a.bayes.lift_interval[1]:+.2%}])",
            )
        )
        checks.append(
            CheckRecord(
                f"ab:{a.name}:power",
                Status.PASS if a.power >= cfg.power else Status.WARN,
                observed=a.power,
                threshold=cfg.power,
                comparator=">=",
                severity="warning",
                message=f"power {a.power:.3f} to detect {cfg.minimum_detectable_effect:+.4f} with {n_now} exposures per "
                f"variant; {math.ceil(a.required_per_variant) if math.isfinite(a.required_per_variant) else 'inf'}"
                " needed",
            )
        )
        metrics += [
            MetricRecord("ab.p_adjusted", a.p_adjusted, None, labels),
            MetricRecord("ab.prob_better", a.prob_better, None, labels),
            MetricRecord("ab.power", a.power, None, labels),
            MetricRecord("ab.ci_low", a.confidence_interval[0], "ratio", labels),
            MetricRecord("ab.ci_high", a.confidence_interval[1], "ratio", labels),
        ]
        if a.bayes.expected_lift is not None:
            metrics.append(MetricRecord("ab.expected_lift", a.bayes.expected_lift, "ratio", labels))


def _outcome_status(outcome: str) -> Status:
    return {"better": Status.PASS, "worse": Status.FAIL}.get(outcome, Status.WARN)


def _decision(
    checks: list[CheckRecord], primary: list[MetricAnalysis], guardrails: list[MetricAnalysis], cfg: ABTestConfig
) -> Decision:
    """Invalid input first; any primary metric or guardrail significantly worse keeps the champion; an interim
    look below its boundary continues; a winner needs a primary metric significantly better AND
    P(better) > ``prob_better_threshold``."""
    if any(c.status == Status.ERROR.value for c in checks):
        return "invalid"
    if any(a.outcome == "worse" for a in [*primary, *guardrails]):
        return "champion_wins"
    if any(a.outcome == "continue" for a in primary):
        return "continue"
    if any(a.outcome == "better" and (a.prob_better or 0) > cfg.prob_better_threshold for a in primary):
        return "challenger_wins"
    return "inconclusive"


def _message(decision: Decision, analyses: list[MetricAnalysis], checks: list[CheckRecord]) -> str:
    reasons = {
        "invalid": "the outcomes cannot be analysed: "
        + "; ".join(c.message or "" for c in checks if c.status == "ERROR"),
        "champion_wins": "keep the champion: "
        + ", ".join(f"{a.name} ({a.role}) significantly worse" for a in analyses if a.outcome == "worse"),
        "continue": "keep collecting: no sequential boundary crossed at this interim look",
        "challenger_wins": "promote the challenger: "
        + ", ".join(f"{a.name} better (P={a.prob_better:.3f})" for a in analyses if a.outcome == "better"),
        "inconclusive": "no decision: no primary metric is significantly different, or the frequentist and "
        "Bayesian tests disagree",
    }
    return reasons[decision]


def analyze_records(
    records: pd.DataFrame | Iterable[Mapping[str, Any]], config: ABTestConfig | None = None, name: str = "ab_test"
) -> ABTestResult:
    """``outcomes_from_records`` then ``analyze_experiment``: the operator's one call (pass the DataFrame
    as loaded; it stays columnar)."""
    cfg = config or ABTestConfig()
    outcomes, problems = outcomes_from_records(records, cfg.champion, cfg.challenger)
    return analyze_experiment(outcomes, cfg, problems=problems, name=name)
