"""Pact provider-state hook ``POST /_pact/provider-states``; mounted only when ``test_mode`` is on.

The Pact verifier calls it before (``action: setup``) and after (``teardown``) each interaction with
``{"state": ..., "params": {...}, "action": ...}``. Supported state:

* ``a model exists`` with params ``model_id``, ``name``, ``version``, ``status``;
* ``no model exists`` with param ``model_id``.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field, ValidationError

from serving import registry
from serving.schemas import ModelStatus
from serving.services import Services, get_services

PROVIDER_STATES_PATH = "/_pact/provider-states"
SUPPORTED_STATES = ("a model exists", "no model exists")
router = APIRouter(tags=["testing"], include_in_schema=False)


class ProviderStateChange(BaseModel):
    state: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    action: Literal["setup", "teardown"] = "setup"


class ModelExistsParams(BaseModel):
    model_id: int = Field(ge=1)
    name: str = "fraud-mlp"
    version: str = "1.0.0"
    status: ModelStatus = "active"


@router.post(PROVIDER_STATES_PATH, name="test.provider_state")
def change_state(
    change: ProviderStateChange,
    services: Services = Depends(get_services),  # noqa: B008
) -> dict[str, Any]:
    if change.state == "":  # Pact's generic per-interaction setup/teardown: nothing to do
        return {}
    if change.state not in SUPPORTED_STATES:
        raise HTTPException(400, f"unknown provider state {change.state!r}; supported: {', '.join(SUPPORTED_STATES)}")
    try:
        params = ModelExistsParams.model_validate(change.params)
    except ValidationError as exc:
        raise HTTPException(400, f"bad params for provider state {change.state!r}: {exc}") from None
    with services.db.session() as session:
        if change.action == "teardown" or change.state == "no model exists":
            registry.delete_model_fixture(session, params.model_id)
            return {}
        registry.put_model_fixture(
            session,
            params.model_id,
            name=params.name,
            version=params.version,
            status=params.status,
            metrics={"accuracy": 0.9},
        )
    return {"model_id": params.model_id}
