"""Model registry routes: register, read, list versions, retire."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, Response

from serving import registry
from serving.auth import ml_engineer, reader
from serving.schemas import ModelOut, ModelStatus, RegisterRequest, parse_model_id
from serving.services import Services, get_services
from serving.tokens import Principal

router = APIRouter(tags=["registry"])


@router.post("/models", status_code=201, response_model=ModelOut, name="model.register")
def register(
    body: RegisterRequest,
    response: Response,
    principal: Principal = Depends(ml_engineer),  # noqa: B008
    services: Services = Depends(get_services),  # noqa: B008
) -> ModelOut:
    """Register a model version (active); 409 if this name and version already exist."""
    with services.db.session() as session:
        row = registry.register_model(
            session,
            name=body.name,
            version=body.version,
            artifact_uri=body.artifact_uri,
            metrics=body.metrics,
            actor=principal.actor,
        )
        out = ModelOut.of(row)
    response.headers["Location"] = f"/models/{out.model_id}"
    return out


# The spelling of the same action; kept as an alias so both clients work.
router.add_api_route(
    "/models/register",
    register,
    methods=["POST"],
    status_code=201,
    response_model=ModelOut,
    name="model.register",
)


@router.get("/models", response_model=list[ModelOut], name="model.list")
def list_models(
    name: str | None = Query(None, max_length=64),
    status: ModelStatus | None = None,
    limit: int = Query(100, ge=1, le=1000),
    _principal: Principal = Depends(reader),  # noqa: B008
    services: Services = Depends(get_services),  # noqa: B008
) -> list[ModelOut]:
    with services.db.session() as session:
        return [ModelOut.of(r) for r in registry.list_models(session, name=name, status=status, limit=limit)]


@router.get("/models/{model_id}", response_model=ModelOut, name="model.read")
def read_model(
    model_id: str,
    _principal: Principal = Depends(reader),  # noqa: B008
    services: Services = Depends(get_services),  # noqa: B008
) -> ModelOut:
    key = parse_model_id(model_id)
    with services.db.session() as session:
        return ModelOut.of(registry.get_model(session, key))


@router.get("/models/{model_id}/versions", response_model=list[ModelOut], name="model.versions")
def list_versions(
    model_id: str,
    _principal: Principal = Depends(reader),  # noqa: B008
    services: Services = Depends(get_services),  # noqa: B008
) -> list[ModelOut]:
    """All versions registered under the same name as ``model_id``, oldest first."""
    key = parse_model_id(model_id)
    with services.db.session() as session:
        return [ModelOut.of(r) for r in registry.model_versions(session, key)]


@router.post("/models/{model_id}/retire", response_model=ModelOut, name="model.retire")
def retire(
    model_id: str,
    principal: Principal = Depends(ml_engineer),  # noqa: B008
    services: Services = Depends(get_services),  # noqa: B008
) -> ModelOut:
    key = parse_model_id(model_id)
    with services.db.session() as session:
        return ModelOut.of(registry.retire_model(session, key, actor=principal.actor))


@router.api_route(
    "/models/{model_path:path}", methods=["GET", "POST"], name="model.invalid_path", include_in_schema=False
)
def invalid_model_path(
    model_path: str,
    _principal: Principal = Depends(reader),  # noqa: B008
) -> None:
    """Registered last: any other path under /models/ (e.g. an id containing '/') is a bad id → 400."""
    parse_model_id(model_path)  # raises 400 for anything that is not a plain id
    raise HTTPException(404, f"/models/{model_path} has no such sub-resource")
