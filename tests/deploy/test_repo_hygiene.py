"""Tools' logs stay out of the tree: none is tracked, git ignores them, and chaostoolkit, run as the
chaos engine runs it, writes its log into the task's work directory, not wherever it was started."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def tracked() -> list[str]:
    if shutil.which("git") is None or git("rev-parse", "--git-dir").returncode != 0:
        pytest.skip("not a git checkout")
    return git("ls-files").stdout.splitlines()


def test_no_tool_log_is_tracked(tracked):
    logs = [
        p
        for p in tracked
        if not p.startswith("tests/fixtures/")  # recorded tool outputs are fixtures
        and (p.endswith(".log") or Path(p).name == ".mutmut-cache" or p.startswith("mutants/"))
    ]
    assert logs == []


@pytest.mark.parametrize(
    "path",
    [
        "chaostoolkit.log",
        "include/demo_platform/chaostoolkit.log",
        "x/mutmut-run.log",
        "mutants/a.py",
        ".assay/standalone.pid",
    ],
)
def test_git_ignores_tool_output(tracked, path):
    assert git("check-ignore", "-q", "--no-index", path).returncode == 0, f"{path} is not ignored"


def test_chaostoolkit_writes_its_log_into_the_work_dir(tmp_path, monkeypatch):
    """A real `chaos run` from a directory that is not the work dir leaves nothing there."""
    pytest.importorskip("chaostoolkit")
    from assay.engines.chaos.runner import run_experiment

    py = sys.executable
    probe = {
        "type": "probe",
        "name": "true",
        "tolerance": 0,
        "provider": {"type": "process", "path": py, "arguments": "-c pass"},
    }
    experiment = tmp_path / "noop.json"
    experiment.write_text(
        json.dumps(
            {
                "title": "no-op",
                "description": "a steady state that always holds",
                "steady-state-hypothesis": {"title": "python runs", "probes": [probe]},
                "method": [
                    {
                        "type": "action",
                        "name": "noop",
                        "provider": {"type": "process", "path": py, "arguments": "-c pass"},
                    }
                ],
            }
        )
    )
    cwd, work = tmp_path / "started-here", tmp_path / "work"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    result = run_experiment(experiment, env={}, timeout_s=120, work_dir=work)
    assert result.exit_code is not None  # chaostoolkit really ran
    assert list(cwd.iterdir()) == []
    assert (work / "noop.chaostoolkit.log").is_file()
