"""``GET /health``: liveness plus model and database state; no authentication, not audited."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from serving.schemas import HealthOut
from serving.services import Services, get_services

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthOut, name="health")
def health(services: Services = Depends(get_services)) -> HealthOut:  # noqa: B008
    """Always 200 while the process serves; ``db`` is "down" when a ``SELECT 1`` fails."""
    pipeline = services.pipeline
    return HealthOut(
        status="ok",
        model_loaded=pipeline is not None,
        db="ok" if services.db.ping() else "down",
        model_id=pipeline.model_id if pipeline is not None else None,
    )
