"""The Assay page's read-side queries on SQLite and PostgreSQL, over a known seeded set of results."""

from __future__ import annotations

import json

import pytest
from support import dashboard_seed as seed

import assay.store.queries as q


@pytest.fixture
def seeded(store):
    seed.seed(store)
    return store


def test_overview_on_seeded_results(seeded):
    ov = q.overview(seeded, commits=20, days=30, now=seed.NOW)
    json.dumps(ov)  # the JSON API's payload as it is
    assert ov["targets"] == [seed.TARGET]

    verdicts = {v["dag_id"]: v for v in ov["verdicts"]}
    assert "assay_alerts" not in verdicts  # alert evaluations are not a DAG verdict
    assert verdicts["assay_per_commit"]["run_id"] == seed.NEWEST_PER_COMMIT_RUN
    assert verdicts["assay_per_commit"]["status"] == "FAIL"
    assert verdicts["assay_per_commit"]["failed_suites"] == ["unit"]
    assert verdicts["assay_nightly_performance"]["run_id"] == seed.PERF_RUN
    assert verdicts["assay_nightly_performance"]["status"] == "FAIL"
    assert verdicts["assay_drift_checks"]["dataset"] == "transactions"

    (tests,) = ov["tests"]
    assert [c["commit_sha"] for c in tests["commits"]] == list(seed.SHAS)  # oldest first
    assert [c["coverage"] for c in tests["commits"]] == list(seed.COVERAGE)
    newest = tests["commits"][-1]
    # only the retry's results count (try 2), not try 1's as well
    assert (newest["passed"], newest["failed"], newest["skipped"], newest["total"]) == (8, 1, 1, 10)
    assert newest["pass_rate"] == pytest.approx(100 * 8 / 9, abs=0.01)
    assert tests["commits"][0]["pass_rate"] == 100.0
    assert tests["latest_coverage"] == seed.COVERAGE[-1]
    assert tests["failing"] == [
        {
            "node_id": seed.FAILED_NODE,
            "outcome": "failed",
            "message": seed.FAILED_MESSAGE,
            "command": f"pytest '{seed.FAILED_NODE}'",
        }
    ]

    (perf,) = ov["performance"]
    assert [p["p95_ms"] for p in perf["points"]] == [180.0, 190.0, 270.0]  # the pooled figure, not /predict's
    assert [p["p50_ms"] for p in perf["points"]] == [40.0, 42.0, 55.0]
    assert perf["points"][-1]["rps"] == 80.0
    assert perf["slo_p95_ms"] == 250.0
    assert perf["baseline"]["run_id"] == "scheduled__nightly_1"
    assert perf["baseline"]["p95_ms"] == 190.0

    (drift,) = ov["drift"]
    assert drift["dataset"] == "transactions" and drift["status"] == "FAIL"
    assert drift["share"] == pytest.approx(0.667) and drift["threshold"] == 0.5
    assert [c["check"] for c in drift["worst_columns"]] == ["amount:psi", "merchant_risk:psi"]

    (vuln,) = ov["vulnerabilities"]
    # the newest scan only (the older one's CVE-2020-9999 is gone), suppressed left out
    assert vuln["by_severity"]["critical"] == 1 and vuln["by_severity"]["high"] == 1
    assert vuln["by_severity"]["medium"] == 0 and vuln["total"] == 2
    assert vuln["by_age"]["critical"]["30-90 d"] == 1 and vuln["by_age"]["high"]["< 7 d"] == 1
    assert [f["rule_id"] for f in vuln["oldest"]] == ["CVE-2026-0001", "CVE-2026-0002"]

    (comp,) = ov["compliance"]
    assert comp["framework"] == "gdpr" and comp["score"] == 75.0 and comp["violation_count"] == 1
    assert comp["violations"][0]["rule_id"] == "GDPR-Art30"

    # test_failure_rate fired after it had resolved; critical_vulnerabilities resolved after it fired
    assert [(a["rule"], a["subject"]) for a in ov["alerts"]] == [(seed.ALERT_RULE, seed.ALERT_SUBJECT)]
    assert ov["alerts"][0]["checks"][0]["observed"] == 10.0


def test_overview_window_and_commit_limit(seeded):
    ov = q.overview(seeded, commits=2, days=30, now=seed.NOW)
    assert [c["commit_sha"] for c in ov["tests"][0]["commits"]] == list(seed.SHAS[1:])
    later = q.overview(seeded, commits=20, days=1, now=seed.NOW + q.timedelta(days=10))
    assert later["tests"] == [] and later["performance"] == []
    assert later["verdicts"]  # the last verdict is the last, however old


def test_overview_of_an_empty_store(store):
    ov = q.overview(store)
    assert ov["verdicts"] == ov["tests"] == ov["alerts"] == ov["vulnerabilities"] == []


def test_run_detail(seeded):
    d = q.run_detail(seeded, "assay_per_commit", seed.NEWEST_PER_COMMIT_RUN)
    json.dumps(d)
    assert d["found"] and d["status"] == "FAIL"
    (suite,) = d["suites"]
    assert suite["try_number"] == 2 and suite["tries"] == 2
    assert suite["tests"] == {"passed": 8, "failed": 1, "skipped": 1}
    assert suite["checks"][0] | {} == {
        "name": "coverage.line_percent",
        "status": "PASS",
        "observed": seed.COVERAGE[2],
        "threshold": 75.0,
        "comparator": ">=",
        "severity": "error",
        "message": None,
    }
    (failed,) = d["failed_tests"]
    assert failed["node_id"] == seed.FAILED_NODE and failed["message"] == seed.FAILED_MESSAGE
    assert failed["command"] == f"pytest '{seed.FAILED_NODE}'"
    assert {r["key"] for r in d["reports"]} == {"junit_report", "html"}

    perf = q.run_detail(seeded, "assay_nightly_performance", seed.PERF_RUN)
    assert perf["reports"] == [{"key": "report_path", "path": seed.REPORT_PATH, "suite": "load_test"}]
    assert {m["name"] for m in perf["suites"][0]["metrics"]} >= {"load.latency_p95_ms"}

    scan = q.run_detail(seeded, "assay_security_scan", "scheduled__s1")
    assert {f["rule_id"] for f in scan["suites"][0]["findings"]} == {"CVE-2026-0001", "CVE-2026-0002", "CVE-2026-0003"}

    missing = q.run_detail(seeded, "assay_per_commit", "nope")
    assert missing["found"] is False and missing["suites"] == []


def test_test_history_and_flaky(seeded):
    h = q.test_history(seeded, target=seed.TARGET, node_id=seed.FAILED_NODE)
    json.dumps(h)
    assert [r["outcome"] for r in h["results"]] == ["failed", "failed", "passed", "passed"]
    assert [r["commit_sha"] for r in h["results"]] == [seed.SHAS[2], seed.SHAS[2], seed.SHAS[1], seed.SHAS[0]]
    assert h["results"][0]["try_number"] == 2 and h["results"][0]["duration_s"] == 0.5
    assert h["failures"] == 2 and h["failure_rate"] == 0.5
    assert q.test_history(seeded, target=seed.TARGET, node_id=seed.FAILED_NODE, limit=1)["runs"] == 1
    assert q.test_history(seeded, target="other", node_id=seed.FAILED_NODE)["results"] == []

    f = q.flaky(seeded, target=seed.TARGET)
    if not f["available"]:
        assert f["tests"] == [] and "flaky detection not available" in f["reason"]
    json.dumps(f)


def test_flaky_uses_the_module_when_present(seeded, monkeypatch):
    import sys
    import types
    from dataclasses import dataclass

    @dataclass
    class FlakyTest:
        node_id: str
        flips: int

    calls = []
    mod = types.ModuleType(q.FLAKY_MODULE)

    def flaky_tests(store, *, target, window=20):
        calls.append((target, window))
        return [FlakyTest("t::x", 3)]

    mod.flaky_tests = flaky_tests
    monkeypatch.setitem(sys.modules, q.FLAKY_MODULE, mod)
    assert q.flaky(seeded, target="demo", window=7) == {
        "target": "demo",
        "available": True,
        "window": 7,
        "tests": [{"node_id": "t::x", "flips": 3}],
    }
    assert calls == [("demo", 7)]


def test_report_links_and_command():
    assert q.report_links({"a": {"load_report": "x.html", "n": 1}, "html": "", "junit_report_path": "j"}) == [
        {"key": "a.load_report", "path": "x.html"},
        {"key": "junit_report_path", "path": "j"},
    ]
    assert q.pytest_command("t.py::test[it's]") == "pytest 't.py::test[it'\"'\"'s]'"
