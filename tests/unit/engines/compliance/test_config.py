"""The ``compliance:`` section: defaults, composition into assay.yaml, ${VAR} stores, API tokens by env var
or file, and errors naming the dotted key."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assay.config import parse_config
from assay.engines.compliance.config import DEFAULT_CATALOG_DIR, ComplianceApiConfig, ComplianceConfig
from assay.errors import ConfigError

BASE = {"targets": {"t": {"repo": "x"}}}


def test_defaults_point_at_the_shipped_catalog_and_keep_evidence_seven_years():
    cfg = ComplianceConfig()
    assert Path(cfg.catalog_dir) == DEFAULT_CATALOG_DIR and DEFAULT_CATALOG_DIR.is_dir()
    assert cfg.framework_names() == ["gdpr", "hipaa", "sox"]
    assert cfg.evidence_days == 2557 and cfg.schedule == "0 6 * * 1" and cfg.waivers is None
    assert parse_config(BASE).compliance is None  # optional: no audit configured


def test_the_section_composes_into_assay_yaml_with_env_expansion(monkeypatch, tmp_path):
    monkeypatch.setenv("MAIN_DB_URL", "postgresql+psycopg2://app@db/main")
    cfg = parse_config(
        BASE
        | {
            "compliance": {
                "frameworks": ["gdpr"],
                "stores": {"main_db": "${MAIN_DB_URL}", "side": "${SIDE_DB:-sqlite:////tmp/side.db}"},
                "api": {"roles": {"admin": "ADMIN_TOKEN"}},
            }
        }
    ).compliance
    assert cfg.stores == {"main_db": "postgresql+psycopg2://app@db/main", "side": "sqlite:////tmp/side.db"}
    assert cfg.framework_names() == ["gdpr"]


@pytest.mark.parametrize(
    "section, message",
    [
        ({"evidence_days": 0}, r"compliance\.evidence_days: Input should be greater than or equal to 1"),
        ({"frameworks": ["gdpr", "pci"]}, r"compliance: Value error, frameworks: 'pci' has no catalog file pci\.yaml"),
        ({"frameworks": []}, r"compliance\.frameworks: Value error, list at least one framework"),
        (
            {"stores": {"main": "main.db"}},
            r"compliance\.stores: Value error, store 'main': 'main.db' is not a SQLAlchemy URL",
        ),
        (
            {"api": {"roles": {"admin": "s3cr3t-token"}}},
            r"compliance\.api\.roles: Value error, role 'admin': .* not an environment variable name",
        ),
        (
            {"api": {"base_url": "localhost:8000"}},
            r"compliance\.api\.base_url: Value error, 'localhost:8000' is not an http",
        ),
        ({"schedule": "weekly"}, r"compliance\.schedule: Value error, 'weekly' is not a 5-field cron"),
        ({"schedule": "0 6 * * 9"}, r"compliance: Value error, schedule '0 6 \* \* 9' is not a valid cron"),
        ({"evidence_dayz": 1}, r"compliance\.evidence_dayz: Extra inputs are not permitted"),
    ],
)
def test_bad_values_name_their_key(section, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(BASE | {"compliance": section})


def test_api_tokens_come_from_env_vars_or_a_tokens_file(tmp_path):
    api = ComplianceApiConfig(roles={"admin": "ADMIN_TOKEN"})
    assert api.tokens({"ADMIN_TOKEN": "t-1"}) == {"admin": "t-1"}
    with pytest.raises(
        ConfigError, match=r"compliance\.api\.roles\.admin: environment variable ADMIN_TOKEN is not set"
    ):
        api.tokens({})
    (tmp_path / "tokens.json").write_text(json.dumps({"auditor": "t-2", "admin": "old"}))
    both = ComplianceApiConfig(roles={"admin": "ADMIN_TOKEN"}, tokens_file=str(tmp_path / "tokens.json"))
    assert both.tokens({"ADMIN_TOKEN": "t-1"}) == {"auditor": "t-2", "admin": "t-1"}
    (tmp_path / "bad.json").write_text("[1]")
    with pytest.raises(ConfigError, match="must hold an object"):
        ComplianceApiConfig(tokens_file=str(tmp_path / "bad.json")).tokens({})
    with pytest.raises(ConfigError, match="cannot read"):
        ComplianceApiConfig(tokens_file=str(tmp_path / "none.json")).tokens({})


def test_the_config_module_imports_no_engine_code():
    code = (
        "import sys; import assay.engines.compliance.config\n"
        "heavy = [m for m in ('sqlalchemy', 'jinja2', 'requests', 'yaml', 'assay.engines.compliance.audit') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    include = Path(__file__).resolve().parents[4] / "include"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": str(include)}
    )
    assert proc.returncode == 0, proc.stderr
