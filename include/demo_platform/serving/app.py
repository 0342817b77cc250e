"""App factory: ``create_app(settings)`` for in-process use, ``create_app_from_env`` for uvicorn."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from serving.api import admin, health, predict, privacy, provider_states, registry
from serving.audit import AuditLog, AuditMiddleware
from serving.auth import AUTH_RESPONSES, BEARER_SCHEME
from serving.compliance import Compliance, seed
from serving.db import Database
from serving.errors import DatabaseUnavailable, ModelConflict, ModelNotFound
from serving.faults import FaultState
from serving.model_loader import load_model
from serving.ratelimit import RateLimiter
from serving.services import Services
from serving.settings import ENV_TOKENS_FILE, Settings
from serving.timing import TimingBuffer, TimingMiddleware, probe_loop_lag

if TYPE_CHECKING:
    from fraud import TrainingPipeline

log = logging.getLogger(__name__)


def build_services(
    settings: Settings,
    *,
    pipeline: TrainingPipeline | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Services:
    """Connect the database (creating tables), load the model (unless one is given), set up state.

    ``clock`` is the rate limiter's time and ``sleep`` how injected latency waits: tests pass their own
    to assert what the code decides (a refill after 0.05 s of clock time) rather than the machine's speed.
    """
    db = Database(settings.db_url)
    db.create_schema()
    audit = AuditLog(db, max_pending=settings.audit_max_pending)
    audit.ensure_chain_head()
    compliance = Compliance(db, settings.compliance_faults, settings.phi_key)
    if settings.compliance_seed:
        seed(db, audit, settings.tokens, compliance, settings.compliance_commit_sha)
    if settings.compliance_faults:
        log.warning("demo compliance faults on: %s", ", ".join(sorted(settings.compliance_faults)))
    return Services(
        settings=settings,
        db=db,
        audit=audit,
        compliance=compliance,
        limiter=RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst, clock=clock),
        timings=TimingBuffer(settings.timings_capacity),
        faults=FaultState(sleep=sleep),
        pipeline=pipeline if pipeline is not None else load_model(settings),
    )


def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DatabaseUnavailable)
    async def _db_unavailable(_request: Request, exc: DatabaseUnavailable) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(ModelNotFound)
    async def _not_found(_request: Request, exc: ModelNotFound) -> JSONResponse:
        return _error(404, str(exc))

    @app.exception_handler(ModelConflict)
    async def _conflict(_request: Request, exc: ModelConflict) -> JSONResponse:
        return _error(409, str(exc))


def _declare_bearer_auth(app: FastAPI) -> None:
    """The OpenAPI document names the bearer scheme, and every operation that may answer 401 requires it."""
    plain_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = plain_openapi()
            schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
            schemes[BEARER_SCHEME] = {"type": "http", "scheme": "bearer", "description": "a token of the tokens file"}
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    if isinstance(operation, dict) and "401" in operation.get("responses", {}):
                        operation["security"] = [{BEARER_SCHEME: []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    """Build the API. ``services`` lets a test share state between two app variants."""
    settings = settings or Settings.from_env()
    services = services or build_services(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        lag_probe = asyncio.create_task(probe_loop_lag(services.timings))
        try:
            yield
        finally:
            lag_probe.cancel()
        await run_in_threadpool(services.audit.close)  # stop its writer thread, write what it can
        services.db.close()

    app = FastAPI(
        title="Demo platform model-serving API",
        version="1.0.0",
        description="Fraud predictions and a model registry; the example target of Assay.",
        lifespan=lifespan,
    )
    app.state.services = services
    app.include_router(health.router)
    for module in (predict, registry, admin, privacy):
        app.include_router(module.router, responses=AUTH_RESPONSES)
    _declare_bearer_auth(app)
    if settings.test_mode:
        log.warning("test mode: the Pact provider-state hook %s is enabled", provider_states.PROVIDER_STATES_PATH)
        app.include_router(provider_states.router)
    _install_error_handlers(app)
    unlogged = frozenset({"denied"}) if "audit_action_unlogged" in settings.compliance_faults else frozenset()
    app.add_middleware(AuditMiddleware, audit_log=services.audit, skip_outcomes=unlogged)
    app.add_middleware(TimingMiddleware, buffer=services.timings)  # added last = outermost
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` and the multi-worker start: settings from ``DEMO_*``."""
    if not os.environ.get(ENV_TOKENS_FILE):
        log.warning("no tokens file (%s): the well-known demo tokens are accepted", ENV_TOKENS_FILE)
    return create_app(Settings.from_env())
