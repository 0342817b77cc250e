"""The Assay page as an Airflow plugin: the FastAPI app under ``/assay`` and its entries in the Airflow UI.

Airflow's plugin loader imports this file on its own (``plugins/.airflowignore`` hides the rest of the package,
which the DAGs import as ``assay_airflow``), so it imports the app by its package name. Link placeholders are
the ones the installed UI fills in: ``{DAG_ID}``, ``{RUN_ID}``, ``{TASK_ID}``, ``{MAP_INDEX}``.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/assay"


def freeze_startup_heap() -> bool:
    """Move the API server's start-up heap (Airflow, FastAPI, SQLAlchemy: objects that live as long as the
    process) out of the garbage collector's full passes (``gc.freeze()``), once, when the page is first served.

    Without it, about one overview render in twelve paid a full collection over that heap (~150 ms: p95 313 ms
    on a year of results; 190 ms with it, benchmarks/dashboard.py). Objects created later are collected as
    before; what is frozen stays (the start-up heap never goes away anyway). ``ASSAY_UI_GC_FREEZE=0`` leaves
    the collector alone."""
    import gc
    import os

    if os.environ.get("ASSAY_UI_GC_FREEZE", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    gc.collect()
    gc.freeze()
    return True


class LazyApp:
    """The ASGI app under ``/assay``, imported on its first request: every Airflow process loads plugins (the
    scheduler, the dag-processor, task workers), and only the API server serves the page, so the others do not
    pay for importing FastAPI's and the API server's modules (about 0.7 s)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._app: Any = None

    def load(self) -> Any:
        if self._app is None:
            module, _, name = self.path.partition(":")
            self._app = getattr(__import__(module, fromlist=[name]), name)
            freeze_startup_heap()
        return self._app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        await self.load()(scope, receive, send)

    def __repr__(self) -> str:
        return f"LazyApp({self.path})"


app = LazyApp("assay_airflow.ui.app:app")


class AssayPlugin(AirflowPlugin):
    name = "assay"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "Assay"}]
    external_views = [
        {
            "name": "Assay",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "url_route": "assay",
            "nav_top_level": True,
        },
        {
            "name": "Assay results",
            "href": f"{URL_PREFIX}/runs/{{DAG_ID}}/{{RUN_ID}}",
            "destination": "dag_run",
            "url_route": "assay_run",
        },
        {
            "name": "Assay results",
            "href": f"{URL_PREFIX}/tasks/{{DAG_ID}}/{{TASK_ID}}/{{RUN_ID}}?map_index={{MAP_INDEX}}",
            "destination": "task_instance",
            "url_route": "assay_task",
        },
    ]
