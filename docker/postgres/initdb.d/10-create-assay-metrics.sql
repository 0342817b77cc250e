-- Runs once, when the postgres service initialises an empty data volume
-- (files in /docker-entrypoint-initdb.d are executed by psql as POSTGRES_USER).
--
-- Creates the second database that holds Assay's metrics (run results, scores,
-- regressions). Airflow's own metadata stays in the `airflow` database.
-- airflow-init (docker/airflow-init.sh) creates the same database when the
-- data volume predates this script, so both paths are idempotent.
SELECT 'CREATE DATABASE assay_metrics OWNER airflow'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'assay_metrics')
\gexec

GRANT ALL PRIVILEGES ON DATABASE assay_metrics TO airflow;
