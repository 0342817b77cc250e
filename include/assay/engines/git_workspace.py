"""Check out an exact commit of a target into an isolated workspace.

One bare mirror per target (``<root>/mirrors/<target>.git``), refreshed with ``git fetch``; one
detached worktree per commit sha (``<root>/worktrees/<target>/<sha>``), reused when the same commit
runs again. A file lock per target serialises mirror updates and worktree changes between parallel
tasks on one worker. Git never prompts (``GIT_TERMINAL_PROMPT=0``) and every call has a timeout.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from assay.errors import TargetError

GIT_TIMEOUT_S = 300
KEEP_WORKTREES = 20


def git(args: Sequence[str], *, cwd: Path | None = None, timeout_s: float = GIT_TIMEOUT_S) -> str:
    """Run git with ``args`` (no shell); return stdout or raise TargetError with git's own message."""
    env = os.environ | {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "/bin/true", "LC_ALL": "C"}
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        raise TargetError(f"git {args[0]} timed out after {timeout_s:.0f} s") from None
    if proc.returncode != 0:
        raise TargetError(f"git {args[0]} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ls_remote(repo: str, branches: Sequence[str], *, timeout_s: float = 60) -> dict[str, str]:
    """Head sha of each watched branch that exists in ``repo`` (``git ls-remote``)."""
    refs = [f"refs/heads/{b}" for b in branches]
    out = git(["ls-remote", "--", repo, *refs], timeout_s=timeout_s)
    heads: dict[str, str] = {}
    for line in out.splitlines():
        sha, _, ref = line.partition("\t")
        if ref.startswith("refs/heads/"):
            heads[ref.removeprefix("refs/heads/")] = sha
    return heads


class GitWorkspace:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _mirror_path(self, target: str) -> Path:
        return self.root / "mirrors" / f"{target}.git"

    def _lock(self, target: str):
        return _locked(self.root / "locks" / f"{target}.lock")

    def sync_mirror(self, target: str, repo: str) -> Path:
        """Create or refresh the bare mirror of ``repo``; a repo that does not exist is a TargetError."""
        mirror = self._mirror_path(target)
        with self._lock(target):
            if (mirror / "HEAD").exists():
                git(["remote", "set-url", "origin", repo], cwd=mirror)
                try:
                    git(["fetch", "--prune", "--quiet", "origin"], cwd=mirror)
                except TargetError as exc:
                    raise TargetError(f"cannot fetch target repository {repo!r}: {exc}") from None
            else:
                if mirror.exists():
                    shutil.rmtree(mirror)
                mirror.parent.mkdir(parents=True, exist_ok=True)
                try:
                    git(["clone", "--mirror", "--quiet", "--", repo, str(mirror)])
                except TargetError as exc:
                    shutil.rmtree(mirror, ignore_errors=True)
                    raise TargetError(f"cannot clone target repository {repo!r}: {exc}") from None
        return mirror

    def resolve(self, target: str, *, sha: str | None, branch: str | None) -> str:
        """Full 40-character sha for the requested commit (or the branch head when no sha)."""
        mirror = self._mirror_path(target)
        if sha:
            try:
                return git(["rev-parse", "--verify", "--quiet", f"{sha}^{{commit}}"], cwd=mirror).strip()
            except TargetError:
                raise TargetError(f"commit {sha} does not exist in target {target!r}") from None
        if branch:
            try:
                return git(["rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}"], cwd=mirror).strip()
            except TargetError:
                raise TargetError(f"branch {branch!r} does not exist in target {target!r}") from None
        raise TargetError("neither a commit sha nor a branch was given")

    def worktree(self, target: str, sha: str) -> Path:
        """A detached worktree at exactly ``sha`` (reused if it already exists and is intact)."""
        mirror = self._mirror_path(target)
        path = self.root / "worktrees" / target / sha
        with self._lock(target):
            if path.exists():
                try:
                    if git(["rev-parse", "HEAD"], cwd=path).strip() == sha:
                        os.utime(path)
                        return path
                except TargetError:
                    pass
                shutil.rmtree(path)
                git(["worktree", "prune"], cwd=mirror)
            path.parent.mkdir(parents=True, exist_ok=True)
            git(["worktree", "add", "--detach", "--force", str(path), sha], cwd=mirror)
            self._prune_old(target, mirror, keep=path)
        return path

    def _prune_old(self, target: str, mirror: Path, keep: Path) -> None:
        trees = sorted(
            (p for p in (self.root / "worktrees" / target).iterdir() if p.is_dir() and p != keep),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        for old in trees[KEEP_WORKTREES - 1 :]:
            shutil.rmtree(old, ignore_errors=True)
        if len(trees) >= KEEP_WORKTREES:
            git(["worktree", "prune"], cwd=mirror)
