"""The evaluation data (what the regression check compares versions on) read from a golden dataset by version."""

from __future__ import annotations

import pytest
from support.model_validation import DEMO, LABEL, LOADER, evaluation_frame

from assay.engines.data_quality.golden import write_golden
from assay.engines.model_validation import EvaluationDataSpec, load_evaluation_frame, parse_job, run_model_validation
from assay.errors import ConfigError
from assay.status import Status

ONLY_REGRESSION = {
    "label_column": LABEL,
    "quality": {"enabled": False},
    "regression": {"bootstrap_resamples": 200},
    "fairness": {"enabled": False},
    "robustness": {"enabled": False},
    "statistical": {"enabled": False},
}


@pytest.fixture(scope="module")
def frame():
    return evaluation_frame(rows=300, seed=31)


def job(artifacts, golden):
    return parse_job(
        {
            "name": "fraud",
            "candidate": {"loader": LOADER, "path": str(artifacts["good"]), "sys_path": [str(DEMO)], "version": "v2"},
            "baseline": {"loader": LOADER, "path": str(artifacts["weak"]), "sys_path": [str(DEMO)], "version": "v1"},
            "evaluation": {"golden": golden},
            "validation": ONLY_REGRESSION,
        }
    )


def test_the_regression_check_scores_both_versions_on_the_golden_version(artifacts, frame, tmp_path):
    write_golden("eval", frame, tmp_path, version=1)
    result = run_model_validation(job(artifacts, {"dir": str(tmp_path), "name": "eval", "version": 1}))
    regression = result.section("regression")
    assert regression.details["mode"] == "paired" and regression.checks  # candidate and baseline, same rows
    assert all(c.status != "ERROR" for c in regression.checks)
    assert result.dataset == "golden:eval@1"
    loaded = load_evaluation_frame(EvaluationDataSpec(golden={"dir": str(tmp_path), "name": "eval", "version": "1"}))
    assert len(loaded) == 300 and list(loaded.columns) == list(frame.columns)


def test_another_version_is_an_error_naming_both_versions_not_other_data(artifacts, frame, tmp_path):
    write_golden("eval", frame, tmp_path, version=1)
    write_golden("eval", frame.iloc[:250], tmp_path, version=2)
    result = run_model_validation(job(artifacts, {"dir": str(tmp_path), "name": "eval", "version": 1}))
    assert result.status is Status.ERROR and [s.name for s in result.sections] == ["load"]
    assert "evaluation data golden:eval@1" in result.reason
    assert "is version 2, but version 1 was requested" in result.reason


def test_a_golden_file_changed_without_a_bump_is_an_error(artifacts, frame, tmp_path):
    write_golden("eval", frame, tmp_path, version=1)
    csv = tmp_path / "eval.csv"
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join([*lines[:-1]]) + "\n")  # one row dropped, YAML untouched
    result = run_model_validation(job(artifacts, {"dir": str(tmp_path), "name": "eval", "version": 1}))
    assert result.status is Status.ERROR
    assert "eval.csv) changed without a version bump" in result.reason


def test_the_evaluation_names_one_source():
    with pytest.raises(ConfigError, match="exactly one of 'path'.*'golden'"):
        parse_job(
            {
                "candidate": {"loader": LOADER, "path": "x"},
                "evaluation": {"path": "e.csv", "golden": {"name": "eval", "version": 1}},
                "validation": {"label_column": LABEL},
            }
        )
    with pytest.raises(ConfigError, match=r"evaluation.golden.version"):
        parse_job(
            {
                "candidate": {"loader": LOADER, "path": "x"},
                "evaluation": {"golden": {"name": "eval"}},
                "validation": {"label_column": LABEL},
            }
        )
