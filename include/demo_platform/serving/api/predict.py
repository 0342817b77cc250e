"""``POST /models/predict``: fraud probabilities and labels for one record or a batch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from serving.auth import reader
from serving.schemas import FeatureRecord, Prediction, PredictResponse
from serving.services import Services, get_services
from serving.tokens import Principal

MAX_BATCH = 1000
router = APIRouter(tags=["predict"])

PredictBody = Annotated[
    Annotated[list[FeatureRecord], Field(min_length=1, max_length=MAX_BATCH)] | FeatureRecord,
    Body(description=f"one feature record, or a list of 1 to {MAX_BATCH} records"),
]


@router.post("/models/predict", response_model=PredictResponse, name="model.predict")
async def predict(
    body: PredictBody,
    _principal: Principal = Depends(reader),  # noqa: B008
    services: Services = Depends(get_services),  # noqa: B008
) -> PredictResponse:
    """Score records with the served model; label 1 means fraud (the more probable class)."""
    faults = services.faults
    await faults.delay()
    if faults.should_fail():
        raise HTTPException(500, f"injected fault: error_rate={faults.config.error_rate:g}")
    pipeline = services.pipeline
    if pipeline is None:
        raise HTTPException(503, "no model is loaded; start the API with a model path or with training enabled")
    import pandas as pd  # here, not at import time: a registry-only worker never loads pandas

    records = body if isinstance(body, list) else [body]
    frame = pd.DataFrame([r.model_dump() for r in records], columns=list(pipeline.feature_columns))
    proba = await run_in_threadpool(pipeline.predict_proba, frame)
    predictions = [Prediction(fraud_probability=float(p[1]), label=int(p[1] > p[0])) for p in proba]
    return PredictResponse(model_id=str(pipeline.model_id), count=len(predictions), predictions=predictions)
