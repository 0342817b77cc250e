"""pytest report-log and coverage JSON parsers on real recorded pytest outputs (tests/fixtures/pytest_outputs)."""

from __future__ import annotations

import pytest

from assay.engines.coverage import parse_coverage_json
from assay.engines.reportlog import parse_report_log
from assay.errors import ToolError


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


def test_coverage_line_percent(fixtures_dir):
    cov = parse_coverage_json(fixtures_dir / "pytest_outputs" / "sample_coverage.json")
    (calc,) = cov.files
    assert calc.path == "calc/__init__.py"
    assert (calc.statements, calc.covered) == (8, 7)  # unused() body never runs
    assert cov.line_percent == pytest.approx(87.5)
    assert calc.missing_lines == (15,)
    assert cov.matching("calc/*") == (calc,) and cov.matching("other/*") == ()


@pytest.mark.parametrize(
    "content, match", [(None, "wrote no"), ('{"$report_type": "SessionStart"}\n{oops\n{}\n', "malformed")]
)
def test_report_log_missing_or_malformed_is_a_tool_error(tmp_path, content, match):
    path = tmp_path / "reportlog.jsonl"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ToolError, match=match):
        parse_report_log(path)


@pytest.mark.parametrize(
    "content, match", [(None, "wrote no"), ("{", "malformed"), ('{"files": {"a.py": {}}}', "lacks")]
)
def test_coverage_missing_or_malformed_is_a_tool_error(tmp_path, content, match):
    path = tmp_path / "coverage.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ToolError, match=match):
        parse_coverage_json(path)
