"""Authentication (401/403) and role-based authorization of every protected endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from api_helpers import RECORD, Api
from serving.errors import SettingsError
from serving.settings import Settings
from serving.tokens import Role, load_tokens_file

pytestmark = pytest.mark.component

# (method, path, body, lowest role allowed)
PROTECTED = [
    ("GET", "/models", None, "reader"),
    ("GET", "/models/1", None, "reader"),
    ("GET", "/models/1/versions", None, "reader"),
    ("POST", "/models/predict", RECORD, "reader"),
    ("POST", "/models/register", {"name": "m", "version": "9.9.9"}, "ml-engineer"),
    ("POST", "/models", {"name": "m", "version": "9.9.8"}, "ml-engineer"),
    ("POST", "/models/1/retire", None, "ml-engineer"),
    ("GET", "/admin/timings", None, "admin"),
    ("GET", "/admin/faults", None, "admin"),
    ("POST", "/admin/faults", {}, "admin"),
    ("DELETE", "/admin/faults", None, "admin"),
    ("GET", "/admin/audit", None, "admin"),
]
ROLES = ["reader", "ml-engineer", "admin"]


@pytest.mark.parametrize(("method", "path", "body", "_role"), PROTECTED)
def test_no_token_is_401_with_a_bearer_challenge(
    shared_api: Api, method: str, path: str, body: object, _role: str
) -> None:
    response = shared_api.client().request(method, path, json=body)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "missing bearer token" in response.json()["detail"]


@pytest.mark.parametrize(
    "header",
    ["Bearer not-a-real-token", "Bearer reader-token-0001x", "Basic cmVhZGVyOnB3", "Bearer", "reader-token-0001"],
)
def test_bad_or_malformed_token_is_403(shared_api: Api, header: str) -> None:
    response = shared_api.client().get("/models", headers={"Authorization": header})
    assert response.status_code == 403
    assert response.json()["detail"] in {
        "unknown bearer token",
        "malformed Authorization header; expected 'Bearer <token>'",
    }


def test_a_403_never_echoes_the_token(shared_api: Api) -> None:
    response = shared_api.client(token="s3cret-guess-123").get("/models")
    assert "s3cret-guess-123" not in response.text


@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_do_exactly_what_its_rank_allows(api: Api, role: str) -> None:
    api.client("admin").post("/models", json={"name": "fraud-mlp", "version": "1.0.0"})  # model 1 exists
    client, wrong = api.client(role), []
    for method, path, body, lowest in PROTECTED:
        response = client.request(method, path, json=body)
        if Role.parse(role) >= Role.parse(lowest):
            ok = response.status_code < 400
        else:
            ok = response.status_code == 403 and f"requires {lowest!r}" in response.json()["detail"]
        if not ok:
            wrong.append(f"{method} {path} (needs {lowest}) -> {response.status_code} {response.text[:120]}")
    assert not wrong, f"role {role}: " + "; ".join(wrong)


def test_tokens_file_configures_actors_and_roles(tmp_path: Path, start_api) -> None:
    tokens = tmp_path / "tokens.json"
    tokens.write_text(
        json.dumps({"tokens": [{"token": "ops-token-12345", "actor": "olga.ops", "role": "admin"}]}), encoding="utf-8"
    )
    api = start_api(tokens=load_tokens_file(tokens))
    assert api.client(token="ops-token-12345").get("/admin/faults").status_code == 200
    assert api.client("admin").get("/admin/faults").status_code == 403  # the default test tokens are gone
    actors = {r["actor"] for r in api.client(token="ops-token-12345").get("/admin/audit").json()["records"]}
    assert "olga.ops" in actors


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON"),
        ('{"tokens": []}', "must look like"),
        ('{"tokens": [{"token": "abcdefgh1", "actor": "a", "role": "root"}]}', "unknown role 'root'"),
        (
            '{"tokens": [{"token": "abcdefgh1", "actor": "a", "role": "admin"},'
            ' {"token": "abcdefgh1", "actor": "b", "role": "reader"}]}',
            "listed twice",
        ),
    ],
)
def test_bad_tokens_file_is_a_clear_settings_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SettingsError, match=message) as info:
        load_tokens_file(path)
    assert str(path) in str(info.value)


def test_missing_tokens_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read tokens file .*nope.json"):
        Settings.from_env({"DEMO_TOKENS_FILE": str(tmp_path / "nope.json")})


def test_an_expired_token_is_401_and_a_token_before_its_expiry_works(tmp_path: Path, start_api) -> None:
    tokens = tmp_path / "tokens.json"
    entries = [
        {"token": "old-token-12345", "actor": "olly.old", "role": "admin", "expires_at": "2000-01-01T00:00:00Z"},
        {"token": "new-token-12345", "actor": "nina.new", "role": "admin", "expires_at": "2999-01-01T00:00:00"},
    ]
    tokens.write_text(json.dumps({"tokens": entries}), encoding="utf-8")
    api = start_api(tokens=load_tokens_file(tokens))
    for method, path, body, _role in PROTECTED:
        response = api.client(token="old-token-12345").request(method, path, json=body)
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["detail"] == "bearer token expired: ask for a new token"
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
        assert "old-token-12345" not in response.text
    assert api.client(token="new-token-12345").get("/admin/faults").status_code == 200
    assert [p.actor for _, p in api.services.settings.tokens.digests()] == ["nina.new"]  # expired: not listed


def test_a_bad_expiry_is_a_clear_settings_error(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    entry = {"token": "abcdefgh1", "actor": "a", "role": "admin", "expires_at": "next tuesday"}
    path.write_text(json.dumps({"tokens": [entry]}), encoding="utf-8")
    with pytest.raises(SettingsError, match="expires_at"):
        load_tokens_file(path)


def test_the_openapi_declares_the_bearer_scheme_and_401_on_every_protected_operation(shared_api: Api) -> None:
    schema = shared_api.client().get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "a token of the tokens file",
    }
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if path == "/health":
                assert "security" not in operation and "401" not in operation["responses"]
            else:
                assert operation["security"] == [{"bearerAuth": []}], (method, path)
                assert {"401", "403", "429"} <= set(operation["responses"]), (method, path)
