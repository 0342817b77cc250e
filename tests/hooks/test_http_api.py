"""The HTTP API hooks (commit status on the git host, a target's running service) read their connection:
base URL from host (whole URL, or host + schema + port), token from the password, extras where declared.
Connections come from AIRFLOW_CONN_* variables, the commit status goes to a real HTTP server."""

from __future__ import annotations

import json

import pytest
from airflow.sdk.exceptions import AirflowNotFoundException
from support.http_sink import HttpSink

from assay.status import Status
from assay_airflow.hooks.commit_status import CommitStatusHook
from assay_airflow.hooks.target_service import TargetServiceHook


def connection(monkeypatch, conn_id: str, **fields) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "http"} | fields))


@pytest.mark.parametrize("hook", [CommitStatusHook, TargetServiceHook])
def test_each_hook_declares_its_connection_as_the_providers_do(hook):
    assert hook.conn_type == "http" and hook.hook_name.startswith("Assay")
    assert hook.default_conn_name.startswith("assay_")
    assert getattr(hook(), hook.conn_name_attr) == hook.default_conn_name


def test_the_target_service_hook_reads_url_token_and_admin_token(monkeypatch):
    connection(monkeypatch, "svc_url", host="http://10.0.0.5:8000/v1/", password="tok", extra={"admin_token": "adm"})
    api = TargetServiceHook("svc_url")
    assert (api.base_url, api.token, api.admin_token) == ("http://10.0.0.5:8000/v1", "tok", "adm")
    connection(monkeypatch, "svc_parts", host="svc.internal", schema="https", port=8443)
    api = TargetServiceHook("svc_parts")
    assert (api.base_url, api.token, api.admin_token) == ("https://svc.internal:8443", None, None)
    connection(monkeypatch, "svc_plain", host="svc.internal", port=8000)
    assert TargetServiceHook("svc_plain").base_url == "http://svc.internal:8000"  # a service: http by default


def test_a_missing_connection_is_airflows_not_found():
    with pytest.raises(AirflowNotFoundException):
        TargetServiceHook("nobody_defined_this").base_url  # noqa: B018


def test_the_commit_status_hook_posts_to_the_connections_api_with_its_token(monkeypatch):
    sink = HttpSink(status=201, reply=b"{}")
    try:
        connection(monkeypatch, "gh", host=sink.url + "/", password="ghp_tok")
        connection(monkeypatch, "gl", host=sink.url + "/api/v4", password="glpat")
        status = dict(sha="abc1234", description="Assay PASS", target_url="http://af/run", context="assay/per-commit")
        assert CommitStatusHook("gh", provider="github").post_status(repository="acme/s", verdict=Status.PASS, **status)
        CommitStatusHook("gl", provider="gitlab").post_status(repository="grp/app", verdict=Status.FAIL, **status)
    finally:
        sink.close()
    github, gitlab = sink.requests
    assert github.path == "/repos/acme/s/statuses/abc1234" and github.headers["Authorization"] == "Bearer ghp_tok"
    assert github.json()["state"] == "success"
    assert gitlab.path == "/api/v4/projects/grp%2Fapp/statuses/abc1234" and gitlab.headers["PRIVATE-TOKEN"] == "glpat"
    assert gitlab.query["state"] == ["failed"]


def test_a_git_host_given_by_name_is_reached_over_https(monkeypatch):
    connection(monkeypatch, "ghe", host="github.example.com", port=8443)
    assert CommitStatusHook("ghe").base_url == "https://github.example.com:8443"
