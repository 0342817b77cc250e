"""Where Assay lives and keeps its working files: the checkout (``REPO_ROOT``) and ``ASSAY_HOME``.

Below the composition root (:mod:`assay.config`), so engines can find their default directories (Trivy's
cache, test-data snapshots) without importing the config; :mod:`assay.config` re-exports both names."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["REPO_ROOT", "assay_home"]

REPO_ROOT = Path(__file__).resolve().parents[2]


def assay_home() -> Path:
    """Where Assay keeps mirrors, worktrees, environments, snapshots and the outbox (``ASSAY_HOME``, default
    ``.assay`` in the checkout)."""
    return Path(os.environ.get("ASSAY_HOME") or REPO_ROOT / ".assay").resolve()
