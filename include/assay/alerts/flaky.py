"""Flaky tests: tests whose outcome is not a function of the code they run, read from what the store recorded.

Two rules, both computed from the ``assay_test_case`` rows of a target's ``pytest`` suite runs (no file diffs
are recorded, so neither can ask "did the test's file change?"):

``retry``
    The same test, on the same commit, had both a passing and a failing outcome: two tries of the same task
    (try 1 failed, try 2 passed after a retry or a clear), or two DAG runs of the same sha. Same code, different
    outcome: this is the strongest evidence of flakiness there is, and it needs no history.

``flip``
    Across the target's last ``window`` tested commits (newest outcome per commit), the test's outcome flipped
    between passing and failing at least ``min_flips`` times (default 2: pass → fail → pass, or fail → pass →
    fail). A real regression flips once (pass, pass, fail, fail, ...) and is never flaky.

What counts: ``passed`` (and ``xpassed``, a non-strict xfail that passed) is a pass, ``failed`` and ``error`` a
failure; ``skipped`` and ``xfailed`` are neither and are ignored, so a test skipped in between does not make a
flip.

Why this rule, and where it is wrong (the complaints about Allure's and ReportPortal's flaky marks are about
exactly these cases):

* False positive: a genuine regression fixed by the next commit (pass → fail → pass) is marked flaky by
  ``flip`` until the failing commit leaves the window. Without diffs Assay cannot tell "fixed" from "went away
  by itself"; a shorter ``window`` makes such a mark expire sooner. It is never hidden from the gates: the
  per-commit gate ``all_tests_pass`` still fails on it; only the failure-*rate* alert rule leaves it out.
* False positive: a test that depends on something outside the commit (a service, the date, the data) and
  changed with it is marked flaky, which is what it is from the code's point of view.
* False negative: a test that fails rarely (once in 20 runs) and was never retried flips only once or twice
  in the window and may not reach ``min_flips``; ``retry`` catches it as soon as a failed try is re-run.
* False negative: a test that always fails on one worker and passes on another is flaky only if both ran the
  same commit (``retry``) or alternated across commits.
* Allure marks a test flaky when its *history* has a status change, so a fixed regression stays "flaky";
  ReportPortal compares launches, not commits, so re-running the same launch counts as history. Assay keys
  history by commit (a re-run of the same sha is ``retry`` evidence, not a flip) and needs two flips.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.store.models import SuiteRun, TestCase

PASSING = frozenset({"passed", "xpassed"})
FAILING = frozenset({"failed", "error"})


@dataclass(frozen=True)
class FlakyTest:
    node_id: str
    suite: str
    reason: Literal["retry", "flip"]
    flips: int
    last_sha: str
    #: newest outcome per commit in the window, oldest first: (sha, outcome, duration_s)
    outcomes: list[tuple[str, str, float]] = field(default_factory=list)


def _verdict(outcome: str) -> str | None:
    if outcome in PASSING:
        return "pass"
    if outcome in FAILING:
        return "fail"
    return None


def count_flips(outcomes: list[str]) -> int:
    """How many times consecutive pass/fail outcomes differ (skips and xfails ignored)."""
    seq = [v for v in (_verdict(o) for o in outcomes) if v is not None]
    return sum(1 for a, b in zip(seq, seq[1:], strict=False) if a != b)


def detect_flaky(rows: list[dict[str, Any]], *, min_flips: int = 2) -> list[FlakyTest]:
    """Pure detection over recorded test outcomes of one target.

    ``rows``: one dict per test case and try with ``node_id``, ``suite``, ``sha``, ``outcome``, ``duration``,
    ``run`` (a key of the task's suite run without the try: dag_id, run_id, task_id, map_index), ``try_number``
    and ``at`` (the suite run's finish time). Returns the flaky tests, sorted by suite and node id."""
    by_test: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_test[(r["suite"], r["node_id"])].append(r)
    out: list[FlakyTest] = []
    for (suite, node_id), items in sorted(by_test.items()):
        items.sort(key=lambda r: (r["at"], r["try_number"]))
        # same commit, both a pass and a failure (two tries of a task, or two runs of the same sha)
        per_sha: dict[str, set[str]] = defaultdict(set)
        for r in items:
            v = _verdict(r["outcome"])
            if v:
                per_sha[r["sha"]].add(v)
        retried = any(len(vs) == 2 for vs in per_sha.values())
        # newest outcome per commit, in commit order (the first time the commit was tested)
        first_seen: dict[str, Any] = {}
        newest: dict[str, dict[str, Any]] = {}
        for r in items:
            first_seen.setdefault(r["sha"], r["at"])
            newest[r["sha"]] = r
        commits = sorted(newest, key=lambda sha: first_seen[sha])
        outcomes = [(sha, newest[sha]["outcome"], float(newest[sha]["duration"] or 0.0)) for sha in commits]
        flips = count_flips([o for _, o, _ in outcomes])
        if retried or flips >= min_flips:
            out.append(
                FlakyTest(
                    node_id=node_id,
                    suite=suite,
                    reason="retry" if retried else "flip",
                    flips=flips,
                    last_sha=commits[-1] if commits else "",
                    outcomes=outcomes,
                )
            )
    return out


def recorded_outcomes(store: Any, *, target: str, window: int = 20) -> list[dict[str, Any]]:
    """Every try's test outcomes of ``target``'s pytest suite runs on its last ``window`` tested commits."""

    def read() -> list[dict[str, Any]]:
        with Session(store.engine) as s:
            recent = (
                select(SuiteRun.commit_sha, func.max(SuiteRun.finished_at).label("at"))
                .where(SuiteRun.target == target, SuiteRun.kind == "pytest", SuiteRun.commit_sha.is_not(None))
                .group_by(SuiteRun.commit_sha)
                .order_by(func.max(SuiteRun.finished_at).desc())
                .limit(window)
            )
            shas = [sha for sha, _ in s.execute(recent)]
            if not shas:
                return []
            q = (
                select(
                    TestCase.node_id,
                    TestCase.outcome,
                    TestCase.duration_s,
                    SuiteRun.name,
                    SuiteRun.commit_sha,
                    SuiteRun.dag_id,
                    SuiteRun.run_id,
                    SuiteRun.task_id,
                    SuiteRun.map_index,
                    SuiteRun.try_number,
                    SuiteRun.finished_at,
                )
                .join(SuiteRun, SuiteRun.id == TestCase.suite_run_id)
                .where(SuiteRun.target == target, SuiteRun.kind == "pytest", SuiteRun.commit_sha.in_(shas))
            )
            return [
                {
                    "node_id": node_id,
                    "outcome": outcome,
                    "duration": duration,
                    "suite": name,
                    "sha": sha,
                    "run": (dag_id, run_id, task_id, map_index),
                    "try_number": try_number,
                    "at": at,
                }
                for node_id, outcome, duration, name, sha, dag_id, run_id, task_id, map_index, try_number, at in s.execute(
                    q
                )
            ]

    return store.read("flaky_tests", read)


def flaky_tests(store: Any, *, target: str, window: int = 20, min_flips: int = 2) -> list[FlakyTest]:
    """The flaky tests of ``target`` (a :class:`assay.store.MetricsStore`) over its last ``window`` tested
    commits; see the module docstring for the rule and its known false positives and negatives."""
    return detect_flaky(recorded_outcomes(store, target=target, window=window), min_flips=min_flips)


def flaky_node_ids(store: Any, *, target: str, window: int = 20) -> set[tuple[str, str]]:
    """(suite, node_id) of every flaky test of ``target``: what the failure-rate rules leave out."""
    return {(f.suite, f.node_id) for f in flaky_tests(store, target=target, window=window)}
