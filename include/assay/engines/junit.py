"""Parse JUnit XML (as written by pytest ``--junitxml``) into test case results."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from assay.errors import ToolError

MESSAGE_CHARS = 2000


@dataclass(frozen=True)
class TestCaseResult:
    __test__ = False  # not a pytest test class

    node_id: str
    outcome: str  # passed | failed | error | skipped
    duration_s: float
    message: str | None = None


@dataclass(frozen=True)
class JUnitReport:
    cases: tuple[TestCaseResult, ...]

    @property
    def counts(self) -> dict[str, int]:
        c = Counter(case.outcome for case in self.cases)
        return {k: c.get(k, 0) for k in ("passed", "failed", "error", "skipped")} | {"total": len(self.cases)}

    @property
    def failed(self) -> tuple[TestCaseResult, ...]:
        return tuple(c for c in self.cases if c.outcome in ("failed", "error"))


def _outcome(case: ET.Element) -> tuple[str, str | None]:
    for tag, outcome in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
        el = case.find(tag)
        if el is not None:
            text = (el.get("message") or "").strip() or (el.text or "").strip()
            return outcome, text[:MESSAGE_CHARS] or None
    return "passed", None


def parse_junit_xml(path: str | Path) -> JUnitReport:
    """Read a JUnit XML file; a missing or malformed file is a ToolError (the suite is ERROR)."""
    p = Path(path)
    try:
        root = ET.parse(p).getroot()
    except FileNotFoundError:
        raise ToolError(f"the test run wrote no JUnit XML at {p}") from None
    except ET.ParseError as exc:
        raise ToolError(f"JUnit XML at {p} is malformed: {exc}") from None
    cases = []
    for case in root.iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        node_id = f"{classname}::{name}" if classname else name
        outcome, message = _outcome(case)
        cases.append(TestCaseResult(node_id, outcome, float(case.get("time") or 0.0), message))
    return JUnitReport(tuple(cases))
