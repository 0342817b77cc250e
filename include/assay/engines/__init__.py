"""Engines: run a tool, parse its machine output, return result objects. No airflow imports."""
