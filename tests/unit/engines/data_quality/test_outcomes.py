"""Status rules on real recorded GE 1.x results (fixtures/record_ge_results.py re-records them)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assay.engines.data_quality.outcomes import (
    MAX_EXAMPLES,
    REDACTED,
    exception_message,
    json_safe,
    outcome_from_ge,
)
from assay.status import Status

FIXTURES = Path(__file__).parent / "fixtures"


def _load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def _outcomes(name: str, **kw):
    doc = _load(name)
    return [
        outcome_from_ge(r, row_count=doc["row_count"], dataset_columns=doc["columns"], **kw) for r in doc["results"]
    ]


def test_mixed_results_map_to_assay_statuses():
    ok, between, blank_between, blank_mean, absent, tier, columns = _outcomes("ge_results_mixed.json")
    assert (ok.status, ok.unexpected_count, ok.element_count) == (Status.PASS, 0, 8)

    assert between.status is Status.FAIL
    assert (between.unexpected_count, round(between.unexpected_percent, 2)) == (3, 37.5)
    assert list(between.unexpected_examples) == pytest.approx([1.5 * 5 / 7, 1.5 * 6 / 7, 1.5])  # linspace(0, 1.5, 8)
    assert between.unexpected_index_examples == (5, 6, 7)
    assert "3 of 8 values unexpected (37.50%)" in between.message

    # GE says success for a range check on a column that is entirely null: nothing was checked
    assert blank_between.status is Status.ERROR and "all 8 values of blank are null" in blank_between.message
    # and cannot compute the mean of it
    assert blank_mean.status is Status.ERROR and blank_mean.observed_value is None

    # a missing column is an exception inside GE: ERROR, explained with the columns present
    assert absent.status is Status.ERROR
    assert 'The column "absent" in BatchData does not exist' in absent.exception
    assert "['absent'] not in the dataset" in absent.message and "'score'" in absent.message

    # severity "warning" turns a failure into WARN
    assert tier.severity == "warning" and tier.status is Status.WARN
    assert tier.unexpected_examples == ("c", "c")

    assert columns.status is Status.FAIL and "missing columns ['absent']" in columns.message


def test_empty_frame_never_passes_a_row_dependent_expectation():
    outcomes = _outcomes("ge_results_empty.json")
    doc = _load("ge_results_empty.json")
    ge_said_success = [r["success"] for r in doc["results"]]
    assert True in ge_said_success  # GE calls some of them successful on zero rows...
    by_type = {(o.expectation_type, o.column_label): o for o in outcomes}
    for (etype, column), o in by_type.items():
        if etype == "expect_table_columns_to_match_set":
            assert o.status is Status.FAIL  # schema checks are still judged: the column is really missing
        elif column == "absent":
            assert o.status is Status.ERROR and o.exception
        else:  # ...Assay never does
            assert o.status is Status.ERROR and "no rows" in o.message, (etype, column)


def test_check_record_of_a_column_value_expectation():
    between = _outcomes("ge_results_mixed.json")[1]
    rec = between.check_record("expect_column_values_to_be_between:score")
    assert (rec.status, rec.observed, rec.threshold, rec.comparator, rec.severity) == ("FAIL", 37.5, 0.0, "<=", "error")
    assert rec.message == between.message


def test_personal_columns_are_redacted_but_rows_kept():
    tier = _outcomes("ge_results_mixed.json", personal_columns=["tier"])[5]
    assert tier.unexpected_examples == (REDACTED, REDACTED)
    assert len(tier.unexpected_index_examples) == 2
    assert "'c'" not in tier.message


def test_exception_info_flat_and_keyed_shapes():
    assert exception_message({"raised_exception": False, "exception_message": None}) is None
    assert exception_message({"raised_exception": True, "exception_message": "boom"}) == "boom"
    keyed = {
        "m1": {"raised_exception": True, "exception_message": "x"},
        "m2": {"raised_exception": True, "exception_message": "x"},
        "m3": {"raised_exception": False},
    }
    assert exception_message(keyed) == "x"
    assert exception_message({}) is None


def test_long_and_many_examples_are_truncated():
    doc = _load("ge_results_mixed.json")
    result = json.loads(json.dumps(doc["results"][5]))
    result["result"]["partial_unexpected_list"] = ["<" * 500] * 50
    o = outcome_from_ge(result, row_count=8, dataset_columns=doc["columns"])
    assert len(o.unexpected_examples) == MAX_EXAMPLES
    assert all(len(v) <= 121 for v in o.unexpected_examples)


def test_json_safe_converts_numpy_and_non_finite():
    out = json_safe(
        {
            "a": np.float64(1.5),
            "b": np.int64(2),
            "c": float("nan"),
            "d": [np.bool_(True)],
            np.int64(3): np.datetime64("2025-01-01"),
        }
    )
    assert out == {"a": 1.5, "b": 2, "c": None, "d": [True], "3": "2025-01-01"}
    assert type(out["a"]) is float and type(out["b"]) is int
    json.dumps(out)
