"""The consumer side of the contract: how the pipeline orchestrator reads the model registry.

``RegistryClient`` is the (small) orchestrator code under contract; ``define_registry_pact`` states
what it needs from the provider "model-registry", with matchers so that any id, name or version
passes but ``status`` must be one of active / retired.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
from pact import Pact, match

CONSUMER = "pipeline-orchestrator"
PROVIDER = "model-registry"
STATUSES = ("active", "retired")
STATUS_REGEX = r"^(active|retired)$"
EXAMPLE_TOKEN = "example-reader-token"  # replaced by a real token at provider verification


@dataclass(frozen=True)
class ModelInfo:
    model_id: int
    name: str
    version: str
    status: str

    @property
    def deployable(self) -> bool:
        return self.status == "active"


class RegistryClient:
    """What the orchestrator does before deploying: look a model up by id."""

    def __init__(self, base_url: str, token: str, transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        self._http = httpx.Client(base_url=base_url, headers=headers, timeout=5, transport=transport)

    def close(self) -> None:
        self._http.close()

    def get_model(self, model_id: int) -> ModelInfo | None:
        """The model, or None when the registry does not know the id."""
        response = self._http.get(f"/models/{model_id}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        body = response.json()
        info = ModelInfo(int(body["model_id"]), str(body["name"]), str(body["version"]), str(body["status"]))
        if info.status not in STATUSES:
            raise ValueError(f"registry returned unknown status {info.status!r} for model {model_id}")
        return info


def _model_body(model_id: int, name: str, version: str, status: str) -> dict[str, object]:
    return {
        "model_id": match.int(model_id),
        "name": match.str(name),
        "version": match.str(version),
        "status": match.regex(status, regex=STATUS_REGEX),
    }


def _auth_header() -> object:
    return match.regex(f"Bearer {EXAMPLE_TOKEN}", regex=r"^Bearer \S+$")


def define_registry_pact() -> Pact:
    """The interactions the orchestrator relies on (Pact specification V4)."""
    pact = Pact(CONSUMER, PROVIDER).with_specification("V4")
    for model_id, status in ((42, "active"), (7, "retired")):
        (
            pact.upon_receiving(f"a request for {status} model {model_id}")
            .given("a model exists", model_id=model_id, name="fraud-mlp", version=f"1.{model_id}.0", status=status)
            .with_request("GET", f"/models/{model_id}")
            .with_header("Authorization", _auth_header())
            .will_respond_with(200)
            .with_body(_model_body(model_id, "fraud-mlp", f"1.{model_id}.0", status), content_type="application/json")
        )
    (
        pact.upon_receiving("a request for a model that does not exist")
        .given("no model exists", model_id=999)
        .with_request("GET", "/models/999")
        .with_header("Authorization", _auth_header())
        .will_respond_with(404)
    )
    return pact


@dataclass(frozen=True)
class ConsumerRun:
    """What the orchestrator saw from the mock provider, and where the pact was written."""

    pact_file: Path
    active: ModelInfo | None
    retired: ModelInfo | None
    missing: ModelInfo | None


def run_consumer(pact_dir: Path) -> ConsumerRun:
    """Exercise ``RegistryClient`` against the Pact mock server, then write the pact file.

    Leaving ``serve()`` raises if the client's requests did not match the interactions exactly.
    """
    pact = define_registry_pact()
    with pact.serve(addr="127.0.0.1") as server:
        client = RegistryClient(str(server.url), EXAMPLE_TOKEN)
        try:
            active, retired, missing = client.get_model(42), client.get_model(7), client.get_model(999)
        finally:
            client.close()
    pact.write_file(pact_dir, overwrite=True)
    return ConsumerRun(pact_dir / f"{CONSUMER}-{PROVIDER}.json", active, retired, missing)
