"""The test-mode provider-state hook the contract suite's verifier calls."""

from __future__ import annotations

import pytest
from api_helpers import Api
from serving.api.provider_states import PROVIDER_STATES_PATH

pytestmark = pytest.mark.component


@pytest.fixture()
def test_mode_api(start_api) -> Api:
    return start_api(test_mode=True)


def test_hook_is_off_by_default(api: Api) -> None:
    assert api.client().post(PROVIDER_STATES_PATH, json={"state": "a model exists"}).status_code == 404


def test_setup_puts_the_model_under_the_requested_id_and_teardown_removes_it(test_mode_api: Api) -> None:
    hook, reader = test_mode_api.client(), test_mode_api.client("reader")
    params = {"model_id": 42, "name": "fraud-mlp", "version": "1.4.2", "status": "retired"}
    for _ in range(2):  # idempotent: the second setup replaces the first
        response = hook.post(
            PROVIDER_STATES_PATH, json={"state": "a model exists", "params": params, "action": "setup"}
        )
        assert response.status_code == 200 and response.json() == {"model_id": 42}
    body = reader.get("/models/42").json()
    assert {k: body[k] for k in params} == params and body["retired_at"] is not None
    hook.post(PROVIDER_STATES_PATH, json={"state": "a model exists", "params": params, "action": "teardown"})
    assert reader.get("/models/42").status_code == 404


def test_no_model_exists_state_deletes_and_generic_state_is_a_no_op(test_mode_api: Api, register) -> None:
    hook, reader = test_mode_api.client(), test_mode_api.client("reader")
    hook.post(PROVIDER_STATES_PATH, json={"state": "a model exists", "params": {"model_id": 5}})
    assert reader.get("/models/5").status_code == 200
    assert hook.post(PROVIDER_STATES_PATH, json={"state": "no model exists", "params": {"model_id": 5}}).json() == {}
    assert reader.get("/models/5").status_code == 404
    assert hook.post(PROVIDER_STATES_PATH, json={"state": "", "action": "teardown"}).json() == {}


def test_explicit_ids_do_not_block_later_registrations(test_mode_api: Api) -> None:
    test_mode_api.client().post(PROVIDER_STATES_PATH, json={"state": "a model exists", "params": {"model_id": 3}})
    engineer = test_mode_api.client("ml-engineer")
    ids = [engineer.post("/models", json={"name": "m", "version": str(v)}).json()["model_id"] for v in range(2)]
    assert 3 not in ids and len(set(ids)) == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"state": "the moon is full"}, "unknown provider state 'the moon is full'"),
        ({"state": "a model exists", "params": {"model_id": 0}}, "bad params for provider state 'a model exists'"),
        ({"state": "a model exists", "params": {"model_id": 1, "status": "gone"}}, "bad params"),
    ],
)
def test_unknown_states_and_bad_params_are_400(test_mode_api: Api, change: dict, message: str) -> None:
    response = test_mode_api.client().post(PROVIDER_STATES_PATH, json=change)
    assert response.status_code == 400 and message in response.json()["detail"]
