"""The short summary a person can act on, in one place: the end of every Assay task's log and the alert.

Built from what a task recorded (engine :class:`~assay.results.Result` objects) or from what the metrics DB
holds for a run (the alert), it says: the verdict, the counts, each failed test (up to
:data:`MAX_FAILED_TESTS`) with the first line of its message and its ``file:line``, the gates that failed
with observed vs threshold, the HTML report when there is one, and the link to the run's detail page.

Pure: no Airflow, no I/O. The operators log :meth:`RunSummary.text`; the alert renders the same fields.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from assay.redaction import strip_url_credentials
from assay.status import Status, worst

__all__ = [
    "MAX_FAILED_TESTS",
    "FailedGate",
    "FailedTestLine",
    "RunSummary",
    "find_report",
    "message_rest",
    "run_detail_url",
    "summarize",
]

MAX_FAILED_TESTS = 20
MAX_FAILED_GATES = 20
FIRST_LINE_CHARS = 240
FAILING_OUTCOMES = ("failed", "error")
_AT = re.compile(r"^\s*at (?P<loc>\S+:\d+)\s*$")
_COMPARATORS = {
    "lt": "<",
    "le": "<=",
    "<": "<",
    "<=": "<=",
    "gt": ">",
    "ge": ">=",
    ">": ">",
    ">=": ">=",
    "eq": "==",
    "==": "==",
    "max": "<=",
    "min": ">=",
}


def run_detail_url(base_url: str | None, dag_id: str, run_id: str) -> str | None:
    """The Assay page's detail view of one DAG run: ``{base}/assay/runs/{dag_id}/{run_id}`` (None without a base)."""
    if not base_url:
        return None
    return f"{base_url.rstrip('/')}/assay/runs/{quote(dag_id, safe='')}/{quote(run_id, safe='')}"


def _short(text: str, limit: int = FIRST_LINE_CHARS) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def message_rest(message: str | None) -> str:
    """A test's message without its first line and its first ``at file:line`` (both shown on the test's own
    line): the assertion's detail, a teardown error... Empty when there is nothing more."""
    lines = [ln.rstrip() for ln in (message or "").splitlines() if ln.strip()]
    first = next((i for i, ln in enumerate(lines) if not _AT.match(ln)), None)
    if first is not None and len(lines[first].strip()) > FIRST_LINE_CHARS:
        first = None  # cut on the test's own line: shown whole here
    at = next((i for i, ln in enumerate(lines) if _AT.match(ln)), None)
    return "\n".join(ln for i, ln in enumerate(lines) if i not in (first, at))


@dataclass(frozen=True)
class FailedTestLine:
    """One failed test: pytest's node id, its outcome, the first line of its message and where it failed."""

    node_id: str
    outcome: str
    first_line: str
    location: str | None
    suite: str | None = None
    message: str | None = None  # the whole message (the e-mail shows it)

    @classmethod
    def of(cls, node_id: str, outcome: str, message: str | None, suite: str | None = None) -> FailedTestLine:
        """From a stored test case: the location is the message's first ``at file:line`` (the test's own crash
        point, as the report-log reader writes it); without one, the test's file from its node id."""
        lines = [ln for ln in (message or "").splitlines() if ln.strip()]
        location = next((m.group("loc") for ln in lines if (m := _AT.match(ln))), None)
        first = next((ln.strip() for ln in lines if not _AT.match(ln)), "") or (f"at {location}" if location else "")
        file_part = node_id.split("::", 1)[0]
        if location and file_part and "::" in node_id:
            # an absolute checkout path of the test's own file reads as the node id's relative path
            path, _, line = location.rpartition(":")
            if path != file_part and path.endswith("/" + file_part):
                location = f"{file_part}:{line}"
        elif not location and file_part and file_part != node_id.split("::", 1)[-1]:
            location = file_part
        return cls(node_id, outcome, _short(first) if first else "(no message)", location, suite, message)

    def line(self) -> str:
        where = f" ({self.location})" if self.location else ""
        tag = "" if self.outcome == "failed" else f"[{self.outcome}] "
        return f"{tag}{self.node_id}{where}: {self.first_line}"


@dataclass(frozen=True)
class FailedGate:
    """A gate (check) that failed: what was observed against which threshold, and its message."""

    name: str
    status: str
    observed: float | None = None
    threshold: float | None = None
    comparator: str | None = None
    message: str | None = None

    def figures(self) -> str:
        """``observed 72.5, must be >= 80`` (empty when the check carries no figure)."""
        if self.observed is None and self.threshold is None:
            return ""
        op = _COMPARATORS.get((self.comparator or "").strip(), self.comparator or "vs")
        return f"observed {_num(self.observed)}, must be {op} {_num(self.threshold)}"

    def line(self) -> str:
        figures = self.figures()
        msg = _short(self.message.splitlines()[0]) if self.message and self.message.strip() else ""
        body = "; ".join(p for p in (figures, msg) if p)
        return f"{self.status} {self.name}" + (f": {body}" if body else "")


def _num(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:g}" if isinstance(value, float) else str(value)


def find_report(summary: Mapping[str, Any] | None) -> str | None:
    """The HTML report a result's summary names (``report_path``, ``reports.html``, ``artefacts.html``...)."""
    if not summary:
        return None
    stack: list[Any] = [summary]
    seen = 0
    while stack and seen < 200:
        seen += 1
        value = stack.pop(0)
        if isinstance(value, str):
            if value.lower().endswith((".html", ".htm")):
                return value
        elif isinstance(value, Mapping):
            stack += list(value.values())
        elif isinstance(value, list | tuple):
            stack += list(value)[:20]
    return None


@dataclass(frozen=True)
class SuiteLine:
    name: str
    status: str
    message: str

    def line(self) -> str:
        first = _short(self.message.splitlines()[0]) if self.message.strip() else ""
        return f"{self.status} {self.name}" + (f": {first}" if first else "")


@dataclass(frozen=True)
class RunSummary:
    """What a person needs to act on one task's (or one run's) outcome."""

    verdict: str
    suites: list[SuiteLine] = field(default_factory=list)
    test_counts: dict[str, int] = field(default_factory=dict)
    failed_tests: list[FailedTestLine] = field(default_factory=list)
    failed_tests_total: int = 0
    failed_gates: list[FailedGate] = field(default_factory=list)
    failed_gates_total: int = 0
    checks_passed: int = 0
    checks_total: int = 0
    report: str | None = None
    detail_url: str | None = None

    @property
    def failed(self) -> bool:
        return Status(self.verdict).is_failure

    def counts_line(self) -> str:
        parts = []
        if self.test_counts.get("total"):
            order = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
            detail = ", ".join(f"{self.test_counts[k]} {k}" for k in order if self.test_counts.get(k))
            parts.append(f"tests {self.test_counts['total']} ({detail})")
        if self.checks_total:
            parts.append(f"checks {self.checks_passed}/{self.checks_total} passed")
        return "; ".join(parts) or "no test or check recorded"

    def lines(self) -> list[str]:
        out = [f"Assay summary: {self.verdict}: {self.counts_line()}"]
        out += [f"  {s.line()}" for s in self.suites]
        if self.failed_tests_total:
            shown = len(self.failed_tests)
            more = f", first {shown}" if shown < self.failed_tests_total else ""
            out.append(f"failed tests ({self.failed_tests_total}{more}):")
            out += [f"  {i}. {t.line()}" for i, t in enumerate(self.failed_tests, 1)]
        if self.failed_gates_total:
            out.append(f"failed gates ({self.failed_gates_total}):")
            out += [f"  {g.line()}" for g in self.failed_gates]
        if self.report:
            out.append(f"report: {self.report}")
        if self.detail_url:
            out.append(f"details: {self.detail_url}")
        return [strip_url_credentials(line) for line in out]

    def text(self) -> str:
        return "\n".join(self.lines())

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe, for XCom."""
        return {
            "verdict": self.verdict,
            "counts": self.counts_line(),
            "failed_tests": [
                {"node_id": t.node_id, "outcome": t.outcome, "message": t.first_line, "location": t.location}
                for t in self.failed_tests
            ],
            "failed_tests_total": self.failed_tests_total,
            "failed_gates": [
                {
                    "name": g.name,
                    "status": g.status,
                    "observed": g.observed,
                    "threshold": g.threshold,
                    "comparator": g.comparator,
                    "message": g.message,
                }
                for g in self.failed_gates
            ],
            "report": self.report,
            "detail_url": self.detail_url,
        }


def _attr(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def summarize(
    suites: Iterable[Any],
    *,
    detail_url: str | None = None,
    max_failed_tests: int = MAX_FAILED_TESTS,
    verdict: Status | str | None = None,
) -> RunSummary:
    """The summary of ``suites``: engine results or stored suite runs (anything with ``name``, ``status``,
    ``message``, ``summary``, ``test_cases`` and ``checks`` holding the store's fields)."""
    suites = list(suites)
    counts: Counter[str] = Counter()
    failed_tests: list[FailedTestLine] = []
    total_failed = 0
    gates: list[FailedGate] = []
    checks_total = checks_passed = 0
    report = None
    lines = []
    for s in suites:
        name = str(_attr(s, "name") or "?")
        status = str(Status(_attr(s, "status")).value)
        lines.append(SuiteLine(name, status, str(_attr(s, "message") or "")))
        for t in _attr(s, "test_cases") or ():
            outcome = str(_attr(t, "outcome"))
            counts[outcome] += 1
            counts["total"] += 1
            if outcome in FAILING_OUTCOMES:
                total_failed += 1
                if len(failed_tests) < max_failed_tests:
                    failed_tests.append(FailedTestLine.of(str(_attr(t, "node_id")), outcome, _attr(t, "message"), name))
        for c in _attr(s, "checks") or ():
            c_status = str(_attr(c, "status"))
            if _attr(c, "severity") == "alert" or c_status == Status.SKIP.value:
                continue
            checks_total += 1
            if c_status == Status.PASS.value:
                checks_passed += 1
            elif Status(c_status).is_failure:
                gates.append(
                    FailedGate(
                        str(_attr(c, "name")),
                        c_status,
                        _attr(c, "observed"),
                        _attr(c, "threshold"),
                        _attr(c, "comparator"),
                        _attr(c, "message"),
                    )
                )
        report = report or find_report(_attr(s, "summary"))
    statuses: Sequence[str] = [s.status for s in lines]
    return RunSummary(
        verdict=Status(verdict).value if verdict else worst(statuses, empty=Status.ERROR).value,
        suites=lines,
        test_counts=dict(counts),
        failed_tests=failed_tests,
        failed_tests_total=total_failed,
        failed_gates=gates[:MAX_FAILED_GATES],
        failed_gates_total=len(gates),
        checks_passed=checks_passed,
        checks_total=checks_total,
        report=report,
        detail_url=detail_url,
    )
