"""Turn a chaostoolkit journal into checks, metrics, a recovery time and a resilience score.

Checks (a run's status is the worst of them):

* ``steady_state_before`` — PASS when every steady-state probe held before the method; otherwise ERROR:
  the target was not healthy when the run started (down, slow, failing), so no fault was injected and
  nothing was learnt about resilience.
* ``fault_injected`` — PASS when every method action succeeded and the method ran to its end; ERROR
  when an action failed (the fault may not have happened) or chaostoolkit aborted or was interrupted.
* ``recovery`` — only when the method waits for recovery (``assay.engines.chaos.providers.probes.wait_until_healthy``):
  PASS with the recovery time, FAIL when the service was not healthy again within the probe's timeout.
* ``steady_state_after`` — PASS when the steady state held again after the method; FAIL when it
  deviated (a weakness was found); ERROR when it was never checked although the method completed.
* ``rollbacks`` — only when rollbacks are declared: PASS when each ran and succeeded; ERROR otherwise
  (the target may still carry a fault).

Resilience score, 0-100 (``None`` when the run is ERROR: nothing was measured):

* 0 when the steady state deviated after the fault;
* otherwise ``100 - 50 * min(1, recovery_s / recovery_budget_s)``, where ``recovery_s`` is the time from
  the end of the fault (the last action before the recovery probe) to the service being healthy again
  and ``recovery_budget_s`` is the recovery probe's timeout; a recovery probe that timed out costs the
  full 50; an experiment without a recovery probe loses nothing.

So 100 means "held its steady state and recovered at once", 50 "held it, but only at the end of the
recovery budget", 0 "did not hold it".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assay.engines.chaos.journal import ActivityRun, Journal, SteadyState
from assay.status import Status, worst
from assay.store.records import CheckRecord, MetricRecord

RECOVERY_FUNC = "assay.engines.chaos.providers.probes.wait_until_healthy"
RECOVERY_WEIGHT = 50.0


@dataclass(frozen=True)
class Verdict:
    status: Status
    checks: tuple[CheckRecord, ...]
    metrics: tuple[MetricRecord, ...]
    recovery_s: float | None
    resilience_score: float | None


def evaluate(journal: Journal, configuration: Mapping[str, Any]) -> Verdict:
    """Checks, metrics, recovery time and resilience score of one journal (see the module docstring)."""
    checks = [_before(journal, configuration)]
    started = journal.before is not None and journal.before.met
    recovery_run = next((r for r in journal.method if r.provider == RECOVERY_FUNC), None)
    recovery_s = _recovery_seconds(journal, recovery_run)
    if started:
        checks.append(_fault_injected(journal))
        if recovery_run is not None:
            checks.append(_recovery(recovery_run, recovery_s))
        checks.append(_after(journal, configuration))
    if journal.declared_rollbacks:
        checks.append(_rollbacks(journal))
    status = worst(c.status for c in checks)
    score = None if status is Status.ERROR else _score(journal, recovery_run, recovery_s)
    metrics = _metrics(journal, recovery_s, score)
    return Verdict(status, tuple(checks), tuple(metrics), recovery_s, score)


def _before(journal: Journal, configuration: Mapping[str, Any]) -> CheckRecord:
    state = journal.before
    if state is None:
        return CheckRecord(
            "steady_state_before",
            Status.ERROR,
            message=(
                f"the steady state was never checked (chaostoolkit status {journal.status!r}); nothing was tested"
            ),
        )
    if not state.met:
        return CheckRecord(
            "steady_state_before",
            Status.ERROR,
            **_miss(state, configuration),
            message=(
                f"the target was not in its steady state when the run started, so no fault was injected: "
                f"{_describe_miss(state, configuration)}"
            ),
        )
    return CheckRecord(
        "steady_state_before", Status.PASS, message=f"steady state held: {_describe_probes(state, configuration)}"
    )


def _fault_injected(journal: Journal) -> CheckRecord:
    failed = [r for r in journal.method if r.kind == "action" and not r.succeeded]
    if failed:
        what = "; ".join(f"action {r.name!r} failed: {r.error}" for r in failed)
        return CheckRecord(
            "fault_injected",
            Status.ERROR,
            observed=len(failed),
            threshold=0,
            comparator="==",
            message=f"{what}; the fault may not have happened, so the steady state after proves nothing",
        )
    if journal.status in ("aborted", "interrupted") or len(journal.method) < journal.declared_method:
        return CheckRecord(
            "fault_injected",
            Status.ERROR,
            message=(
                f"chaostoolkit {journal.status} the experiment after {len(journal.method)} of "
                f"{journal.declared_method} method activities"
            ),
        )
    actions = [r.name for r in journal.method if r.kind == "action"]
    return CheckRecord(
        "fault_injected",
        Status.PASS,
        observed=0,
        threshold=0,
        comparator="==",
        message=f"{len(actions)} action(s) applied: {', '.join(actions) or 'none'}",
    )


def _recovery(run: ActivityRun, recovery_s: float | None) -> CheckRecord:
    budget = _budget(run)
    if not run.succeeded:
        return CheckRecord(
            "recovery",
            Status.FAIL,
            threshold=budget,
            comparator="<=",
            message=f"the service did not recover: {run.error}",
        )
    return CheckRecord(
        "recovery",
        Status.PASS,
        observed=recovery_s,
        threshold=budget,
        comparator="<=",
        message=f"healthy again {recovery_s:.2f} s after the fault ended"
        if recovery_s is not None
        else "healthy again",
    )


def _after(journal: Journal, configuration: Mapping[str, Any]) -> CheckRecord:
    state = journal.after
    if state is None:
        return CheckRecord(
            "steady_state_after",
            Status.ERROR,
            message=(f"the steady state was not checked after the method (chaostoolkit status {journal.status!r})"),
        )
    if not state.met:
        return CheckRecord(
            "steady_state_after",
            Status.FAIL,
            **_miss(state, configuration),
            message=(f"the steady state deviated after the fault: {_describe_miss(state, configuration)}"),
        )
    return CheckRecord(
        "steady_state_after", Status.PASS, message=f"steady state held: {_describe_probes(state, configuration)}"
    )


def _rollbacks(journal: Journal) -> CheckRecord:
    ran, declared = len(journal.rollbacks), journal.declared_rollbacks
    failed = [r for r in journal.rollbacks if not r.succeeded]
    if failed:
        what = "; ".join(f"rollback {r.name!r} failed: {r.error}" for r in failed)
        return CheckRecord(
            "rollbacks",
            Status.ERROR,
            observed=ran - len(failed),
            threshold=declared,
            comparator="==",
            message=f"{what}; the target may still carry a fault",
        )
    if ran < declared:
        return CheckRecord(
            "rollbacks",
            Status.ERROR,
            observed=ran,
            threshold=declared,
            comparator="==",
            message=f"only {ran} of {declared} rollbacks ran; the target may still carry a fault",
        )
    return CheckRecord(
        "rollbacks",
        Status.PASS,
        observed=ran,
        threshold=declared,
        comparator="==",
        message=f"{ran} rollback(s) ran: {', '.join(r.name for r in journal.rollbacks)}",
    )


def _recovery_seconds(journal: Journal, run: ActivityRun | None) -> float | None:
    """From the end of the last action before the recovery probe to the moment the probe saw health."""
    if run is None or not run.succeeded:
        return None
    index = journal.method.index(run)
    fault_end = next((r.ended_at for r in reversed(journal.method[:index]) if r.kind == "action" and r.ended_at), None)
    waited = run.output.get("recovery_s") if isinstance(run.output, dict) else None
    if run.started_at and isinstance(waited, int | float):
        recovered_at = run.started_at.timestamp() + float(waited)
    elif run.ended_at:
        recovered_at = run.ended_at.timestamp()
    else:
        return None
    start = fault_end.timestamp() if fault_end else (run.started_at.timestamp() if run.started_at else recovered_at)
    return round(max(0.0, recovered_at - start), 3)


def _score(journal: Journal, recovery_run: ActivityRun | None, recovery_s: float | None) -> float:
    if journal.after is None or not journal.after.met:
        return 0.0
    penalty = 0.0
    if recovery_run is not None:
        budget = _budget(recovery_run)
        if not recovery_run.succeeded or recovery_s is None or not budget:
            penalty = RECOVERY_WEIGHT
        else:
            penalty = RECOVERY_WEIGHT * min(1.0, recovery_s / budget)
    return round(100.0 - penalty, 1)


def _budget(run: ActivityRun) -> float | None:
    if isinstance(run.output, dict) and isinstance(run.output.get("timeout_s"), int | float):
        return float(run.output["timeout_s"])
    match = re.search(r"within ([0-9.]+) s", run.error or "")
    return float(match.group(1)) if match else None


def _metrics(journal: Journal, recovery_s: float | None, score: float | None) -> list[MetricRecord]:
    metrics: list[MetricRecord] = []
    if score is not None:
        metrics.append(MetricRecord("chaos.resilience_score", score, "score"))
    if recovery_s is not None:
        metrics.append(MetricRecord("chaos.recovery_s", recovery_s, "s"))
    if journal.duration_s is not None:
        metrics.append(MetricRecord("chaos.duration_s", round(journal.duration_s, 3), "s"))
    for phase, runs in (
        ("before", journal.before.probes if journal.before else ()),
        ("method", tuple(r for r in journal.method if r.kind == "probe")),
        ("after", journal.after.probes if journal.after else ()),
    ):
        for run in runs:
            if run.succeeded:
                metrics.extend(_numbers(run, phase))
    return metrics


def _numbers(run: ActivityRun, phase: str) -> list[MetricRecord]:
    labels = {"phase": phase, "activity": run.name}
    if _is_number(run.output) or isinstance(run.output, bool):
        return [MetricRecord(f"chaos.probe.{run.name}", float(run.output), _unit(run.name), labels)]
    if isinstance(run.output, dict):
        return [
            MetricRecord(f"chaos.probe.{run.name}.{key}", float(value), _unit(key), labels)
            for key, value in run.output.items()
            if _is_number(value) or isinstance(value, bool)
        ]
    return []


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _unit(name: str) -> str | None:
    for suffix, unit in (("ms", "ms"), ("_s", "s"), ("rate", "ratio")):
        if name.endswith(suffix):
            return unit
    return None


def _miss(state: SteadyState, configuration: Mapping[str, Any]) -> dict[str, Any]:
    """observed/threshold/comparator of the probe that broke the steady state, when they are numbers."""
    probe = state.first_miss
    if probe is None:
        return {}
    bound = _bound(probe.tolerance, configuration)
    observed = float(probe.output) if probe.succeeded and _is_number(probe.output) else None
    if bound is None:
        return {"observed": observed}
    return {"observed": observed, "threshold": bound[1], "comparator": bound[0]}


def _describe_miss(state: SteadyState, configuration: Mapping[str, Any]) -> str:
    probe = state.first_miss
    if probe is None:
        return "no probe result was recorded"
    if not probe.succeeded:
        return f"probe {probe.name!r} failed: {probe.error}"
    return f"probe {probe.name!r} returned {_short(probe.output)}, outside its tolerance {_tolerance_text(probe.tolerance, configuration)}"


def _describe_probes(state: SteadyState, configuration: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{p.name}={_short(p.output)} ({_tolerance_text(p.tolerance, configuration)})" for p in state.probes
    )


def _bound(tolerance: Any, configuration: Mapping[str, Any]) -> tuple[str, float] | None:
    """(comparator, threshold) of a numeric tolerance: our at_most/at_least probes, a [low, high] range, a range dict."""
    if isinstance(tolerance, dict) and tolerance.get("type") == "probe":
        provider = tolerance.get("provider") or {}
        comparator = {"at_most": "<=", "at_least": ">="}.get(provider.get("func"))
        if comparator and provider.get("module") == "assay.engines.chaos.providers.tolerances":
            limit = _substitute((provider.get("arguments") or {}).get("limit"), configuration)
            return (comparator, float(limit)) if _is_number(limit) else None
    if isinstance(tolerance, list) and len(tolerance) == 2 and all(_is_number(v) for v in tolerance):
        return ("<=", float(tolerance[1]))
    if isinstance(tolerance, dict) and tolerance.get("type") == "range":
        bounds = tolerance.get("range") or []
        return ("<=", float(bounds[1])) if len(bounds) == 2 and _is_number(bounds[1]) else None
    return None


def _tolerance_text(tolerance: Any, configuration: Mapping[str, Any]) -> str:
    bound = _bound(tolerance, configuration)
    if bound is not None:
        return f"{bound[0]} {bound[1]:g}"
    if isinstance(tolerance, bool):
        return f"must be {str(tolerance).lower()}"
    return f"tolerance {_short(tolerance)}"


def _substitute(value: Any, configuration: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        match = re.fullmatch(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", value)
        if match:
            return configuration.get(match.group(1), value)
    return value


def _short(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 3] + "..."
