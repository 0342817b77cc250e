"""Mirror, resolve and worktree against real local git repositories."""

from __future__ import annotations

import subprocess

import pytest

from assay.demo_repo import commit_all
from assay.engines.git_workspace import GitWorkspace, ls_remote
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
