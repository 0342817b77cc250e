"""The analysis of an experiment and its decision: every metric tested (frequentist, Bayesian, power,
sequential look), checks and metrics recorded, and one decision.

Statuses: a primary metric significantly better is PASS, significantly worse FAIL, inconclusive (or an
interim look below its boundary) WARN; invalid input is ERROR. Several primary metrics: p-values adjusted
by Holm or Benjamini-Hochberg; with sequential monitoring, Bonferroni splits alpha across primary metrics.
Guardrail metrics get a one-sided test that the challenger is worse; significant degradation is FAIL.
``decision`` says what to do.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from assay.engines.ab_testing.bayesian import BayesResult, beta_binomial
from assay.engines.ab_testing.config import ABTestConfig
from assay.engines.ab_testing.frequentist import (
    MIN_EXPECTED_COUNT,
    Alternative,
    adjust_pvalues,
    diff_confint,
    fisher_exact_test,
    min_expected_count,
    two_proportion_ztest,
)
from assay.engines.ab_testing.outcomes import MetricCounts, VariantCounts, outcomes_from_records
from assay.engines.ab_testing.power import cohens_h, power_two_proportions, sample_size_per_variant
from assay.engines.ab_testing.sequential import SequentialLook, current_look
from assay.results import Result
from assay.status import Status, worst
from assay.store.records import CheckRecord, MetricRecord

Decision = Literal["challenger_wins", "champion_wins", "inconclusive", "continue", "invalid"]


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


@dataclass(kw_only=True)
class ABTestResult(Result):
    """The analysis of experiment ``experiment`` (suite ``ab:<experiment>``): its status is the worst of its
    checks, ``decision`` what to do, ``analyses`` every metric's figures."""

    kind: str = "ab_test"
    experiment: str
    decision: Decision
    analyses: list[MetricAnalysis] = field(default_factory=list)
    status: Status = field(init=False)
    summary: dict[str, Any] = field(init=False)

    def derive(self) -> None:
        self.status = worst(c.status for c in self.checks)
        bad = [c for c in self.checks if c.status in ("FAIL", "ERROR", "WARN")]
        self.summary = {
            "experiment": self.experiment,
            "decision": self.decision,
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
    """Analyse every metric of experiment ``name``; input problems (from ``outcomes_from_records``) are ERROR."""
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
        name=f"ab:{name}",
        experiment=name,
        message=_message(decision, analyses, checks),
        started_at=started,
        finished_at=datetime.now(UTC),
        decision=decision,
        checks=checks,
        metrics=metrics,
        analyses=analyses,
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
