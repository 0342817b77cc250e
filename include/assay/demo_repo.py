"""Make (or refresh) the git repository of the bundled demo platform, the default target.

``include/demo_platform`` is copied into ``<dest>`` and committed on ``main``; running it again commits
only what changed, so re-running ``make run`` reuses the repository and its history.
``python -m assay.demo_repo [DEST]`` (default ``$ASSAY_HOME/demo-platform``) prints the head sha.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from assay.config import REPO_ROOT, assay_home
from assay.engines.per_commit.workspace import git

DEMO_SOURCE = REPO_ROOT / "include" / "demo_platform"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".coverage", ".coverage.*")
_AUTHOR = ["-c", "user.name=Assay demo", "-c", "user.email=demo@assay.invalid", "-c", "commit.gpgsign=false"]


def commit_all(repo: Path, message: str) -> str:
    """Commit every change in ``repo`` (if any) and return the head sha."""
    git(["add", "-A"], cwd=repo)
    if git(["status", "--porcelain"], cwd=repo).strip():
        git([*_AUTHOR, "commit", "-q", "-m", message], cwd=repo)
    return git(["rev-parse", "HEAD"], cwd=repo).strip()


def prepare_demo_repo(dest: str | Path | None = None, source: Path = DEMO_SOURCE) -> str:
    repo = Path(dest) if dest else assay_home() / "demo-platform"
    if not (repo / ".git").exists():
        repo.mkdir(parents=True, exist_ok=True)
        git(["init", "-q", "-b", "main"], cwd=repo)
    shutil.copytree(source, repo, ignore=_IGNORE, dirs_exist_ok=True)
    return commit_all(repo, "Demo platform from Assay's include/demo_platform")


if __name__ == "__main__":
    print(prepare_demo_repo(sys.argv[1] if len(sys.argv) > 1 else None))
