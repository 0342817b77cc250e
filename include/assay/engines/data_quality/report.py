"""An HTML report of one data-quality result, rendered with Jinja2 (autoescaped) from a template file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from assay.engines.data_quality.result import DataQualityResult
from assay.status import Status

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE = "data_quality_report.html.j2"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["compact_json"] = _compact_json
    return env


def _compact_json(value: Any, limit: int = 400) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str, separators=(", ", ": "))
    return text if len(text) <= limit else text[:limit] + "…"


def render_report(result: DataQualityResult) -> str:
    """The report as an HTML string; data values are escaped, never trusted as markup."""
    order = {Status.ERROR: 0, Status.FAIL: 1, Status.WARN: 2, Status.SKIP: 3, Status.PASS: 4}
    rows = [{"name": n, "o": o} for n, o in zip(result.check_names(), result.outcomes, strict=True)]
    problems = sorted(
        (r for r in rows if r["o"].status in (Status.ERROR, Status.FAIL, Status.WARN)),
        key=lambda r: order[r["o"].status],
    )
    summary = result.summary | {
        "status": result.status.value,
        "message": result.message,
        "started_at": result.started_at.isoformat(),
        "duration_s": round(result.duration_s, 3),
    }
    return _environment().get_template(TEMPLATE).render(result=result, summary=summary, rows=rows, problems=problems)


def write_report(result: DataQualityResult, path: str | Path) -> Path:
    """Render and write the report (parent directories are created); returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(result), encoding="utf-8")
    return out
