"""Contract "pipeline-orchestrator" → "model-registry": GET /models/{id} gives model_id, name, version
and a status in {active, retired}. Consumer side first (mock provider, pact file), then the real
provider API is verified against that pact, and a deliberately broken provider must fail.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pact.error import MismatchesError
from pipeline_orchestrator import (
    CONSUMER,
    EXAMPLE_TOKEN,
    PROVIDER,
    STATUS_REGEX,
    ConsumerRun,
    RegistryClient,
    define_registry_pact,
)
from registry_provider import PROVIDER_READER_TOKEN, RewriteJsonBody, build_verifier
from serving.api.provider_states import PROVIDER_STATES_PATH
from serving.app import create_app
from serving.server_process import ServerProcess
from serving.server_thread import serve_in_thread
from serving.settings import Settings
from serving.tokens import TokenTable

pytestmark = pytest.mark.contract

ALL_INTERACTIONS = (
    "a request for active model 42",
    "a request for retired model 7",
    "a request for a model that does not exist",
)


# --- consumer side ---------------------------------------------------------------------------


def test_consumer_reads_active_retired_and_missing_models(consumer_run: ConsumerRun) -> None:
    assert consumer_run.active is not None and consumer_run.active.deployable
    assert (consumer_run.active.model_id, consumer_run.active.status) == (42, "active")
    assert consumer_run.retired is not None and not consumer_run.retired.deployable
    assert consumer_run.missing is None


def test_pact_file_states_the_contract_with_matchers(consumer_run: ConsumerRun) -> None:
    pact = json.loads(consumer_run.pact_file.read_text())
    assert (pact["consumer"]["name"], pact["provider"]["name"]) == (CONSUMER, PROVIDER)
    by_description = {i["description"]: i for i in pact["interactions"]}
    assert set(by_description) == set(ALL_INTERACTIONS)
    active = by_description["a request for active model 42"]
    assert active["providerStates"][0] == {
        "name": "a model exists",
        "params": {"model_id": 42, "name": "fraud-mlp", "version": "1.42.0", "status": "active"},
    }
    assert active["request"]["path"] == "/models/42"
    rules = active["response"]["matchingRules"]["body"]
    assert set(active["response"]["body"]["content"]) == {"model_id", "name", "version", "status"}
    assert rules["$.status"]["matchers"] == [{"match": "regex", "regex": STATUS_REGEX}]
    assert rules["$.model_id"]["matchers"] == [{"match": "integer"}]
    assert {rules[f"$.{k}"]["matchers"][0]["match"] for k in ("name", "version")} == {"type"}
    assert by_description["a request for a model that does not exist"]["response"]["status"] == 404


def test_consumer_mock_catches_a_request_outside_the_contract() -> None:
    pact = define_registry_pact()
    with pytest.raises(MismatchesError), pact.serve(addr="127.0.0.1") as server:
        client = RegistryClient(str(server.url), EXAMPLE_TOKEN)
        with pytest.raises(httpx.HTTPStatusError):
            client.get_model(43)  # not in the pact: the mock answers 500 and records a mismatch
        client.close()


def test_consumer_refuses_a_status_outside_the_contract() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"model_id": 1, "name": "m", "version": "1", "status": "deprecated"})

    client = RegistryClient("http://registry.invalid", EXAMPLE_TOKEN, transport=httpx.MockTransport(handler))
    with pytest.raises(ValueError, match="unknown status 'deprecated'"):
        client.get_model(1)


# --- provider side ---------------------------------------------------------------------------


def test_real_provider_honours_the_pact(consumer_run: ConsumerRun, provider_server: ServerProcess) -> None:
    verifier = build_verifier(provider_server.url, consumer_run.pact_file)
    verifier.verify()  # raises RuntimeError on any mismatch
    results = verifier.results
    assert results["errors"] == []
    assert {r["description"]: r["result"] for r in results["interactionResults"]} == dict.fromkeys(
        ALL_INTERACTIONS, "OK"
    )


def test_state_hook_is_absent_outside_test_mode(tmp_path: Path) -> None:
    app = create_app(Settings(db_url=f"sqlite:///{tmp_path / 'r.db'}", train_model=False))
    with serve_in_thread(app) as url:
        assert httpx.post(f"{url}{PROVIDER_STATES_PATH}", json={"state": "a model exists"}).status_code == 404


def _rename_status(body: dict[str, Any]) -> None:
    body["state"] = body.pop("status")


def _unknown_status(body: dict[str, Any]) -> None:
    body["status"] = "deprecated"


def _string_id(body: dict[str, Any]) -> None:
    body["model_id"] = str(body["model_id"])


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_rename_status, "$ -> Actual map is missing the following keys: status"),
        (_unknown_status, "$.status -> Expected 'deprecated' to match '^(active|retired)$'"),
        (_string_id, "$.model_id -> Expected '42' (String) to be an integer"),
    ],
    ids=["status-renamed", "status-outside-enum", "model-id-as-string"],
)
def test_broken_provider_fails_verification(
    consumer_run: ConsumerRun, tmp_path: Path, change: Callable[[dict[str, Any]], None], expected: str
) -> None:
    settings = Settings(
        db_url=f"sqlite:///{tmp_path / 'registry.db'}",
        tokens=TokenTable.from_mapping({PROVIDER_READER_TOKEN: ("pipeline-orchestrator", "reader")}),
        train_model=False,
        test_mode=True,
    )
    with serve_in_thread(RewriteJsonBody(create_app(settings), change)) as url:
        verifier = build_verifier(url, consumer_run.pact_file)
        with pytest.raises(RuntimeError, match="Failed to execute verifier"):
            verifier.verify()
    results = verifier.results
    failed = {r["description"] for r in results["interactionResults"] if r["result"] != "OK"}
    assert failed == {"a request for active model 42", "a request for retired model 7"}  # 404 case unaffected
    assert expected in str(verifier.output(strip_ansi=True))
