"""Parse coverage.py's JSON report (``--cov-report=json``) into line-coverage figures."""

from __future__ import annotations

import json
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from assay.errors import ToolError


@dataclass(frozen=True)
class FileCoverage:
    path: str
    statements: int
    covered: int
    missing_lines: tuple[int, ...]

    @property
    def percent(self) -> float:
        return 100.0 if self.statements == 0 else 100.0 * self.covered / self.statements


@dataclass(frozen=True)
class CoverageReport:
    files: tuple[FileCoverage, ...]

    @property
    def statements(self) -> int:
        return sum(f.statements for f in self.files)

    @property
    def covered(self) -> int:
        return sum(f.covered for f in self.files)

    @property
    def line_percent(self) -> float:
        """Line coverage over all measured files (branches excluded, as the gates are in lines)."""
        return 100.0 if self.statements == 0 else 100.0 * self.covered / self.statements

    def matching(self, pattern: str) -> tuple[FileCoverage, ...]:
        return tuple(f for f in self.files if fnmatch(f.path, pattern))


def _repo_relative(name: str, root: Path | None) -> str:
    name = name.replace("\\", "/")
    if root is not None and Path(name).is_absolute():
        try:
            return Path(name).resolve().relative_to(root).as_posix()
        except (ValueError, OSError):
            return name
    return name


def parse_coverage_json(path: str | Path, *, root: str | Path | None = None) -> CoverageReport:
    """Read coverage.py's JSON report. With ``root`` (the checkout the suite ran in), a file measured inside
    it is named relative to it (``src/pkg/x.py``), as ``critical_paths`` patterns expect."""
    p = Path(path)
    base = Path(root).resolve() if root is not None else None
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ToolError(f"the test run wrote no coverage JSON at {p}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ToolError(f"coverage JSON at {p} is malformed: {exc}") from None
    try:
        files = tuple(
            FileCoverage(
                path=_repo_relative(name, base),
                statements=int(entry["summary"]["num_statements"]),
                covered=int(entry["summary"]["covered_lines"]),
                missing_lines=tuple(entry.get("missing_lines", ())),
            )
            for name, entry in sorted(data["files"].items())
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ToolError(f"coverage JSON at {p} lacks expected field {exc}") from None
    return CoverageReport(files)
