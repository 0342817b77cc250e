"""The chaos verdict from a chaostoolkit journal: details not worth a server."""

from __future__ import annotations

from assay.engines.chaos.journal import parse_journal
from assay.engines.chaos.verdict import evaluate
from assay.status import Status


def _journal(**overrides):
    probe = {
        "activity": {
            "name": "api-health",
            "type": "probe",
            "tolerance": True,
            "provider": {"type": "python", "module": "assay.engines.chaos.providers.probes", "func": "health_ok"},
        },
        "status": "succeeded",
        "output": True,
        "tolerance_met": True,
        "start": "2026-01-01T00:00:00+00:00",
        "end": "2026-01-01T00:00:00.1+00:00",
        "duration": 0.1,
    }
    action = {
        "activity": {"name": "inject", "type": "action", "provider": {"type": "python", "module": "m", "func": "f"}},
        "status": "succeeded",
        "output": {},
        "start": "2026-01-01T00:00:01+00:00",
        "end": "2026-01-01T00:00:02+00:00",
        "duration": 1.0,
    }
    data = {
        "status": "completed",
        "deviated": False,
        "start": "2026-01-01T00:00:00+00:00",
        "duration": 3.0,
        "experiment": {"title": "t", "method": [action["activity"]], "rollbacks": []},
        "steady_states": {
            "before": {"steady_state_met": True, "probes": [probe]},
            "after": {"steady_state_met": True, "probes": [probe]},
        },
        "run": [action],
        "rollbacks": [],
    }
    data.update(overrides)
    return parse_journal(data)


def test_an_aborted_method_is_error_and_earns_no_score():
    verdict = evaluate(_journal(status="aborted", run=[]), {})
    assert verdict.status is Status.ERROR and verdict.resilience_score is None
    assert "aborted the experiment after 0 of 1 method activities" in next(
        c.message for c in verdict.checks if c.name == "fault_injected"
    )


def test_without_a_recovery_probe_a_held_steady_state_scores_100():
    verdict = evaluate(_journal(), {})
    assert verdict.status is Status.PASS and verdict.resilience_score == 100.0 and verdict.recovery_s is None
    assert {m.name for m in verdict.metrics} >= {"chaos.resilience_score", "chaos.probe.api-health"}
