"""Validate what a person, a webhook or the commit watcher asked ``assay_per_commit`` to test.

Runs before any subprocess: the target must be configured, a sha is 7-40 hex characters, a branch is
a safe git ref name (no shell metacharacters, no ``..``, no leading ``-``). Every problem is listed in
one ConfigError so the person fixing the trigger sees all of them at once.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from assay.errors import ConfigError

SHA_RE = re.compile(r"[0-9a-fA-F]{7,40}")
BRANCH_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}")


@dataclass(frozen=True)
class CommitRequest:
    target: str
    sha: str | None
    branch: str | None

    def as_dict(self) -> dict[str, str | None]:
        return {"target": self.target, "sha": self.sha, "branch": self.branch}


def branch_problem(branch: str) -> str | None:
    """Why ``branch`` is not a safe ref name, or None when it is."""
    if not BRANCH_RE.fullmatch(branch):
        return "may only contain letters, digits, '.', '_', '-', '/' and must not start with '-', '.' or '/'"
    if ".." in branch or "//" in branch or "/." in branch:
        return "must not contain '..', '//' or a component starting with '.'"
    if branch.endswith(("/", ".", ".lock")):
        return "must not end with '/', '.' or '.lock'"
    return None


def _text(params: Mapping[str, Any], key: str) -> str | None:
    value = params.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"param {key!r} must be a string, got {type(value).__name__}")
    return value.strip(" \t") or None


def validate_commit_request(targets: Collection[str], params: Mapping[str, Any]) -> CommitRequest:
    """The request in ``params`` (target, sha, branch), or one ConfigError listing every problem;
    ``targets``: the configured target names (the config's ``targets`` mapping will do)."""
    problems: list[str] = []
    try:
        target, sha, branch = _text(params, "target"), _text(params, "sha"), _text(params, "branch")
    except ConfigError as exc:
        raise ConfigError(f"invalid run parameters: {exc}") from None
    if target is None:
        problems.append("'target' is required: one of " + ", ".join(sorted(targets)))
    elif target not in targets:
        problems.append(f"target {target!r} is not configured; configured targets: {', '.join(sorted(targets))}")
    if sha is not None and not SHA_RE.fullmatch(sha):
        problems.append(f"sha {sha!r} must be 7 to 40 hexadecimal characters")
    if branch is not None and (why := branch_problem(branch)):
        problems.append(f"branch {branch!r} {why}")
    if sha is None and branch is None:
        problems.append("give a commit 'sha', a 'branch', or both")
    if problems:
        raise ConfigError("invalid run parameters:\n  " + "\n  ".join(problems))
    return CommitRequest(target=target, sha=sha.lower() if sha else None, branch=branch)  # type: ignore[arg-type]
