"""Patterns for run parameters, one definition for the UI form and for the server-side check.

Python code matches with ``fullmatch`` (``$`` would accept a trailing newline). A Param's JSON-schema
``pattern`` is searched, not fully matched, and runs both in the browser (ECMAScript) and in Python, so
:func:`json_schema_pattern` anchors it with constructs both engines read the same way.
"""

from __future__ import annotations

import re


def json_schema_pattern(regex: re.Pattern[str]) -> str:
    """``regex`` anchored at both ends for a JSON-schema ``pattern`` (``(?![\\s\\S])``: nothing follows)."""
    return rf"^(?:{regex.pattern})(?![\s\S])"
