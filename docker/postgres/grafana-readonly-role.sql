-- Grafana's read-only role on the metrics database, run by docker/airflow-init.sh on every start
-- (idempotent; the password is set again, so changing ASSAY_GRAFANA_DB_PASSWORD rotates it).
-- Run as the metrics database's owner (the user that migrates it), connected to that database, with
-- ASSAY_GRAFANA_DB_USER and ASSAY_GRAFANA_DB_PASSWORD in the environment (psql 15 or later):
--   psql "$URL" -v ON_ERROR_STOP=1 -f grafana-readonly-role.sql
-- The role can log in and SELECT from the metrics tables, now and those created later by the owner;
-- its sessions are read-only, and it can create nothing.
\getenv ro_user ASSAY_GRAFANA_DB_USER
\getenv ro_password ASSAY_GRAFANA_DB_PASSWORD
SELECT format('CREATE ROLE %I LOGIN', :'ro_user')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'ro_user')
\gexec
ALTER ROLE :"ro_user" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION PASSWORD :'ro_password';
ALTER ROLE :"ro_user" SET default_transaction_read_only = on;
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'ro_user')
\gexec
REVOKE CREATE ON SCHEMA public FROM :"ro_user";
GRANT USAGE ON SCHEMA public TO :"ro_user";
GRANT SELECT ON ALL TABLES IN SCHEMA public TO :"ro_user";
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO :"ro_user";
