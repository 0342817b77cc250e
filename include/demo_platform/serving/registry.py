"""Model registry operations on an ORM session (bound parameters only, never string-built SQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from serving.errors import ModelConflict, ModelNotFound
from serving.tables import RegisteredModel, utcnow


def register_model(
    session: Session,
    *,
    name: str,
    version: str,
    artifact_uri: str | None,
    metrics: dict[str, float],
    actor: str,
) -> RegisteredModel:
    """Add a new active model version; a (name, version) pair can be registered only once."""
    existing = session.scalar(
        select(RegisteredModel.id).where(RegisteredModel.name == name, RegisteredModel.version == version)
    )
    if existing is not None:
        raise ModelConflict(f"model {name!r} version {version!r} is already registered as model_id {existing}")
    model = RegisteredModel(
        name=name, version=version, artifact_uri=artifact_uri, metrics=dict(metrics), created_by=actor
    )
    session.add(model)
    try:
        session.flush()
    except IntegrityError:  # a concurrent request registered the same pair first
        raise ModelConflict(f"model {name!r} version {version!r} is already registered") from None
    return model


def get_model(session: Session, model_id: int) -> RegisteredModel:
    model = session.get(RegisteredModel, model_id)
    if model is None:
        raise ModelNotFound(f"no registered model has model_id {model_id}")
    return model


def model_versions(session: Session, model_id: int) -> list[RegisteredModel]:
    """Every registered version of the model that ``model_id`` belongs to, oldest first."""
    name = get_model(session, model_id).name
    query = select(RegisteredModel).where(RegisteredModel.name == name).order_by(RegisteredModel.id)
    return list(session.scalars(query))


def list_models(session: Session, *, name: str | None, status: str | None, limit: int) -> list[RegisteredModel]:
    query = select(RegisteredModel).order_by(RegisteredModel.id).limit(limit)
    if name is not None:
        query = query.where(RegisteredModel.name == name)
    if status is not None:
        query = query.where(RegisteredModel.status == status)
    return list(session.scalars(query))


def retire_model(session: Session, model_id: int, *, actor: str) -> RegisteredModel:
    model = get_model(session, model_id)
    if model.status == "retired":
        raise ModelConflict(f"model_id {model_id} is already retired")
    model.status, model.retired_at, model.retired_by = "retired", utcnow(), actor
    return model


def put_model_fixture(session: Session, model_id: int, **fields: Any) -> RegisteredModel:
    """Test-mode only: make exactly this model exist under this id (replacing whatever was there)."""
    session.execute(delete(RegisteredModel).where(RegisteredModel.id == model_id))
    session.execute(
        delete(RegisteredModel).where(
            RegisteredModel.name == fields["name"], RegisteredModel.version == fields["version"]
        )
    )
    model = RegisteredModel(id=model_id, created_by="provider-state", **fields)
    if fields.get("status") == "retired":
        model.retired_at, model.retired_by = utcnow(), "provider-state"
    session.add(model)
    session.flush()
    if session.get_bind().dialect.name == "postgresql":  # keep the id sequence ahead of explicit ids
        top = session.scalar(select(func.max(RegisteredModel.id)))
        session.execute(text("SELECT setval(pg_get_serial_sequence('registry_models', 'id'), :top)"), {"top": top})
    return model


def delete_model_fixture(session: Session, model_id: int) -> None:
    session.execute(delete(RegisteredModel).where(RegisteredModel.id == model_id))
