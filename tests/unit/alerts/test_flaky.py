"""Flaky tests from seeded histories in a real metrics DB (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from assay.alerts.flaky import count_flips, detect_flaky, flaky_tests
from assay.store import RunKey, SuiteRunRecord, TestCaseRecord

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def run(store, n, sha, outcomes, *, try_number=1, run_id=None, target="demo", suite="unit"):
    """Commit number ``n`` (its time orders the history) with ``outcomes``: node id -> outcome."""
    at = T0 + timedelta(hours=n, minutes=try_number)
    store.record_suite_run(
        SuiteRunRecord(
            key=RunKey("assay_per_commit", run_id or f"commit__{sha}", "run_suite", 0, try_number),
            kind="pytest",
            name=suite,
            status="FAIL" if "failed" in outcomes.values() else "PASS",
            started_at=at,
            finished_at=at + timedelta(seconds=30),
            target=target,
            commit_sha=sha,
            branch="main",
            test_cases=tuple(TestCaseRecord(node, o, 0.5 + n / 100) for node, o in outcomes.items()),
        )
    )


def sha(n: int) -> str:
    return f"{n:040x}"


def test_retry_flip_back_and_forth_flips_and_a_real_regression(store):
    # commit 0..5; t::steady always passes, t::regressed breaks at commit 3 and stays broken (a real regression),
    # t::wobbly flips pass/fail across commits, t::retried failed try 1 and passed try 2 of commit 5
    history = {
        "t::steady": ["passed"] * 6,
        "t::regressed": ["passed", "passed", "passed", "failed", "failed", "failed"],
        "t::wobbly": ["passed", "failed", "passed", "passed", "failed", "passed"],
        "t::retried": ["passed"] * 6,
        "t::skipped_between": ["passed", "skipped", "passed", "skipped", "passed", "passed"],
    }
    for n in range(6):
        run(store, n, sha(n), {node: seq[n] for node, seq in history.items()})
    # try 2 of commit 5: the same run, the same task, t::retried failed on try 1 only
    run(store, 5, sha(5), {**{node: seq[5] for node, seq in history.items()}, "t::retried": "failed"}, try_number=1)
    run(store, 5, sha(5), {node: seq[5] for node, seq in history.items()}, try_number=2)
    # another target's flaky test is not this target's
    run(store, 0, sha(0), {"t::wobbly": "failed"}, target="other", run_id="manual__other")

    found = {f.node_id: f for f in flaky_tests(store, target="demo")}

    assert set(found) == {"t::wobbly", "t::retried"}
    assert found["t::retried"].reason == "retry" and found["t::retried"].last_sha == sha(5)
    wobbly = found["t::wobbly"]
    assert wobbly.reason == "flip" and wobbly.flips == 4 and wobbly.suite == "unit"
    assert [(s, o) for s, o, _ in wobbly.outcomes] == [(sha(n), o) for n, o in enumerate(history["t::wobbly"])]
    assert wobbly.outcomes[0][2] == 0.5
    # t::retried's newest outcome on commit 5 is try 2's pass
    assert found["t::retried"].outcomes[-1][:2] == (sha(5), "passed")


def test_the_window_keeps_only_recent_commits(store):
    seq = ["failed", "passed", "failed", "passed", "passed", "passed", "passed"]
    for n, o in enumerate(seq):
        run(store, n, sha(n), {"t::old_wobble": o})
    assert [f.node_id for f in flaky_tests(store, target="demo", window=7)] == ["t::old_wobble"]
    # the last 4 commits only passed: the old wobble is out of the window
    assert flaky_tests(store, target="demo", window=4) == []


def test_a_rerun_of_the_same_sha_in_another_dag_run_is_retry_evidence(store):
    run(store, 0, sha(0), {"t::x": "failed"}, run_id="manual__1")
    run(store, 1, sha(0), {"t::x": "passed"}, run_id="manual__2")
    (f,) = flaky_tests(store, target="demo")
    assert f.reason == "retry" and f.flips == 0 and f.outcomes == [(sha(0), "passed", 0.51)]


def test_pure_rule():
    assert count_flips(["passed", "failed", "failed", "passed"]) == 2
    assert count_flips(["passed", "skipped", "passed", "xfailed", "error"]) == 1
    assert count_flips(["error", "failed", "passed"]) == 1
    rows = [
        {
            "node_id": "a",
            "suite": "u",
            "sha": s,
            "outcome": o,
            "duration": 0.1,
            "run": ("d", s, "t", -1),
            "try_number": 1,
            "at": T0 + timedelta(hours=i),
        }
        for i, (s, o) in enumerate([("1", "passed"), ("2", "failed"), ("3", "passed")])
    ]
    assert [f.reason for f in detect_flaky(rows)] == ["flip"]
    assert detect_flaky(rows, min_flips=3) == []
