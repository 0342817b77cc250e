"""The coverage JSON parser on a real recorded coverage.py report (tests/fixtures/pytest_outputs)."""

from __future__ import annotations

import pytest

from assay.engines.per_commit.coverage import parse_coverage_json
from assay.errors import ToolError


def test_coverage_line_percent(fixtures_dir):
    cov = parse_coverage_json(fixtures_dir / "pytest_outputs" / "sample_coverage.json")
    (calc,) = cov.files
    assert calc.path == "calc/__init__.py"
    assert (calc.statements, calc.covered) == (8, 7)  # unused() body never runs
    assert cov.line_percent == pytest.approx(87.5)
    assert calc.missing_lines == (15,)
    assert cov.matching("calc/*") == (calc,) and cov.matching("other/*") == ()


@pytest.mark.parametrize(
    "content, match", [(None, "wrote no"), ("{", "malformed"), ('{"files": {"a.py": {}}}', "lacks")]
)
def test_coverage_missing_or_malformed_is_a_tool_error(tmp_path, content, match):
    path = tmp_path / "coverage.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ToolError, match=match):
        parse_coverage_json(path)
