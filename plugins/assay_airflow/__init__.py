"""Assay's Airflow layer: operators, hooks and notifiers. The only Assay code that imports airflow."""
