"""pytest's report log read into pytest's own vocabulary: one row per test, pytest's node ids, pytest's
summary-line counts. The fixture log is a real recording of tests/fixtures/outcomes_suite (the checkout's
absolute path replaced by ``/checkout``)."""

from __future__ import annotations

import json

import pytest

from assay.engines.per_commit.reportlog import conftest_error_from_output, parse_report_log
from assay.errors import ToolError

SUMMARY = "4 failed, 13 passed, 2 skipped, 2 xfailed, 1 xpassed, 3 errors"  # pytest's own line for that run


@pytest.fixture
def outcomes(fixtures_dir):
    return parse_report_log(fixtures_dir / "pytest_outputs" / "outcomes_reportlog.jsonl", root="/checkout")


def test_counts_are_pytest_summary_line(outcomes):
    assert outcomes.summary() == SUMMARY
    assert outcomes.counts == {
        "passed": 13,
        "failed": 4,
        "error": 3,
        "skipped": 2,
        "xfailed": 2,
        "xpassed": 1,
        "total": 23,
    }
    assert len(outcomes.cases) == len({c.node_id for c in outcomes.cases}) == 23  # one row per test


@pytest.mark.parametrize(
    "node_id, outcome, words",
    [
        ("tests/test_outcomes.py::test_passes", "passed", None),
        ("tests/test_outcomes.py::test_fails", "failed", "one is not two"),
        ("tests/test_outcomes.py::test_skip_marker", "skipped", "not today"),
        ("tests/test_outcomes.py::test_skip_inside", "skipped", "skipped from inside"),
        ("tests/test_outcomes.py::test_xfail", "xfailed", "known bug 12"),
        ("tests/test_outcomes.py::test_imperative_xfail", "xfailed", "gave up"),
        ("tests/test_outcomes.py::test_xpass_non_strict", "xpassed", "fixed already"),
        ("tests/test_outcomes.py::test_xpass_strict", "failed", "[XPASS(strict)] must fail"),  # as pytest reports it
        ("tests/test_outcomes.py::test_setup_error", "error", "setup exploded"),
        ("tests/test_outcomes.py::test_passes_then_teardown_error", "error", "error at teardown: RuntimeError"),
        ("tests/test_outcomes.py::TestThing::test_method", "passed", None),
        ("tests/test_outcomes.py::TestThing::TestNested::test_inner", "failed", "assert False"),
        ("tests/test_outcomes.py::test_odd_ids[x::y]", "passed", None),
        ("tests/test_outcomes.py::test_odd_ids[[brackets]]", "passed", None),
        ("tests/test_outcomes.py::test_odd_ids[\\xfcn\\xef]", "passed", None),
        ("tests/test_outcomes.py::test_explicit_ids[one id]", "passed", None),
    ],
)
def test_outcome_and_message_per_test(outcomes, node_id, outcome, words):
    case = {c.node_id: c for c in outcomes.cases}[node_id]
    assert case.outcome == outcome
    if words is None:
        assert case.message is None
    else:
        assert words in case.message


def test_teardown_error_after_a_failure_is_attached_to_the_failed_row(outcomes):
    rows = [c for c in outcomes.cases if c.node_id == "tests/test_outcomes.py::test_fails_then_teardown_error"]
    assert len(rows) == 1
    (row,) = rows
    assert row.outcome == "failed"
    assert "assert 1 == 2" in row.message and "error at teardown: RuntimeError: teardown exploded" in row.message
    assert "at tests/test_outcomes.py:45" in row.message  # where the teardown raised


def test_failed_rows_are_failed_and_errored_tests(outcomes):
    assert sorted(c.node_id.rsplit("::", 1)[-1] for c in outcomes.failed) == [
        "test_fails",
        "test_fails_then_teardown_error",
        "test_inner",
        "test_passes_then_teardown_error",
        "test_setup_error",
        "test_xpass_strict",
    ]


def test_a_log_cut_by_a_kill_keeps_finished_tests_and_names_the_running_one(fixtures_dir, tmp_path):
    lines = (fixtures_dir / "pytest_outputs" / "outcomes_reportlog.jsonl").read_text().splitlines()
    cut = next(
        i
        for i, line in enumerate(lines)
        if json.loads(line).get("nodeid") == "tests/test_outcomes.py::test_setup_error"
        and json.loads(line).get("when") == "setup"
    )
    # test_odd_ids[a b] has passed setup and is in its call when the process dies mid-write
    running = next(i for i, line in enumerate(lines) if json.loads(line).get("nodeid", "").endswith("[a b]"))
    path = tmp_path / "reportlog.jsonl"
    path.write_text("\n".join(lines[: running + 1]) + "\n" + lines[running + 1][:25])
    report = parse_report_log(path)
    assert report.running == ("tests/test_outcomes.py::test_odd_ids[a b]",)
    assert report.exitstatus is None
    assert "tests/test_outcomes.py::test_odd_ids[a b]" not in {c.node_id for c in report.cases}
    assert "tests/test_outcomes.py::test_passes" in {c.node_id for c in report.cases}
    assert cut < running
    marked = report.with_unfinished("did not finish")
    assert marked.cases[-1].node_id == "tests/test_outcomes.py::test_odd_ids[a b]"
    assert marked.cases[-1].outcome == "error" and marked.counts["error"] == report.counts["error"] + 1


def test_conftest_that_fails_before_the_session_is_read_from_pytest_output(tmp_path):
    output = (
        f"ImportError while loading conftest '{tmp_path}/tests/conftest.py'.\n"
        "tests/conftest.py:3: in <module>\n"
        "    import missing_dep_abc\n"
        "E   ModuleNotFoundError: No module named 'missing_dep_abc'\n"
    )
    err = conftest_error_from_output(output, tmp_path)
    assert err is not None
    assert err.describe() == "ModuleNotFoundError in tests/conftest.py:3"
    assert "No module named 'missing_dep_abc'" in err.message
    assert conftest_error_from_output("ERROR: file or directory not found: x\n", tmp_path) is None


# -- recorded report logs of tests/fixtures/sample_suite and the demo platform; a missing or broken log


def test_report_log_counts_and_messages(fixtures_dir):
    report = parse_report_log(fixtures_dir / "pytest_outputs" / "sample_reportlog.jsonl")
    assert report.counts == {"passed": 3, "failed": 1, "error": 1, "skipped": 1, "xfailed": 0, "xpassed": 0, "total": 6}
    by_id = {c.node_id: c for c in report.cases}
    assert by_id["tests/test_calc.py::test_wrong_on_purpose"].outcome == "failed"
    assert "two and two make four" in by_id["tests/test_calc.py::test_wrong_on_purpose"].message
    assert "fixture exploded" in by_id["tests/test_calc.py::test_uses_broken_fixture"].message
    assert by_id["tests/test_calc.py::test_skipped"].message == "not today"
    assert [c.node_id for c in report.failed] == [
        "tests/test_calc.py::test_wrong_on_purpose",
        "tests/test_calc.py::test_uses_broken_fixture",
    ]


def test_report_log_from_xdist_run_of_the_demo_platform(fixtures_dir):
    report = parse_report_log(fixtures_dir / "pytest_outputs" / "demo_unit_reportlog.jsonl")
    assert report.counts["total"] == report.counts["passed"] > 20
    assert all(c.duration_s >= 0 for c in report.cases)


@pytest.mark.parametrize(
    "content, match", [(None, "wrote no"), ('{"$report_type": "SessionStart"}\n{oops\n{}\n', "malformed")]
)
def test_report_log_missing_or_malformed_is_a_tool_error(tmp_path, content, match):
    path = tmp_path / "reportlog.jsonl"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ToolError, match=match):
        parse_report_log(path)
