"""Make (or refresh) the git repository of the bundled demo platform, the default target.

``include/demo_platform`` is copied into ``<dest>`` and committed on ``main``, without this ``assay/``
folder: what Assay needs to test the platform is not part of the platform, and the repository is the
target under test. Running it again commits only what changed, so re-running ``make run`` reuses the
repository and its history.

    python include/demo_platform/assay/demo_repo.py [DEST]

(default ``$ASSAY_HOME/demo-platform``, with ``include`` on ``PYTHONPATH`` as ``make`` and the image set
it) prints the head sha.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from assay.config import assay_home

HERE = Path(__file__).resolve().parent
DEMO_SOURCE = HERE.parent
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".coverage", ".coverage.*")
_AUTHOR = ["-c", "user.name=Assay demo", "-c", "user.email=demo@assay.invalid", "-c", "commit.gpgsign=false"]


def _git(args: list[str], repo: Path) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"git {args[0]} in {repo} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def _ignore(directory: str, names: list[str]) -> set[str]:
    ignored = set(_IGNORE(directory, names))
    if Path(directory).resolve() == DEMO_SOURCE:
        ignored.add(HERE.name)  # this folder: Assay's, not the platform's
    return ignored


def prepare_demo_repo(dest: str | Path | None = None) -> str:
    """Copy the demo platform into the git repository ``dest``, commit what changed, return the head sha."""
    repo = Path(dest) if dest else assay_home() / "demo-platform"
    if not (repo / ".git").exists():
        repo.mkdir(parents=True, exist_ok=True)
        _git(["init", "-q", "-b", "main"], repo)
    shutil.copytree(DEMO_SOURCE, repo, ignore=_ignore, dirs_exist_ok=True)
    _git(["add", "-A"], repo)
    if _git(["status", "--porcelain"], repo).strip():
        _git([*_AUTHOR, "commit", "-q", "-m", "Demo platform from Assay's include/demo_platform"], repo)
    return _git(["rev-parse", "HEAD"], repo).strip()


if __name__ == "__main__":
    print(prepare_demo_repo(sys.argv[1] if len(sys.argv) > 1 else None))
