"""validate_dataframe with real Great Expectations runs: verdicts, records, bad input, concurrency."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import great_expectations as gx
import numpy as np
import pytest
from support.data_quality import demo_fraud_dataset, fraud_frame, outcome
from support.demo_platform import SUITES_DIR

from assay.engines.data_quality import runner
from assay.engines.data_quality.outcomes import REDACTED
from assay.engines.data_quality.runner import NO_ROWS, validate_dataframe
from assay.engines.data_quality.suites import load_suite
from assay.errors import ConfigError
from assay.status import Status

SUITE = "fraud_transactions"


def test_demo_fraud_data_passes_every_expectation():
    result = validate_dataframe(fraud_frame(), SUITE, suites_dir=SUITES_DIR, data_name="fraud_transactions_200")
    spec = load_suite(SUITE, SUITES_DIR)
    assert result.status is Status.PASS, result.message
    assert result.counts["evaluated"] == len(spec.expectations) + 1  # + Assay's "dataset has rows"
    assert result.counts["successful"] == result.counts["evaluated"] and result.counts["success_percent"] == 100.0
    assert result.outcomes[0].expectation_type == NO_ROWS
    assert [o.expectation_type for o in result.outcomes[1:]] == [e["type"] for e in spec.expectations]

    checks = result.checks
    assert len(checks) == len(result.outcomes) and len({c.name for c in checks}) == len(checks)
    assert all(c.status == "PASS" for c in checks)
    mean = next(c for c in checks if c.name == "expect_column_mean_to_be_between:is_fraud")
    assert mean.comparator == "between" and 0.01 <= mean.observed <= 0.15

    metrics = {m.name: m for m in result.metrics}
    assert metrics["data_quality.evaluated_expectations"].value == result.counts["evaluated"]
    assert metrics["data_quality.unsuccessful_expectations"].value == 0
    assert metrics["data_quality.success_percent"].value == 100.0
    assert metrics["data_quality.row_count"].labels == {"suite": SUITE, "dataset": "fraud_transactions_200"}
    summary = json.loads(json.dumps(result.describe_dict()))
    assert summary["status"] == "PASS" and summary["summary"]["ge_version"] == gx.__version__
    assert len(json.loads(json.dumps([o.describe_dict() for o in result.outcomes]))) == result.counts["evaluated"]


def test_suite_holds_on_a_larger_fresh_sample_of_the_generator():
    result = validate_dataframe(demo_fraud_dataset(5000, seed=11), SUITE, suites_dir=SUITES_DIR, data_name="fraud_5000")
    assert result.status is Status.PASS, result.message


def test_broken_values_fail_with_counts_and_examples():
    df = fraud_frame()
    df.loc[[3, 4, 5], "amount"] = -10.0
    df.loc[7, "is_fraud"] = 2
    df.loc[9, "customer_id"] = df.loc[8, "customer_id"]
    df.loc[11, "email"] = "not-an-email"
    df.loc[20:31, "name"] = None  # 12 of 200 = 6% missing: optional field allows 5%
    df.loc[40:47, "email"] = None  # 8 of 200 = 4% missing: allowed
    result = validate_dataframe(df, SUITE, suites_dir=SUITES_DIR, data_name="tampered")
    assert result.status is Status.FAIL

    amount = outcome(result, "expect_column_values_to_be_between", "amount")
    assert (amount.status, amount.unexpected_count, amount.unexpected_examples) == (Status.FAIL, 3, (-10.0,) * 3)
    assert amount.unexpected_index_examples == (3, 4, 5)
    assert outcome(result, "expect_column_values_to_be_in_set", "is_fraud").unexpected_examples == (2,)
    unique = outcome(result, "expect_column_values_to_be_unique", "customer_id")
    assert unique.status is Status.FAIL and unique.unexpected_count == 2
    assert unique.unexpected_examples == (REDACTED, REDACTED)  # personal column: values never leave the run
    regex = outcome(result, "expect_column_values_to_match_regex", "email")
    assert regex.status is Status.FAIL and regex.unexpected_index_examples == (11,)

    completeness = {
        o.column_label: o for o in result.outcomes if o.expectation_type == "expect_column_values_to_not_be_null"
    }
    assert completeness["name"].status is Status.FAIL and completeness["name"].unexpected_percent == 6.0
    assert "allowed 5.00% (mostly=0.95)" in completeness["name"].message
    assert completeness["email"].status is Status.PASS and completeness["email"].unexpected_count == 8

    failed = {f"{o.expectation_type}:{o.column_label}" for o in result.failures}
    assert failed == {
        "expect_column_values_to_be_between:amount",
        "expect_column_values_to_be_in_set:is_fraud",
        "expect_column_values_to_be_unique:customer_id",
        "expect_column_values_to_match_regex:email",
        "expect_column_values_to_not_be_null:name",
    }
    assert "5 failed of" in result.message
    check = next(c for c in result.checks if c.name == "expect_column_values_to_be_between:amount")
    assert (check.status, check.observed, check.threshold, check.comparator) == ("FAIL", 1.5, 0.0, "<=")
    counts = {m.name: m.value for m in result.metrics}
    assert counts["data_quality.unsuccessful_expectations"] == 5 and counts["data_quality.errored_expectations"] == 0


def test_empty_dataframe_is_error_never_pass():
    result = validate_dataframe(fraud_frame().iloc[:0], SUITE, suites_dir=SUITES_DIR, data_name="empty")
    assert result.status is Status.ERROR
    assert "has no rows" in result.message
    guard = result.outcomes[0]
    assert guard.expectation_type == NO_ROWS and guard.status is Status.ERROR
    passed = {o.expectation_type for o in result.outcomes if o.status is Status.PASS}
    # only checks about the columns themselves can pass on zero rows
    assert passed == {
        "expect_table_columns_to_match_set",
        "expect_column_to_exist",
        "expect_column_values_to_be_of_type",
    }
    nulls = outcome(result, "expect_column_values_to_not_be_null", "amount")
    assert nulls.status is Status.ERROR and "no rows" in nulls.message


def test_missing_column_fails_its_existence_and_errors_its_value_checks():
    result = validate_dataframe(
        fraud_frame().drop(columns=["merchant_risk"]), SUITE, suites_dir=SUITES_DIR, data_name="no_risk"
    )
    assert result.status is Status.ERROR
    assert outcome(result, "expect_column_to_exist", "merchant_risk").status is Status.FAIL
    columns = outcome(result, "expect_table_columns_to_match_set", "table")
    assert columns.status is Status.FAIL and "missing columns ['merchant_risk']" in columns.message
    for etype in (
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_between",
        "expect_column_mean_to_be_between",
        "expect_column_values_to_be_of_type",
    ):
        o = outcome(result, etype, "merchant_risk")
        assert o.status is Status.ERROR, etype
        assert "['merchant_risk'] not in the dataset" in o.message
    others = [
        o
        for o in result.outcomes
        if "merchant_risk" not in o.columns and o.expectation_type != "expect_table_columns_to_match_set"
    ]
    assert all(o.status is Status.PASS for o in others)


def test_all_nan_column_is_not_passed_vacuously():
    df = fraud_frame()
    df["amount"] = np.nan
    result = validate_dataframe(df, SUITE, suites_dir=SUITES_DIR, data_name="nan_amount")
    assert result.status is Status.ERROR
    nulls = outcome(result, "expect_column_values_to_not_be_null", "amount")
    assert nulls.status is Status.FAIL and nulls.unexpected_percent == 100.0
    between = outcome(result, "expect_column_values_to_be_between", "amount")
    assert between.status is Status.ERROR and "all 200 values of amount are null" in between.message
    assert outcome(result, "expect_column_mean_to_be_between", "amount").status is Status.ERROR
    assert outcome(result, "expect_column_values_to_be_of_type", "amount").status is Status.PASS  # still float64


def test_mismatched_dtypes_fail_type_checks_and_error_numeric_ones():
    df = fraud_frame()
    df["amount"] = df["amount"].astype(str)
    df["hour"] = df["hour"].astype(float)
    result = validate_dataframe(df, SUITE, suites_dir=SUITES_DIR, data_name="strings")
    assert result.status is Status.ERROR
    amount_type = outcome(result, "expect_column_values_to_be_of_type", "amount")
    assert amount_type.status is Status.FAIL and amount_type.message == "column dtype 'str'; expected 'float64'"
    assert outcome(result, "expect_column_values_to_be_of_type", "hour").status is Status.FAIL
    mean = outcome(result, "expect_column_mean_to_be_between", "amount")
    assert mean.status is Status.ERROR and "string" in mean.exception
    assert outcome(result, "expect_column_values_to_be_between", "hour").status is Status.PASS  # 3.0 is in 0..23


def test_not_a_dataframe_is_a_clear_error():
    with pytest.raises(ConfigError, match="needs a pandas DataFrame for 'x', got list"):
        validate_dataframe([{"a": 1}], SUITE, suites_dir=SUITES_DIR, data_name="x")


def test_a_crash_inside_ge_is_an_error_result(monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("metric store exploded")

    monkeypatch.setattr(runner, "_run_ge", broken)
    result = validate_dataframe(fraud_frame(), SUITE, suites_dir=SUITES_DIR, data_name="x")
    assert result.status is Status.ERROR
    assert "Great Expectations failed to run the suite: RuntimeError: metric store exploded" in result.message
    assert result.checks[-1].name == "data_quality:validation" and result.checks[-1].status == "ERROR"


def test_repeated_expectations_get_distinct_check_names():
    suite = {
        "name": "twice",
        "expectations": [
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "hour", "min_value": 0, "max_value": 23},
            },
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "hour", "min_value": 0, "max_value": 5},
                "severity": "warning",
            },
        ],
    }
    result = validate_dataframe(fraud_frame(), suite, data_name="x")
    names = [c.name for c in result.checks]
    assert names[1:] == ["expect_column_values_to_be_between:hour", "expect_column_values_to_be_between:hour#2"]
    assert result.checks[2].status == "WARN" and result.checks[2].severity == "warning"
    assert result.status is Status.WARN


@pytest.mark.slow
def test_concurrent_validations_share_no_state(tmp_path, monkeypatch):
    """Four validations at once in threads, each with its own data and suite, each get their own answer.

    The GE Airflow provider's file-backed context races between parallel tasks; here every call has
    its own ephemeral context, so nothing is shared and nothing is written to the working directory.
    """
    monkeypatch.chdir(tmp_path)
    base = fraud_frame()
    caller_suite = gx.ExpectationSuite(**json.loads(json.dumps(load_suite(SUITE, SUITES_DIR).to_json_dict())))
    narrow = {
        "name": "narrow_hours",
        "expectations": [
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "hour", "min_value": 0, "max_value": 11},
            }
        ],
    }
    jobs = [(bad, caller_suite if bad % 2 else narrow) for bad in (1, 2, 3, 4)]
    barrier = threading.Barrier(len(jobs))

    def run(job):
        bad, suite = job
        df = base.copy()
        df.loc[: bad - 1, "amount"] = -1.0  # the first ``bad`` rows are invalid
        barrier.wait()  # start together
        return validate_dataframe(df, suite, data_name=f"part-{bad}")

    with ThreadPoolExecutor(len(jobs)) as pool:
        results = list(pool.map(run, jobs))

    hours_after_11 = int((base["hour"] > 11).sum())
    for (bad, suite), result in zip(jobs, results, strict=True):
        assert result.data_name == f"part-{bad}"
        if suite is narrow:
            assert result.suite_name == "narrow_hours" and len(result.outcomes) == 2
            assert outcome(result, "expect_column_values_to_be_between", "hour").unexpected_count == hours_after_11
        else:
            assert result.suite_name == SUITE
            assert outcome(result, "expect_column_values_to_be_between", "amount").unexpected_count == bad
            assert {o.column_label for o in result.failures} == {"amount"}
    assert all(e.id is None for e in caller_suite.expectations)  # the caller's suite object was not touched
    assert list(tmp_path.iterdir()) == []  # ephemeral: no gx/ project, no stores on disk
