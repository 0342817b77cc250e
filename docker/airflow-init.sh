#!/usr/bin/env bash
# One-shot initialisation of the Assay Airflow stack, run by the `airflow-init`
# service of docker-compose.yaml (as root, before any other Airflow service).
# The compose counterpart of scripts/setup_embedded.py (`make run`):
#
#  1. makes the named volumes (logs, Assay workspace) writable by AIRFLOW_UID;
#  2. makes sure the metrics database exists (the postgres init script only
#     runs on an empty data volume, so an older volume may lack it) and brings
#     its schema up to date (`python -m assay.store migrate`);
#  3. migrates the Airflow metadata database (`airflow db migrate`);
#     and (re)creates Grafana's read-only role on it (ASSAY_GRAFANA_DB_USER,
#     docker/postgres/grafana-readonly-role.sql);
#  4. creates the UI admin user (FAB auth manager; its password has no default);
#  5. registers the `assay_metrics` connection in the metadata DB so it shows
#     in the UI. Slack / SMTP connections stay environment-only
#     (AIRFLOW_CONN_ASSAY_SLACK / AIRFLOW_CONN_ASSAY_SMTP) so their secrets
#     are never written to the metadata DB; only their presence is reported;
#  5b. sets the one-slot pool of the timing measurements (performance_isolation.pool
#     in assay.yaml; a task in a pool that does not exist is never scheduled);
#  6. makes (or refreshes) the git repository of the bundled demo target at
#     ${ASSAY_HOME}/demo-platform (include/demo_platform/assay/demo_repo.py), where
#     include/config/assay.yaml expects it, unless ASSAY_SEED_DEMO=false.
#
# Safe to run any number of times.
set -euo pipefail

log() { echo "[assay-init] $*"; }

AIRFLOW_UID="${AIRFLOW_UID:-50000}"
ASSAY_HOME="${ASSAY_HOME:-/opt/airflow/assay}"

if [[ "${AIRFLOW_UID}" == "0" ]]; then
    log "WARNING: AIRFLOW_UID is 0; Airflow processes would run as root. Set AIRFLOW_UID in .env."
fi

# --- 1. writable volumes ----------------------------------------------------
log "preparing ${ASSAY_HOME} and /opt/airflow/logs for uid ${AIRFLOW_UID}"
mkdir -p /opt/airflow/logs "${ASSAY_HOME}"
# Top-level only: the workspace can hold large git mirrors, and everything
# below it is created by the Airflow user anyway.
chown "${AIRFLOW_UID}:0" /opt/airflow/logs "${ASSAY_HOME}"
chmod 2775 /opt/airflow/logs "${ASSAY_HOME}"

# --- 2. metrics database ----------------------------------------------------
metrics_uri="${AIRFLOW_CONN_ASSAY_METRICS:-}"
if [[ -z "${metrics_uri}" ]]; then
    log "ERROR: AIRFLOW_CONN_ASSAY_METRICS is not set" >&2
    exit 1
fi
if [[ "${metrics_uri}" == postgres*://* ]]; then
    no_query="${metrics_uri%%\?*}"
    metrics_db="${no_query##*/}"
    server_uri="${no_query%/*}"
    # psql does not know the `postgres://` alias spelling used by some tools
    server_uri="postgresql://${server_uri#*://}"
    if [[ ! "${metrics_db}" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
        log "ERROR: unexpected metrics database name '${metrics_db}'" >&2
        exit 1
    fi
    if psql "${server_uri}/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '${metrics_db}'" | grep -qx 1; then
        log "metrics database '${metrics_db}' exists"
    else
        log "creating metrics database '${metrics_db}'"
        psql "${server_uri}/postgres" -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"${metrics_db}\""
    fi
    log "metrics database schema: migrating"
    # URL passed through the environment so the password is not on a command line
    ASSAY_METRICS_DB_URL="postgresql+psycopg2://${no_query#*://}" python -m assay.store migrate
    if [[ -n "${ASSAY_GRAFANA_DB_USER:-}" ]]; then
        if [[ -z "${ASSAY_GRAFANA_DB_PASSWORD:-}" ]]; then
            log "ERROR: ASSAY_GRAFANA_DB_PASSWORD is not set (Grafana's read-only database password)" >&2
            exit 1
        fi
        log "read-only role '${ASSAY_GRAFANA_DB_USER}' for Grafana on '${metrics_db}'"
        # the script reads user and password from the environment (\getenv), not from a command line
        psql "${server_uri}/${metrics_db}" -q -v ON_ERROR_STOP=1 \
            -f /usr/local/share/assay/grafana-readonly-role.sql >/dev/null
    fi
else
    log "AIRFLOW_CONN_ASSAY_METRICS is not a postgres URI; not creating the metrics database"
fi

# --- 3. metadata database ---------------------------------------------------
log "airflow db migrate"
airflow db migrate

# --- 4. admin user ----------------------------------------------------------
if [[ "${_AIRFLOW_WWW_USER_CREATE:-true}" == "true" ]]; then
    user="${_AIRFLOW_WWW_USER_USERNAME:-airflow}"
    if airflow users list --output plain 2>/dev/null | awk 'NR > 1 {print $2}' | grep -qx "${user}"; then
        log "admin user '${user}' exists"
    else
        log "creating admin user '${user}'"
        airflow users create \
            --username "${user}" \
            --password "${_AIRFLOW_WWW_USER_PASSWORD:?set _AIRFLOW_WWW_USER_PASSWORD}" \
            --firstname "${_AIRFLOW_WWW_USER_FIRSTNAME:-Airflow}" \
            --lastname "${_AIRFLOW_WWW_USER_LASTNAME:-Admin}" \
            --email "${_AIRFLOW_WWW_USER_EMAIL:-airflowadmin@example.com}" \
            --role "${_AIRFLOW_WWW_USER_ROLE:-Admin}"
    fi
fi

# --- 5. connections ---------------------------------------------------------
log "registering connection assay_metrics"
airflow connections delete assay_metrics >/dev/null 2>&1 || true
airflow connections add assay_metrics --conn-uri "${metrics_uri}" >/dev/null

for conn in ASSAY_SLACK ASSAY_SMTP; do
    var="AIRFLOW_CONN_${conn}"
    if [[ -n "${!var:-}" ]]; then
        log "connection ${conn,,}: configured from ${var}"
    else
        log "connection ${conn,,}: not configured (set ${var} in .env to enable)"
    fi
done

# --- 5b. measurement pool ---------------------------------------------------
# one slot, set on every init: the load test, micro-benchmarks and pipeline load run one at a time
pool="$(python -c 'from assay.config import load_config; print(load_config().performance_isolation.pool)')"
log "pool ${pool}: 1 slot (Assay's timing measurements run one at a time)"
airflow pools set "${pool}" 1 "Assay's timing measurements (load test, micro-benchmarks, pipeline load) run one at a time: performance_isolation.pool in assay.yaml" >/dev/null

# --- 6. demo target repository ----------------------------------------------
if [[ "${ASSAY_SEED_DEMO:-true}" == "true" ]]; then
    log "demo repository: preparing ${ASSAY_HOME}/demo-platform"
    # We run as root while the repository belongs to AIRFLOW_UID: tell git
    # (command-scope config, honoured for safe.directory) that this is fine.
    GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=safe.directory GIT_CONFIG_VALUE_0="*" \
        python /opt/airflow/include/demo_platform/assay/demo_repo.py "${ASSAY_HOME}/demo-platform"
    chown -R "${AIRFLOW_UID}:0" "${ASSAY_HOME}/demo-platform"
else
    log "demo repository: skipped (ASSAY_SEED_DEMO=${ASSAY_SEED_DEMO})"
fi

airflow version
log "done"
