"""A :class:`~assay.engines.per_commit.pytest_suite.SuiteResult` as JSON, and back, faithfully.

A suite run in a container (:mod:`assay.engines.per_commit.run_in_container`) has no metrics DB: it writes
its result as ``result.json`` in the task's output directory, and the worker reads it back and records it as
if the suite had run in its own process. Every field the result is built from goes through (status, message,
timings, test cases, counts, coverage, collection errors, exit code, details, retryable, and the base
result's checks, findings, evidence and deletions); the derived ones (metrics, summary) are derived again,
so ``suite_result_from_json(suite_result_to_json(r)) == r``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from assay.engines.per_commit.coverage import CoverageReport, FileCoverage
from assay.engines.per_commit.pytest_suite import SuiteResult
from assay.engines.per_commit.reportlog import CollectionError
from assay.errors import ToolError
from assay.store.records import CheckRecord, DeletionRecord, EvidenceRecord, FindingRecord, TestCaseRecord

__all__ = [
    "FORMAT",
    "RESULT_FILE",
    "read_suite_result",
    "suite_result_from_dict",
    "suite_result_from_json",
    "suite_result_to_dict",
    "suite_result_to_json",
    "write_suite_result",
]

RESULT_FILE = "result.json"
FORMAT = "assay.suite_result/1"


def suite_result_to_dict(result: SuiteResult) -> dict[str, Any]:
    """The fields ``result`` is built from, as plain JSON types (and ``format``: the version of this shape)."""
    out: dict[str, Any] = {"format": FORMAT}
    for f in fields(result):
        if not f.init:
            continue  # metrics and summary: derived again from the rest
        value = getattr(result, f.name)
        if f.name in ("started_at", "finished_at"):
            value = value.isoformat()
        elif f.name == "status":
            value = result.status.value
        elif f.name in ("findings", "evidence", "deletions"):
            value = [r.to_dict() for r in value]
        elif f.name in ("checks", "test_cases", "collection_errors"):
            value = [asdict(r) for r in value]
        elif f.name == "coverage":
            value = None if value is None else {"files": [asdict(c) for c in value.files]}
        out[f.name] = value
    return out


def suite_result_from_dict(data: dict[str, Any]) -> SuiteResult:
    """The :class:`SuiteResult` of :func:`suite_result_to_dict`'s output; a :class:`~assay.errors.ToolError`
    when ``data`` is not one (another format, a missing or unknown field)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        got = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise ToolError(f"not a suite result of format {FORMAT!r} (got {got!r})")
    d = {k: v for k, v in data.items() if k != "format"}
    try:
        d["started_at"] = datetime.fromisoformat(d["started_at"])
        d["finished_at"] = datetime.fromisoformat(d["finished_at"])
        d["checks"] = [CheckRecord(**r) for r in d.get("checks", [])]
        d["test_cases"] = [TestCaseRecord(**r) for r in d.get("test_cases", [])]
        d["findings"] = [FindingRecord.from_dict(r) for r in d.get("findings", [])]
        d["evidence"] = [EvidenceRecord.from_dict(r) for r in d.get("evidence", [])]
        d["deletions"] = [DeletionRecord.from_dict(r) for r in d.get("deletions", [])]
        d["collection_errors"] = tuple(CollectionError(**r) for r in d.get("collection_errors", []))
        if d.get("coverage") is not None:
            d["coverage"] = CoverageReport(
                tuple(
                    FileCoverage(
                        path=f["path"],
                        statements=int(f["statements"]),
                        covered=int(f["covered"]),
                        missing_lines=tuple(f["missing_lines"]),
                    )
                    for f in d["coverage"]["files"]
                )
            )
        return SuiteResult(**d)
    except (KeyError, TypeError, ValueError) as exc:
        raise ToolError(f"malformed suite result: {type(exc).__name__}: {exc}") from None


def suite_result_to_json(result: SuiteResult) -> str:
    return json.dumps(suite_result_to_dict(result), indent=1)  # key order kept: counts keep theirs


def suite_result_from_json(text: str) -> SuiteResult:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ToolError(f"malformed suite result: not JSON ({exc})") from None
    return suite_result_from_dict(data)


def write_suite_result(result: SuiteResult, out_dir: str | Path) -> Path:
    """Write ``result`` as ``<out_dir>/result.json`` atomically (a reader sees the whole file or none)."""
    path = Path(out_dir) / RESULT_FILE
    tmp = path.with_name(f".{RESULT_FILE}.{os.getpid()}.tmp")
    tmp.write_text(suite_result_to_json(result), encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_suite_result(out_dir: str | Path) -> SuiteResult:
    """The suite result in ``<out_dir>/result.json``; a :class:`~assay.errors.ToolError` when there is none
    (the container died before writing it) or it cannot be read."""
    path = Path(out_dir) / RESULT_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ToolError(f"no {RESULT_FILE} in {path.parent}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ToolError(f"cannot read {path}: {exc}") from None
    try:
        return suite_result_from_json(text)
    except ToolError as exc:
        raise ToolError(f"{path}: {exc}") from None
