"""The Assay page: server-rendered views and the JSON API they are built from (``/assay/api/...``).

Each page is one query of ``assay.store.queries`` rendered by a Jinja2 template; its JSON twin returns the same
payload. Every route depends on ``authenticated_user`` (the REST API's own token check): anonymous requests get
401 JSON from the API and a redirect to the login page from the pages, and no data either way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from assay.store import queries
from assay.store.repository import StoreUnavailable
from assay_airflow.ui import charts
from assay_airflow.ui.auth import User, authenticated_user, login_url, require_dag_run_access

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
TEMPLATES.env.globals.update(badge=charts.status_badge, quote=lambda s: quote(str(s), safe=""))
TEMPLATES.env.filters["num"] = lambda v, d=2: "–" if v is None else (f"{v:.{d}f}" if isinstance(v, float) else v)
TEMPLATES.env.filters["short"] = lambda s, n=10: "" if s is None else str(s)[:n]
TEMPLATES.env.filters["day"] = lambda s: "" if not s else str(s)[:16].replace("T", " ")


def _default_store() -> Any:
    """The metrics DB the operators write (the hook resolves it), brought to the newest schema once: a fresh
    install shows an empty page rather than an error. A page waits for at most 2 tries of an outage."""
    from assay.store import MetricsStore
    from assay_airflow.hooks.metrics_db import MetricsDbHook

    store = MetricsStore(MetricsDbHook().get_url(), attempts=2, backoff_s=0.2)
    store.ensure_schema()
    return store


class StoreHolder:
    """One MetricsStore per app, made on first use (the metrics DB hook resolves its URL)."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self.factory = factory
        self._store: Any = None
        self._lock = threading.Lock()

    def get(self) -> Any:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = self.factory()
        return self._store


def create_app(store_factory: Callable[[], Any] = _default_store) -> FastAPI:
    app = FastAPI(
        title="Assay",
        description="Assay's results: overview, run detail, test history and flaky tests (JSON twins of the pages)",
        dependencies=[Depends(authenticated_user)],
        # FastAPI's own /docs and /openapi.json would skip the dependency: the schema is served below, behind it
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.stores = StoreHolder(store_factory)

    def store(request: Request) -> Any:
        return request.app.state.stores.get()

    @app.exception_handler(HTTPException)
    async def refuse(request: Request, exc: HTTPException) -> Response:
        """A page refused for want of a (valid) login redirects to the login page; the API answers JSON."""
        is_page = not request.url.path.removeprefix(request.scope.get("root_path", "")).startswith("/api/")
        login_needed = exc.status_code == 401 or (exc.status_code == 403 and "JWT" in str(exc.detail))
        if is_page and login_needed and request.method == "GET":
            return RedirectResponse(login_url(request), status_code=303)
        return await http_exception_handler(request, exc)

    @app.exception_handler(StoreUnavailable)
    async def unavailable(request: Request, exc: StoreUnavailable) -> Response:
        return JSONResponse({"detail": f"metrics database unavailable: {exc}"}, status_code=503)

    def page(request: Request, name: str, **context: Any) -> HTMLResponse:
        base = request.scope.get("root_path", "").rstrip("/")
        return TEMPLATES.TemplateResponse(request, name, {"base": base, "charts": charts, **context})

    # -- JSON API -------------------------------------------------------------------------------------------
    @app.get("/api/overview", summary="Overview: verdicts, tests, performance, drift, vulnerabilities, alerts")
    def api_overview(
        request: Request, commits: int = Query(20, ge=1, le=200), days: int = Query(30, ge=1, le=400)
    ) -> dict[str, Any]:
        return queries.overview(store(request), commits=commits, days=days)

    @app.get("/api/runs/{dag_id}/{run_id:path}", summary="Everything one DAG run recorded")
    def api_run(request: Request, dag_id: str, run_id: str, user: User) -> dict[str, Any]:
        require_dag_run_access(user, dag_id)
        return queries.run_detail(store(request), dag_id, run_id)

    @app.get("/api/tests/history", summary="One test's outcomes across commits")
    def api_history(
        request: Request, target: str, node_id: str, limit: int = Query(50, ge=1, le=500)
    ) -> dict[str, Any]:
        return queries.test_history(store(request), target=target, node_id=node_id, limit=limit)

    @app.get("/api/tests/flaky", summary="Flaky tests of a target (assay.alerts.flaky), when available")
    def api_flaky(request: Request, target: str, window: int = Query(20, ge=2, le=200)) -> dict[str, Any]:
        return queries.flaky(store(request), target=target, window=window)

    @app.get("/api/openapi.json", include_in_schema=False)
    def api_schema() -> dict[str, Any]:
        return app.openapi()

    @app.get("/api/targets", summary="Every target with recorded results")
    def api_targets(request: Request) -> list[str]:
        return queries.targets(store(request))

    # -- pages ----------------------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def overview_page(
        request: Request, commits: int = Query(20, ge=1, le=200), days: int = Query(30, ge=1, le=400)
    ) -> HTMLResponse:
        data = queries.overview(store(request), commits=commits, days=days)
        return page(request, "overview.html", data=data, views=_overview_charts(data))

    @app.get("/runs/{dag_id}/{run_id:path}", response_class=HTMLResponse, include_in_schema=False)
    def run_page(request: Request, dag_id: str, run_id: str, user: User) -> HTMLResponse:
        require_dag_run_access(user, dag_id)
        data = queries.run_detail(store(request), dag_id, run_id)
        return page(request, "run.html", data=data, task_id=None, map_index=None)

    @app.get("/tasks/{dag_id}/{task_id}/{run_id:path}", response_class=HTMLResponse, include_in_schema=False)
    def task_page(
        request: Request,
        dag_id: str,
        task_id: str,
        run_id: str,
        user: User,
        map_index: str | None = None,
    ) -> HTMLResponse:
        require_dag_run_access(user, dag_id)
        data = queries.run_detail(store(request), dag_id, run_id)
        index = int(map_index) if map_index not in (None, "", "-1") and str(map_index).lstrip("-").isdigit() else None
        data["suites"] = [
            s for s in data["suites"] if s["task_id"] == task_id and (index is None or s["map_index"] == index)
        ]
        names = {s["name"] for s in data["suites"]}
        data["failed_tests"] = [t for t in data["failed_tests"] if t["suite"] in names]
        data["reports"] = [r for r in data["reports"] if r["suite"] in names]
        return page(request, "run.html", data=data, task_id=task_id, map_index=index)

    @app.get("/reports/{path:path}", include_in_schema=False)
    def report_file(path: str) -> Response:
        """A report an engine wrote under ``ASSAY_HOME`` (data quality, load test, compliance, Trivy...):
        nothing outside it (``..`` and links resolved first), only files; served inline when it is HTML."""
        from fastapi.responses import FileResponse

        from assay.paths import assay_home

        home = assay_home()
        target = (home / path).resolve()
        if not target.is_relative_to(home) or not target.is_file():
            raise HTTPException(status_code=404, detail="no such report")
        media = "text/html" if target.suffix in (".html", ".htm") else None
        return FileResponse(target, media_type=media)

    @app.get("/tests", response_class=HTMLResponse, include_in_schema=False)
    def tests_page(
        request: Request, target: str | None = None, node_id: str | None = None, window: int = Query(20, ge=2)
    ) -> HTMLResponse:
        s = store(request)
        all_targets = queries.targets(s)
        target = target or (all_targets[0] if all_targets else None)
        history = queries.test_history(s, target=target, node_id=node_id) if target and node_id else None
        flaky = queries.flaky(s, target=target, window=window) if target else None
        chart = None
        if history and history["results"]:
            ordered = list(reversed(history["results"]))
            chart = charts.line_chart(
                charts.LineChart(
                    "duration per run (s); ✖ marks a failure in the table below",
                    [(r["commit_sha"] or "")[:7] for r in ordered],
                    [charts.Series("duration", [r["duration_s"] for r in ordered])],
                    unit="s",
                    y_min=0,
                )
            )
        return page(
            request,
            "tests.html",
            target=target,
            targets=all_targets,
            node_id=node_id,
            history=history,
            flaky=flaky,
            chart=chart,
        )

    return app


def _overview_charts(data: dict[str, Any]) -> dict[str, Any]:
    """The overview's SVG charts, per target."""
    out: dict[str, Any] = {"tests": {}, "performance": {}, "vulnerabilities": {}}
    for t in data["tests"]:
        labels = [(c["commit_sha"] or "")[:7] for c in t["commits"]]
        out["tests"][t["target"]] = charts.line_chart(
            charts.LineChart(
                f"{t['target']}: pass rate and line coverage over the last {len(labels)} commits",
                labels,
                [
                    charts.Series("pass rate %", [c["pass_rate"] for c in t["commits"]]),
                    charts.Series("coverage %", [c["coverage"] for c in t["commits"]]),
                ],
                unit="%",
            ),
            css_class="chart coverage-chart",
        )
    for p in data["performance"]:
        refs = []
        if p["slo_p95_ms"] is not None:
            refs.append(charts.Reference("SLO p95", p["slo_p95_ms"]))
        if p["baseline"] and p["baseline"].get("p95_ms") is not None:
            refs.append(charts.Reference("baseline p95", p["baseline"]["p95_ms"]))
        labels = [(pt["finished_at"] or "")[5:10] for pt in p["points"]]
        latency = charts.line_chart(
            charts.LineChart(
                f"{p['target']}: nightly latency",
                labels,
                [
                    charts.Series("p50", [pt["p50_ms"] for pt in p["points"]]),
                    charts.Series("p95", [pt["p95_ms"] for pt in p["points"]]),
                ],
                refs,
                unit="ms",
            )
        )
        throughput_refs = []
        if p["baseline"] and p["baseline"].get("rps") is not None:
            throughput_refs.append(charts.Reference("baseline", p["baseline"]["rps"]))
        throughput = charts.line_chart(
            charts.LineChart(
                f"{p['target']}: nightly throughput",
                labels,
                [charts.Series("req/s", [pt["rps"] for pt in p["points"]])],
                throughput_refs,
                unit="req/s",
            )
        )
        out["performance"][p["target"]] = (latency, throughput)
    for v in data["vulnerabilities"]:
        bars = [(sev, float(n)) for sev, n in v["by_severity"].items() if n or sev in ("critical", "high")]
        out["vulnerabilities"][v["target"]] = charts.bar_chart(f"{v['target']}: open findings by severity", bars)
    out["drift"] = charts.bar_chart(
        "share of drifted columns per dataset",
        [(d["dataset"] or d["name"], 100 * d["share"]) for d in data["drift"] if d["share"] is not None],
        unit="%",
        max_value=100,
    )
    out["compliance"] = charts.bar_chart(
        "compliance score per framework",
        [(f"{c['framework']} ({c['target']})", c["score"]) for c in data["compliance"] if c["score"] is not None],
        unit="%",
        max_value=100,
    )
    return out


app = create_app()
