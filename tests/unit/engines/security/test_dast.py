"""The DAST scanners against three deliberately broken FastAPI apps (real uvicorn subprocesses): each flaw is
found exactly where it is and nowhere else; and what happens when the service or its OpenAPI is not there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.dast_apps import broken_app, free_port

from assay.engines.security.config import DastConfig
from assay.engines.security.dast import (
    list_operations,
    load_openapi,
    run_auth_matrix,
    run_fuzz,
    run_injection_probes,
    sample_value,
)
from assay.errors import TargetError, ToolError

ROLES = {"admin": ["*"], "viewer": ["GET *"]}
PUBLIC = ["GET /health"]


def _cfg(**overrides) -> DastConfig:
    return DastConfig(**{"public_operations": PUBLIC, "roles": ROLES, "fuzz_seed": 1, **overrides})


@pytest.fixture(scope="module")
def server_error_app(tmp_path_factory):
    with broken_app("server_error_app", tmp_path_factory.mktemp("server-error")) as api:
        yield api


@pytest.fixture(scope="module")
def missing_auth_app(tmp_path_factory):
    with broken_app("missing_auth_app", tmp_path_factory.mktemp("missing-auth")) as api:
        yield api


@pytest.fixture(scope="module")
def xss_app(tmp_path_factory):
    with broken_app("reflected_xss_app", tmp_path_factory.mktemp("xss")) as api:
        yield api


def _operation_count(api) -> int:
    return len(list_operations(load_openapi(api.base_url, DastConfig())))


def _assert_token_nowhere(token: str, work_dir: Path, report) -> None:
    written = [p for p in work_dir.rglob("*") if p.is_file()]
    assert written, "the scanner wrote nothing"
    leaking = [str(p) for p in written if token.encode() in p.read_bytes()]
    assert not leaking, f"the token is in {leaking}"
    assert token not in repr(report)
    assert token not in json.dumps(report.summary, default=str)


# -- (a) a 500 on odd input -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_fuzz_reports_the_server_error_of_exactly_that_operation(server_error_app, tmp_path):
    token = server_error_app.tokens["admin"]
    report = run_fuzz(server_error_app.base_url, token, _cfg(), tmp_path)

    assert [(f.rule_id, f.location, f.severity) for f in report.findings] == [
        ("not_a_server_error", "GET /ratio", "HIGH")
    ]
    finding = report.findings[0]
    assert finding.tool == "schemathesis" and finding.category == "api"
    assert finding.detail["status_code"] == 500 and finding.detail["code"] == "ST101"
    assert "/ratio?x=0" in finding.detail["curl"] and "$API_TOKEN" in finding.detail["curl"]
    assert report.scanner == "dast_fuzz" and report.tool_version
    assert report.scanned == _operation_count(server_error_app) == 4
    assert report.errors == [] and report.summary["budget_exhausted"] is False
    assert Path(report.report_path).is_file()
    _assert_token_nowhere(token, tmp_path, report)


@pytest.mark.slow
def test_fuzz_that_finishes_nothing_within_its_budget_is_a_tool_error(server_error_app, tmp_path):
    with pytest.raises(ToolError, match="time budget of 0.2 s") as info:
        run_fuzz(server_error_app.base_url, server_error_app.tokens["admin"], _cfg(time_budget_s=0.2), tmp_path)
    assert server_error_app.tokens["admin"] not in str(info.value)


@pytest.mark.slow
def test_fuzz_keeps_what_finished_when_the_budget_runs_out(tmp_path):
    with broken_app("slow_app", tmp_path / "app") as api:  # GET /slow takes 1.5 s a request
        report = run_fuzz(api.base_url, api.tokens["admin"], _cfg(time_budget_s=6), tmp_path / "scan")
    assert report.summary["budget_exhausted"] is True
    assert report.summary["message"].startswith("time budget of 6 s ran out before schemathesis finished")
    assert [(f.rule_id, f.location) for f in report.findings] == [("not_a_server_error", "GET /ratio")]
    assert report.scanned == 3  # the examples phase reached every operation before the budget ran out
    assert report.report_path.endswith("events.ndjson")
    _assert_token_nowhere(api.tokens["admin"], tmp_path / "scan", report)


# -- (b) a route missing auth -----------------------------------------------------------------------------------


def test_auth_matrix_reports_the_route_missing_auth_and_nothing_else(missing_auth_app, tmp_path):
    api = missing_auth_app
    report = run_auth_matrix(api.base_url, api.tokens, api.expired_token, _cfg(), work_dir=tmp_path)

    assert {(f.rule_id, f.location) for f in report.findings} == {
        ("authz.unauthenticated_allowed", "GET /debug/config"),
        ("authz.bad_token_accepted", "GET /debug/config"),
        ("authz.expired_token_accepted", "GET /debug/config"),
    }
    assert {f.severity for f in report.findings} == {"CRITICAL"}
    assert report.scanner == "dast_authz" and report.tool == "assay-authz" and report.errors == []
    assert report.scanned == _operation_count(api) == 6
    matrix = report.summary["matrix"]
    assert matrix["GET /debug/config"]["anonymous"] == "200 (expected 401)"
    assert matrix["POST /reports"]["viewer"] == "403 (expected 403)"
    assert matrix["GET /reports/{report_id}"]["viewer"] == "200 (expected allowed)"
    assert matrix["GET /reports"]["expired_token"] == "401 (expected 401/403)"
    assert matrix["GET /health"] == {"anonymous": "200 (expected public)"}
    saved = json.loads(Path(report.report_path).read_text())
    assert len(saved["operations"]) == 6
    _assert_token_nowhere(api.tokens["admin"], tmp_path, report)
    _assert_token_nowhere(api.expired_token, tmp_path, report)


def test_auth_matrix_reports_role_escalation_and_wrongful_denial(missing_auth_app):
    api = missing_auth_app
    roles = {"admin": ["*"], "viewer": ["GET /reports", "DELETE /reports/*"]}  # the app lets viewers read one report
    report = run_auth_matrix(api.base_url, api.tokens, api.expired_token, _cfg(roles=roles))
    by_rule = {(f.rule_id, f.location, f.detail["caller"], f.severity) for f in report.findings}
    assert ("authz.role_forbidden_allowed", "GET /reports/{report_id}", "viewer", "HIGH") in by_rule
    assert ("authz.role_allowed_denied", "DELETE /reports/{report_id}", "viewer", "LOW") in by_rule
    assert not [f for f in report.findings if f.location in ("GET /reports", "POST /reports")]


def test_auth_matrix_names_the_columns_it_has_no_token_for(missing_auth_app):
    api = missing_auth_app
    report = run_auth_matrix(api.base_url, {"admin": api.tokens["admin"]}, None, _cfg())
    assert report.errors == [] and report.summary["callers"] == ["anonymous", "unknown_token", "admin"]
    assert report.summary["not_checked"] == [
        "expired_token: no expired token was given",
        "viewer: the config's role has no token",
    ]
    assert "not checked: expired_token" in report.summary["message"]


# -- (c) a reflected XSS ----------------------------------------------------------------------------------------


def test_injection_probes_report_the_reflected_xss_of_exactly_that_parameter(xss_app):
    token = xss_app.tokens["viewer"]
    report = run_injection_probes(xss_app.base_url, token, _cfg())

    assert [(f.rule_id, f.location, f.detail["parameter"]) for f in report.findings] == [
        ("injection.xss_reflected", "GET /greet", "query:name")
    ]
    finding = report.findings[0]
    assert finding.severity == "HIGH" and finding.detail["probe"] == "xss"
    assert finding.detail["payload"] in finding.detail["excerpt"]
    assert "text/html" in finding.detail["content_type"]
    assert report.scanner == "dast_injection" and report.tool == "assay-injection" and report.errors == []
    assert report.scanned == _operation_count(xss_app) == 4
    assert token not in repr(report)


def test_injection_probes_find_nothing_in_the_apps_without_an_injection_flaw(server_error_app, missing_auth_app):
    for api in (server_error_app, missing_auth_app):
        report = run_injection_probes(api.base_url, api.tokens["admin"], _cfg())
        assert report.findings == [], api.base_url
        assert report.summary["probes_sent"] > 0


# -- bad input ---------------------------------------------------------------------------------------------------


def test_a_service_that_is_down_is_a_target_error_naming_the_url(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    cfg = _cfg()
    for scan in (
        lambda: run_fuzz(url, "s3cret-token-1", cfg, tmp_path),
        lambda: run_auth_matrix(url, {"admin": "s3cret-token-1"}, "s3cret-token-2", cfg),
        lambda: run_injection_probes(url, "s3cret-token-1", cfg),
    ):
        with pytest.raises(TargetError, match=f"{url}/openapi.json.*connection refused") as info:
            scan()
        assert "s3cret" not in str(info.value)
        assert info.value.retryable


def test_a_service_that_goes_down_after_its_openapi_was_read_is_a_target_error(missing_auth_app):
    openapi = load_openapi(missing_auth_app.base_url, DastConfig())
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(TargetError, match=f"{url} did not answer"):
        run_auth_matrix(url, missing_auth_app.tokens, missing_auth_app.expired_token, _cfg(), openapi)
    with pytest.raises(TargetError, match=f"{url} did not answer"):
        run_injection_probes(url, missing_auth_app.tokens["admin"], _cfg(), openapi)


def test_an_openapi_path_answering_html_is_a_target_error(xss_app, tmp_path):
    cfg = _cfg(openapi_path="/docs")  # FastAPI's Swagger UI page
    with pytest.raises(TargetError, match=r"/docs is not valid JSON \(text/html"):
        run_auth_matrix(xss_app.base_url, xss_app.tokens, xss_app.expired_token, cfg)
    with pytest.raises(TargetError, match="/nope.json: HTTP 404"):
        run_fuzz(xss_app.base_url, None, _cfg(openapi_path="/nope.json"), tmp_path)


# -- request building --------------------------------------------------------------------------------------------


def test_sample_values_meet_their_schema():
    openapi = {"components": {"schemas": {"Rec": {"type": "object", "required": ["n", "name", "tags"],
        "properties": {"n": {"type": "integer", "minimum": 3}, "name": {"type": "string", "pattern": "^[0-9.]+$"},
                       "tags": {"type": "array", "minItems": 1, "items": {"enum": ["x", "y"]}},
                       "opt": {"type": "string"}}}}}}  # fmt: skip
    assert sample_value(openapi, {"$ref": "#/components/schemas/Rec"}) == {"n": 3, "name": "1", "tags": ["x"]}
    assert sample_value(openapi, {"anyOf": [{"type": "null"}, {"type": "number", "maximum": 0.5}]}) == 0.5
    assert sample_value(openapi, {"type": "string", "minLength": 8, "maxLength": 9}) == "assay111"
    assert sample_value(openapi, {"type": "string", "example": "ex"}) == "ex"
