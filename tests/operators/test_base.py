"""The record-then-fail helper every Assay operator shares, against a real metrics DB (SQLite and
PostgreSQL): which exception an error becomes, what is recorded first, and a record the DB refuses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from support.context import TaskInstanceStub, make_context
from support.operator_env import configure, recorded

from assay.errors import AssayError, ConfigError, TargetError, ToolError
from assay.results import Result
from assay.store import CheckRecord
from assay.store.outbox import Outbox
from assay_airflow.operators.base import AssayOperator

DAG = "assay_helper_test"


class Op(AssayOperator):
    def execute(self, context):  # pragma: no cover - the tests call the helpers directly
        raise NotImplementedError


def context(run_id):
    return make_context("task", ti=TaskInstanceStub(dag_id=DAG, run_id=run_id))


@pytest.mark.parametrize(
    "error, raised",
    [
        (ConfigError("threshold must be a number"), AirflowFailException),
        (TargetError("service unreachable"), AirflowException),
        (TargetError("commit abc1234 does not exist", retryable=False), AirflowFailException),
        (ToolError("locust crashed"), AirflowException),
        (AssayError(""), AirflowFailException),
    ],
)
def test_an_error_is_recorded_then_raised_final_or_retryable(metrics_url, tmp_path, monkeypatch, error, raised):
    configure(monkeypatch, tmp_path, metrics_url)
    started = datetime.now(UTC)
    with pytest.raises(raised) as err:
        with Op(task_id="task").recording_errors(
            context("manual__e"), kind="demo", name="suite", started_at=started, target="placeholder"
        ):
            raise error
    assert (type(err.value) is AirflowFailException) == (not error.retryable)
    row = recorded(metrics_url, DAG, "manual__e")["suite"]
    reason = str(error) or "AssayError"  # an error without a message still leaves a reason
    assert row.status == "ERROR" and row.message == reason and row.target == "placeholder"
    assert str(err.value) == f"suite: ERROR: {reason}"
    assert row.summary == {"error": type(error).__name__, "retryable": error.retryable}


def silent(status, checks=()):
    """An engine result that gives no message of its own."""
    now = datetime.now(UTC)
    return Result(
        name="suite", kind="demo", status=status, message="", started_at=now, finished_at=now, checks=list(checks)
    )


def test_a_result_without_a_message_is_recorded_with_one(metrics_url, tmp_path, monkeypatch):
    configure(monkeypatch, tmp_path, metrics_url)
    op = Op(task_id="task")
    bad = silent(
        "FAIL",
        checks=[CheckRecord("p95", "FAIL", 120, 100, "<=", message="120 ms > 100 ms"), CheckRecord("errors", "PASS")],
    )
    reason = op.record_result(context("manual__s"), bad)
    assert reason == "p95 FAIL: 120 ms > 100 ms; 1/2 checks passed"  # the reason leads
    assert op.record_result(context("manual__n"), silent("ERROR")) == "ERROR: no check was evaluated"
    assert recorded(metrics_url, DAG, "manual__s")["suite"].message == reason


def test_only_the_shared_result_model_is_recorded(metrics_url, tmp_path, monkeypatch):
    """An engine object that merely looks like a result (status, checks, describe_dict) is refused."""
    configure(monkeypatch, tmp_path, metrics_url)

    class LooksLikeOne:
        status, message, checks, metrics = "PASS", "fine", [], []

        def describe_dict(self):
            return {"status": self.status}

    with pytest.raises(TypeError, match="assay.results.Result, not LooksLikeOne"):
        Op(task_id="task").record_result(context("manual__d"), LooksLikeOne())
    assert recorded(metrics_url, DAG, "manual__d") == {}


def test_a_record_the_db_refuses_fails_the_task_for_good_and_is_kept(metrics_url, tmp_path, monkeypatch):
    configure(monkeypatch, tmp_path, metrics_url)
    result = silent(
        "PASS", checks=[CheckRecord("odd", "PASS", comparator="a comparator much, much too long for its column")]
    )
    with pytest.raises(AirflowFailException, match="assay_check.comparator holds at most 40 characters.*kept at"):
        Op(task_id="task").record_result(context("manual__r"), result)
    assert len(Outbox(tmp_path / "outbox").dead_letters()) == 1
    assert recorded(metrics_url, DAG, "manual__r") == {}
