"""Reports: the HTML page escapes what the catalog and the checks wrote and loads nothing external; the
OSCAL assessment-results export carries observations with methods, subjects, collected/expires and hashes."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from support.compliance import control, write_framework, write_waivers

from assay.engines.compliance import registry
from assay.engines.compliance.audit import run_audit
from assay.engines.compliance.model import ResourceResult

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
XSS = "<script>alert('x')</script>"


@pytest.fixture
def audited(tmp_path):
    @registry.check("t.report_fail", title="fails")
    def fail(ctx):
        ev = ctx.evidence("rows <b>left</b>", "sql", "SELECT * FROM t WHERE name = '<img src=x>'", {"rows": [XSS]})
        return [
            ResourceResult(f"store:{XSS}", "FAIL", f"1 row left: {XSS}", [ev]),
            ResourceResult("store:legacy", "FAIL", "1 row left", [ev]),
            ResourceResult("store:ok", "PASS", "0 rows", []),
        ]

    catalog = tmp_path / "catalog"
    write_framework(
        catalog,
        "fw",
        [
            control(
                "c-1", ["t.report_fail"], title=f"Erasure {XSS}", citations=["GDPR Art. 17(1)"], severity="critical"
            ),
            control("c-2", citations=["GDPR Art. 33(1)"]),
        ],
        report_name="fw_compliance",
    )
    waivers = write_waivers(
        tmp_path / "waivers.yaml",
        [
            {
                "id": "W-9",
                "control": "c-1",
                "scope": "store:legacy",
                "justification": f"legacy {XSS}",
                "approver": "ciso",
                "expires": "2027-01-01",
            }
        ],
    )
    result = run_audit(
        "fw", catalog_dir=catalog, work_dir=tmp_path / "out", waivers_path=waivers, now=NOW, builtin_checks=False
    )
    yield result
    registry.unregister("t.report_fail")


def test_the_html_report_escapes_everything_and_is_self_contained(audited):
    html = open(audited.summary["reports"]["html"], encoding="utf-8").read()
    assert "<script>" not in html and "<img" not in html and "<b>left</b>" not in html
    assert "Erasure &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # no external asset
    for expected in ("GDPR Art. 17(1)", "GDPR Art. 33(1)", "NON-COMPLIANT", "Waiver W-9", "MANUAL", "sql"):
        assert expected in html
    sha = audited.evidence[0].sha256
    assert sha in html and audited.evidence[0].expires_at.isoformat() in html


def test_the_oscal_export_follows_assessment_results(audited):
    doc = json.loads(open(audited.summary["reports"]["oscal_json"], encoding="utf-8").read())["assessment-results"]
    assert doc["metadata"]["oscal-version"].startswith("1.1") and doc["import-ap"]["href"]
    (res,) = doc["results"]
    assert res["start"] == audited.started_at.isoformat()
    assert [c["control-id"] for c in res["reviewed-controls"]["control-selections"][0]["include-controls"]] == [
        "c-1",
        "c-2",
    ]
    obs = {o["subjects"][0]["title"]: o for o in res["observations"]}
    assert set(obs) == {f"store:{XSS}", "store:legacy", "store:ok"}
    legacy = obs["store:legacy"]
    assert legacy["methods"] == ["TEST"] and legacy["subjects"][0]["type"] == "resource"
    assert legacy["collected"] == NOW.isoformat() and legacy["expires"] == audited.evidence[0].expires_at.isoformat()
    props = {p["name"]: p["value"] for p in legacy["relevant-evidence"][0]["props"]}
    assert props["sha256"] == audited.evidence[0].sha256 and props["method"] == "sql"
    assert {"name": "assay-waiver", "ns": "https://assay.local/ns/oscal", "value": "W-9"} in legacy["props"]
    findings = {f["target"]["target-id"]: f for f in res["findings"]}
    assert findings["c-1"]["target"]["status"] == {"state": "not-satisfied", "reason": "fail"}
    assert {"GDPR Art. 17(1)", "critical"} <= {p["value"] for p in findings["c-1"]["props"]}
    assert len(findings["c-1"]["related-observations"]) == 3
    assert "related-observations" not in findings["c-2"] and findings["c-2"]["target"]["status"]["reason"] == "other"
    uuids = [o["uuid"] for o in res["observations"]] + [f["uuid"] for f in res["findings"]]
    assert len(set(uuids)) == len(uuids)
