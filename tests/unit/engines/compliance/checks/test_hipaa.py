"""hipaa.phi_encryption reads the raw PHI columns (SQLite and PostgreSQL)."""

from __future__ import annotations

from support.compliance_checks import failed, statuses


def test_encrypted_phi_passes_and_plaintext_fails_naming_the_subjects(start_demo, demo_db_url):
    results = start_demo(demo_db_url).run("hipaa.phi_encryption")
    assert statuses(results) == {"PASS"}
    assert {r.resource for r in results} == {"store:raw_customers.date_of_birth", "store:raw_customers.diagnosis"}
    assert all(r.evidence[0].content["values_checked"] == 40 for r in results)

    bad = failed(start_demo(None, faults=("plaintext_phi",)).run("hipaa.phi_encryption"))
    assert [r.resource for r in bad] == ["store:raw_customers.diagnosis"]
    assert "40 plaintext value(s) of 40" in bad[0].message and "CUST00000000" in bad[0].message
    content = bad[0].evidence[0].content
    assert content["plaintext_count"] == 40 and content["plaintext_subjects"][0] == "CUST00000000"
    assert "asthma" not in str(content)  # the PHI itself is not copied into the evidence
