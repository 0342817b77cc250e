"""Catalog and waiver-file builders for the compliance tests (test-local checks; the real checks are elsewhere)."""

from __future__ import annotations

from pathlib import Path

import yaml


def control(cid, checks=(), *, severity="high", title=None, citations=("TEST Art. 1",), mode=None):
    return {
        "id": cid,
        "title": title or f"Control {cid}",
        "description": f"what {cid} verifies",
        "citations": list(citations),
        "severity": severity,
        "mode": mode or ("automated" if checks else "manual"),
        "checks": [c if isinstance(c, dict) else {"id": c} for c in checks],
        "pass_condition": "nothing is wrong",
        "evidence_kept": {"what": "the rows read", "retention_days": 2557},
    }


def write_framework(directory: Path, name: str, controls, **top) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    data = {"framework": name, "name": f"{name.upper()} test framework", "version": "1", "controls": controls} | top
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def write_waivers(path: Path, waivers) -> Path:
    path.write_text(yaml.safe_dump({"version": 1, "waivers": list(waivers)}, sort_keys=False))
    return path
