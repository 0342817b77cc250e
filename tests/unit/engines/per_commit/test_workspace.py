"""Mirror, resolve and worktree against real local git repositories; git as a killable process group."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest
from support.git_repo import commit_all

from assay.engines.per_commit.workspace import GitError, GitWorkspace, error_is_retryable, ls_remote
from assay.errors import TargetError


@pytest.fixture
def origin(tmp_path):
    repo = tmp_path / "origin"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    (repo / "a.txt").write_text("one\n")
    first = commit_all(repo, "first")
    (repo / "a.txt").write_text("two\n")
    second = commit_all(repo, "second")
    return repo, first, second


def test_checkout_exact_commit_in_isolated_worktree(tmp_path, origin):
    repo, first, second = origin
    ws = GitWorkspace(tmp_path / "ws")
    ws.sync_mirror("t", str(repo))
    assert ws.resolve("t", sha=None, branch="main") == second
    assert ws.resolve("t", sha=first[:8], branch="main") == first
    tree = ws.worktree("t", first)
    assert (tree / "a.txt").read_text() == "one\n"
    assert ws.worktree("t", first) == tree  # reused
    assert (ws.worktree("t", second) / "a.txt").read_text() == "two\n"


def test_new_commits_arrive_on_sync(tmp_path, origin):
    repo, _first, _second = origin
    ws = GitWorkspace(tmp_path / "ws")
    ws.sync_mirror("t", str(repo))
    (repo / "b.txt").write_text("x")
    third = commit_all(repo, "third")
    with pytest.raises(TargetError):
        ws.resolve("t", sha=third, branch=None)
    ws.sync_mirror("t", str(repo))
    assert ws.resolve("t", sha=third, branch=None) == third


def test_unknown_sha_branch_and_repo_are_target_errors(tmp_path, origin):
    repo, *_ = origin
    ws = GitWorkspace(tmp_path / "ws")
    ws.sync_mirror("t", str(repo))
    with pytest.raises(TargetError, match="commit deadbeef does not exist in target 't'"):
        ws.resolve("t", sha="deadbeef", branch=None)
    with pytest.raises(TargetError, match="branch 'nope' does not exist"):
        ws.resolve("t", sha=None, branch="nope")
    with pytest.raises(TargetError, match="cannot clone target repository"):
        ws.sync_mirror("missing", str(tmp_path / "no-such-repo"))


def test_ls_remote_heads_and_unreachable(tmp_path, origin):
    repo, _first, second = origin
    assert ls_remote(str(repo), ["main", "absent"]) == {"main": second}
    with pytest.raises(TargetError):
        ls_remote(str(tmp_path / "nothing-here"), ["main"])


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


@pytest.mark.slow
def test_a_hung_ssh_dies_with_git_at_the_timeout_and_nothing_prompts(tmp_path, monkeypatch):
    """git's own children (ssh, a credential helper) run in git's process group and are killed with it."""
    pids = tmp_path / "ssh.pids"
    fake_ssh = tmp_path / "fake-ssh"
    fake_ssh.write_text(f"#!/bin/sh\necho $$ >> {pids}\nsleep 3600 &\necho $! >> {pids}\nwait\n")
    fake_ssh.chmod(0o755)
    monkeypatch.setenv("GIT_SSH_COMMAND", str(fake_ssh))
    started = time.monotonic()
    with pytest.raises(GitError) as err:
        ls_remote("ssh://git@example.invalid/acme/repo.git", ["main"], timeout_s=3)
    assert time.monotonic() - started < 20
    assert err.value.retryable and err.value.returncode is None
    assert "git ls-remote timed out after 3 s" in str(err.value)
    time.sleep(0.3)
    spawned = [int(p) for p in pids.read_text().split()]
    assert len(spawned) == 2 and not any(_alive(p) for p in spawned)


def test_credentials_never_reach_the_message_and_git_stderr_is_kept(tmp_path):
    with socket.socket() as s:  # a port with nothing listening: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"https://deploy:s3cr3t-TOKEN@127.0.0.1:{port}/acme/repo.git"
    ws = GitWorkspace(tmp_path / "ws")
    with pytest.raises(TargetError) as err:
        ws.sync_mirror("t", url)
    text = str(err.value)
    assert "s3cr3t-TOKEN" not in text and "deploy" not in text
    assert f"https://***@127.0.0.1:{port}/acme/repo.git" in text
    assert "Failed to connect" in text or "Connection refused" in text or "Could not connect" in text  # git's words
    assert err.value.retryable  # an unreachable host may come back


def test_missing_repository_commit_and_branch_are_final_a_timeout_is_not(tmp_path, origin):
    repo, *_ = origin
    ws = GitWorkspace(tmp_path / "ws")
    with pytest.raises(TargetError) as err:
        ws.sync_mirror("missing", str(tmp_path / "no-such-repo"))
    assert err.value.retryable is False
    ws.sync_mirror("t", str(repo))
    for kwargs in ({"sha": "deadbeef", "branch": None}, {"sha": None, "branch": "nope"}):
        with pytest.raises(TargetError) as err:
            ws.resolve("t", **kwargs)
        assert err.value.retryable is False


@pytest.mark.parametrize(
    "stderr, retryable",
    [
        ("fatal: unable to access 'https://h/r.git/': Could not resolve host: h", True),
        ("fatal: unable to access 'https://h/r.git/': Failed to connect to h port 443: Connection timed out", True),
        ("ssh: connect to host h port 22: Connection refused\nfatal: Could not read from remote repository.", True),
        ("error: RPC failed; HTTP 502 curl 22 The requested URL returned error: 502\nfatal: early EOF", True),
        ("remote: Repository not found.\nfatal: repository 'https://github.com/acme/gone.git/' not found", False),
        ("fatal: could not read Username for 'https://github.com': terminal prompts disabled", False),
        ("git@h: Permission denied (publickey).\nfatal: Could not read from remote repository.", False),
    ],
)
def test_whether_a_retry_can_help_follows_git_stderr(stderr, retryable):
    assert error_is_retryable(stderr) is retryable


@pytest.fixture
def branches(tmp_path, origin):
    """origin with an unmerged branch ``feature`` and a pull-request ref ``refs/pull/1/head`` on it."""
    repo, first, second = origin
    subprocess.run(["git", "checkout", "-q", "-b", "feature"], cwd=repo, check=True)
    (repo / "f.txt").write_text("unmerged\n")
    feature = commit_all(repo, "feature work")
    subprocess.run(["git", "checkout", "-q", "-b", "proposal", "main"], cwd=repo, check=True)
    (repo / "p.txt").write_text("proposed\n")
    proposal = commit_all(repo, "proposed work")
    subprocess.run(["git", "update-ref", "refs/pull/1/head", proposal], cwd=repo, check=True)
    subprocess.run(["git", "checkout", "-q", "main"], cwd=repo, check=True)
    subprocess.run(["git", "branch", "-q", "-D", "proposal"], cwd=repo, check=True)  # only the PR ref has it
    ws = GitWorkspace(tmp_path / "ws")
    ws.sync_mirror("t", str(repo))  # a mirror clone fetches every ref, refs/pull/* too
    return ws, {"first": first, "second": second, "feature": feature, "proposal": proposal}


def test_commits_reachable_from_watched_branches_are_testable(branches):
    ws, sha = branches
    assert ws.ensure_testable("t", sha["second"], branch="main", watch_branches=["main"]) == "refs/heads/main"
    assert ws.ensure_testable("t", sha["first"], branch=None, watch_branches=["main"]) == "refs/heads/main"
    assert ws.ensure_testable("t", sha["feature"], branch=None, watch_branches=["main", "feature"])


def test_a_commit_on_an_unmerged_branch_is_refused(branches):
    from assay.errors import ConfigError

    ws, sha = branches
    with pytest.raises(ConfigError, match=r"commit \w{40} is not reachable from watched branches \[main\]") as info:
        ws.ensure_testable("t", sha["feature"], branch=None, watch_branches=["main"])
    assert "set testable_refs.pull_requests: true to test pull-request refs" in str(info.value)
    assert not info.value.retryable
    with pytest.raises(ConfigError, match="branch 'feature' is not a watched branch of target 't' \\[main\\]"):
        ws.ensure_testable("t", sha["feature"], branch="feature", watch_branches=["main"])


def test_pull_request_refs_are_testable_only_when_opted_in(branches):
    from assay.errors import ConfigError

    ws, sha = branches
    with pytest.raises(ConfigError, match="not reachable"):
        ws.ensure_testable("t", sha["proposal"], branch=None, watch_branches=["main"])
    with pytest.raises(ConfigError, match="branch 'pull/1/head' is not a watched branch"):
        ws.ensure_testable("t", sha["proposal"], branch="pull/1/head", watch_branches=["main"])
    assert (
        ws.ensure_testable("t", sha["proposal"], branch=None, watch_branches=["main"], pull_requests=True)
        == "refs/pull/1/head"
    )
    assert ws.resolve("t", sha=None, branch="pull/1/head") == sha["proposal"]
    assert ws.ensure_testable("t", sha["proposal"], branch="pull/1/head", watch_branches=["main"], pull_requests=True)
    with pytest.raises(ConfigError, match="not reachable from watched branches or pull-request refs"):
        ws.ensure_testable("t", sha["feature"], branch=None, watch_branches=["main"], pull_requests=True)
