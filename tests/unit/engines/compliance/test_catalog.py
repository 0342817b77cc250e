"""The control catalog: the shipped files map every check id of the contract, and every mistake a user can
make in a framework file fails with the file and the dotted path (test-local checks in tmp catalog dirs)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel, Field

from assay.engines.compliance import registry
from assay.engines.compliance.catalog import Mode, framework_names, load_catalog, load_framework
from assay.errors import ConfigError

SHIPPED = Path(__file__).resolve().parents[4] / "include" / "compliance"

#: The contract's check ids (COMPLIANCE_CONTRACT.md) with the citations each must serve.
CONTRACT_CHECKS = {
    "gdpr.erasure": {"GDPR Art. 12(3)", "GDPR Art. 17(1)"},
    "gdpr.consent": {"GDPR Art. 7(1)", "GDPR Art. 7(3)"},
    "gdpr.portability": {"GDPR Art. 20(1)"},
    "audit.trail_completeness": {"GDPR Art. 30(1)", "45 CFR 164.312(b)"},
    "audit.hash_chain": {"45 CFR 164.312(c)(2)", "45 CFR 164.312(b)"},
    "hipaa.phi_encryption": {"45 CFR 164.312(a)(2)(iv)"},
    "access.unique_accounts": {"45 CFR 164.312(a)(2)(i)", "45 CFR 164.312(d)"},
    "access.approved_roles": {"45 CFR 164.312(a)(1)"},
    "retention.expired_records": {"GDPR Art. 5(1)(e)"},
    "retention.test_data_snapshots": {"GDPR Art. 5(1)(e)"},
    "retention.evidence_kept": {"45 CFR 164.316(b)(2)(i)", "SOX §802"},
    "sox.change_management": {"SOX §404 / ITGC change management"},
    "sox.segregation_of_duties": {"SOX §404 / ITGC logical access"},
    "sox.access_review": {"SOX §404 / ITGC logical access"},
}
#: Exact citation ids of shared/COMPLIANCE.md the shipped catalog may use.
KNOWN_CITATIONS = set().union(*CONTRACT_CHECKS.values()) | {
    "GDPR Art. 22(1)",
    "GDPR Art. 32(1)(b)",
    "GDPR Art. 33(1)",
    "GDPR Art. 33(5)",
    "45 CFR 164.308(a)(1)(ii)(D)",
    "45 CFR 164.308(a)(3)(ii)(C)",
}


def test_the_shipped_catalog_maps_every_contract_check_to_its_citations():
    from assay.engines.compliance.registry import load_builtin_checks

    load_builtin_checks()
    catalog = load_catalog(SHIPPED)  # the real registry: every check exists and takes the params given
    assert sorted(catalog) == ["gdpr", "hipaa", "sox"]
    assert {fw.suite_name for fw in catalog.values()} == {"gdpr_compliance", "hipaa", "sox"}
    cited: dict[str, set[str]] = {}
    for fw in catalog.values():
        for control in fw.controls:
            assert set(control.citations) <= KNOWN_CITATIONS, (control.id, control.citations)
            for chk in control.checks:
                cited.setdefault(chk.id, set()).update(control.citations)
    assert set(cited) == set(CONTRACT_CHECKS)
    for check_id, citations in CONTRACT_CHECKS.items():
        assert citations <= cited[check_id], (check_id, citations - cited[check_id])
    manual = {c.id for fw in catalog.values() for c in fw.controls if c.mode is Mode.MANUAL}
    assert {"gdpr-art33-breach-notification", "hipaa-308a1iiD-log-review"} <= manual


# -------------------------------------------------------------------------------------------- user files


class ErasureParams(BaseModel):
    model_config = {"extra": "forbid"}
    deadline_days: int = Field(default=30, gt=0)


@pytest.fixture
def checks():
    @registry.check("test.cat_erasure", title="erasure", params=ErasureParams)
    def erasure(ctx):
        return []

    @registry.check("test.cat_plain", title="plain")
    def plain(ctx):
        return []

    yield
    registry.unregister("test.cat_erasure")
    registry.unregister("test.cat_plain")


def control(cid="c-1", **changes):
    base = {
        "id": cid,
        "title": "Erasure",
        "description": "d",
        "citations": ["GDPR Art. 17(1)"],
        "severity": "critical",
        "mode": "automated",
        "checks": [{"id": "test.cat_erasure", "params": {"deadline_days": 30}}],
        "pass_condition": "no rows",
        "evidence_kept": {"what": "rows", "retention_days": 2557},
    }
    return base | changes


def write(directory: Path, name: str, controls, **top) -> Path:
    directory.mkdir(exist_ok=True)
    data = {"framework": name, "name": name.upper(), "version": "1", "controls": controls} | top
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_user_framework_file_loads_without_python(tmp_path, checks):
    write(tmp_path, "iso27001", [control(), control("c-2", mode="manual", checks=[])], report_name="iso")
    fw = load_catalog(tmp_path)["iso27001"]
    assert fw.suite_name == "iso" and [c.id for c in fw.controls] == ["c-1", "c-2"]
    assert fw.control("c-1").checks[0].params == {"deadline_days": 30}
    assert framework_names(tmp_path) == ["iso27001"]


@pytest.mark.parametrize(
    "controls, message",
    [
        (
            [control(), control("c-2", checks=[{"id": "test.cat_erasur"}])],
            r"^fw\.yaml: controls\[1\]\.checks\[0\]\.id: unknown check 'test.cat_erasur' \(known: .*test.cat_erasure",
        ),
        ([control(citations=[])], r"^fw\.yaml: controls\[0\]\.citations: missing citation"),
        ([control(citations=["GDPR Art. 17(1)", " "])], r"controls\[0\]\.citations: citation \[1\] is empty"),
        ([control(), control()], r"^fw\.yaml: controls\[1\]\.id: duplicate control id 'c-1' \(also controls\[0\]\)"),
        (
            [control(checks=[{"id": "test.cat_erasure", "params": {"deadline_days": 0}}])],
            r"fw\.yaml: controls\[0\]\.checks\[0\]\.params\.deadline_days: Input should be greater than 0",
        ),
        (
            [control(checks=[{"id": "test.cat_erasure", "params": {"deadline": 3}}])],
            r"fw\.yaml: controls\[0\]\.checks\[0\]\.params\.deadline: Extra inputs are not permitted",
        ),
        (
            [control(checks=[{"id": "test.cat_plain", "params": {"x": 1}}])],
            r"fw\.yaml: controls\[0\]\.checks\[0\]\.params: check 'test.cat_plain' takes no params, got \['x'\]",
        ),
        ([control(severity="urgent")], r"fw\.yaml: controls\[0\]\.severity: Input should be 'critical', 'high'"),
        ([control(checks=[])], r"fw\.yaml: controls\[0\]: an automated control maps to at least one check"),
        ([control(mode="manual")], r"fw\.yaml: controls\[0\]: a manual control has no checks"),
        ([control(owner="me")], r"fw\.yaml: controls\[0\]\.owner: Extra inputs are not permitted"),
        ([control(id="bad id")], r"fw\.yaml: controls\[0\]\.id: 'bad id' is not a control id"),
        ([{k: v for k, v in control().items() if k != "citations"}], r"controls\[0\]\.citations: Field required"),
        ([], r"fw\.yaml: controls: List should have at least 1 item"),
    ],
)
def test_a_bad_framework_file_names_the_file_and_the_dotted_path(tmp_path, checks, controls, message):
    write(tmp_path, "fw", controls)
    with pytest.raises(ConfigError, match=message):
        load_framework(tmp_path / "fw.yaml")
    with pytest.raises(ConfigError, match=message.lstrip("^")):
        load_catalog(tmp_path)


def test_file_level_mistakes(tmp_path, checks):
    write(tmp_path, "fw", [control()], framework="other")
    with pytest.raises(ConfigError, match=r"fw\.yaml: framework: 'other' must match the file name 'fw'"):
        load_catalog(tmp_path)
    (tmp_path / "fw.yaml").write_text("- just a list\n")
    with pytest.raises(ConfigError, match="fw.yaml: the top level must be a mapping"):
        load_catalog(tmp_path)
    (tmp_path / "fw.yaml").write_text("framework: [\n")
    with pytest.raises(ConfigError, match="fw.yaml: not valid YAML"):
        load_catalog(tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_catalog(tmp_path / "missing")
    (tmp_path / "fw.yaml").unlink()
    with pytest.raises(ConfigError, match="has no framework file"):
        load_catalog(tmp_path)


def test_control_ids_are_unique_across_the_directory_and_unknown_frameworks_are_named(tmp_path, checks):
    write(tmp_path, "a", [control("shared")])
    write(tmp_path, "b", [control("shared")])
    with pytest.raises(
        ConfigError, match=r"b\.yaml: controls\[0\]\.id: duplicate control id 'shared' \(also in a\.yaml\)"
    ):
        load_catalog(tmp_path)
    assert list(load_catalog(tmp_path, ["a"])) == ["a"]
    with pytest.raises(ConfigError, match=r"framework 'c' has no catalog file c\.yaml .*\(frameworks: a, b\)"):
        load_catalog(tmp_path, ["c"])


def test_the_error_shows_the_yaml_a_user_wrote(tmp_path, checks):
    (tmp_path / "mine.yaml").write_text(
        textwrap.dedent(
            """\
            framework: mine
            name: Mine
            version: "1"
            controls:
              - id: m-1
                title: t
                description: d
                citations: [X 1]
                severity: low
                mode: automated
                checks: [{id: nope.check}]
                pass_condition: p
                evidence_kept: {what: w, retention_days: 1}
            """
        )
    )
    with pytest.raises(ConfigError) as info:
        load_catalog(tmp_path)
    assert str(info.value).startswith("mine.yaml: controls[0].checks[0].id: unknown check 'nope.check' (known: ")
