from __future__ import annotations

import pytest

from assay.config import load_config, parse_config
from assay.errors import ConfigError


def test_shipped_config_loads_and_points_at_the_demo_platform(monkeypatch, tmp_path):
    monkeypatch.setenv("ASSAY_HOME", str(tmp_path))
    monkeypatch.delenv("ASSAY_DEMO_REPO", raising=False)
    cfg = load_config()
    demo = cfg.target("demo-platform")
    assert demo.repo == f"{tmp_path}/demo-platform"
    assert set(demo.suites) == {"unit", "integration", "component", "contract"}
    assert demo.suites["unit"].timeout_s == 600 and demo.suites["integration"].timeout_s == 1800
    assert demo.gates.coverage_min == 80 and demo.gates.coverage_drop_max == 5


def test_unknown_key_is_named_with_its_path():
    with pytest.raises(ConfigError) as err:
        parse_config({"targets": {"t": {"repo": "x", "suites": {"unit": {"timeout": 5}}}}})
    assert "targets.t.suites.unit.timeout" in str(err.value)


def test_bad_value_is_named_with_its_path():
    with pytest.raises(ConfigError) as err:
        parse_config({"targets": {"t": {"repo": "x", "gates": {"coverage_min": 180}}}})
    assert "targets.t.gates.coverage_min" in str(err.value)


@pytest.mark.parametrize("bad", ["Bad Name", "-x", "a;b"])
def test_target_names_are_restricted(bad):
    with pytest.raises(ConfigError, match="target name"):
        parse_config({"targets": {bad: {"repo": "x"}}})


def test_env_expansion_with_nested_default(monkeypatch):
    monkeypatch.setenv("ASSAY_HOME", "/srv/assay")
    monkeypatch.delenv("REPO_URL", raising=False)
    cfg = parse_config({"targets": {"t": {"repo": "${REPO_URL:-${ASSAY_HOME}/r}"}}})
    assert cfg.targets["t"].repo == "/srv/assay/r"
    monkeypatch.setenv("REPO_URL", "https://git.example/r.git")
    assert parse_config({"targets": {"t": {"repo": "${REPO_URL:-x}"}}}).targets["t"].repo == "https://git.example/r.git"


def test_missing_env_without_default_names_the_key(monkeypatch):
    monkeypatch.delenv("NOPE_NOT_SET", raising=False)
    with pytest.raises(ConfigError, match=r"targets\.t\.repo: environment variable NOPE_NOT_SET"):
        parse_config({"targets": {"t": {"repo": "${NOPE_NOT_SET}"}}})


def test_unconfigured_target_lists_the_configured_ones():
    cfg = parse_config({"targets": {"alpha": {"repo": "x"}, "beta": {"repo": "y"}}})
    with pytest.raises(ConfigError, match="'gamma' is not configured; configured targets: alpha, beta"):
        cfg.target("gamma")


def test_suite_paths_must_stay_inside_the_repo():
    with pytest.raises(ConfigError, match="must be relative"):
        parse_config({"targets": {"t": {"repo": "x", "suites": {"u": {"paths": ["../../etc"]}}}}})


def test_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("targets: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_per_dataset_drift_schedule_overrides_the_weekly_default():
    data = {
        "targets": {"t": {"repo": "x"}},
        "drift_schedule": "0 3 * * 1",
        "datasets": {
            "a": {"current": {"kind": "csv", "path": "a.csv"}},
            "b": {"current": {"kind": "csv", "path": "b.csv"}, "drift_schedule": "0 6 * * *"},
        },
    }
    cfg = parse_config(data)
    assert cfg.drift_cron("a") == "0 3 * * 1" and cfg.drift_cron("b") == "0 6 * * *"
    data["datasets"]["b"]["drift_schedule"] = "every tuesday"
    with pytest.raises(ConfigError, match="datasets.b.drift_schedule"):
        parse_config(data)


def test_every_data_source_is_validated_on_load_with_its_key_path():
    """One source shape (assay.sources) for datasets and A/B outcomes; what a source cannot use is refused."""
    base = {"targets": {"t": {"repo": "x"}}}
    no_conn = {"a": {"current": {"kind": "sql", "query": "SELECT 1"}}}
    with pytest.raises(ConfigError, match=r"datasets.a.current: .*sql dataset source needs 'conn_id'"):
        parse_config(base | {"datasets": no_conn})
    bad_reference = {"a": {"current": {"kind": "csv", "path": "a.csv"}, "reference": {"kind": "excel", "path": "r"}}}
    with pytest.raises(ConfigError, match=r"datasets.a.reference: .*kind 'excel' is not one of"):
        parse_config(base | {"datasets": bad_reference})
    options = {"x": {"source": {"kind": "parquet", "path": "o.parquet", "read_options": {"engine": "pyarrow"}}}}
    with pytest.raises(ConfigError, match=r"ab_experiments.x.source: .*parquet dataset source takes no 'read_options'"):
        parse_config(base | {"ab_experiments": options})
    fine = {"a": {"current": {"kind": "sql", "conn_id": "wh", "query": "SELECT 1", "chunk_rows": 5000, "name": "a"}}}
    assert parse_config(base | {"datasets": fine}).datasets["a"].current["chunk_rows"] == 5000


def test_assets_are_found_only_through_configured_folders(tmp_path):
    """No folder is built into the product: suites, golden datasets and chaos experiments named by name
    need their folder in the config, and a name must be in it (or be a file)."""
    suites, golden, experiments = (tmp_path / d for d in ("suites", "golden", "experiments"))
    for d in (suites, golden, experiments):
        d.mkdir()
    (experiments / "kill-it.json").write_text("{}")
    dataset = {"current": {"kind": "csv", "path": "a.csv"}, "quality_suite": "orders"}
    with pytest.raises(ConfigError, match=r"quality_suite 'orders' is a suite name, but data_quality.suites_dir"):
        parse_config({"targets": {"t": {"repo": "x"}}, "datasets": {"a": dataset}})
    cfg = parse_config(
        {"targets": {"t": {"repo": "x"}}, "datasets": {"a": dataset}, "data_quality": {"suites_dir": str(suites)}}
    )
    assert cfg.data_quality.suites_dir == str(suites)
    by_path = dict(dataset, quality_suite=str(tmp_path / "orders.json"))  # a file path needs no folder
    assert parse_config({"targets": {"t": {"repo": "x"}}, "datasets": {"a": by_path}}).datasets["a"].quality_suite
    with pytest.raises(ConfigError, match=r"data_quality: .*golden_dir"):
        parse_config({"targets": {"t": {"repo": "x"}}, "data_quality": {"golden": ["g"]}})

    chaos = {"experiments_dir": str(experiments), "experiments": ["kill-it"]}
    target = parse_config({"targets": {"t": {"repo": "x", "chaos": chaos}}}).target("t")
    assert target.chaos_experiment("kill-it") == experiments / "kill-it.json"
    with pytest.raises(ConfigError, match=r"chaos experiment 'kill-it' is neither named by chaos.experiments_dir"):
        parse_config({"targets": {"t": {"repo": "x", "chaos": {"experiments": ["kill-it"]}}}})
    with pytest.raises(ConfigError, match=r"'nope' is neither in .*experiments \(chaos.experiments_dir\) nor a file"):
        parse_config({"targets": {"t": {"repo": "x", "chaos": dict(chaos, experiments=["nope"])}}})


def test_a_model_names_its_own_loader():
    with pytest.raises(ConfigError, match=r"models.m.loader: Field required"):
        parse_config({"targets": {"t": {"repo": "x"}}, "models": {"m": {"asset": "assay://m", "versions_dir": "/v"}}})
