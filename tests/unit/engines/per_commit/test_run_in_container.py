"""The container entry point (``python -m assay.engines.per_commit.run_in_container``) run for real as a
subprocess on a commit of a generated git repository, compared with the same suite run in-process; and the
JSON round trip of a SuiteResult, field by field."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.git_repo import commit_folder

from assay.engines.per_commit.config import CommitTargetConfig
from assay.engines.per_commit.coverage import CoverageReport, FileCoverage
from assay.engines.per_commit.pytest_suite import SuiteResult
from assay.engines.per_commit.reportlog import CollectionError
from assay.engines.per_commit.result_json import (
    RESULT_FILE,
    read_suite_result,
    suite_result_from_json,
    suite_result_to_dict,
    suite_result_to_json,
)
from assay.engines.per_commit.run_in_container import container_argv, write_target_config
from assay.engines.per_commit.suite import run_commit_suite
from assay.errors import ToolError
from assay.status import Status
from assay.store.records import CheckRecord, FindingRecord, TestCaseRecord

INCLUDE = Path(__file__).resolve().parents[4] / "include"


@pytest.fixture
def commit(tmp_path, fixtures_dir):
    """The sample suite (passing, failing, erroring and skipped tests; coverage of ``calc``) as a git commit."""
    repo = tmp_path / "repo"
    sha = commit_folder(repo, fixtures_dir / "sample_suite")
    target = CommitTargetConfig(
        repo=str(repo),
        python="worker",
        source="calc",
        suites={"unit": {"marker": "unit and not slow", "timeout_s": 120}},
    )
    return repo, sha, target


def run_entry_point(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """The entry point as a container runs it: a fresh interpreter, nothing of this process's environment but
    the interpreter's own path."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(INCLUDE), "HOME": str(cwd)}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def comparable(result: SuiteResult) -> dict:
    """What must be the same whichever process ran the suite (not timings, paths or durations)."""
    return {
        "name": result.name,
        "kind": result.kind,
        "status": result.status,
        "message": result.message,
        "counts": result.counts,
        "exit_code": result.exit_code,
        "retryable": result.retryable,
        "test_cases": [(c.node_id, c.outcome, c.message) for c in result.test_cases],
        "coverage": result.coverage,
        "collection_errors": result.collection_errors,
        "metrics": sorted((m.name, m.value, tuple(sorted(m.labels.items()))) for m in result.metrics if m.unit != "s"),
    }


def test_the_entry_point_writes_the_result_an_in_process_run_gives(commit, tmp_path):
    repo, _sha, target = commit
    local = run_commit_suite(
        target_name="sample",
        target=target,
        suite_name="unit",
        worktree=repo,
        envs_root=tmp_path / "envs",
        out_dir=tmp_path / "local-out",
    )
    out = tmp_path / "container-out"
    config = write_target_config(target, out)
    argv = container_argv(
        sys.executable, target="sample", suite="unit", worktree=repo, envs_root=tmp_path / "envs", out_dir=out
    )
    proc = run_entry_point(argv, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "suite unit: FAIL" in proc.stdout  # the verdict is in the file, not the exit status

    contained = read_suite_result(out)
    assert local.status is Status.FAIL and local.coverage is not None  # the comparison has substance
    assert comparable(contained) == comparable(local)
    assert contained.details["python"] == sys.executable
    assert contained.log_path == str(out / "pytest.log")
    assert {"reportlog.jsonl", "coverage.json", "pytest.log", RESULT_FILE} <= {p.name for p in out.iterdir()}
    assert config == out / "target.json"
    # the file is exactly the result's JSON: reading and writing it again changes nothing
    assert suite_result_to_json(contained) == (out / RESULT_FILE).read_text()


def test_an_in_process_result_survives_the_json_round_trip_exactly(commit, tmp_path):
    repo, _sha, target = commit
    local = run_commit_suite(
        target_name="sample",
        target=target,
        suite_name="unit",
        worktree=repo,
        envs_root=tmp_path / "envs",
        out_dir=tmp_path / "out",
    )
    back = suite_result_from_json(suite_result_to_json(local))
    assert back == local  # every field, the derived metrics and summary included
    assert back.summary == local.summary and back.metrics == local.metrics


def test_every_field_goes_through_the_json_including_the_rarely_set_ones():
    started = datetime(2026, 12, 7, 10, 0, 0, 123456, tzinfo=UTC)
    result = SuiteResult(
        name="unit",
        status=Status.ERROR,
        message="collection failed: SyntaxError in tests/test_x.py:12",
        started_at=started,
        finished_at=started + timedelta(seconds=3.5),
        test_cases=[TestCaseRecord("tests/test_x.py", "error", 0.0, "collection error: bad syntax")],
        counts={"passed": 0, "failed": 0, "error": 1, "skipped": 0, "xfailed": 0, "xpassed": 0, "total": 1},
        collection_errors=(CollectionError("tests/test_x.py", "SyntaxError", "tests/test_x.py", 12, "bad"),),
        coverage=CoverageReport((FileCoverage("calc/__init__.py", 8, 7, (12,)),)),
        exit_code=2,
        log_path="/x/pytest.log",
        details={"argv": ["python", "-m", "pytest"], "environment_rebuilt": "because"},
        retryable=False,
        checks=[CheckRecord("gate", "FAIL", 1.0, 2.0, ">=", message="low")],
        findings=[FindingRecord("pytest", "R1", "high", evidence={"a": 1}, first_seen_at=started)],
    )
    data = json.loads(suite_result_to_json(result))
    assert data["format"] == "assay.suite_result/1" and "metrics" not in data and "summary" not in data
    assert suite_result_from_json(suite_result_to_json(result)) == result
    assert set(suite_result_to_dict(result)) >= {"retryable", "collection_errors", "coverage", "exit_code", "details"}


@pytest.mark.parametrize(
    "text, message",
    [
        ("not json", "not JSON"),
        ('{"format": "something/9"}', "not a suite result"),
        ('{"format": "assay.suite_result/1", "name": "unit"}', "malformed suite result"),
    ],
)
def test_a_bad_result_file_is_a_tool_error(tmp_path, text, message):
    (tmp_path / RESULT_FILE).write_text(text)
    with pytest.raises(ToolError, match=message):
        read_suite_result(tmp_path)


def test_no_result_file_is_a_retryable_tool_error(tmp_path):
    with pytest.raises(ToolError, match="no result.json") as err:
        read_suite_result(tmp_path)
    assert err.value.retryable


def test_an_unreadable_target_config_is_a_final_error_result_still_written(commit, tmp_path):
    repo, _sha, _target = commit
    out = tmp_path / "out"
    argv = container_argv(
        sys.executable, target="sample", suite="unit", worktree=repo, envs_root=tmp_path / "envs", out_dir=out
    )
    proc = run_entry_point(argv, tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = read_suite_result(out)
    assert result.status is Status.ERROR and not result.retryable
    assert "cannot read the target config" in result.message


def test_the_target_config_the_container_reads_carries_no_repository_credentials(tmp_path):
    target = CommitTargetConfig(repo="https://ci-bot:s3cr3t-token@git.example/acme/x.git", python="worker")
    path = write_target_config(target, tmp_path)
    assert "s3cr3t" not in path.read_text()
    back = json.loads(path.read_text())
    assert back["repo"] == "https://***@git.example/acme/x.git"
    assert CommitTargetConfig.model_validate(back).suites == target.suites  # the rest as configured
