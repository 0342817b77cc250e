"""The Assay page as an Airflow plugin: the FastAPI app under ``/assay`` and its entries in the Airflow UI.

Airflow's plugin loader imports this file on its own (``plugins/.airflowignore`` hides the rest of the package,
which the DAGs import as ``assay_airflow``), so it imports the app by its package name. Link placeholders are
the ones the installed UI fills in: ``{DAG_ID}``, ``{RUN_ID}``, ``{TASK_ID}``, ``{MAP_INDEX}``.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from assay_airflow.ui.app import app

URL_PREFIX = "/assay"


class AssayPlugin(AirflowPlugin):
    name = "assay"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "Assay"}]
    external_views = [
        {
            "name": "Assay",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "url_route": "assay",
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
