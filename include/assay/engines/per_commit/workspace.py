"""Check out an exact commit of a target into an isolated workspace.

One bare mirror per target (``<root>/mirrors/<target>.git``), refreshed with ``git fetch``; one
detached worktree per commit sha (``<root>/worktrees/<target>/<sha>``), reused when the same commit
runs again. A file lock per target serialises mirror updates and worktree changes between parallel
tasks on one worker.

git runs through :func:`assay.process.run_command`: its own process group, a timeout, and the whole group
killed on timeout (a hung credential helper or ssh dies with it). It never prompts: no terminal, no
askpass, ssh in batch mode. Errors keep git's own stderr, with credentials in URLs masked, and say
whether a retry can help (a host that timed out: yes; a repository or commit that does not exist: no).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from assay.errors import ConfigError, TargetError
from assay.process import run_command
from assay.redaction import strip_url_credentials

GIT_TIMEOUT_S = 300
#: the ref namespaces of pull (merge) requests a mirror fetches; testable only with testable_refs.pull_requests
PULL_REQUEST_NAMESPACES = ("refs/pull/", "refs/merge-requests/")
#: a pull-request ref given as the run's branch (``pull/12/head``, ``merge-requests/7/head``)
PULL_REQUEST_REF = re.compile(r"(?:pull|merge-requests)/[0-9]+/(?:head|merge)")
KEEP_WORKTREES = 20
STDERR_CHARS = 2000

# git has no machine-readable error codes: its stderr decides whether a retry can help. Transient causes
# are checked first ("Could not read from remote repository" follows both a timeout and a refused key).
_TRANSIENT = re.compile(
    r"timed out|could not resolve host|connection (refused|reset|closed)|temporar(il)?y|early eof|rpc failed"
    r"|network is unreachable|hung up unexpectedly|ssl|gnutls|tls|http[/ ]?\S* 5\d\d|\b50[234]\b|try again",
    re.IGNORECASE,
)
_PERMANENT = re.compile(
    r"does not exist|not found|could not read username|authentication failed|permission denied"
    r"|not a git repository|invalid username|access denied|unknown revision|bad object",
    re.IGNORECASE,
)


class GitError(TargetError):
    """git failed: ``returncode`` (None when it timed out) and its stderr are kept for the caller."""

    def __init__(self, message: str, *, returncode: int | None, stderr: str, retryable: bool) -> None:
        super().__init__(message, retryable=retryable)
        self.returncode = returncode
        self.stderr = stderr


def git_env() -> dict[str, str]:
    """The environment git runs with: never prompts for anything, C locale for stable messages."""
    env = dict(os.environ) | {
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "/bin/true",
        "SSH_ASKPASS": "/bin/true",
        "GCM_INTERACTIVE": "never",
        "LC_ALL": "C",
    }
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    return env


def _command_name(args: Sequence[str]) -> str:
    it = iter(args)
    for arg in it:
        if arg == "-c":
            next(it, None)
        elif not arg.startswith("-"):
            return arg
    return "?"


def error_is_retryable(stderr: str) -> bool:
    """Whether the failure git described could go away on its own (a network fault) or not."""
    if _TRANSIENT.search(stderr):
        return True
    return not _PERMANENT.search(stderr)


def git(args: Sequence[str], *, cwd: Path | None = None, timeout_s: float = GIT_TIMEOUT_S) -> str:
    """Run git with ``args`` (no shell); return stdout or raise TargetError with git's own message."""
    name = _command_name(args)
    with tempfile.TemporaryDirectory(prefix="assay-git-") as tmp:
        out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
        res = run_command(
            ["git", *args],
            cwd=cwd or os.getcwd(),
            timeout_s=timeout_s,
            log_path=out,
            stderr_path=err,
            env=git_env(),
            grace_s=2.0,
        )
        stdout = out.read_text(encoding="utf-8", errors="replace")
        stderr = err.read_text(encoding="utf-8", errors="replace").strip()
    if res.timed_out:
        raise GitError(
            f"git {name} timed out after {timeout_s:.0f} s; its process group was killed",
            returncode=None,
            stderr=strip_url_credentials(stderr),
            retryable=True,
        )
    if res.returncode != 0:
        said = strip_url_credentials((stderr or stdout.strip())[-STDERR_CHARS:]) or "(no output)"
        raise GitError(
            f"git {name} failed (exit {res.returncode}): {said}",
            returncode=res.returncode,
            stderr=said,
            retryable=error_is_retryable(said),
        )
    return stdout


def _is_local_path(repo: str) -> bool:
    """A repository given as a path (not ``scheme://...`` nor scp-like ``host:path``)."""
    if "://" in repo:
        return False
    head = repo.split("/", 1)[0]
    return not (":" in head and not re.fullmatch(r"[A-Za-z]:", head))


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
    # stdout only (stderr is kept apart), but skip anything that is not "<sha>\t<ref>"
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
        """Create or refresh the bare mirror of ``repo``.

        A repository that does not exist (or refuses the worker's credentials) is a final TargetError; a
        fetch that timed out or a host that did not answer is a retryable one."""
        mirror = self._mirror_path(target)
        shown = strip_url_credentials(repo)
        if _is_local_path(repo) and not Path(repo).expanduser().exists():
            raise TargetError(f"cannot clone target repository {shown!r}: the path does not exist", retryable=False)
        with self._lock(target):
            if (mirror / "HEAD").exists():
                git(["remote", "set-url", "origin", repo], cwd=mirror)
                try:
                    git(["fetch", "--prune", "--quiet", "origin"], cwd=mirror)
                except TargetError as exc:
                    raise TargetError(
                        f"cannot fetch target repository {shown!r}: {exc}", retryable=exc.retryable
                    ) from None
            else:
                if mirror.exists():
                    shutil.rmtree(mirror)
                mirror.parent.mkdir(parents=True, exist_ok=True)
                try:
                    git(["clone", "--mirror", "--quiet", "--", repo, str(mirror)])
                except TargetError as exc:
                    shutil.rmtree(mirror, ignore_errors=True)
                    raise TargetError(
                        f"cannot clone target repository {shown!r}: {exc}", retryable=exc.retryable
                    ) from None
        return mirror

    def resolve(self, target: str, *, sha: str | None, branch: str | None) -> str:
        """Full 40-character sha for the requested commit (or the branch head when no sha)."""
        mirror = self._mirror_path(target)
        if sha:
            try:
                return git(["rev-parse", "--verify", "--quiet", f"{sha}^{{commit}}"], cwd=mirror).strip()
            except GitError as exc:
                if exc.returncode != 1:  # --verify --quiet: exit 1 and silence when the object is missing
                    raise
                raise TargetError(f"commit {sha} does not exist in target {target!r}", retryable=False) from None
        if branch:
            ref = f"refs/{branch}" if PULL_REQUEST_REF.fullmatch(branch) else f"refs/heads/{branch}"
            try:
                return git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=mirror).strip()
            except GitError as exc:
                if exc.returncode != 1:
                    raise
                raise TargetError(f"branch {branch!r} does not exist in target {target!r}", retryable=False) from None
        raise TargetError("neither a commit sha nor a branch was given", retryable=False)

    def ensure_testable(
        self,
        target: str,
        sha: str,
        *,
        branch: str | None,
        watch_branches: Sequence[str],
        pull_requests: bool = False,
    ) -> str:
        """Refuse a commit the target's ``testable_refs`` do not allow; return the ref that contains it.

        A commit may be tested when a watched branch of the mirror contains it (``git for-each-ref
        --contains``) or, with ``pull_requests``, a pull-request ref (``refs/pull/*``, ``refs/merge-requests/*``;
        a mirror fetches every ref). ``branch`` (what the run asked for, if anything) must be a watched branch or,
        with ``pull_requests``, a pull-request ref such as ``pull/12/head``. Anything else is a ConfigError: a
        retry cannot change it, and running code nobody merged or proposed is what the policy prevents."""
        mirror = self._mirror_path(target)
        watched = ", ".join(watch_branches) or "none"
        hint = "" if pull_requests else "; set testable_refs.pull_requests: true to test pull-request refs"
        if branch is not None and branch not in watch_branches:
            if not (pull_requests and PULL_REQUEST_REF.fullmatch(branch)):
                raise ConfigError(f"branch {branch!r} is not a watched branch of target {target!r} [{watched}]{hint}")
        allowed = {f"refs/heads/{b}" for b in watch_branches}
        patterns = sorted(allowed) + (list(PULL_REQUEST_NAMESPACES) if pull_requests else [])
        if not patterns:
            raise ConfigError(f"target {target!r} watches no branch: no commit of it may be tested")
        out = git(["for-each-ref", "--contains", sha, "--format=%(refname)", "--", *patterns], cwd=mirror)
        refs = [r for r in out.split() if r in allowed or (pull_requests and r.startswith(PULL_REQUEST_NAMESPACES))]
        if not refs:
            where = "watched branches" + (" or pull-request refs" if pull_requests else "")
            raise ConfigError(f"commit {sha} is not reachable from {where} [{watched}] of target {target!r}{hint}")
        return refs[0]

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
