"""The Assay page's app through FastAPI's TestClient, behind Airflow's real auth manager (the one the API server
uses, initialised here as the API server does): anonymous and forged requests get no data; a user holding a
token the auth manager signed sees every view."""

from __future__ import annotations

import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from support import dashboard_seed as seed

pytest.importorskip("airflow")
pytestmark = pytest.mark.airflow_db


@pytest.fixture(scope="module")
def auth_manager(airflow_db):  # a token's validation asks the metadata DB whether it was revoked
    from airflow.api_fastapi.app import init_auth_manager

    root = FastAPI()
    am = init_auth_manager(root)
    return am, root


@pytest.fixture
def client(store, auth_manager):
    from assay_airflow.ui.app import create_app

    seed.seed(store)
    _, root = auth_manager
    app = FastAPI()
    app.state.auth_manager = root.state.auth_manager
    app.mount("/assay", create_app(lambda: store))
    with TestClient(app, base_url="http://airflow.test") as c:
        yield c


@pytest.fixture
def token(auth_manager) -> str:
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    am, _ = auth_manager
    return am.generate_jwt(SimpleAuthManagerUser(username="admin", role="ADMIN"))


API = [
    "/assay/api/overview",
    f"/assay/api/runs/assay_per_commit/{seed.NEWEST_PER_COMMIT_RUN}",
    f"/assay/api/tests/history?target=demo&node_id={seed.FAILED_NODE}",
    "/assay/api/tests/flaky?target=demo",
    "/assay/api/targets",
    "/assay/api/openapi.json",
]
PAGES = [
    "/assay/",
    f"/assay/runs/assay_per_commit/{seed.NEWEST_PER_COMMIT_RUN}",
    f"/assay/tasks/assay_per_commit/run_suite/{seed.NEWEST_PER_COMMIT_RUN}?map_index=0",
    f"/assay/tests?target=demo&node_id={seed.FAILED_NODE}",
]


@pytest.mark.parametrize("path", API)
def test_api_refuses_anonymous_and_forged_tokens(client, path):
    anonymous = client.get(path)
    assert anonymous.status_code == 401
    assert anonymous.json() == {"detail": "Not authenticated"}
    forged = jwt.encode({"sub": "admin", "role": "ADMIN", "aud": "apache-airflow"}, "not-the-secret", "HS512")
    for headers, cookies in (({"Authorization": f"Bearer {forged}"}, {}), ({}, {"_token": forged})):
        client.cookies.clear()
        refused = client.get(path, headers=headers, cookies=cookies)
        assert refused.status_code in (401, 403), refused.text
        assert seed.FAILED_NODE not in refused.text and "demo" not in refused.text


@pytest.mark.parametrize("path", PAGES)
def test_pages_redirect_anonymous_to_login(client, path):
    resp = client.get(path, follow_redirects=False)
    assert resp.status_code == 303
    assert "/auth/login" in resp.headers["location"] or "/auth/token/login" in resp.headers["location"]
    assert "next=" in resp.headers["location"]
    assert seed.FAILED_NODE not in resp.text


def test_api_with_a_bearer_token(client, token):
    h = {"Authorization": f"Bearer {token}"}
    ov = client.get("/assay/api/overview", headers=h)
    assert ov.status_code == 200
    assert ov.json()["alerts"][0]["rule"] == seed.ALERT_RULE
    run = client.get(API[1], headers=h).json()
    assert run["failed_tests"][0]["message"] == seed.FAILED_MESSAGE
    assert client.get(API[2], headers=h).json()["failures"] == 2
    assert client.get("/assay/api/targets", headers=h).json() == ["demo"]
    assert "/api/overview" in client.get("/assay/api/openapi.json", headers=h).json()["paths"]
    flaky = client.get(API[3], headers=h).json()
    assert flaky["available"] or flaky["reason"].startswith("flaky detection not available")


def test_pages_with_the_ui_cookie(client, token):
    client.cookies.set("_token", token)
    overview = client.get("/assay/")
    assert overview.status_code == 200
    html = overview.text
    assert "coverage-chart" in html and "<svg" in html and "coverage %" in html
    assert seed.ALERT_RULE in html and "alert-row" in html
    assert seed.FAILED_NODE in html and seed.FAILED_MESSAGE in html
    assert "transactions" in html and "gdpr" in html and "CVE-2026-0001" in html
    run = client.get(PAGES[1]).text
    assert seed.FAILED_MESSAGE in run and "pytest &#39;" + seed.FAILED_NODE in run
    task = client.get(PAGES[2]).text
    assert seed.FAILED_NODE in task and "task run_suite[0]" in task
    other_task = client.get(f"/assay/tasks/assay_per_commit/other/{seed.NEWEST_PER_COMMIT_RUN}").text
    assert seed.FAILED_NODE not in other_task
    tests = client.get(PAGES[3]).text
    assert "2 failure(s) in 4 run(s)" in tests and "Flaky tests" in tests


def test_the_plugin_registers_the_app_and_its_views():
    import importlib.util
    from pathlib import Path

    from airflow._shared.module_loading.file_discovery import find_path_from_directory

    plugins = Path(__file__).resolve().parents[2] / "plugins"
    found = [Path(p).relative_to(plugins).as_posix() for p in find_path_from_directory(plugins, ".airflowignore")]
    assert found == ["assay_airflow/plugin.py"]  # the package itself stays hidden from the plugin loader

    spec = importlib.util.spec_from_file_location("plugin", plugins / "assay_airflow" / "plugin.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    plugin = mod.AssayPlugin
    assert plugin.name == "assay"
    assert plugin.fastapi_apps[0]["url_prefix"] == "/assay"
    from assay_airflow.ui.app import app

    assert plugin.fastapi_apps[0]["app"].load() is app
    views = {v["destination"]: v["href"] for v in plugin.external_views}
    assert views == {
        "nav": "/assay/",
        "dag_run": "/assay/runs/{DAG_ID}/{RUN_ID}",
        "task_instance": "/assay/tasks/{DAG_ID}/{TASK_ID}/{RUN_ID}?map_index={MAP_INDEX}",
    }

    from airflow.api_fastapi.core_api.datamodels.plugins import ExternalViewResponse

    for v in plugin.external_views:
        ExternalViewResponse.model_validate(v)


def test_reports_under_assay_home_are_served_to_signed_in_users_only(client, token, tmp_path, monkeypatch):
    home = tmp_path / "home"
    report = home / "reports" / "data_quality" / "tx.html"
    report.parent.mkdir(parents=True)
    report.write_text("<html><body>expectations: 48 passed</body></html>")
    (tmp_path / "secret.txt").write_text("not a report")
    monkeypatch.setenv("ASSAY_HOME", str(home))
    path = "/assay/reports/reports/data_quality/tx.html"
    assert client.get(path, follow_redirects=False).status_code in (303, 401)
    h = {"Authorization": f"Bearer {token}"}
    served = client.get(path, headers=h)
    assert served.status_code == 200 and "48 passed" in served.text
    assert served.headers["content-type"].startswith("text/html")
    for escape in ("/assay/reports/../secret.txt", "/assay/reports/%2e%2e/secret.txt", "/assay/reports/reports"):
        refused = client.get(escape, headers=h)
        assert refused.status_code == 404 and "not a report" not in refused.text


def test_the_start_up_heap_is_frozen_once_served_unless_turned_off(monkeypatch):
    import gc

    from assay_airflow.plugin import freeze_startup_heap

    gc.unfreeze()
    try:
        monkeypatch.setenv("ASSAY_UI_GC_FREEZE", "0")
        assert freeze_startup_heap() is False and gc.get_freeze_count() == 0
        monkeypatch.delenv("ASSAY_UI_GC_FREEZE")
        assert freeze_startup_heap() is True and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
