"""A target's ``chaos`` section: which experiment files run, where they are found, and how.

``{experiments_dir, experiments: [...], workers: {experiment: n}, timeout_s, env}``; an experiment is
named by ``<experiments_dir>/<name>.json`` or given as a file path. Standard library only: ``assay.config``
validates the section with it when the config is loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

CHAOS_KEYS = ("experiments_dir", "experiments", "timeout_s", "env", "workers")


def validate_chaos_section(value: Mapping[str, Any]) -> Mapping[str, Any]:
    """``value`` itself, or ``ValueError`` naming an unknown key or an experiment that is not a file."""
    unknown = sorted(set(value) - set(CHAOS_KEYS))
    if unknown:
        raise ValueError(f"unknown key(s) {unknown}; allowed: {', '.join(CHAOS_KEYS)}")
    directory = value.get("experiments_dir")
    for name in value.get("experiments") or []:
        if not experiment_path(value, name).is_file():
            where = f"in {directory} (chaos.experiments_dir)" if directory else "named by chaos.experiments_dir"
            raise ValueError(f"chaos experiment {name!r} is neither {where} nor a file")
    return value


def experiment_path(chaos: Mapping[str, Any], name: str) -> Path:
    """``<chaos.experiments_dir>/<name>.json`` when that file exists, else ``name`` itself as a path."""
    directory = chaos.get("experiments_dir")
    if directory:
        named = Path(directory) / f"{name}.json"
        if named.is_file():
            return named
    return Path(name)
