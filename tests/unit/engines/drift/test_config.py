"""DriftConfig / ColumnOverride / DecayConfig validate on construction and name what to fix."""

from __future__ import annotations

import pytest

from assay.engines.drift import ColumnOverride, DecayConfig, DriftConfig
from assay.engines.drift.config import DEFAULT_THRESHOLDS, resolve_threads
from assay.errors import ConfigError


def test_defaults_match_the_issue_and_strategy():
    assert dict(DEFAULT_THRESHOLDS) == {
        "psi": 0.2,
        "kl_div": 0.1,
        "jensenshannon": 0.1,
        "wasserstein": 0.1,
        "ks": 0.05,
        "chisquare": 0.05,
        "anderson": 0.05,
    }
    config = DriftConfig()
    assert (config.bins, config.drift_share, config.max_categorical_unique, config.small_sample_rows) == (
        10,
        0.5,
        5,
        1000,
    )
    assert config.threshold("any", "psi") == 0.2 and config.warn_threshold("any", "psi") is None
    assert (config.missing_share_change, config.unseen_share, config.share_check_status) == (0.1, 0.1, "FAIL")
    assert (config.min_sample_rows, config.threads) == (0, "auto")


@pytest.mark.parametrize("cores, load, expected", [(2, 0.3, 2), (2, 1.0, 2), (2, 1.4, 1), (1, 0.0, 1), (8, 6.5, 2)])
def test_auto_threads_take_a_second_core_only_when_one_is_spare(monkeypatch, cores, load, expected):
    monkeypatch.setattr("os.cpu_count", lambda: cores)
    monkeypatch.setattr("os.getloadavg", lambda: (load, load, load))
    assert resolve_threads("auto") == expected and resolve_threads(3) == 3


def test_an_overrides_thresholds_select_its_tests():
    override = ColumnOverride(thresholds={"psi": 0.2}, warn_thresholds={"kl_div": 0.05, "psi": 0.1})
    assert override.selected_tests == ("psi", "kl_div")
    assert ColumnOverride(tests=["psi", "ks"], thresholds={"psi": 0.3}).selected_tests == ("psi",)
    with pytest.raises(ConfigError, match="warn_thresholds: a threshold for 'kl_div', which is not in"):
        ColumnOverride(tests=["psi"], warn_thresholds={"kl_div": 0.05})


@pytest.mark.parametrize(
    "make",
    [
        lambda: DriftConfig(tests=["ks", "kolmogorov"]),
        lambda: DriftConfig(thresholds={"kolmogorov": 0.1}),
        lambda: DriftConfig(overrides={"age": ColumnOverride(tests=["kolmogorov"])}),
        lambda: DriftConfig(overrides={"age": {"tests": ["kolmogorov"]}}),
        lambda: DriftConfig.from_mapping({"overrides": {"age": {"thresholds": {"kolmogorov": 0.2}}}}),
    ],
)
def test_unknown_test_name_is_a_config_error_naming_it(make):
    with pytest.raises(ConfigError, match="unknown drift test 'kolmogorov'"):
        make()


def test_override_errors_say_which_column():
    with pytest.raises(ConfigError, match=r"drift.overrides.age: override.kind"):
        DriftConfig(overrides={"age": {"kind": "text"}})
    with pytest.raises(ConfigError, match=r"drift.overrides.age: .*unknown key 'test'"):
        DriftConfig(overrides={"age": {"test": "ks"}})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"thresholds": {"ks": 1.5}}, "p-value threshold for 'ks' must be in"),
        ({"thresholds": {"psi": -1}}, "must be a finite number >= 0"),
        ({"thresholds": {"psi": float("nan")}}, "must be a finite number >= 0"),
        ({"warn_thresholds": {"psi": 0.3}}, "warn threshold for 'psi' .* must be below"),
        ({"warn_thresholds": {"ks": 0.01}}, "warn threshold for 'ks' .* must be above"),
        ({"tests": []}, "at least one test"),
        ({"tests": ["ks", "ks"]}, "listed twice"),
        ({"bins": 1}, "bins must be an integer in"),
        ({"drift_share": 0.0}, "drift_share"),
        ({"drift_share": 1.5}, "drift_share"),
        ({"missing_share_change": 1.0}, "drift.missing_share_change"),
        ({"unseen_share": -0.1}, "drift.unseen_share"),
        ({"share_check_status": "ERROR"}, "drift.share_check_status"),
        ({"min_sample_rows": -1}, "drift.min_sample_rows"),
        ({"thresholds": {"anderson": 0.001}}, "could never drift"),
        ({"threads": 0}, "threads"),
        ({"spool": "tape"}, "drift.spool"),
        ({"spool_dir": "/nonexistent/dir"}, "not a directory"),
        ({"columns": "age"}, "list of column names"),
        ({"prediction_column": ""}, "prediction_column"),
    ],
)
def test_bad_values_are_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        DriftConfig(**kwargs)


def test_warn_threshold_is_checked_against_the_columns_fail_threshold():
    with pytest.raises(ConfigError, match="drift.overrides.age: warn threshold for 'psi'"):
        DriftConfig(warn_thresholds={"psi": 0.15}, overrides={"age": {"thresholds": {"psi": 0.1}}})


def test_from_mapping_reads_yaml_shapes_and_rejects_unknown_keys():
    config = DriftConfig.from_mapping(
        {
            "columns": ["age", "amount"],
            "tests": ["psi", "kl_div"],
            "thresholds": {"psi": 0.25},
            "overrides": {"amount": {"tests": ["ks"], "critical": True, "bins": 20}},
            "drift_share": 0.3,
        }
    )
    assert config.columns == ("age", "amount") and config.tests == ("psi", "kl_div")
    assert config.threshold("age", "psi") == 0.25 and config.threshold("age", "kl_div") == 0.1
    assert config.override("amount") == ColumnOverride(tests=("ks",), critical=True, bins=20)
    assert config.bins_for("amount") == 20 and config.bins_for("age") == 10
    with pytest.raises(ConfigError, match="unknown key 'drift_shares'"):
        DriftConfig.from_mapping({"drift_shares": 0.3})


def test_decay_config_validation():
    ok = DecayConfig("ts", "label", "pred", window="W", metrics=["accuracy"])
    assert ok.metrics == ("accuracy",)
    for kwargs, message in [
        ({"window": "fortnight"}, "decay.window"),
        ({"metrics": ["f1"]}, "unknown metric 'f1'"),
        ({"average": "samples"}, "decay.average"),
        ({"fail_drop": 0.02, "warn_drop": 0.05}, "warn_drop"),
        ({"min_window_rows": 0}, "min_window_rows"),
        ({"prediction_threshold": -0.5}, "prediction_threshold"),
    ]:
        with pytest.raises(ConfigError, match=message):
            DecayConfig("ts", "label", "pred", **kwargs)
    with pytest.raises(ConfigError, match="unknown key 'windows'"):
        DecayConfig.from_mapping(
            {"timestamp_column": "ts", "label_column": "y", "prediction_column": "p", "windows": "D"}
        )
    with pytest.raises(ConfigError, match="missing key 'label_column'"):
        DecayConfig.from_mapping({"timestamp_column": "ts", "prediction_column": "p"})


@pytest.mark.parametrize("unit", ["D", "W", "h", "min", "s", "ms", "us", "ns", "M", "Q", "Y"])
@pytest.mark.parametrize("count", ["", "1", "2", "15"])
def test_every_window_the_config_accepts_without_pandas_is_a_pandas_period(count, unit):
    """The common windows are checked without importing pandas (the config loads at DAG parse time): each
    one must be a period pandas accepts, or the shortcut would let a bad window through."""
    import warnings

    import pandas as pd

    from assay.engines.drift.config import _PLAIN_WINDOW

    assert _PLAIN_WINDOW.fullmatch(count + unit)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a deprecated alias would be refused by a later pandas
        pd.Period("2024-01-01", freq=count + unit)


@pytest.mark.parametrize("window", ["W-MON", "Q-JAN", "3W-SUN"])
def test_any_other_window_is_asked_of_pandas(window):
    from assay.engines.drift.config import _PLAIN_WINDOW

    assert not _PLAIN_WINDOW.fullmatch(window)
    assert DecayConfig("ts", "label", "pred", window=window).window == window
    for bad in ("0D", "H", "ME", "fortnight", "1"):
        with pytest.raises(ConfigError, match="decay.window"):
            DecayConfig("ts", "label", "pred", window=bad)


def test_overrides_must_name_checked_columns():
    with pytest.raises(ConfigError, match="column 'agee' is not in drift.columns"):
        DriftConfig(columns=["age"], overrides={"agee": {"tests": ["ks"]}})
    with pytest.raises(ConfigError, match="column 'id' is also in drift.exclude_columns"):
        DriftConfig(exclude_columns=["id"], overrides={"id": {"critical": True}})
    assert DriftConfig(columns=["age"], prediction_column="score", overrides={"score": {"tests": ["ks"]}})
    with pytest.raises(ConfigError, match="'age' is also listed to be checked"):
        DriftConfig(columns=["age"], exclude_columns=["age"])
    with pytest.raises(ConfigError, match="'score' is also listed to be checked"):
        DriftConfig(prediction_column="score", exclude_columns=["score"])


def test_the_shipped_demo_config_applies_the_strategys_psi_and_kl_limits_to_the_score():
    from pathlib import Path

    from assay.config import load_config
    from assay.engines.drift.choice import choose_tests

    repo = Path(__file__).resolve().parents[4]
    drift = load_config(repo / "include" / "config" / "assay.yaml").datasets["fraud-transactions"].drift
    config = DriftConfig.from_mapping(drift)
    tests, auto = choose_tests("score", "numeric", 20_000, config)
    assert tests == ("wasserstein", "psi", "kl_div") and auto == {"wasserstein"}
    assert (config.threshold("score", "psi"), config.threshold("score", "kl_div")) == (0.2, 0.1)
    assert config.prediction_column == "score"
