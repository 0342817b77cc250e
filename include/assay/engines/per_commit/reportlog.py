"""Read pytest's own report log (pytest-reportlog JSON lines) into one result per test.

``pytest --report-log=FILE`` writes every report pytest makes, as it makes it (line-buffered), so the file
survives a run that is killed. Each test's setup, call and teardown reports become **one row** (the store's
``TestCaseRecord``) in pytest's own vocabulary, with pytest's own node id (``tests/test_x.py::TestA::test_b[param]``,
pasteable into ``pytest``):

* ``passed`` / ``failed`` / ``skipped`` from the call (or from setup when it did not get that far);
* ``xfailed`` / ``xpassed`` when the report carries ``wasxfail`` (a strict xfail that passes is reported
  ``failed`` by pytest itself, and stays failed here);
* ``error`` when setup fails, or when teardown fails after a test that otherwise passed; a teardown error
  after a failure stays attached to the failed row;
* a collection error (a module that does not import, a broken conftest) becomes an ``error`` row whose
  node id is the collector's (the file or directory) with the exception, file and line.

``counts`` follows pytest's summary line exactly (``4 failed, 12 passed, 2 skipped, 2 xfailed, 1 xpassed,
3 errors``): pytest counts a test that fails and then errors in teardown once as failed and once as an
error, so those counts are per report; ``total`` is the number of rows (tests and collectors that failed).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay.errors import ToolError
from assay.store.records import TestCaseRecord

MESSAGE_CHARS = 2000
OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
FAILING = ("failed", "error")
_SUMMARY_ORDER = ("failed", "passed", "skipped", "xfailed", "xpassed", "error")
IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError"})

_E_EXCEPTION = re.compile(r"^E {3}(?P<exc>[A-Za-z_][\w.]*)(?::\s?(?P<msg>.*))?$")
_E_FILE_LINE = re.compile(r'^E\s+File "(?P<path>[^"]+)", line (?P<line>\d+)')
_TB_LOCATION = re.compile(r"^(?P<path>[^\s:][^:]*):(?P<line>\d+): in ")
_CONFTEST = re.compile(r"ImportError while loading conftest '(?P<path>[^']+)'")


@dataclass(frozen=True)
class CollectionError:
    """A collector (a test module, a directory's conftest) that failed to collect."""

    node_id: str
    exception: str
    path: str | None
    line: int | None
    message: str

    def describe(self) -> str:
        where = self.path or self.node_id or "."
        return f"{self.exception} in {where}:{self.line}" if self.line else f"{self.exception} in {where}"


@dataclass(frozen=True)
class PytestReport:
    cases: tuple[TestCaseRecord, ...]
    counts: dict[str, int]
    collection_errors: tuple[CollectionError, ...] = ()
    running: tuple[str, ...] = ()  # tests that started and had not finished when the log ended
    exitstatus: int | None = None  # None when the session never finished (killed)

    @property
    def failed(self) -> tuple[TestCaseRecord, ...]:
        return tuple(c for c in self.cases if c.outcome in FAILING)

    @property
    def import_errors(self) -> tuple[CollectionError, ...]:
        return tuple(e for e in self.collection_errors if e.exception.rsplit(".", 1)[-1] in IMPORT_ERRORS)

    def summary(self) -> str:
        """The counts as pytest's summary line words them (``1 failed, 3 passed, 2 errors``)."""
        return summary_line(self.counts)

    def with_unfinished(self, message: str) -> PytestReport:
        """The report with each still-running test as an ``error`` row saying why it never finished."""
        if not self.running:
            return self
        extra = tuple(TestCaseRecord(node, "error", 0.0, message) for node in self.running)
        counts = dict(self.counts)
        counts["error"] += len(extra)
        counts["total"] += len(extra)
        return PytestReport(self.cases + extra, counts, self.collection_errors, self.running, self.exitstatus)


def summary_line(counts: dict[str, int]) -> str:
    parts = []
    for key in _SUMMARY_ORDER:
        n = counts.get(key, 0)
        if n:
            parts.append(f"{n} {'errors' if key == 'error' and n != 1 else key}")
    return ", ".join(parts)


def empty_counts() -> dict[str, int]:
    return dict.fromkeys(OUTCOMES, 0) | {"total": 0}


@dataclass
class _Test:
    node_id: str
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)


def category(report: dict[str, Any]) -> str | None:
    """What pytest's terminal counts a test report as (its ``pytest_report_teststatus``), or None."""
    outcome, when = report.get("outcome"), report.get("when")
    if "wasxfail" in report:
        if outcome == "skipped":
            return "xfailed"
        if outcome == "passed":
            return "xpassed"
    if when in ("setup", "teardown"):
        if outcome == "failed":
            return "error"
        return "skipped" if outcome == "skipped" else None
    return outcome if outcome in ("passed", "failed", "skipped") else None


def _relative(path: str | None, root: Path | None) -> str | None:
    if not path:
        return path
    if root is not None:
        try:
            return Path(path).resolve().relative_to(root).as_posix()
        except (ValueError, OSError):
            pass
    return path


def _inside(path: str | None, root: Path | None) -> bool:
    if not path or path.startswith("<"):
        return False
    p = Path(path)
    if not p.is_absolute():
        return not path.startswith("..")
    return root is not None and _relative(path, root) != path


def _longrepr_text(longrepr: Any, root: Path | None) -> str | None:
    """A short human message from a serialized ``longrepr``: the crash message and where it happened."""
    if longrepr is None:
        return None
    if isinstance(longrepr, str):
        return longrepr.strip()[-MESSAGE_CHARS:] or None
    if isinstance(longrepr, list | tuple) and len(longrepr) == 3:  # (path, lineno, "Skipped: reason")
        text = str(longrepr[2])
        return text.removeprefix("Skipped: ").strip() or None
    if isinstance(longrepr, dict):
        crash = longrepr.get("reprcrash") or {}
        message = str(crash.get("message") or "").strip()
        where = _relative(crash.get("path"), root)
        if where and crash.get("lineno"):
            message = f"{message}\n  at {where}:{crash['lineno']}" if message else f"at {where}:{crash['lineno']}"
        return message[-MESSAGE_CHARS:] or None
    return str(longrepr)[-MESSAGE_CHARS:] or None


def _repr_lines(longrepr: Any) -> list[str]:
    """Every text line of a serialized longrepr (string or traceback entries)."""
    if isinstance(longrepr, str):
        return longrepr.splitlines()
    lines: list[str] = []
    if isinstance(longrepr, dict):
        for entry in (longrepr.get("reprtraceback") or {}).get("reprentries") or []:
            data = entry.get("data") or {}
            loc = data.get("reprfileloc") or {}
            if loc.get("path"):
                lines.append(f"{loc['path']}:{loc.get('lineno')}: {loc.get('message') or ''}")
            lines += [str(x) for x in data.get("lines") or []]
        crash = longrepr.get("reprcrash") or {}
        if crash.get("message"):
            lines += [f"E   {m}" for m in str(crash["message"]).splitlines()[:1]]
    return lines


def collection_error(node_id: str, longrepr: Any, root: Path | None) -> CollectionError:
    """The exception, file and line of a failed collector, as precisely as the report tells them."""
    lines = _repr_lines(longrepr)
    exc, msg = "CollectionError", ""
    for line in lines:
        if m := _E_EXCEPTION.match(line.rstrip()):
            exc, msg = m.group("exc"), (m.group("msg") or "").strip()
    path: str | None = None
    line_no: int | None = None
    for line in lines:  # a SyntaxError names the offending file and line itself
        if m := _E_FILE_LINE.match(line):
            path, line_no = m.group("path"), int(m.group("line"))
    if path is None:
        crash = longrepr.get("reprcrash") if isinstance(longrepr, dict) else None
        if crash and _inside(crash.get("path"), root):
            path, line_no = crash["path"], int(crash.get("lineno") or 0) or None
        else:
            for line in lines:  # the innermost traceback frame inside the repository
                if (m := _TB_LOCATION.match(line)) and _inside(m.group("path"), root):
                    path, line_no = m.group("path"), int(m.group("line"))
    if path is None:
        path = node_id.split("::", 1)[0] or None
    path = _relative(path, root)
    message = f"{exc}: {msg}" if msg else exc
    if path:
        message += f"\n  at {path}:{line_no}" if line_no else f"\n  in {path}"
    detail = [
        line[1:].strip()
        for line in lines
        if line.startswith("E ") and not _E_EXCEPTION.match(line.rstrip()) and not _E_FILE_LINE.match(line)
    ]
    if detail:  # e.g. the offending source line of a SyntaxError
        message += "\n" + "\n".join(detail[-6:])
    return CollectionError(node_id, exc, path, line_no, message[:MESSAGE_CHARS])


def conftest_error_from_output(output: str, root: Path | None) -> CollectionError | None:
    """A conftest that failed to import before pytest's session (and its report log) started.

    pytest reports this only on its terminal ("ImportError while loading conftest '<path>'." and the
    traceback), with exit code 4: the one case where its output text is all there is to read."""
    m = _CONFTEST.search(output)
    if not m:
        return None
    tail = output[m.start() :]
    found = collection_error(_relative(m.group("path"), root) or m.group("path"), tail, root)
    if found.path is None or found.path == found.node_id:
        found = CollectionError(
            found.node_id, found.exception, _relative(m.group("path"), root), found.line, found.message
        )
    return found


def _row(test: _Test, root: Path | None) -> TestCaseRecord:
    reps = test.reports
    setup, call, teardown = reps.get("setup"), reps.get("call"), reps.get("teardown")
    other = [r for w, r in reps.items() if w not in ("setup", "call", "teardown")]  # e.g. a crashed xdist worker
    primary = call or (other[0] if other else None) or setup or teardown or {}
    outcome = category(primary) or "error"  # "error" also when setup passed and no call was reported
    if outcome in ("xfailed", "xpassed"):
        message = str(primary.get("wasxfail") or "").removeprefix("reason: ").strip() or _longrepr_text(
            primary.get("longrepr"), root
        )
    elif outcome == "passed":
        message = None
    else:
        message = _longrepr_text(primary.get("longrepr"), root) if primary else None
    if teardown is not None and teardown.get("outcome") == "failed":
        torn = f"error at teardown: {_longrepr_text(teardown.get('longrepr'), root) or 'failed'}"
        if outcome not in FAILING:
            outcome = "error"
        message = f"{message}\n{torn}" if message else torn
    duration = sum(float(r.get("duration") or 0.0) for r in reps.values())
    return TestCaseRecord(test.node_id, outcome, round(duration, 6), (message or None) and message[:MESSAGE_CHARS])


def parse_report_log(path: str | Path, *, root: str | Path | None = None) -> PytestReport:
    """Read a pytest report log; a missing file or a malformed line (but a torn last line) is a ToolError.

    ``root`` (the repository checkout) makes file paths in messages relative to it."""
    p = Path(path)
    base = Path(root).resolve() if root is not None else None
    try:
        raw = p.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        raise ToolError(f"the test run wrote no report log at {p}") from None
    tests: dict[str, _Test] = {}
    counts: Counter[str] = Counter()
    collect_rows: list[TestCaseRecord] = []
    errors: list[CollectionError] = []
    exitstatus: int | None = None
    for i, line in enumerate(raw):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            if i == len(raw) - 1:  # torn by a kill in the middle of a write
                break
            raise ToolError(f"report log {p} line {i + 1} is malformed: {exc}") from None
        kind = data.get("$report_type")
        if kind == "TestReport":
            test = tests.setdefault(str(data.get("nodeid")), _Test(str(data.get("nodeid"))))
            test.reports[str(data.get("when"))] = data
            if cat := category(data):
                counts[cat] += 1
        elif kind == "CollectReport":
            node = str(data.get("nodeid") or "")
            if data.get("outcome") == "failed":
                err = collection_error(node, data.get("longrepr"), base)
                errors.append(err)
                collect_rows.append(TestCaseRecord(node or ".", "error", 0.0, f"collection error: {err.message}"))
                counts["error"] += 1
            elif data.get("outcome") == "skipped":  # a module-level skip / importorskip
                collect_rows.append(TestCaseRecord(node, "skipped", 0.0, _longrepr_text(data.get("longrepr"), base)))
                counts["skipped"] += 1
        elif kind == "SessionFinish":
            exitstatus = data.get("exitstatus")
    rows = list(collect_rows)
    running = []
    for test in tests.values():
        if "teardown" not in test.reports and not any(w not in ("setup", "call") for w in test.reports):
            running.append(test.node_id)
            continue
        rows.append(_row(test, base))
    result_counts = empty_counts() | {k: counts.get(k, 0) for k in OUTCOMES} | {"total": len(rows)}
    return PytestReport(tuple(rows), result_counts, tuple(errors), tuple(running), exitstatus)
