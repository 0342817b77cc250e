"""Keep credentials out of everything Assay writes: messages, the metrics DB, logs, alerts and reports.

A repository URL such as ``https://user:TOKEN@host/repo.git`` (or ``https://TOKEN@host``) keeps its
scheme, host and path; the user-info part becomes ``***``. Applied where a message is formed into a
record, so no caller has to remember it; where text is formatted outside records: alerts and commit
statuses render through it, Assay's loggers clean their records (``install_log_redaction``), and the
Airflow layer registers every credential of the config's URLs with Airflow's secrets masker
(``url_credentials``) and strips what operators return to XCom.
"""

from __future__ import annotations

import logging
import re
from typing import Any

# scheme://userinfo@  (userinfo without '/', whitespace or another '@')
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/\s@'\"<>]+)@")
MASK = "***"


def strip_url_credentials(text: str) -> str:
    """``text`` with the user-info part of every URL in it replaced by ``***``."""
    if "@" not in text:
        return text
    return _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)


def redact(value: Any) -> Any:
    """``strip_url_credentials`` applied to every string inside ``value`` (dicts, lists, tuples)."""
    if isinstance(value, str):
        return strip_url_credentials(value)
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact(v) for v in value)
    return value


def url_credentials(text: str) -> list[str]:
    """The secrets in the user-info of every URL in ``text``: the password of ``user:password@``, the whole
    ``token@`` otherwise (a lone user-info part is how tokens are passed). For registering with a masker."""
    if "@" not in text:
        return []
    secrets = []
    for match in _URL_USERINFO.finditer(text):
        user, sep, password = match.group("userinfo").partition(":")
        secrets.append(password if sep and password else user)
    return secrets


class RedactingFilter(logging.Filter):
    """A logging filter that strips URL credentials from a record's message and formatted traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    message = record.getMessage()
    clean = strip_url_credentials(message)
    if clean != message:
        record.msg, record.args = clean, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = strip_url_credentials(record.exc_text)
    return record


_LOGGER_PREFIXES = ("assay", "assay_airflow")
_installed = False


def install_log_redaction() -> None:
    """Strip URL credentials from every log record of Assay's own loggers (``assay.*``, ``assay_airflow.*``),
    whichever handler later writes it: the record is cleaned where it is made. Idempotent."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(name, *args, **kwargs):
        record = previous(name, *args, **kwargs)
        if isinstance(name, str) and name.split(".", 1)[0] in _LOGGER_PREFIXES:
            redact_record(record)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
