"""``POST /models/predict``: fraud probabilities and labels for one record or a batch."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Body, Depends, HTTPException, Path, Request
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
    return PredictResponse(model_id=str(pipeline.model_id), count=len(predictions), predictions=predictions)


@router.post("/customers/{customer_id}/score", response_model=PredictResponse, name="model.score_customer")
async def score_customer(
    customer_id: Annotated[str, Path(min_length=1, max_length=128)],
    body: FeatureRecord,
    request: Request,
    principal: Principal = Depends(reader),  # noqa: B008
    services: Services = Depends(get_services),  # noqa: B008
) -> PredictResponse:
    """Score one transaction of an identified customer (demo code): unlike ``/models/predict``, which refuses
    personal data, this is personal-data processing, so the prediction is kept in the prediction log and the
    prediction cache and the audit record names the customer (the stores an erasure request must reach)."""
    request.state.subject_id = customer_id
    response = await predict(body, principal, services)
    probabilities = [p.fraud_probability for p in response.predictions]
    await run_in_threadpool(services.compliance.log_predictions, customer_id, response.model_id, probabilities)
    return response
