"""The Assay page inside the Airflow UI: a FastAPI app (server-rendered Jinja2 pages and their JSON API) mounted
under ``/assay`` by ``assay_airflow.plugin``; every endpoint requires an authenticated Airflow user."""
