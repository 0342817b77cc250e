"""Bandit (Python SAST) as a subprocess into a :class:`~.model.ScanReport` (scanner ``bandit``).

``python -m bandit -r <paths> -f json -o <work_dir>/bandit.json -x <exclude> --confidence-level <min>``
runs with Assay's own interpreter from the scanned root, through :func:`assay.process.run_command`. Exit
1 with results is bandit's "issues found"; any other non-zero exit, or no readable report, is a
:class:`ToolError`.

Bandit quotes the offending source in each result's ``code`` and, for the hard-coded password tests
(B105, B106, B107), the password itself in ``issue_text``. Neither reaches a finding, and the JSON file
left in the work dir is rewritten without them.

An entry of ``exclude`` without a slash or glob character is a directory or file *name* anywhere in the
tree (``tests`` → ``tests/*``, ``*/tests/*``, ``*/tests``): bandit's own matching of a plain string is a
substring test, which would make ``.git`` exclude ``.github``.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from assay.engines.security.config import BanditConfig
from assay.engines.security.model import SEVERITIES, ScanFinding, ScanReport
from assay.errors import ConfigError, ToolError
from assay.process import run_command, target_env

__all__ = ["bandit_exclude_patterns", "parse_bandit_report", "redact_bandit_report", "run_bandit"]

TOOL = "bandit"
#: tests whose issue_text quotes the hard-coded secret ("Possible hardcoded password: 'hunter2'")
_QUOTES_SECRET = frozenset({"B105", "B106", "B107"})
_QUOTED = re.compile(r"""(['"]).*?\1""")
_VERSION = re.compile(r"bandit\S*\s+(\d+\.\d+(?:\.\d+)?)")


def bandit_exclude_patterns(exclude: list[str]) -> list[str]:
    """``-x`` patterns for ``exclude``: a plain name becomes that directory or file anywhere in the tree."""
    out: list[str] = []
    for entry in exclude:
        entry = entry.strip().rstrip("/")
        if not entry:
            continue
        if "/" in entry or any(c in entry for c in "*?["):
            out.append(entry)
        else:
            out += [f"{entry}/*", f"*/{entry}/*", f"*/{entry}"]
    return out


def _safe_title(test_id: str, text: str) -> str:
    if test_id in _QUOTES_SECRET:
        return _QUOTED.sub("'***'", text.split(":", 1)[0] if ":" in text else text).strip()
    return text


def redact_bandit_report(data: dict[str, Any]) -> dict[str, Any]:
    """The report without the quoted source (``code``) of each result and with the hard-coded password
    tests' ``issue_text`` cut before the quoted value. Changes ``data``."""
    for r in data.get("results") or []:
        r.pop("code", None)
        test_id = str(r.get("test_id") or "")
        if "issue_text" in r:
            r["issue_text"] = _safe_title(test_id, str(r["issue_text"]))
    return data


def _rel(filename: str, root: Path) -> str:
    p = Path(filename)
    if p.is_absolute():
        try:
            p = p.relative_to(root)
        except ValueError:
            pass
    return os.path.normpath(p.as_posix()).replace(os.sep, "/")


def parse_bandit_report(data: dict[str, Any], root: Path) -> tuple[list[ScanFinding], int, list[dict[str, str]]]:
    """Bandit's JSON → (findings, files scanned, files it could not parse). Locations are relative to
    ``root``; the fingerprint key is the occurrence index of the rule in the file (by line)."""
    if not isinstance(data, dict) or "results" not in data:
        raise ToolError("the bandit report is not a JSON object with results")
    results = sorted(
        data.get("results") or [],
        key=lambda r: (_rel(str(r.get("filename", "")), root), r.get("line_number") or 0, r.get("col_offset") or 0),
    )
    seen: Counter[tuple[str, str]] = Counter()
    findings: list[ScanFinding] = []
    for r in results:
        location = _rel(str(r.get("filename", "")), root)
        test_id = str(r.get("test_id") or "unknown")
        index = seen[(test_id, location)]
        seen[(test_id, location)] += 1
        cwe = r.get("issue_cwe") or {}
        detail = {
            "confidence": r.get("issue_confidence"),
            "cwe": cwe.get("id") if isinstance(cwe, dict) else cwe,
            "test_name": r.get("test_name"),
            "more_info": r.get("more_info"),
        }
        findings.append(
            ScanFinding(
                tool=TOOL,
                category="code",
                rule_id=test_id,
                severity=r.get("issue_severity"),
                title=_safe_title(test_id, str(r.get("issue_text") or test_id)),
                location=location,
                line=r.get("line_number"),
                fingerprint_key=str(index),
                detail={k: v for k, v in detail.items() if v not in (None, "")},
            )
        )
    errors = [
        {"file": _rel(str(e.get("filename", "")), root), "reason": str(e.get("reason", ""))}
        for e in data.get("errors") or []
    ]
    unparsed = {e["file"] for e in errors}
    metrics = data.get("metrics") or {}
    files = {_rel(k, root) for k in metrics if k != "_totals"}
    return findings, len(files - unparsed), errors


def _tool_version() -> str | None:
    try:
        from importlib.metadata import version

        return version("bandit")
    except Exception:  # noqa: BLE001 - the version is informative only
        return None


def run_bandit(root: Path, cfg: BanditConfig, work_dir: Path) -> ScanReport:
    """Bandit over ``cfg.paths`` (relative to ``root``, inside it) minus ``cfg.exclude``, at
    ``cfg.min_confidence`` or above. ``scanned`` is the number of Python files bandit parsed; files it could
    not parse are listed in ``summary["errors"]``; a run that parsed no Python file at all is an error."""
    started = time.monotonic()
    root = Path(root).resolve()
    if not root.is_dir():
        raise ConfigError(f"bandit scan root {str(root)!r} is not a directory")
    paths: list[str] = []
    for p in cfg.paths:
        resolved = (root / p).resolve()
        if not (resolved == root or resolved.is_relative_to(root)):
            raise ConfigError(f"security.bandit.paths entry {p!r} resolves outside the scanned root {root}")
        if not resolved.exists():
            raise ConfigError(f"security.bandit.paths entry {p!r} does not exist under {root}")
        paths.append(os.path.relpath(resolved, root))
    if not paths:
        raise ConfigError("security.bandit.paths is empty")
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    raw = work_dir / "bandit.raw.json"
    out = work_dir / "bandit.json"
    log = work_dir / "bandit.log"
    for f in (raw, out):
        f.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "bandit", "-r", *paths, "-f", "json", "-o", str(raw), "-q"]
    excludes = bandit_exclude_patterns(cfg.exclude)
    if excludes:
        argv += ["-x", ",".join(excludes)]
    argv += ["--confidence-level", cfg.min_confidence.lower()]
    res = run_command(argv, cwd=root, timeout_s=cfg.timeout_s, log_path=log, env=target_env())
    try:
        if res.timed_out:
            raise ToolError(
                f"bandit exceeded security.bandit.timeout_s={cfg.timeout_s:g} s; its process group was killed "
                f"(log {log})"
            )
        if res.returncode not in (0, 1) or not raw.is_file() or raw.stat().st_size == 0:
            raise ToolError(
                f"bandit exited with code {res.returncode} without a report; log {log}:\n"
                f"{res.output_tail[-2000:].strip()}"
            )
        try:
            data = json.loads(raw.read_bytes())
        except ValueError as exc:
            raise ToolError(f"bandit wrote a report that is not JSON ({exc}); log {log}") from None
        if not isinstance(data, dict):
            raise ToolError(f"bandit wrote JSON that is not a report; log {log}")
        data = redact_bandit_report(data)
        tmp = out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, out)
    finally:
        raw.unlink(missing_ok=True)  # bandit's own file quotes source, passwords included
    findings, scanned, parse_errors = parse_bandit_report(data, root)
    errors: list[str] = []
    if scanned == 0:
        errors.append(
            f"bandit examined no Python file under {root} (paths {cfg.paths}, exclude {cfg.exclude}"
            f"{f', {len(parse_errors)} it could not parse' if parse_errors else ''}): a scan that looked at "
            "nothing is not clean"
        )
    totals = (data.get("metrics") or {}).get("_totals") or {}
    by_sev = Counter(f.severity for f in findings)
    summary = {
        "findings": len(findings),
        "by_category": {"code": len(findings)} if findings else {},
        "by_severity": {s: by_sev[s] for s in SEVERITIES if by_sev[s]},
        "by_rule": dict(sorted(Counter(f.rule_id for f in findings).items())),
        "files": scanned,
        "loc": totals.get("loc"),
        "nosec": totals.get("nosec"),  # lines the target marked `# nosec`
        # bandit reads a `.bandit` INI (skips, tests, exclude) in each target path: the target's own say
        "target_ini": sorted(p for p in paths if (root / p / ".bandit").is_file()),
        "skipped_tests": totals.get("skipped_tests"),
        "errors": parse_errors,
        "paths": cfg.paths,
        "exclude": cfg.exclude,
        "min_confidence": cfg.min_confidence,
        "artefact": str(out),
        "log_path": str(log),
        "target": str(root),
    }
    return ScanReport(
        scanner="bandit",
        tool=TOOL,
        tool_version=_tool_version(),
        findings=findings,
        scanned=scanned,
        duration_s=time.monotonic() - started,
        report_path=str(out),
        errors=errors,
        summary=summary,
    )
