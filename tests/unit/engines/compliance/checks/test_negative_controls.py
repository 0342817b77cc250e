"""Each demo fault makes exactly its control's check FAIL and every other check PASS (or not applicable)."""

from __future__ import annotations

import json

import pytest
from support.compliance_checks import CHECK_IDS, FAULT_CHECK


@pytest.mark.parametrize("fault", sorted(FAULT_CHECK))
def test_a_fault_fails_exactly_its_check(start_demo, fault):
    demo = start_demo(faults=(fault,))
    outcome = {}
    for check_id in CHECK_IDS:
        params = {"settle_s": 0.3} if check_id == "audit.trail_completeness" else {}
        results = demo.run(check_id, params=params)
        assert results, f"{check_id} checked nothing"
        assert all(r.message and r.evidence for r in results if r.status.value == "FAIL")
        json.dumps([e.to_dict() for r in results for e in r.evidence])  # evidence is JSON-safe
        outcome[check_id] = {r.status.value for r in results} - {"NOT_APPLICABLE"}
    assert {c for c, s in outcome.items() if s != {"PASS"}} == {FAULT_CHECK[fault]}
    assert outcome[FAULT_CHECK[fault]] >= {"FAIL"}
