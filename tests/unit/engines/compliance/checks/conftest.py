"""Fixtures of the compliance checks' tests: the demo platform served in-process (see support.compliance_checks)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from support.compliance_checks import Demo, metrics_db

_STOPPING: list[Any] = []


@pytest.fixture(scope="session", autouse=True)
def _join_stopped_servers() -> Iterator[None]:
    yield
    for server in _STOPPING:
        server.join()


@pytest.fixture(scope="session")
def demo_pipeline():
    from serving.model_loader import train_demo_pipeline

    return train_demo_pipeline()


@pytest.fixture
def start_demo(tmp_path: Path, demo_pipeline) -> Iterator[Callable[..., Demo]]:
    """``start_demo(db_url=None, faults=(), **settings)``: a seeded demo API; SQLite in tmp unless a URL is given."""
    from serving.app import build_services, create_app
    from serving.server_thread import ServerThread
    from serving.settings import Settings

    counter = itertools.count()
    with ExitStack() as stack:

        def start(db_url: str | None = None, faults: tuple[str, ...] = (), **settings: Any) -> Demo:
            n = next(counter)
            db_url = db_url or f"sqlite:///{tmp_path / f'demo-{n}.db'}"
            metrics_url = db_url if db_url.startswith("postgresql") else f"sqlite:///{tmp_path / f'metrics-{n}.db'}"
            metrics_db(metrics_url)
            s = Settings(
                db_url=db_url,
                train_model=False,
                compliance_seed=True,
                compliance_faults=frozenset(faults),
                rate_limit_per_s=settings.pop("rate_limit_per_s", 0.5),
                rate_limit_burst=settings.pop("rate_limit_burst", 10),
                **settings,
            )
            services = build_services(s, pipeline=demo_pipeline)
            server = ServerThread(create_app(s, services=services))
            url = server.start()
            _STOPPING.append(server)
            stack.callback(server.stop, wait=False)  # joined at session end: shutdowns overlap the next tests
            return Demo(url=url, db_url=db_url, metrics_url=metrics_url, tmp=tmp_path)

        yield start


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def demo_db_url(request) -> str | None:
    """None (a SQLite file per demo) or a fresh PostgreSQL database."""
    return None if request.param == "sqlite" else request.getfixturevalue("postgres_url")
