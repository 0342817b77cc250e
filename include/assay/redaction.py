"""Keep credentials out of everything Assay writes: messages, the metrics DB, logs, alerts and reports.

A repository URL such as ``https://user:TOKEN@host/repo.git`` (or ``https://TOKEN@host``) keeps its
scheme, host and path; the user-info part becomes ``***``. Applied where a message is formed into a
record, so no caller has to remember it.
"""

from __future__ import annotations

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
