"""run_drift end to end: statistics equal scipy on the raw columns, verdicts, shares, records."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance
from support.drift_data import make_pair

from assay.engines.drift import ColumnOverride, DriftConfig, run_drift
from assay.status import Status

ALL_TESTS = ["psi", "kl_div", "jensenshannon", "chisquare", "ks", "wasserstein", "anderson"]
TOL = 1e-9


def evidently_shares(counts: np.ndarray) -> np.ndarray:
    shares = counts / counts.sum()
    nz = shares[shares != 0].min()
    return np.where(shares == 0, nz / 1e6 if nz <= 1e-4 else 1e-4, shares)


def scipy_reference(test: str, ref: pd.Series, cur: pd.Series, categorical: bool) -> tuple[float, float | None]:
    """The statistic (and p-value) computed straight from the raw columns with scipy and pandas."""
    ref, cur = ref.dropna(), cur.dropna()
    if test == "ks":
        r = stats.ks_2samp(ref, cur)
        return r.statistic, r.pvalue
    if test == "wasserstein":
        return stats.wasserstein_distance(ref, cur) / max(np.std(ref.to_numpy()), 0.001), None
    if test == "anderson":
        r = stats.anderson_ksamp([ref.to_numpy(), cur.to_numpy()], variant="midrank")
        return r.statistic, r.pvalue
    if categorical:
        keys = sorted(set(ref) | set(cur))
        rc = ref.value_counts().reindex(keys, fill_value=0).to_numpy()
        cc = cur.value_counts().reindex(keys, fill_value=0).to_numpy()
    else:
        qs = np.quantile(ref.to_numpy(), np.linspace(0, 1, 11))
        bins = np.concatenate(([-np.inf], np.unique(qs[1:-1]), [np.inf]))
        rc = pd.Series(pd.cut(ref, bins)).value_counts(sort=False).to_numpy()
        cc = pd.Series(pd.cut(cur, bins)).value_counts(sort=False).to_numpy()
    if test == "psi":
        r, c = evidently_shares(rc), evidently_shares(cc)
        return float(np.sum((c - r) * np.log(c / r))), None
    if test == "kl_div":
        return stats.entropy(evidently_shares(rc), evidently_shares(cc)), None
    if test == "jensenshannon":
        return distance.jensenshannon(rc / rc.sum(), cc / cc.sum()), None
    keep = (rc + cc) > 0
    r = stats.chi2_contingency(np.vstack([rc[keep], cc[keep]]), correction=False)
    return r.statistic, r.pvalue


@pytest.mark.filterwarnings("ignore:p-value (capped|floored)")
def test_every_test_in_the_results_equals_scipy_on_the_raw_columns():
    ref, cur = make_pair(
        3000, numeric=4, categorical=2, shifted_numeric=(0,), shifted_categorical=(1,), current_rows=2500
    )
    ref.loc[ref.index[::7], "num_01"] = np.nan
    cur.loc[cur.index[::5], "cat_0"] = None
    cur.loc[cur.index[:3], "cat_0"] = "never_seen"
    numeric, categorical = ["num_00", "num_01", "num_02", "num_03"], ["cat_0", "cat_1"]
    config = DriftConfig(
        overrides={c: ColumnOverride(tests=ALL_TESTS) for c in numeric}
        | {c: ColumnOverride(tests=["psi", "kl_div", "jensenshannon", "chisquare"]) for c in categorical},
    )
    result = run_drift(ref, cur, config)
    assert len(result.columns) == 4 * 7 + 2 * 4
    for r in result.columns:
        statistic, p_value = scipy_reference(r.test, ref[r.column], cur[r.column], r.column in categorical)
        assert abs(r.statistic - statistic) <= TOL, (r.column, r.test, r.statistic, statistic)
        if p_value is not None:
            assert abs(r.p_value - p_value) <= TOL, (r.column, r.test)
        assert r.status in (Status.PASS, Status.FAIL), r.message
    by = {(r.column, r.test): r for r in result.columns}
    assert by[("num_00", "wasserstein")].drifted and by[("num_00", "ks")].drifted
    assert not by[("num_03", "wasserstein")].drifted
    assert by[("num_01", "ks")].missing_reference == len(ref.index[::7])
    assert "'never_seen' (3 rows)" in by[("cat_0", "chisquare")].message


def test_verdicts_share_and_dataset_drift():
    ref, cur = make_pair(5000)
    result = run_drift(ref, cur)
    assert result.drifted_columns == ["num_00", "num_05", "num_10", "cat_1"]
    assert (result.n_drifted, result.n_columns, result.share_drifted) == (4, 25, 4 / 25)
    assert not result.dataset_drift and result.dataset_status is Status.PASS and result.status is Status.PASS
    assert "4 of 25 columns drifted" in result.message
    # drift when the share reaches the threshold (Evidently's >=; before: only when it exceeded it)
    assert run_drift(ref, cur, DriftConfig(drift_share=4 / 25)).dataset_drift is True
    assert run_drift(ref, cur, DriftConfig(drift_share=4 / 25 + 1e-9)).dataset_drift is False
    tight = run_drift(ref, cur, DriftConfig(drift_share=0.1))
    assert tight.dataset_drift and tight.status is Status.FAIL and tight.dataset_status is Status.FAIL


def test_critical_column_fails_the_dataset_alone():
    ref, cur = make_pair(3000, numeric=3, categorical=1, shifted_numeric=(0,), shifted_categorical=())
    result = run_drift(ref, cur, DriftConfig(overrides={"num_00": ColumnOverride(critical=True)}))
    assert result.dataset_status is Status.PASS and result.status is Status.FAIL
    check = next(c for c in result.checks if c.name == "drift:num_00:wasserstein")
    assert (check.status, check.severity) == ("FAIL", "error")
    assert "critical column(s) drifted: num_00" in result.message
    assert result.message.startswith("critical column(s) drifted: num_00; no dataset drift: "), result.message


def test_prediction_column_is_concept_drift_reported_apart():
    rng = np.random.default_rng(2)
    ref = pd.DataFrame({"x": rng.normal(size=4000), "score": rng.beta(2, 5, 4000)})
    cur = pd.DataFrame({"x": rng.normal(size=4000), "score": rng.beta(5, 2, 4000)})
    result = run_drift(ref, cur, DriftConfig(prediction_column="score"))
    assert [r.column for r in result.columns] == ["x"] and result.share_drifted == 0.0
    assert result.prediction_drift and result.status is Status.FAIL and result.dataset_status is Status.PASS
    check = next(c for c in result.checks if c.name.startswith("prediction_drift:"))
    assert (check.name, check.status, check.severity) == ("prediction_drift:score:wasserstein", "FAIL", "error")
    only = run_drift(ref, cur, DriftConfig(columns=[], prediction_column="score"))
    assert only.dataset_status is Status.SKIP and only.status is Status.FAIL and only.columns == ()
    same = run_drift(ref, ref, DriftConfig(columns=[], prediction_column="score"))
    assert same.status is Status.PASS


def test_the_message_leads_with_what_failed():
    """The reason of a FAIL comes first; a passing dataset check follows as context."""
    rng = np.random.default_rng(2)
    ref = pd.DataFrame({"x": rng.normal(size=4000), "score": rng.beta(2, 5, 4000)})
    cur = pd.DataFrame({"x": rng.normal(size=4000), "score": rng.beta(5, 2, 4000)})
    result = run_drift(ref, cur, DriftConfig(prediction_column="score"))
    assert result.status is Status.FAIL
    assert result.message.startswith("prediction 'score' drifted; no dataset drift: 0 of 1 columns"), result.message
    calm = run_drift(ref, ref, DriftConfig(prediction_column="score"))
    assert (
        calm.message.startswith("no dataset drift: 0 of 1 columns") and "prediction 'score': no drift" in calm.message
    )


def test_warn_threshold_gives_warn_without_drift():
    ref, cur = make_pair(20_000, numeric=1, categorical=0, shifted_numeric=(0,), shift=0.07)
    result = run_drift(ref, cur, DriftConfig(warn_thresholds={"wasserstein": 0.05}))
    (col,) = result.columns
    assert 0.05 <= col.statistic < 0.1
    assert col.status is Status.WARN and not col.drifted and "past the warn threshold 0.05" in col.message


def test_records_and_describe_dict():
    ref, cur = make_pair(2000, numeric=2, categorical=1, shifted_numeric=(0,), shifted_categorical=())
    result = run_drift(ref, cur, DriftConfig(overrides={"num_01": ColumnOverride(tests=["psi", "ks"])}))
    checks = result.checks
    assert [c.name for c in checks] == [
        "dataset_drift",
        "drift:num_00:wasserstein",
        "drift:num_01:psi",
        "drift:num_01:ks",
        "drift:cat_0:jensenshannon",
        "drift:num_00:missing_share",
        "drift:num_01:missing_share",
        "drift:cat_0:unseen_share",
        "drift:cat_0:missing_share",
    ]
    dataset = checks[0]
    assert (dataset.observed, dataset.threshold, dataset.comparator) == (1 / 3, 0.5, "<")
    missing = checks[5]
    assert (missing.status, missing.observed, missing.threshold, missing.comparator) == ("PASS", 0.0, 0.1, "<=")
    assert missing.severity == "error"
    ks = checks[3]
    assert ks.comparator == ">=" and ks.threshold == 0.05 and ks.observed == result.columns[2].p_value
    psi = checks[2]
    assert psi.comparator == "<" and psi.observed == result.columns[1].statistic and psi.severity == "warning"
    metrics = {(m.name, m.labels.get("column"), m.labels.get("test")) for m in result.metrics}
    assert ("drift_share", None, None) in metrics and ("drift_statistic", "num_01", "psi") in metrics
    assert ("drift_p_value", "num_01", "ks") in metrics and ("drift_p_value", "num_01", "psi") not in metrics
    described = json.loads(json.dumps(result.describe_dict()))["summary"]
    assert described["counts"] == {"evaluated": 8, "successful": 7, "unsuccessful": 1}
    assert [d["test"] for d in described["share_checks"]] == [
        "missing_share",
        "missing_share",
        "unseen_share",
        "missing_share",
    ]
    assert described["columns"][0]["column"] == "num_00" and described["columns"][0]["status"] == "FAIL"


def test_datetime_columns_are_skipped_when_auto_and_error_when_named():
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(size=50), "at": pd.date_range("2024-01-01", periods=50, freq="h")})
    cur = ref.assign(x=rng.normal(size=50))
    auto = run_drift(ref, cur)
    assert [r.column for r in auto.columns] == ["x"] and "at" in auto.skipped_columns
    named = run_drift(ref, cur, DriftConfig(columns=["x", "at"]))
    at = next(r for r in named.columns if r.column == "at")
    assert at.status is Status.ERROR and "holds datetimes" in at.message and named.status is Status.ERROR
    excluded = run_drift(ref, cur, DriftConfig(exclude_columns=["x"]))
    assert excluded.status is Status.ERROR and "no columns to compare" in excluded.message
