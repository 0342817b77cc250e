"""The status vocabulary shared by every suite, check and verdict (DESIGN.md)."""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Status(enum.StrEnum):
    PASS = "PASS"
    SKIP = "SKIP"
    WARN = "WARN"
    FAIL = "FAIL"
    ERROR = "ERROR"

    @property
    def severity(self) -> int:
        return _ORDER[self]

    @property
    def is_failure(self) -> bool:
        return self in (Status.FAIL, Status.ERROR)


_ORDER = {Status.SKIP: 0, Status.PASS: 1, Status.WARN: 2, Status.FAIL: 3, Status.ERROR: 4}


def worst(statuses: Iterable[Status | str], *, empty: Status = Status.ERROR) -> Status:
    """The worst of ``statuses``; with nothing to judge, ``empty`` (ERROR: missing data never passes).

    SKIP only wins when everything was skipped.
    """
    items = [Status(s) for s in statuses]
    if not items:
        return empty
    return max(items, key=lambda s: s.severity)
