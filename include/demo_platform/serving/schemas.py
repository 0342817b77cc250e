"""Request and response bodies (pydantic); anything else in a request is rejected with 422."""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Annotated, Literal

from fastapi import HTTPException
from pydantic import BaseModel, ConfigDict, Field, field_validator

from serving.tables import RegisteredModel, as_utc

_MODEL_ID = re.compile(r"[1-9][0-9]{0,17}")
_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_VERSION = r"^[A-Za-z0-9][A-Za-z0-9.+_-]{0,31}$"

ModelStatus = Literal["active", "retired"]


def parse_model_id(raw: str) -> int:
    """Strictly a positive decimal integer; anything else (e.g. ``1;DROP TABLE``) → 400."""
    if not _MODEL_ID.fullmatch(raw):
        shown = raw if len(raw) <= 40 else raw[:40] + "..."
        raise HTTPException(400, f"invalid model id {shown!r}: must be a positive integer such as 42")
    return int(raw)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorOut(BaseModel):
    """The body of an error answer (401, 403, 404, 409, 429, 503...)."""

    detail: str


# Upper bounds keep every feature in the range the model scores to a finite probability: past ~1e38 a scaled
# value overflows float32 and the prediction is NaN (null in the answer, a 500 where it is stored), and an
# integer past ~1e308 cannot become a float at all. Found by Assay's API fuzzing (schemathesis).
MAX_AMOUNT = 1e12
MAX_DISTANCE_KM = 1e6
MAX_ACCOUNT_AGE_DAYS = 100_000
MAX_TX_24H = 1_000_000


class FeatureRecord(_Strict):
    """One transaction's features (the model's input columns)."""

    amount: float = Field(ge=0, le=MAX_AMOUNT, description="transaction amount")
    hour: int = Field(ge=0, le=23)
    merchant_risk: float = Field(ge=0, le=1)
    distance_km: float = Field(ge=0, le=MAX_DISTANCE_KM)
    account_age_days: int = Field(ge=0, le=MAX_ACCOUNT_AGE_DAYS)
    n_tx_24h: int = Field(ge=0, le=MAX_TX_24H)

    @field_validator("amount", "distance_km")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


class Prediction(BaseModel):
    fraud_probability: float
    label: Literal[0, 1]


class PredictResponse(BaseModel):
    model_id: str
    count: int
    predictions: list[Prediction]


class RegisterRequest(_Strict):
    name: str = Field(pattern=_NAME, description="model name, e.g. fraud-mlp")
    version: str = Field(pattern=_VERSION, description="version label, e.g. 1.2.0")
    artifact_uri: str | None = Field(default=None, max_length=1024)
    metrics: dict[Annotated[str, Field(max_length=64)], float] = Field(default_factory=dict, max_length=50)


class ModelOut(BaseModel):
    model_id: int
    name: str
    version: str
    status: ModelStatus
    artifact_uri: str | None
    metrics: dict[str, float]
    created_at: datetime
    created_by: str
    retired_at: datetime | None

    @classmethod
    def of(cls, row: RegisteredModel) -> ModelOut:
        return cls(
            model_id=row.id,
            name=row.name,
            version=row.version,
            status=row.status,  # type: ignore[arg-type]
            artifact_uri=row.artifact_uri,
            metrics=row.metrics or {},
            created_at=as_utc(row.created_at),
            created_by=row.created_by,
            retired_at=as_utc(row.retired_at) if row.retired_at else None,
        )


class FaultRequest(_Strict):
    latency_ms: int = Field(default=0, ge=0, le=60_000)
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    db_down: bool = False
    seed: int = 0


class HealthOut(BaseModel):
    status: Literal["ok"]
    model_loaded: bool
    db: Literal["ok", "down"]
    model_id: str | None = None
