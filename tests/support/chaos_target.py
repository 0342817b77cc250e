"""A stand-in for the demo platform's serving API, for chaos tests: same endpoints, real uvicorn workers.

Run it as ``python -m uvicorn chaos_target:app --app-dir tests/support --workers 2 --port P`` (see
:func:`start_target`). The uvicorn master restarts a killed worker, so "kill a worker" is meaningful.
The fault state lives in a JSON file (``CHAOS_TARGET_STATE``) so that every worker sees a fault
injected through any of them. ``CHAOS_TARGET_NO_DB_RECONNECT=1`` plants a classic bug: once the
database connections were cut, clearing the fault does not bring them back.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Header, HTTPException, Response
from pydantic import BaseModel

READER_TOKEN = "chaos-reader-token"
ADMIN_TOKEN = "chaos-admin-token"
_NO_FAULTS = {"latency_ms": 0, "error_rate": 0.0, "db_down": False}

app = FastAPI(title="chaos target")


class Faults(BaseModel):
    latency_ms: int = 0
    error_rate: float = 0.0
    db_down: bool = False


def _state_path() -> Path:
    return Path(os.environ["CHAOS_TARGET_STATE"])


def _state() -> dict[str, Any]:
    try:
        return json.loads(_state_path().read_text())
    except FileNotFoundError:
        return {"faults": dict(_NO_FAULTS), "db_broken": False}


def _save(state: dict[str, Any]) -> None:
    tmp = _state_path().with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state))
    tmp.replace(_state_path())


def _require(authorization: str | None, token: str) -> None:
    if not authorization:
        raise HTTPException(401, "missing bearer token")
    if authorization != f"Bearer {token}" and authorization != f"Bearer {ADMIN_TOKEN}":
        raise HTTPException(403, "token not allowed")


def _db_up(state: dict[str, Any]) -> bool:
    return not (state["faults"]["db_down"] or state["db_broken"])


@app.get("/health")
async def health() -> dict[str, Any]:
    state = _state()
    return {"status": "ok", "model_loaded": True, "db": "ok" if _db_up(state) else "down", "pid": os.getpid()}


@app.post("/models/predict")
async def predict(body: dict[str, Any], authorization: str | None = Header(None)) -> dict[str, Any]:
    _require(authorization, READER_TOKEN)
    faults = _state()["faults"]
    if faults["latency_ms"]:
        await asyncio.sleep(faults["latency_ms"] / 1000.0)
    if faults["error_rate"] and random.random() < faults["error_rate"]:
        raise HTTPException(503, "injected error")
    features = body.get("features") or [0.0]
    return {"fraud_probability": round(1 / (1 + 2.718281828 ** -sum(features)), 4), "pid": os.getpid()}


@app.post("/admin/faults")
async def set_faults(faults: Faults, authorization: str | None = Header(None)) -> dict[str, Any]:
    _require(authorization, ADMIN_TOKEN)
    state = _state()
    state["faults"] = faults.model_dump()
    if faults.db_down and os.environ.get("CHAOS_TARGET_NO_DB_RECONNECT") == "1":
        state["db_broken"] = True
    _save(state)
    return state["faults"]


@app.delete("/admin/faults", status_code=204)
async def clear_faults(authorization: str | None = Header(None)) -> Response:
    _require(authorization, ADMIN_TOKEN)
    state = _state()
    state["faults"] = dict(_NO_FAULTS)
    _save(state)
    return Response(status_code=204)


def target_argv(port: int, workers: int = 2) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "chaos_target:app",
        "--app-dir",
        str(Path(__file__).parent),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]


def target_env(state_file: Path, *, no_db_reconnect: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "ASSAY_"))}
    env["CHAOS_TARGET_STATE"] = str(state_file)
    env["CHAOS_TARGET_NO_DB_RECONNECT"] = "1" if no_db_reconnect else "0"
    return env


def chaos_env(base_url: str, **overrides: str) -> dict[str, str]:
    """The variables an experiment of the demo's chaos experiments reads, for this stand-in, kept short."""
    env = {
        "ASSAY_CHAOS_BASE_URL": base_url,
        "ASSAY_CHAOS_TOKEN": READER_TOKEN,
        "ASSAY_CHAOS_ADMIN_TOKEN": ADMIN_TOKEN,
        "ASSAY_CHAOS_PREDICT_PAYLOAD": json.dumps({"features": [0.1, 0.2, 0.3]}),
        "ASSAY_CHAOS_P95_MAX_MS": "250",
        "ASSAY_CHAOS_PROBE_REQUESTS": "12",
        "ASSAY_CHAOS_PROBE_CONCURRENCY": "3",
        "ASSAY_CHAOS_LATENCY_MS": "300",
        "ASSAY_CHAOS_ERROR_RATE": "0.5",
        "ASSAY_CHAOS_FAULT_DURATION_S": "0.3",
        "ASSAY_CHAOS_RECOVERY_TIMEOUT_S": "20",
        "ASSAY_CHAOS_WORKERS": "2",
    }
    env.update(overrides)
    return env
