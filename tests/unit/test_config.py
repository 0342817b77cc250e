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
