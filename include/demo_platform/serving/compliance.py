"""Demo code: the personal data and governance records a real ML platform keeps, so compliance audits have
something real to verify (Assay's GDPR / HIPAA / SOX checks).

* personal-data stores: ``customers_raw`` (the raw export; PHI columns Fernet-encrypted), ``training_snapshot``
  (the rows each training run used), ``prediction_log``, the audit log's ``subject_id`` and an in-memory
  prediction cache (``GET /admin/cache/subjects/{id}``);
* erasure (:func:`erase_subject`) removes a subject from every one of them; export (:func:`export_subject`)
  returns what the subject provided;
* consent records and training runs; users, tokens, approved roles, grants, access reviews; change requests
  and deployments of registry versions; retention periods per store.

:func:`seed` fills them (``DEMO_COMPLIANCE_SEED=1``); ``DEMO_COMPLIANCE_FAULTS`` (comma list of :data:`FAULTS`)
breaks exactly one thing each, for the audits' negative controls.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from serving.audit import AuditEntry, AuditLog
from serving.db import Database
from serving.tables import (
    AccessReview,
    AccessRevocation,
    ApiToken,
    ApprovedRole,
    AppUser,
    AuditRecord,
    ChangeRequest,
    ConsentRecord,
    CustomerRaw,
    Deployment,
    PredictionLogRow,
    RegisteredModel,
    RetentionPolicy,
    RoleGrant,
    TrainingRun,
    TrainingSnapshotRow,
    as_utc,
    utcnow,
)
from serving.tokens import Role, TokenTable

FAULTS: dict[str, str] = {
    "erasure_skips_store": "erasure leaves the subject's training_snapshot rows in place",
    "training_after_withdrawal": "a consent-based training run used a customer who had withdrawn consent",
    "export_missing_field": "the portability export leaves out the phone number",
    "audit_action_unlogged": "denied requests (401/403) are not written to the audit log",
    "audit_row_edited": "audit record seq 2 was edited after it was written",
    "audit_row_deleted": "audit record seq 2 was deleted",
    "plaintext_phi": "customers_raw.diagnosis is stored in plaintext",
    "shared_account": "the ml-engineer token also belongs to a second user",
    "unapproved_role": "a user holds a grant of the unapproved role 'superuser'",
    "expired_record_kept": "a customers_raw row older than its 730-day retention is kept",
    "short_audit_retention": "the audit log is kept 365 days",
    "self_approved_deployment": "the active model version's change was approved by its deployer",
    "conflicting_roles": "the deployer also holds the change-approver role",
    "deployment_before_approval": "the active model version was deployed before its change was approved",
    "deployment_without_run": "the active model version was deployed from a commit Assay never tested",
    "overdue_access_review": "the model registry's last access review is 200 days old",
    "unapplied_revocation": "an access review revoked a grant that is still active",
}

PHI_COLUMNS = ("date_of_birth", "diagnosis")
PROVIDED_COLUMNS = ("name", "email", "phone", "address", "postcode", "city", "date_of_birth")
TRAINING_PURPOSE = "fraud-model-training"
SYSTEM = "model-registry"
DIAGNOSES = ("none", "asthma", "type 2 diabetes", "hypertension", "migraine")
N_CUSTOMERS = 40


class PhiCipher:
    """Fernet encryption of PHI columns at rest."""

    def __init__(self, key: str, *, plaintext_columns: frozenset[str] = frozenset()) -> None:
        self._fernet = Fernet(key.encode())
        self._plaintext = plaintext_columns  # the plaintext_phi fault

    def encrypt(self, column: str, value: str | None) -> str | None:
        if value is None or column in self._plaintext:
            return value
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, column: str, value: str | None) -> str | None:
        if value is None or column in self._plaintext:
            return value
        return self._fernet.decrypt(value.encode()).decode()


class PredictionCache:
    """The last predictions per customer, in memory (bounded, least recently used out)."""

    def __init__(self, max_subjects: int = 1000, per_subject: int = 5) -> None:
        self._items: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()
        self._max, self._per = max_subjects, per_subject

    def put(self, subject_id: str, item: dict[str, Any]) -> None:
        with self._lock:
            items = self._items.pop(subject_id, [])
            self._items[subject_id] = [*items, item][-self._per :]
            while len(self._items) > self._max:
                self._items.popitem(last=False)

    def get(self, subject_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._items.get(subject_id, []))

    def erase(self, subject_id: str) -> int:
        with self._lock:
            return len(self._items.pop(subject_id, []))


class Compliance:
    """The per-app compliance state: faults, the PHI cipher, the prediction cache."""

    def __init__(self, db: Database, faults: frozenset[str], phi_key: str) -> None:
        self.db = db
        self.faults = faults
        self.cipher = PhiCipher(
            phi_key, plaintext_columns=frozenset({"diagnosis"} if "plaintext_phi" in faults else ())
        )
        self.cache = PredictionCache()

    # --- erasure ---------------------------------------------------------------------------------------------

    def erase_subject(self, subject_id: str) -> list[str]:
        """Remove the subject from every personal-data store; return the stores that held it."""
        held: list[str] = []
        with self.db.session() as session:
            tables: list[tuple[str, Any]] = [
                ("customers_raw", delete(CustomerRaw).where(CustomerRaw.customer_id == subject_id)),
                ("prediction_log", delete(PredictionLogRow).where(PredictionLogRow.customer_id == subject_id)),
                ("consent_records", delete(ConsentRecord).where(ConsentRecord.customer_id == subject_id)),
                (
                    "audit_log",  # the subject reference only: the records themselves stay (and stay chained)
                    update(AuditRecord).where(AuditRecord.subject_id == subject_id).values(subject_id=None),
                ),
            ]
            if "erasure_skips_store" not in self.faults:
                tables.append(
                    (
                        "training_snapshot",
                        delete(TrainingSnapshotRow).where(TrainingSnapshotRow.customer_id == subject_id),
                    )
                )
            for name, statement in tables:
                if session.execute(statement).rowcount:
                    held.append(name)
        if self.cache.erase(subject_id):
            held.append("prediction_cache")
        return held

    # --- portability -----------------------------------------------------------------------------------------

    def export_subject(self, session: Session, subject_id: str) -> dict[str, Any] | None:
        """What the subject provided, machine-readable; None if the platform holds no such subject."""
        row = session.get(CustomerRaw, subject_id)
        if row is None:
            return None
        fields = [c for c in PROVIDED_COLUMNS if not (c == "phone" and "export_missing_field" in self.faults)]
        profile = {c: getattr(row, c) for c in fields}
        for column in PHI_COLUMNS:
            if column in profile:
                profile[column] = self.cipher.decrypt(column, profile[column])
        consents = session.scalars(select(ConsentRecord).where(ConsentRecord.customer_id == subject_id))
        return {
            "subject_id": subject_id,
            "exported_at": utcnow().isoformat(),
            "profile": profile,
            "consents": [
                {
                    "purpose": c.purpose,
                    "given_at": as_utc(c.given_at).isoformat(),
                    "withdrawn_at": as_utc(c.withdrawn_at).isoformat() if c.withdrawn_at else None,
                }
                for c in consents
            ],
        }

    # --- predictions for identified customers ----------------------------------------------------------------

    def log_predictions(self, subject_id: str, model_id: str, probabilities: list[float]) -> None:
        now = utcnow()
        with self.db.connection() as connection:
            connection.execute(
                insert(PredictionLogRow),
                [
                    {"customer_id": subject_id, "model_id": model_id, "fraud_probability": p, "created_at": now}
                    for p in probabilities
                ],
            )
        for p in probabilities:
            self.cache.put(subject_id, {"model_id": model_id, "fraud_probability": p, "at": now.isoformat()})


def seed(db: Database, audit: AuditLog, tokens: TokenTable, compliance: Compliance, commit_sha: str) -> bool:
    """Fill the demo's compliance records once (False if they exist already), broken as the faults say."""
    from fraud.customers import generate_customers  # pandas/pyarrow: only when seeding

    faults = compliance.faults
    now = utcnow()
    with db.session() as session:
        if session.scalar(select(func.count()).select_from(ChangeRequest)):
            return False
        frame = generate_customers(N_CUSTOMERS, seed=7)
        ids = list(frame["customer_id"])
        for i, rec in enumerate(frame.to_dict("records")):
            age = timedelta(days=1000) if (i == 0 and "expired_record_kept" in faults) else timedelta(days=i * 5)
            session.add(
                CustomerRaw(
                    customer_id=rec["customer_id"],
                    **{c: str(rec[c]) for c in ("name", "email", "phone", "address", "postcode", "city")},
                    date_of_birth=compliance.cipher.encrypt("date_of_birth", str(rec["date_of_birth"])[:10]),
                    diagnosis=compliance.cipher.encrypt("diagnosis", DIAGNOSES[i % len(DIAGNOSES)]),
                    created_at=now - age,
                )
            )
        consented, others = ids[:20], ids[20:]
        run_at = now - timedelta(days=30)
        session.add(
            TrainingRun(
                run_id="train-consent-1",
                model_name="fraud-detector",
                purpose=TRAINING_PURPOSE,
                legal_basis="consent",
                started_at=run_at,
            )
        )
        session.add(
            TrainingRun(
                run_id="train-interest-1",
                model_name="fraud-detector",
                purpose="fraud-prevention",
                legal_basis="legitimate_interest",
                started_at=run_at,
            )
        )
        for j, cid in enumerate(consented):
            withdrawn = None
            if j == 0 and "training_after_withdrawal" in faults:
                withdrawn = now - timedelta(days=60)  # before the run started
            elif j == 1:
                withdrawn = now - timedelta(days=5)  # after the run: allowed
            session.add(
                ConsentRecord(
                    customer_id=cid,
                    purpose=TRAINING_PURPOSE,
                    given_at=now - timedelta(days=200),
                    withdrawn_at=withdrawn,
                )
            )
            session.add(
                TrainingSnapshotRow(
                    run_id="train-consent-1",
                    customer_id=cid,
                    amount=10.0 + j,
                    merchant_risk=0.1,
                    is_fraud=0,
                    created_at=run_at,
                )
            )
        for j, cid in enumerate(others):
            session.add(
                TrainingSnapshotRow(
                    run_id="train-interest-1",
                    customer_id=cid,
                    amount=20.0 + j,
                    merchant_risk=0.2,
                    is_fraud=j % 2,
                    created_at=run_at,
                )
            )
        for j, cid in enumerate(ids[:10]):
            session.add(
                PredictionLogRow(
                    customer_id=cid, model_id="1", fraud_probability=0.01 * j, created_at=now - timedelta(days=j)
                )
            )
        retention = {
            "customers_raw": 730,
            "training_snapshot": 365,
            "prediction_log": 180,
            "audit_log": 365 if "short_audit_retention" in faults else 2555,
        }
        session.add_all(RetentionPolicy(store=k, retention_days=v) for k, v in retention.items())
        _seed_access(session, tokens, faults, now)
        _seed_registry(session, faults, now, commit_sha)
    _seed_audit(db, audit, faults, now)
    return True


def _seed_access(session: Session, tokens: TokenTable, faults: frozenset[str], now: datetime) -> None:
    approved = ["reader", "ml-engineer", "admin", "change-approver", "deployer"]
    session.add_all(ApprovedRole(role=r, approved_by="ciso", approved_at=now - timedelta(days=400)) for r in approved)
    users: dict[str, str] = {}
    for digest, principal in tokens.digests():
        users[principal.actor] = principal.role.label
        session.add(ApiToken(token_digest=digest, user_id=principal.actor, created_at=now - timedelta(days=90)))
        if "shared_account" in faults and principal.role is Role.ML_ENGINEER:
            session.add(ApiToken(token_digest=digest, user_id="erin.contractor", created_at=now - timedelta(days=3)))
            users.setdefault("erin.contractor", "reader")
    users |= {"carol.approver": "change-approver", "dan.deployer": "deployer", "old.contractor": "reader"}
    for user, role in users.items():
        session.add(AppUser(user_id=user, display_name=user, active=user != "old.contractor"))
        revoked = None if (user != "old.contractor" or "unapplied_revocation" in faults) else now - timedelta(days=29)
        session.add(
            RoleGrant(user_id=user, role=role, system=SYSTEM, granted_at=now - timedelta(days=300), revoked_at=revoked)
        )
    if "unapproved_role" in faults:
        session.add(
            RoleGrant(user_id="dan.deployer", role="superuser", system=SYSTEM, granted_at=now - timedelta(days=2))
        )
    if "conflicting_roles" in faults:
        session.add(
            RoleGrant(user_id="dan.deployer", role="change-approver", system=SYSTEM, granted_at=now - timedelta(days=2))
        )
    reviewed = now - timedelta(days=200 if "overdue_access_review" in faults else 30)
    review = AccessReview(system=SYSTEM, reviewer="carol.approver", reviewed_at=reviewed)
    session.add(review)
    session.flush()
    applied = None if "unapplied_revocation" in faults else now - timedelta(days=29)
    session.add(
        AccessRevocation(
            review_id=review.id, user_id="old.contractor", role="reader", system=SYSTEM, applied_at=applied
        )
    )


def _seed_registry(session: Session, faults: frozenset[str], now: datetime, commit_sha: str) -> None:
    old = RegisteredModel(
        name="fraud-detector",
        version="1.0.0",
        status="retired",
        created_by="eddie.engineer",
        created_at=now - timedelta(days=60),
        retired_at=now - timedelta(minutes=1),
        retired_by="dan.deployer",
        metrics={},
    )
    new = RegisteredModel(
        name="fraud-detector",
        version="2.0.0",
        status="active",
        created_by="eddie.engineer",
        created_at=now - timedelta(days=11),
        metrics={},
    )
    session.add_all([old, new])
    session.flush()
    deployer = "dan.deployer"
    approver = deployer if "self_approved_deployment" in faults else "carol.approver"
    # The active version was deployed a minute before the service started (approved the day before, or, broken,
    # half a minute after): a commit Assay tested before the service started has its passing run in time.
    deployed_at = now - timedelta(minutes=1)
    approved_at = now - (timedelta(seconds=30) if "deployment_before_approval" in faults else timedelta(days=1))
    sha = "0" * 40 if "deployment_without_run" in faults else commit_sha
    session.add(
        ChangeRequest(
            change_id="CHG-1001",
            title="fraud-detector 1.0.0",
            requested_by="eddie.engineer",
            requested_at=now - timedelta(days=62),
            status="approved",
            approved_by="carol.approver",
            approved_at=now - timedelta(days=61),
        )
    )
    session.add(
        ChangeRequest(
            change_id="CHG-1002",
            title="fraud-detector 2.0.0",
            requested_by="eddie.engineer",
            requested_at=now - timedelta(days=10),
            status="approved",
            approved_by=approver,
            approved_at=approved_at,
        )
    )
    session.add(
        Deployment(
            model_id=old.id,
            change_id="CHG-1001",
            commit_sha=commit_sha,
            deployed_by=deployer,
            deployed_at=now - timedelta(days=60),
        )
    )
    session.add(
        Deployment(model_id=new.id, change_id="CHG-1002", commit_sha=sha, deployed_by=deployer, deployed_at=deployed_at)
    )


def _seed_audit(db: Database, audit: AuditLog, faults: frozenset[str], now: datetime) -> None:
    """A few records of the seeding itself (through the chained writer), then the tampering faults."""
    for n in range(3):
        entry = AuditEntry(
            occurred_at=now,
            actor="seed",
            action="compliance.seed",
            resource=f"/seed/{n}",
            outcome="success",
            status_code=200,
            method="POST",
            request_id=f"seed{n:028d}",
        )
        audit._enqueue_locked(entry)  # noqa: SLF001 - no request waits for these
    audit.flush()
    with db.session() as session:
        if "audit_row_edited" in faults:
            session.execute(update(AuditRecord).where(AuditRecord.seq == 2).values(actor="mallory"))
        if "audit_row_deleted" in faults:
            session.execute(delete(AuditRecord).where(AuditRecord.seq == 2))
