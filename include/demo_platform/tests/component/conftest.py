"""Fixtures for the API component suite: the real app behind a real uvicorn server on loopback.

Every test gets a fresh SQLite registry in its tmp dir; the served model is trained once per session.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import pytest
from api_helpers import Api, token_table
from fraud import TrainingPipeline
from serving.app import build_services, create_app
from serving.model_loader import train_demo_pipeline
from serving.server_thread import ServerThread
from serving.settings import Settings

_STOPPING: list[ServerThread] = []


def _launch(stack: ExitStack, settings: Settings, pipeline: TrainingPipeline | None, **hooks: object) -> Api:
    services = build_services(settings, pipeline=pipeline, **hooks)
    server = ServerThread(create_app(settings, services=services))
    url = server.start()
    _STOPPING.append(server)
    stack.callback(server.stop, wait=False)  # joined at session end: shutdowns overlap the next tests
    return Api(url, services, stack)


@pytest.fixture(scope="session", autouse=True)
def _join_stopped_servers() -> Iterator[None]:
    yield
    for server in _STOPPING:
        server.join()


def _settings(db_path: Path) -> Settings:
    return Settings(db_url=f"sqlite:///{db_path}", tokens=token_table(), train_model=False)


@pytest.fixture(scope="session")
def demo_pipeline() -> TrainingPipeline:
    return train_demo_pipeline()


@pytest.fixture()
def start_api(tmp_path: Path, demo_pipeline: TrainingPipeline) -> Iterator[Callable[..., Api]]:
    """Start a fresh API with settings overrides, e.g. ``start_api(rate_limit_burst=2)``; ``clock`` (the
    rate limiter's time, e.g. an ``api_helpers.ManualClock``) and ``sleep`` (how injected latency waits)
    replace the real ones."""
    counter = itertools.count()
    with ExitStack() as stack:

        def start(*, with_model: bool = True, clock: object = None, sleep: object = None, **overrides: object) -> Api:
            settings = replace(_settings(tmp_path / f"registry-{next(counter)}.db"), **overrides)
            hooks = {k: v for k, v in (("clock", clock), ("sleep", sleep)) if v is not None}
            return _launch(stack, settings, demo_pipeline if with_model else None, **hooks)

        yield start


@pytest.fixture()
def api(start_api: Callable[..., Api]) -> Api:
    """A fresh API (own database, buckets, faults) for a test that changes state."""
    return start_api()


@pytest.fixture(scope="module")
def shared_api(tmp_path_factory: pytest.TempPathFactory, demo_pipeline: TrainingPipeline) -> Iterator[Api]:
    """One API for a module's read-only checks, with one registered model (id 1)."""
    with ExitStack() as stack:
        api = _launch(stack, _settings(tmp_path_factory.mktemp("shared") / "registry.db"), demo_pipeline)
        response = api.client("ml-engineer").post("/models/register", json={"name": "fraud-mlp", "version": "1.0.0"})
        assert response.status_code == 201, response.text
        yield api


@pytest.fixture()
def register(api: Api) -> Callable[..., dict]:
    """Register a model as the ML engineer and return the response body."""
    engineer = api.client("ml-engineer")

    def _register(name: str = "fraud-mlp", version: str = "1.0.0", **extra: object) -> dict:
        response = engineer.post("/models/register", json={"name": name, "version": version, **extra})
        assert response.status_code == 201, response.text
        return response.json()

    return _register
