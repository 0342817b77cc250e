"""Fixtures for the contract suite: the consumer's pact file, and the real provider API.

The provider tests take ``consumer_run`` as a fixture, so the consumer interaction always runs
(once per session, also under xdist) before any verification, and a broken consumer test makes
the provider tests error instead of passing on a stale pact. The pact is written to
``$DEMO_PACT_DIR`` when set (e.g. for Assay to keep it as an artifact), otherwise to a tmp dir.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("PACT_DO_NOT_TRACK", "true")  # the Pact FFI must not phone home from tests

from pipeline_orchestrator import ConsumerRun, run_consumer  # noqa: E402
from registry_provider import PROVIDER_READER_TOKEN  # noqa: E402
from serving.server_process import ServerProcess, run_server_process  # noqa: E402


@pytest.fixture(scope="session")
def pact_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("DEMO_PACT_DIR")
    if configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("pacts")


@pytest.fixture(scope="session")
def consumer_run(pact_dir: Path) -> ConsumerRun:
    """Run the orchestrator against the Pact mock provider and write the pact file."""
    return run_consumer(pact_dir)


@pytest.fixture(scope="session")
def provider_tokens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("provider") / "tokens.json"
    entry = {"token": PROVIDER_READER_TOKEN, "actor": "pipeline-orchestrator", "role": "reader"}
    path.write_text(json.dumps({"tokens": [entry]}), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def provider_server(tmp_path_factory: pytest.TempPathFactory, provider_tokens: Path) -> Iterator[ServerProcess]:
    """The real API of this checkout, started with the real start command in test mode."""
    work = tmp_path_factory.mktemp("provider-run")
    args = ["--test-mode", "--no-train", "--db-url", f"sqlite:///{work / 'registry.db'}"]
    args += ["--tokens-file", str(provider_tokens), "--log-level", "warning"]
    with run_server_process(args, log_path=work / "server.log") as server:
        yield server
