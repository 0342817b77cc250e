"""Keep the credentials of URLs in the Assay config out of Airflow's task logs.

Airflow masks every value registered with its secrets masker in each line of a task's log: the
operator's own lines, the engines' (stdlib logging is routed into the task log), Airflow's, and
tracebacks. ``mask_config_credentials`` registers the password (or token) of every URL the loaded config
holds, e.g. a target repository ``https://user:TOKEN@host/repo.git``, and turns on the pattern-based
cleaning of Assay's own log records (``assay.redaction.install_log_redaction``) for URLs the config does
not know. Connections (Slack webhook, SMTP, git host tokens) are masked by Airflow when they are read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from assay.config import AssayConfig
from assay.redaction import install_log_redaction, url_credentials


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def mask_config_credentials(cfg: AssayConfig) -> int:
    """Register every URL credential of ``cfg`` with Airflow's secrets masker; return how many."""
    from airflow.sdk.log import mask_secret

    install_log_redaction()
    secrets = sorted({s for text in _strings(cfg.model_dump()) for s in url_credentials(text)})
    for secret in secrets:
        mask_secret(secret)
    return len(secrets)
