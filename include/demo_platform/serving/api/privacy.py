"""Data-subject rights (demo code): erasure requests, the portability export, the prediction cache's view.

``POST /privacy/erasure-requests`` answers 202 with the request's id; the erasure runs as a background task
after the response and closes the request. Admin role (the data-protection officer's tooling).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from serving.auth import admin
from serving.schemas import parse_model_id
from serving.services import Services, get_services
from serving.tables import ErasureRequest, as_utc, utcnow
from serving.tokens import Principal

router = APIRouter(tags=["privacy"])


class ErasureBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject_id: str = Field(min_length=1, max_length=128)


class ErasureOut(BaseModel):
    request_id: int
    status: str
    created_at: datetime
    closed_at: datetime | None
    stores: list[str]

    @classmethod
    def of(cls, row: ErasureRequest) -> ErasureOut:
        return cls(
            request_id=row.id,
            status=row.status,
            created_at=as_utc(row.created_at),
            closed_at=as_utc(row.closed_at) if row.closed_at else None,
            stores=list(row.stores or []),
        )


def _erase(services: Services, request_id: int, subject_id: str) -> None:
    stores = services.compliance.erase_subject(subject_id)
    with services.db.session() as session:
        row = session.get(ErasureRequest, request_id)
        row.status, row.closed_at, row.stores, row.subject_id = "closed", utcnow(), stores, None


@router.post("/privacy/erasure-requests", status_code=202, response_model=ErasureOut, name="privacy.erasure.create")
def create_erasure_request(
    body: ErasureBody,
    request: Request,
    tasks: BackgroundTasks,
    _principal: Principal = Depends(admin),  # noqa: B008
    services: Services = Depends(get_services),  # noqa: B008
) -> ErasureOut:
    """File an erasure request (GDPR Art. 17); the subject is erased from every store in the background."""
    request.state.subject_id = body.subject_id
    with services.db.session() as session:
        row = ErasureRequest(subject_id=body.subject_id, status="open", created_at=utcnow(), stores=[])
        session.add(row)
        session.flush()
        out = ErasureOut.of(row)
    tasks.add_task(_erase, services, out.request_id, body.subject_id)
    return out


@router.get("/privacy/erasure-requests/{request_id}", response_model=ErasureOut, name="privacy.erasure.read")
def read_erasure_request(
    request_id: str,
    _principal: Principal = Depends(admin),  # noqa: B008
    services: Services = Depends(get_services),  # noqa: B008
) -> ErasureOut:
    key = parse_model_id(request_id)
    with services.db.session() as session:
        row = session.get(ErasureRequest, key)
        if row is None:
            raise HTTPException(404, f"no erasure request has id {key}")
        return ErasureOut.of(row)


@router.get("/privacy/subjects/{subject_id}/export", name="privacy.export")
def export_subject(
    subject_id: str,
    request: Request,
    _principal: Principal = Depends(admin),  # noqa: B008
    services: Services = Depends(get_services),  # noqa: B008
) -> dict[str, Any]:
    """Everything the subject provided, as JSON (GDPR Art. 20)."""
    request.state.subject_id = subject_id
    with services.db.session() as session:
        body = services.compliance.export_subject(session, subject_id)
    if body is None:
        raise HTTPException(404, "no such data subject")
    return body


@router.get("/admin/cache/subjects/{subject_id}", name="admin.cache.read")
def cached_predictions(
    subject_id: str,
    request: Request,
    _principal: Principal = Depends(admin),  # noqa: B008
    services: Services = Depends(get_services),  # noqa: B008
) -> dict[str, Any]:
    """The prediction cache's entries for one subject (an in-memory personal-data store). An operator's
    diagnostic look-up: the subject id is kept out of the audit record's path, and the record is not linked to
    the subject (so an auditor verifying an erasure does not re-create the link by looking)."""
    request.state.redact = subject_id
    return {"subject_id": subject_id, "rows": services.compliance.cache.get(subject_id)}
