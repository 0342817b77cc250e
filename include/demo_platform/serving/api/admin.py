"""Admin routes: server-side timings, fault injection, the audit trail. Admin role only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from serving.auth import admin
from serving.faults import FaultConfig
from serving.schemas import FaultRequest
from serving.services import Services, get_services
from serving.tokens import Principal

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/timings", name="admin.timings")
def timings(
    since: float | None = Query(None, description="monotonic time (a previous response's `now`)"),
    route: str | None = Query(None, description="route template, e.g. /models/predict"),
    method: str | None = Query(None, max_length=8),
    include_items: bool = False,
    _principal: Principal = Depends(admin),  # noqa: B008
    services: Services = Depends(get_services),  # noqa: B008
) -> dict[str, Any]:
    """Percentiles of server-side durations of requests finished after ``since``, and of the event loop's lag."""
    selected = services.timings.select(since=since, route=route, method=method)
    return services.timings.report(selected, include_items=include_items, since=since)


def _apply(services: Services, config: FaultConfig) -> dict[str, object]:
    services.faults.set(config)
    if config.db_down:
        services.db.cut()
    else:
        services.db.restore()
        services.audit.flush()  # write what queued up while the database was down
    return config.as_dict()


@router.get("/faults", name="admin.faults.read")
def read_faults(
    _principal: Principal = Depends(admin),  # noqa: B008
    services: Services = Depends(get_services),  # noqa: B008
) -> dict[str, object]:
    return services.faults.config.as_dict()


@router.post("/faults", name="admin.faults.set")
async def set_faults(
    body: FaultRequest,
    _principal: Principal = Depends(admin),  # noqa: B008
    services: Services = Depends(get_services),  # noqa: B008
) -> dict[str, object]:
    """Replace the injected faults (fields left out are off)."""
    return await run_in_threadpool(_apply, services, FaultConfig(**body.model_dump()))


@router.delete("/faults", name="admin.faults.reset")
async def reset_faults(
    _principal: Principal = Depends(admin),  # noqa: B008
    services: Services = Depends(get_services),  # noqa: B008
) -> dict[str, object]:
    return await run_in_threadpool(_apply, services, FaultConfig())


@router.get("/audit", name="admin.audit")
def audit_trail(
    limit: int = Query(100, ge=1, le=1000),
    actor: str | None = Query(None, max_length=128),
    action: str | None = Query(None, max_length=64),
    outcome: str | None = Query(None, max_length=16),
    _principal: Principal = Depends(admin),  # noqa: B008
    services: Services = Depends(get_services),  # noqa: B008
) -> dict[str, Any]:
    """Most recent audit records first; ``pending`` counts records queued while the DB is down."""
    entries = services.audit.query(limit=limit, actor=actor, action=action, outcome=outcome)
    return {"pending": services.audit.pending, "records": [e.as_dict() for e in entries]}
