"""``POST /models/predict``: fraud probabilities and labels for one record or a batch."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Body, Depends, HTTPException, Request
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from serving.auth import reader
from serving.schemas import FeatureRecord, Prediction, PredictResponse
from serving.services import Services, get_services
from serving.tokens import Principal

MAX_BATCH = 1000
# Scoring this many records takes the demo model well under a millisecond: cheaper on the event loop than a
# thread-pool handoff. Bigger batches go to a worker thread so they never hold up other requests.
INLINE_MAX_RECORDS = 64
router = APIRouter(tags=["predict"])

PredictBody = Annotated[
    Annotated[list[FeatureRecord], Field(min_length=1, max_length=MAX_BATCH)] | FeatureRecord,
    Body(description=f"one feature record, or a list of 1 to {MAX_BATCH} records"),
]


def feature_values(records: Sequence[FeatureRecord], columns: Sequence[str]) -> np.ndarray:
    """The records as a float64 array with one column per model input, in ``columns`` order: what a
    DataFrame of them would give (a column the records lack is NaN, which the transformer fills), without
    building one."""
    rows = [r.model_dump() for r in records]
    return np.array([[row.get(c, math.nan) for c in columns] for row in rows], dtype=np.float64)


@router.post("/models/predict", response_model=PredictResponse, name="model.predict")
async def predict(
    body: PredictBody,
    request: Request,
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
    records = body if isinstance(body, list) else [body]
    values = feature_values(records, pipeline.feature_columns)
    if len(records) <= INLINE_MAX_RECORDS:
        proba = pipeline.predict_proba_values(values)
    else:
        proba = await run_in_threadpool(pipeline.predict_proba_values, values)
    predictions = [Prediction(fraud_probability=float(p[1]), label=int(p[1] > p[0])) for p in proba]
    await _log_identified(services, request, records, predictions, str(pipeline.model_id))
    return PredictResponse(model_id=str(pipeline.model_id), count=len(predictions), predictions=predictions)


async def _log_identified(
    services: Services, request: Request, records: Sequence[FeatureRecord], predictions: list[Prediction], model_id: str
) -> None:
    """Predictions for identified customers go to the prediction log and cache (personal data)."""
    by_subject: dict[str, list[float]] = {}
    for record, prediction in zip(records, predictions, strict=True):
        if record.customer_id is not None:
            by_subject.setdefault(record.customer_id, []).append(prediction.fraud_probability)
    if len(by_subject) == 1:
        request.state.subject_id = next(iter(by_subject))
    for subject_id, probabilities in by_subject.items():
        await run_in_threadpool(services.compliance.log_predictions, subject_id, model_id, probabilities)
