"""The three frameworks audited through the engine's runner against the compliant demo: every automated
control PASSes (the checks' results, evidence and params fit the core's catalog, runner and reports)."""

from __future__ import annotations

from support.compliance_checks import PARAMS
from support.demo_platform import REPO

from assay.engines.compliance.audit import run_audit
from assay.engines.compliance.catalog import load_framework
from assay.engines.compliance.registry import CheckSpec


def test_every_automated_control_passes_on_the_compliant_demo(start_demo, tmp_path):
    demo = start_demo()

    def factory(spec: CheckSpec, params):
        merged = (params.model_dump(by_alias=True) if params is not None else {}) | dict(PARAMS.get(spec.id) or {})
        if spec.id == "audit.trail_completeness":
            merged["settle_s"] = 0.3
        return demo.context(spec.id, params=merged, work_dir=tmp_path)

    for framework in ("gdpr", "hipaa", "sox"):
        result = run_audit(
            framework,
            catalog_dir=REPO / "include" / "compliance",
            work_dir=tmp_path / framework,
            context_factory=factory,
            report=False,
        )
        manual = {
            c.id for c in load_framework(REPO / "include" / "compliance" / f"{framework}.yaml").controls if not c.checks
        }
        outcomes = {c.name: c.status for c in result.checks}
        assert {k for k, v in outcomes.items() if v != "PASS"} == manual, (framework, outcomes, result.message)
        assert "NON-COMPLIANT" not in result.message
