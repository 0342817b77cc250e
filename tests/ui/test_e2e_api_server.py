"""The Assay page in a real ``airflow standalone`` (its API server loads the plugin from plugins/): the REST API
lists the plugin and its views, anonymous requests get nothing, a logged-in user sees the seeded results; then
a real headless Chromium logs in through the login page and reads the page (screenshots in the test's tmp dir).
"""

from __future__ import annotations

import time

import pytest
import requests
from support import dashboard_seed as seed
from support import webdriver
from support.airflow_stack import AirflowStack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from assay.store import MetricsStore

    home = tmp_path_factory.mktemp("assay_ui_stack")
    url = f"sqlite:///{home / 'metrics.db'}"
    store = MetricsStore(url)
    store.migrate()
    seed.seed(store)
    store.dispose()
    s = AirflowStack(home, env={"ASSAY_METRICS_DB_URL": url})
    s.start()
    try:
        yield s
    finally:
        s.stop()


def test_the_api_server_serves_the_assay_page_to_logged_in_users_only(stack):
    plugins = stack.api("GET", "/plugins").json()["plugins"]
    (assay,) = [p for p in plugins if p["name"] == "assay"]
    assert [a["url_prefix"] for a in assay["fastapi_apps"]] == ["/assay"]
    assert {v["destination"] for v in assay["external_views"]} == {"nav", "dag_run", "task_instance"}
    assert stack.api("GET", "/importErrors").json()["total_entries"] == 0

    anonymous = requests.get(f"{stack.url}/assay/api/overview", timeout=30)
    assert anonymous.status_code == 401 and seed.FAILED_NODE not in anonymous.text
    page = requests.get(f"{stack.url}/assay/", timeout=30, allow_redirects=False)
    assert page.status_code == 303 and "/auth/login" in page.headers["location"]
    forged = requests.get(f"{stack.url}/assay/", cookies={"_token": "x.y.z"}, timeout=30, allow_redirects=False)
    assert forged.status_code in (303, 401, 403) and seed.FAILED_NODE not in forged.text

    overview = requests.get(f"{stack.url}/assay/api/overview", headers=stack.headers(), timeout=30)
    assert overview.status_code == 200
    assert overview.json()["alerts"][0]["rule"] == seed.ALERT_RULE
    token = stack.headers()["Authorization"].split()[1]
    html = requests.get(f"{stack.url}/assay/", cookies={"_token": token}, timeout=30).text
    assert seed.FAILED_MESSAGE in html and "coverage-chart" in html


def test_a_browser_logs_in_and_sees_the_results(stack, tmp_path):
    reason = webdriver.missing()
    if reason:
        pytest.skip(reason)
    shots = tmp_path / "screenshots"
    anonymous = webdriver.Browser(shots / "anonymous")
    try:
        anonymous.get(f"{stack.url}/assay/")
        anonymous.wait_for(lambda: "/auth/login" in anonymous.url)
        anonymous.screenshot("anonymous-refused")
        assert seed.FAILED_NODE not in anonymous.source and seed.ALERT_RULE not in anonymous.source
    finally:
        anonymous.quit()

    browser = webdriver.Browser(shots / "user")
    try:
        browser.get(f"{stack.url}/assay/")
        browser.wait_for(lambda: "/auth/login" in browser.url)
        browser.type("input[name='username']", "admin")
        browser.type("input[name='password']", stack.password)
        browser.click("button[type='submit']")
        browser.wait_for(lambda: "/auth/login" not in browser.url, timeout_s=60)
        browser.get(f"{stack.url}/assay/")
        browser.find("svg.coverage-chart")
        html = browser.source
        browser.screenshot("overview")
        assert seed.FAILED_NODE in html and seed.FAILED_MESSAGE in html
        assert "coverage %" in html and "alert-row" in html and seed.ALERT_RULE in html

        # inside the Airflow UI: the nav entry's page embeds /assay/
        browser.get(f"{stack.url}/plugin/assay")
        frame = browser.find("iframe", timeout_s=60)
        assert "/assay/" in str(browser._cmd("GET", f"/element/{frame}/attribute/src"))
        time.sleep(2)  # let the frame render for the picture
        browser.screenshot("airflow-ui-nav")

        browser.get(f"{stack.url}/assay/runs/assay_per_commit/{seed.NEWEST_PER_COMMIT_RUN}")
        browser.find("tr.failed-test")
        browser.screenshot("run-detail")
        assert f"pytest '{seed.FAILED_NODE}'" in browser.source.replace("&#39;", "'")
    finally:
        browser.quit()
    print(f"screenshots: {shots}")
    assert len(list(shots.rglob("*.png"))) == 4
