"""Golden datasets: committed files, checked by schema and statistics; tampering is caught."""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import pytest
import yaml
from support.data_quality import outcome
from support.demo_platform import GOLDEN_DIR

from assay.engines.data_quality.golden import (
    DEFAULT_TOLERANCE,
    golden_suite,
    list_golden,
    load_golden_spec,
    validate_golden,
)
from assay.errors import ConfigError
from assay.status import Status

FRAUD = "fraud_transactions_200"


def _copy(tmp_path: Path, name: str = FRAUD) -> Path:
    for suffix in (".csv", ".yaml"):
        shutil.copy(GOLDEN_DIR / f"{name}{suffix}", tmp_path / f"{name}{suffix}")
    return tmp_path / f"{name}.csv"


def _edit_csv(path: Path, row: int, column: str, value: str) -> str:
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[row + 1].split(",")
    old, cells[header.index(column)] = cells[header.index(column)], value
    lines[row + 1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    return old


def _data_failures(result):
    """The failures of the schema and statistics checks (the version check fails too for any edit)."""
    return [o for o in result.failures if o.expectation_type != "assay_golden_version"]


def test_golden_datasets_are_committed_with_their_schema():
    assert set(list_golden(GOLDEN_DIR)) >= {FRAUD, "customers_200"}
    spec = load_golden_spec(FRAUD, GOLDEN_DIR)
    assert spec.row_count == 200 and spec.data_path == GOLDEN_DIR / "fraud_transactions_200.csv"
    assert spec.tolerance == DEFAULT_TOLERANCE
    assert "max(tolerance.absolute, tolerance.relative * |v|)" in spec.path.read_text()  # documented in the file
    columns = {c.name: c for c in spec.columns}
    assert columns["amount"].dtype == "float64" and not columns["amount"].nullable
    assert set(columns["amount"].stats) >= {"mean", "std", "min", "max", "digest"}
    assert columns["is_fraud"].stats["counts"].keys() == {0, 1}
    assert columns["customer_id"].unique
    kinds = {e["type"] for e in golden_suite(spec).expectations}
    assert {
        "expect_table_row_count_to_equal",
        "expect_table_columns_to_match_ordered_list",
        "expect_column_values_to_be_of_type",
        "expect_column_mean_to_be_between",
        "expect_column_stdev_to_be_between",
        "expect_column_distinct_values_to_equal_set",
    } <= kinds


@pytest.mark.parametrize("name", [FRAUD, "customers_200", "fraud_evaluation_4000", "inference_payloads_256"])
def test_committed_golden_dataset_matches_its_schema_and_statistics(name):
    result = validate_golden(name, directory=GOLDEN_DIR)
    assert result.status is Status.PASS, result.message
    assert result.data_name == f"golden:{name}" and result.row_count == load_golden_spec(name, GOLDEN_DIR).row_count
    assert outcome(result, "assay_golden_version", "table").status is Status.PASS
    assert any(o.source == "assay" and o.expectation_type == "assay_golden_column_digest" for o in result.outcomes)


def test_tampering_with_one_value_is_caught(tmp_path):
    csv = _copy(tmp_path)
    old = _edit_csv(csv, 10, "amount", "")  # placeholder to read the value
    _edit_csv(csv, 10, "amount", f"{float(old) + 0.01:.2f}")  # one cent more on one of 200 rows
    result = validate_golden(FRAUD, directory=tmp_path)
    assert result.status is Status.FAIL
    mean = outcome(result, "expect_column_mean_to_be_between", "amount")
    assert mean.status is Status.FAIL and mean.observed_value == pytest.approx(mean.meta["golden"] + 0.01 / 200)
    assert outcome(result, "assay_golden_column_digest", "amount").status is Status.FAIL
    assert {o.column_label for o in _data_failures(result)} == {"amount"}  # and nothing else is blamed
    assert outcome(result, "assay_golden_version", "table").status is Status.FAIL  # and the data changed unbumped


def test_swapping_two_values_keeps_the_statistics_but_not_the_digest(tmp_path):
    csv = _copy(tmp_path)
    a = _edit_csv(csv, 1, "amount", "0")
    b = _edit_csv(csv, 2, "amount", a)
    _edit_csv(csv, 1, "amount", b)
    assert a != b
    result = validate_golden(FRAUD, directory=tmp_path)
    failures = _data_failures(result)
    assert [f"{o.expectation_type}:{o.column_label}" for o in failures] == ["assay_golden_column_digest:amount"]
    assert "SHA-256 of the column's values differs" in failures[0].message


def test_category_counts_and_schema_drift(tmp_path):
    csv = _copy(tmp_path)
    _edit_csv(csv, 0, "is_fraud", "1" if _edit_csv(csv, 0, "is_fraud", "0") == "0" else "0")
    counts = outcome(validate_golden(FRAUD, directory=tmp_path), "assay_golden_category_counts", "is_fraud")
    assert counts.status is Status.FAIL and "category counts differs" in counts.message

    lines = csv.read_text().splitlines()
    csv.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines[:-1]) + "\n")  # drop is_fraud and a row
    result = validate_golden(FRAUD, directory=tmp_path)
    assert result.status is Status.ERROR
    assert outcome(result, "expect_table_row_count_to_equal", "table").observed_value == 199
    assert outcome(result, "expect_table_columns_to_match_ordered_list", "table").status is Status.FAIL
    assert outcome(result, "assay_golden_column_digest", "is_fraud").status is Status.ERROR


def test_build_script_reproduces_the_committed_files_byte_for_byte(tmp_path):
    script = GOLDEN_DIR / "build_golden.py"
    spec = importlib.util.spec_from_file_location("build_golden_under_test", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build(tmp_path)
    assert {s.name for s in built} == {FRAUD, "customers_200", "fraud_evaluation_4000", "inference_payloads_256"}
    for s in built:
        for suffix in (".csv", ".yaml"):
            assert (tmp_path / f"{s.name}{suffix}").read_bytes() == (GOLDEN_DIR / f"{s.name}{suffix}").read_bytes()


def test_bad_golden_files_say_what_is_wrong(tmp_path):
    with pytest.raises(ConfigError, match=r"golden dataset 'nope' has no schema file .*known golden datasets: \[\]"):
        validate_golden("nope", directory=tmp_path)
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken.yaml is not valid YAML"):
        validate_golden("broken", directory=tmp_path)
    (tmp_path / "shape.yaml").write_text(yaml.safe_dump({"file": "shape.csv", "row_count": "many", "columns": []}))
    with pytest.raises(ConfigError, match=r"shape.yaml: 'row_count' must be a int"):
        validate_golden("shape", directory=tmp_path)
    _copy(tmp_path)
    (tmp_path / f"{FRAUD}.csv").unlink()
    result = validate_golden(FRAUD, directory=tmp_path)  # recorded as ERROR, then the caller fails
    assert result.status is Status.ERROR and result.checks[-1].status == "ERROR"
    assert re.search(
        r"could not be loaded: golden dataset file .*fraud_transactions_200.csv .* does not exist", result.message
    )
