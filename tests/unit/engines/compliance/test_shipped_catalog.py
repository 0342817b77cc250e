"""The shipped catalog (include/compliance) against the real check registry: every control's checks exist
and their params validate, with and without the demo's own check params merged over them; every check of
the registry serves at least one control; HIPAA and SOX keep evidence for their own periods."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from assay.engines.compliance.catalog import load_catalog, load_check_params, load_framework
from assay.engines.compliance.registry import check_ids, load_builtin_checks
from assay.errors import ConfigError

REPO = Path(__file__).resolve().parents[4]
CATALOG = REPO / "include" / "compliance"
DEMO_PARAMS = REPO / "include" / "demo_platform" / "assay" / "compliance" / "params.yaml"

load_builtin_checks()


def test_the_shipped_frameworks_load_against_the_real_checks():
    frameworks = load_catalog(CATALOG)
    assert set(frameworks) == {"gdpr", "hipaa", "sox"}
    used = {chk.id for fw in frameworks.values() for c in fw.controls for chk in c.checks}
    assert used == set(check_ids()), set(check_ids()) ^ used


@pytest.mark.parametrize("framework", ["gdpr", "hipaa", "sox"])
def test_the_demo_check_params_merge_over_the_catalog_and_validate(framework):
    params = load_check_params(DEMO_PARAMS)
    fw = load_framework(CATALOG / f"{framework}.yaml", check_params=params)
    merged = {chk.id: chk.params for c in fw.controls for chk in c.checks}
    for check_id, given in params.items():
        if check_id in merged:
            assert given.items() <= merged[check_id].items()


def test_hipaa_keeps_evidence_six_years_and_sox_seven():
    days = {
        name: [
            chk.params.get("min_days")
            for c in load_framework(CATALOG / f"{name}.yaml").controls
            for chk in c.checks
            if chk.id == "retention.evidence_kept"
        ]
        for name in ("hipaa", "sox")
    }
    assert days == {"hipaa": [2190], "sox": [2555]}


def test_check_params_for_an_unknown_check_are_named(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text(yaml.safe_dump({"gdpr.erasur": {"role": "admin"}}))
    with pytest.raises(ConfigError, match="gdpr.erasur"):
        load_framework(CATALOG / "gdpr.yaml", check_params=load_check_params(bad))


def test_check_params_that_do_not_fit_the_check_are_named_with_the_dotted_path(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text(yaml.safe_dump({"retention.evidence_kept": {"min_days": "forever"}}))
    with pytest.raises(ConfigError, match=r"hipaa.yaml: controls\[\d+\]\.checks\[0\]\.params\.min_days"):
        load_framework(CATALOG / "hipaa.yaml", check_params=load_check_params(bad))
