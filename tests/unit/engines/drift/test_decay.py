"""Performance decay per time window, checked against sklearn.metrics on the raw rows of each window."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from assay.engines.drift import DecayConfig, run_performance_decay
from assay.sources import FrameSource
from assay.status import Status


def scored(days: int = 6, per_day: int = 400, decay_from: int = 4, seed: int = 0) -> pd.DataFrame:
    """Binary labels and predictions, accuracy ~0.9 until ``decay_from``, ~0.7 after."""
    rng = np.random.default_rng(seed)
    rows = days * per_day
    day = np.repeat(np.arange(days), per_day)
    ts = (
        pd.Timestamp("2024-03-04")
        + pd.to_timedelta(day, unit="D")
        + pd.to_timedelta(rng.integers(0, 86_400, rows), unit="s")
    )
    label = rng.integers(0, 2, rows)
    flip = rng.random(rows) < np.where(day >= decay_from, 0.3, 0.1)
    score = np.clip(np.where(label == 1, 0.75, 0.25) + rng.normal(0, 0.05, rows), 0, 1)
    score = np.where(flip, 1 - score, score)
    return pd.DataFrame({"ts": ts, "label": label, "pred": (score >= 0.5).astype(int), "score": score})


CONFIG = DecayConfig(timestamp_column="ts", label_column="label", prediction_column="pred", window="D")


def sklearn_window(frame: pd.DataFrame, metric: str) -> float:
    fn = {"accuracy": skm.accuracy_score, "precision": skm.precision_score, "recall": skm.recall_score}[metric]
    return fn(frame["label"], frame["pred"])


def test_window_metrics_equal_sklearn_and_decay_fails():
    data = scored()
    result = run_performance_decay(data, CONFIG)
    days = data.groupby(data["ts"].dt.floor("D"))
    first = min(days.groups)
    assert result.reference_label == f"first window {first.isoformat()}"
    for metric in CONFIG.metrics:
        assert result.reference[metric] == pytest.approx(sklearn_window(days.get_group(first), metric), abs=1e-12)
    assert len(result.windows) == 5 * 3
    for check in result.windows:
        rows = days.get_group(pd.Timestamp(check.window))
        assert check.value == pytest.approx(sklearn_window(rows, check.metric), abs=1e-12)
        assert check.rows == len(rows)
        assert check.drop == pytest.approx(result.reference[check.metric] - check.value, abs=1e-12)
    accuracy = {pd.Timestamp(c.window).day: c.status for c in result.windows if c.metric == "accuracy"}
    assert accuracy == {5: Status.PASS, 6: Status.PASS, 7: Status.PASS, 8: Status.FAIL, 9: Status.FAIL}
    assert result.status is Status.FAIL and "accuracy 2024-03-08T00:00:00 FAIL" in result.message


def test_chunked_equals_whole_and_records():
    data = scored()
    whole = run_performance_decay(data, CONFIG)
    chunked = run_performance_decay(FrameSource(data, chunk_rows=97), CONFIG)
    same = ("status", "message", "checks", "metrics", "summary")  # all but the timings
    assert [getattr(chunked, f) for f in same] == [getattr(whole, f) for f in same]
    json.dumps(whole.describe_dict())
    check = whole.checks[0]
    assert check.name == "decay:accuracy:2024-03-05T00:00:00" and check.comparator == ">="
    assert check.threshold == pytest.approx(whole.reference["accuracy"] - 0.05)
    names = {m.name for m in whole.metrics}
    assert names == {
        "reference_accuracy",
        "reference_precision",
        "reference_recall",
        "window_accuracy",
        "window_precision",
        "window_recall",
    }


def test_labels_not_yet_arrived_are_left_out_and_small_windows_skip():
    data = scored(days=3, decay_from=99)
    last_day = data["ts"] >= pd.Timestamp("2024-03-06")
    data.loc[last_day, "label"] = np.nan
    data.loc[data.index[last_day][:10], "label"] = 1.0  # only 10 labels arrived for the last day
    result = run_performance_decay(data, CONFIG)
    assert result.unlabeled_rows == 390 and "390 row(s) without a label yet" in result.message
    last = [c for c in result.windows if c.window.startswith("2024-03-06")]
    assert {c.status for c in last} == {Status.SKIP} and "only 10 labelled rows" in last[0].message
    assert result.status is Status.PASS


def test_explicit_reference_dataset_weekly_windows_and_scores():
    data = scored(days=14, per_day=100, decay_from=7)
    reference = scored(days=2, per_day=500, decay_from=99, seed=5).drop(columns=["ts"])
    config = DecayConfig("ts", "label", "score", window="W", metrics=("accuracy",), prediction_threshold=0.5)
    result = run_performance_decay(data, config, reference=reference)
    assert result.reference_label == "DataFrame" and result.reference_rows == 1000
    assert result.reference["accuracy"] == pytest.approx(skm.accuracy_score(reference["label"], reference["pred"]))
    weeks = [c.window for c in result.windows]
    assert weeks == ["2024-03-04T00:00:00", "2024-03-11T00:00:00"]  # weeks start on Monday
    second = data[data["ts"] >= pd.Timestamp("2024-03-11")]
    assert result.windows[1].value == pytest.approx(skm.accuracy_score(second["label"], second["pred"]))
    assert [c.status for c in result.windows] == [Status.PASS, Status.FAIL]


def test_relative_drop_and_warn():
    data = scored(days=2, per_day=2000, decay_from=99, seed=3)
    data.loc[data.index[2000:2060], "pred"] = 1 - data.loc[data.index[2000:2060], "pred"]  # ~3 points worse
    config = DecayConfig("ts", "label", "pred", metrics=("accuracy",), relative=True, fail_drop=0.05, warn_drop=0.02)
    (check,) = run_performance_decay(data, config).windows
    assert 0.02 < check.drop < 0.05 and check.status is Status.WARN
    assert check.drop == pytest.approx((check.reference_value - check.value) / check.reference_value)


def test_string_labels_with_pos_label():
    data = scored(days=2)
    names = np.array(["ok", "fraud"])
    data = data.assign(label=names[data["label"]], pred=names[data["pred"]])
    config = DecayConfig("ts", "label", "pred", metrics=("precision", "recall"), pos_label="fraud")
    result = run_performance_decay(data, config)
    day2 = data[data["ts"] >= pd.Timestamp("2024-03-05")]
    (precision, recall) = result.windows
    assert precision.value == pytest.approx(skm.precision_score(day2["label"], day2["pred"], pos_label="fraud"))
    assert recall.value == pytest.approx(skm.recall_score(day2["label"], day2["pred"], pos_label="fraud"))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.drop(columns=["label"]), "column 'label' is missing"),
        (lambda d: d.assign(ts=d["ts"].astype(str).where(d.index != 5, "yesterday")), "not a timestamp: 'yesterday'"),
        (lambda d: d.assign(label=np.nan), "no labelled rows in any window"),
        (lambda d: d.iloc[:0], "no labelled rows in any window"),
        (
            lambda d: d[(d["ts"] >= pd.Timestamp("2024-03-05")) | (d.index < 10)],
            "has 10 labelled rows, fewer than min_window_rows=30",
        ),
        (lambda d: d.assign(pred=d["pred"].map({0: "no", 1: "yes"})), "could not be computed"),
    ],
)
def test_bad_input_is_an_error(mutate, message):
    result = run_performance_decay(mutate(scored(days=3)), CONFIG)
    assert result.status is Status.ERROR and message in result.error
    (check,) = result.checks
    assert check.status == "ERROR" and message in check.message


def test_a_single_labelled_window_is_skip_with_its_reason():
    # before: ERROR "no labelled rows in any window" although the one window held 400 labelled rows
    data = scored(days=1)
    result = run_performance_decay(data, CONFIG)
    assert result.status is Status.SKIP and result.error is None and result.windows == ()
    assert "only one window holds labelled rows (first window 2024-03-04T00:00:00, 400 rows)" in result.message
    assert result.reference_rows == 400 and result.reference["accuracy"] == pytest.approx(
        sklearn_window(data, "accuracy"), abs=1e-12
    )
    (check,) = result.checks
    assert (check.name, check.status) == ("performance_decay", "SKIP") and "no later window" in check.message
    assert {m.name for m in result.metrics} == {
        "reference_accuracy",
        "reference_precision",
        "reference_recall",
    }
    # with a separate reference the same single window is checked
    checked = run_performance_decay(data, CONFIG, reference=scored(days=1, seed=4).drop(columns=["ts"]))
    assert checked.status is Status.PASS and len(checked.windows) == 3
