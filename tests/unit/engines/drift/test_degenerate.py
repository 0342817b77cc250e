"""The degenerate inputs of issue 8 §1: nothing that could not be measured passes.

Each test states the outcome of the code before the fix ("before:"), measured on the same input.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from assay.engines.drift import ColumnOverride, DriftConfig, run_drift
from assay.engines.drift import evaluate as evaluate_module
from assay.engines.drift.statistics import TestValue
from assay.errors import ConfigError
from assay.status import Status


def only(result, test: str | None = None):
    hits = [r for r in result.columns if test is None or r.test == test]
    assert len(hits) == 1, [(r.column, r.test, r.status) for r in result.columns]
    return hits[0]


def share_check(result, test: str, column: str = "x"):
    (hit,) = [r for r in result.share_checks if r.test == test and r.column == column]
    return hit


# ------------------------------------------------------------------ non-finite data and statistics


@pytest.mark.parametrize("test", ["ks", "psi", "wasserstein", "anderson", "kl_div", "jensenshannon", "chisquare"])
def test_reference_of_only_infinities_is_an_error_before_any_test(test):
    # before: ks and psi gave "p-value nan / psi nan: no drift" and a PASS; wasserstein raised IndexError
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": np.where(rng.random(50) < 0.5, np.inf, -np.inf), "y": rng.normal(size=50)})
    cur = pd.DataFrame({"x": rng.normal(size=50), "y": rng.normal(size=50)})
    result = run_drift(ref, cur, DriftConfig(overrides={"x": ColumnOverride(tests=[test])}))
    x = next(r for r in result.columns if r.column == "x")
    assert [r.test for r in result.columns if r.column == "x"] == [None]  # no test ran on it
    assert x.status is Status.ERROR and "has no finite values (50 rows: 0 missing, 50 infinite)" in x.message
    assert result.status is Status.ERROR
    assert next(r for r in result.columns if r.column == "y").status in (Status.PASS, Status.FAIL)


def test_current_of_only_infinities_is_an_error():
    ref = pd.DataFrame({"x": np.arange(100.0)})
    cur = pd.DataFrame({"x": [np.inf, -np.inf, np.nan] * 10})
    result = run_drift(ref, cur, DriftConfig(tests=["wasserstein"]))
    x = only(result)
    assert x.status is Status.ERROR
    assert "current column 'x' has no finite values (30 rows: 10 missing, 20 infinite)" in x.message
    assert result.status is Status.ERROR


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_non_finite_statistic_is_an_error_never_no_drift(monkeypatch, bad):
    # before: `p < threshold` with p = nan is False, so a nan p-value read "no drift" and the column PASSed
    monkeypatch.setitem(evaluate_module._VALUE_TESTS, "ks", lambda a, b: TestValue(bad, bad))
    rng = np.random.default_rng(1)
    result = run_drift(pd.DataFrame({"x": rng.normal(size=200)}), pd.DataFrame({"x": rng.normal(size=200)}))
    x = only(result, "ks")
    assert x.status is Status.ERROR and "not a number to judge" in x.message and not x.drifted
    assert result.status is Status.ERROR and result.dataset_status is Status.ERROR


def test_an_exception_inside_a_statistic_is_that_columns_error(monkeypatch):
    # before: a ValueError/IndexError from psi or wasserstein escaped run_drift and lost every other column
    def broken(a, b):
        raise IndexError("index -1 is out of bounds for axis 0 with size 0")

    monkeypatch.setitem(evaluate_module._VALUE_TESTS, "wasserstein", broken)
    rng = np.random.default_rng(2)
    ref = pd.DataFrame({"x": rng.normal(size=2000), "c": rng.choice(["a", "b"], 2000)})
    cur = pd.DataFrame({"x": rng.normal(size=2000), "c": rng.choice(["a", "b"], 2000)})
    result = run_drift(ref, cur)
    x = next(r for r in result.columns if r.column == "x")
    assert x.status is Status.ERROR and "IndexError" in x.message
    assert next(r for r in result.columns if r.column == "c").status is Status.PASS
    assert result.status is Status.ERROR


# ------------------------------------------------------------------ missing share


def mostly_missing() -> tuple[pd.DataFrame, pd.DataFrame]:
    """0% missing in the reference; 99% in the current data, whose 1% left looks exactly like the reference."""
    rng = np.random.default_rng(3)
    ref = rng.normal(size=20_000)
    cur = np.full(20_000, np.nan)
    cur[::100] = np.quantile(ref, (np.arange(200) + 0.5) / 200)
    return pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur})


def test_a_jump_of_the_missing_share_fails():
    # before: wasserstein 0.0086 on the remaining 1%: "no drift", PASS
    ref, cur = mostly_missing()
    result = run_drift(ref, cur)
    assert only(result, "wasserstein").status is Status.PASS  # the values left did not move...
    jump = share_check(result, "missing_share")
    assert jump.status is Status.FAIL and jump.drifted and jump.statistic == pytest.approx(0.99)
    assert "0.0% in the reference (0 of 20000 rows), 99.0% in the current data (19800 of 20000)" in jump.message
    assert result.status is Status.FAIL and result.dataset_drift and result.drifted_columns == ["x"]
    assert "missing share jumped: x" in result.message
    check = next(c for c in result.checks if c.name == "drift:x:missing_share")
    assert (check.status, check.comparator, check.threshold, check.severity) == ("FAIL", "<=", 0.1, "error")


def test_missing_share_jump_can_warn_or_be_turned_off():
    ref, cur = mostly_missing()
    warned = run_drift(ref, cur, DriftConfig(share_check_status="WARN"))
    assert share_check(warned, "missing_share").status is Status.WARN and warned.status is Status.WARN
    assert not warned.dataset_drift
    off = run_drift(ref, cur, DriftConfig(missing_share_change=None))
    assert off.share_checks == () and off.status is Status.PASS
    loose = run_drift(ref, cur, DriftConfig.from_mapping({"missing_share_change": 0.995}))
    assert share_check(loose, "missing_share").status is Status.PASS


def test_missing_share_counts_infinities_and_both_directions():
    ref = pd.DataFrame({"x": np.r_[np.full(50, np.inf), np.arange(50.0)]})  # 50% non-finite
    cur = pd.DataFrame({"x": np.arange(100.0)})  # 0%: the share fell by 50 points, which is a change too
    jump = share_check(run_drift(ref, cur), "missing_share")
    assert jump.status is Status.FAIL and jump.statistic == 0.5


# ------------------------------------------------------------------ unseen categories


def new_ids() -> tuple[pd.DataFrame, pd.DataFrame]:
    ref = pd.DataFrame({"id": [f"r{i % 50}" for i in range(100)]})
    cur = pd.DataFrame({"id": [f"n{i}" for i in range(10_000)]})
    return ref, cur


def test_chisquare_pools_unseen_categories_into_one_cell():
    # before: each new id its own cell (10,050 cells), chisquare p = 0.358: "no drift", PASS
    ref, cur = new_ids()
    result = run_drift(ref, cur, DriftConfig(unseen_share=None))
    chi = only(result, "chisquare")
    pooled = np.vstack([np.r_[np.full(50, 2), 0], np.r_[np.zeros(50), 10_000]])
    expected = stats.chi2_contingency(pooled, correction=False)
    assert chi.statistic == pytest.approx(expected.statistic, abs=1e-9)
    assert chi.p_value == pytest.approx(expected.pvalue, abs=1e-9) and chi.p_value < 1e-100
    assert chi.status is Status.FAIL and "chisquare pools them into one cell" in chi.message


def test_unseen_share_above_its_threshold_fails():
    ref, cur = new_ids()
    result = run_drift(ref, cur)
    unseen = share_check(result, "unseen_share", "id")
    assert unseen.status is Status.FAIL and unseen.statistic == 1.0
    assert "10000 of 10000 current values are in 10000 categories the reference never had" in unseen.message
    assert "id-like column belongs in exclude_columns" in unseen.message
    few = pd.DataFrame({"id": [f"r{i % 50}" for i in range(950)] + [f"n{i}" for i in range(50)]})  # 5% new
    assert share_check(run_drift(ref, few), "unseen_share", "id").status is Status.PASS


# ------------------------------------------------------------------ tiny samples


def test_tiny_numeric_reference_is_not_called_categorical():
    # before: 5 reference rows have <= 5 distinct values, so chisquare ran and a 100 sd shift PASSed (p 0.35)
    rng = np.random.default_rng(4)
    result = run_drift(pd.DataFrame({"x": rng.normal(size=5)}), pd.DataFrame({"x": rng.normal(100, 1, 5)}))
    ks = only(result)
    assert (ks.test, ks.kind, ks.auto) == ("ks", "numeric", True)
    assert ks.status is Status.FAIL and ks.p_value == pytest.approx(2 / 252)


@pytest.mark.parametrize(
    ("ref", "cur", "test"),
    [
        ([0.0], [100.0], None),  # before: chisquare p 0.157, PASS
        ([0.0, 1.0, 2.0], [100.0, 101.0, 102.0], "ks"),  # before: ks p 0.1, PASS
        (["a", "b", "a"], ["b", "b", "a"], None),  # before: chisquare p 0.41, PASS
    ],
)
def test_samples_too_small_to_reject_are_warn_never_a_verdict(ref, cur, test):
    config = DriftConfig(tests=[test]) if test else None
    result = run_drift(pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur}), config)
    r = only(result)
    assert r.status is Status.WARN and r.untested and not r.drifted
    assert "too few rows to test" in r.message and "no outcome can reach p < 0.05" in r.message
    assert result.status is Status.WARN and result.dataset_status is Status.WARN
    assert "no feature column could be tested" in result.dataset_check().message
    assert next(c for c in result.checks if c.name == r.check_name).severity == "error"


def test_chisquare_on_four_rows_is_no_verdict_but_all_new_categories_are_a_fact():
    # before: chisquare p 0.0455 on 2 vs 2 rows: FAIL from an approximation that does not hold there
    result = run_drift(pd.DataFrame({"c": ["a", "a"]}), pd.DataFrame({"c": ["b", "b"]}))
    assert only(result).status is Status.WARN and only(result).untested
    unseen = share_check(result, "unseen_share", "c")  # every current row is a category the reference lacks
    assert unseen.status is Status.FAIL and result.status is Status.FAIL


def test_the_power_bound_follows_sizes_and_threshold():
    ref, cur = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]}), pd.DataFrame({"x": [10.0, 11.0, 12.0, 13.0]})
    assert only(run_drift(ref, cur, DriftConfig(tests=["ks"]))).status is Status.FAIL  # 4 vs 4: p 2/70 < 0.05
    strict = run_drift(ref, cur, DriftConfig(tests=["ks"], thresholds={"ks": 0.01}))
    assert only(strict).status is Status.WARN and "p = 0.0286" in only(strict).message


def test_configured_minimum_sample_warns_on_any_test():
    rng = np.random.default_rng(5)
    ref, cur = pd.DataFrame({"x": rng.normal(size=20)}), pd.DataFrame({"x": rng.normal(3, 1, 20)})
    assert only(run_drift(ref, cur, DriftConfig(tests=["ks"]))).status is Status.FAIL  # p ~1e-5
    small = only(run_drift(ref, cur, DriftConfig(tests=["ks"], min_sample_rows=30)))
    assert small.status is Status.WARN and "fewer than min_sample_rows=30" in small.message
    distance = only(run_drift(ref, cur, DriftConfig(tests=["wasserstein"], min_sample_rows=30)))
    assert distance.status is Status.WARN and distance.untested


# ------------------------------------------------------------------ scale


@pytest.mark.parametrize("scale", [1e200, 1e306])
@pytest.mark.parametrize("test", ["wasserstein", "ks", "psi"])
def test_a_five_sd_shift_at_huge_scale_is_drift(scale, test):
    # before (wasserstein): np.std overflowed to inf, the normalised distance was 0: "no drift", PASS.
    # ks (ranks) and psi (quantile bins) were already right; they guard that nothing else takes a std
    rng = np.random.default_rng(6)
    ref, cur = rng.normal(size=5000), rng.normal(5, 1, size=5000)
    result = run_drift(pd.DataFrame({"x": ref * scale}), pd.DataFrame({"x": cur * scale}), DriftConfig(tests=[test]))
    r = only(result)
    assert r.status is Status.FAIL, r.message
    if test == "wasserstein":  # equal to scipy on the same data at a scale where nothing overflows
        expected = stats.wasserstein_distance(ref, cur) / np.std(ref)
        assert r.statistic == pytest.approx(expected, rel=1e-9)


# ------------------------------------------------------------------ thresholds that never apply


def prediction_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    ref = pd.DataFrame({"x": rng.normal(size=4000), "score": rng.beta(2, 5, 4000)})
    cur = pd.DataFrame({"x": rng.normal(size=4000), "score": rng.beta(2.6, 5, 4000)})
    return ref, cur


def test_a_global_threshold_for_a_test_that_never_runs_is_a_config_error():
    # before: accepted, and psi/kl_div never ran anywhere: the strategy's limits were silently ignored
    with pytest.raises(ConfigError, match="a threshold for 'psi', but no column runs 'psi'"):
        DriftConfig.from_mapping({"prediction_column": "score", "thresholds": {"psi": 0.2, "kl_div": 0.1}})
    with pytest.raises(ConfigError, match="warn_thresholds: a threshold for 'anderson'"):
        DriftConfig(warn_thresholds={"anderson": 0.1})
    with pytest.raises(ConfigError, match="'ks', but no column runs 'ks' \\(drift.tests \\['psi'\\]"):
        DriftConfig(tests=["psi"], thresholds={"ks": 0.01})
    with pytest.raises(ConfigError, match="a threshold for 'psi', which is not in this column's tests"):
        DriftConfig(overrides={"score": {"tests": ["ks"], "thresholds": {"psi": 0.2}}})
    assert DriftConfig(thresholds={"ks": 0.01, "wasserstein": 0.2})  # the automatic choice can run these


def test_a_column_threshold_selects_its_test():
    ref, cur = prediction_frames()
    config = DriftConfig.from_mapping(
        {"prediction_column": "score", "overrides": {"score": {"thresholds": {"psi": 0.2, "kl_div": 0.1}}}}
    )
    result = run_drift(ref, cur, config)
    by = {r.test: r for r in result.predictions}
    assert list(by) == ["wasserstein", "psi", "kl_div"]  # the automatic choice, then the selected tests
    assert by["wasserstein"].auto and not by["psi"].auto
    assert (by["psi"].threshold, by["kl_div"].threshold) == (0.2, 0.1)
    assert [r.test for r in result.columns] == ["wasserstein"]  # other columns keep the automatic choice
    # a global threshold now applies to the test the override selected
    tighter = run_drift(
        ref,
        cur,
        DriftConfig(
            prediction_column="score", thresholds={"psi": 0.3}, overrides={"score": {"warn_thresholds": {"psi": 0.1}}}
        ),
    )
    psi = next(r for r in tighter.predictions if r.test == "psi")
    assert (psi.threshold, psi.warn_threshold) == (0.3, 0.1)
