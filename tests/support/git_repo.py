"""Real git repositories for tests: commit a fixture folder as a repository, commit what changed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".coverage", ".coverage.*")
_AUTHOR = ["-c", "user.name=Assay tests", "-c", "user.email=tests@assay.invalid", "-c", "commit.gpgsign=false"]


def git(args: list[str], repo: Path) -> str:
    """Run git in ``repo``; its stdout, or an AssertionError carrying git's own message."""
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"git {' '.join(args)} in {repo} failed: {proc.stderr.strip()}"
    return proc.stdout


def commit_all(repo: Path, message: str) -> str:
    """Commit every change in ``repo`` (if any) and return the head sha."""
    git(["add", "-A"], repo)
    if git(["status", "--porcelain"], repo).strip():
        git([*_AUTHOR, "commit", "-q", "-m", message], repo)
    return git(["rev-parse", "HEAD"], repo).strip()


def commit_folder(repo: Path, source: Path, message: str = "fixture") -> str:
    """Copy ``source`` into the git repository ``repo`` (made on ``main`` if absent), commit, return the sha."""
    if not (repo / ".git").exists():
        repo.mkdir(parents=True, exist_ok=True)
        git(["init", "-q", "-b", "main"], repo)
    shutil.copytree(source, repo, ignore=_IGNORE, dirs_exist_ok=True)
    return commit_all(repo, message)
