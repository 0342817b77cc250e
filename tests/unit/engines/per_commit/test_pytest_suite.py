"""The pytest suite engine against real pytest runs of tests/fixtures/sample_suite and tests/fixtures/outcomes_suite:
pytest's outcome vocabulary, runnable node ids, collection errors named with file and line, and a timeout that
keeps what finished and names what was running."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.pytest_summary import summary_counts

from assay.engines.per_commit.config import SuiteConfig
from assay.engines.per_commit.pytest_suite import run_pytest_suite
from assay.engines.per_commit.reportlog import parse_report_log
from assay.status import Status


@pytest.fixture
def sample(tmp_path, fixtures_dir):
    work = tmp_path / "sample"
    shutil.copytree(fixtures_dir / "sample_suite", work)
    return work


def test_failing_suite_is_fail_with_every_case_recorded(sample, tmp_path, fixtures_dir):
    res = run_pytest_suite(
        name="unit",
        suite=SuiteConfig(marker="unit and not slow"),
        workdir=sample,
        out_dir=tmp_path / "out",
        source="calc",
    )
    assert res.status is Status.FAIL
    recorded = parse_report_log(fixtures_dir / "pytest_outputs" / "sample_reportlog.jsonl")
    assert res.counts == recorded.counts
    assert res.coverage is not None and res.coverage.line_percent == pytest.approx(87.5)
    assert res.exit_code == 1 and "1 failed" in res.message
    assert not (sample / ".coverage").exists()  # coverage data kept out of the worktree


@pytest.mark.slow
def test_passing_suite_in_parallel_is_pass(sample, tmp_path):
    suite = SuiteConfig(marker="unit and not slow", workers=2, extra_args=["-k", "add or divide"])
    res = run_pytest_suite(name="unit", suite=suite, workdir=sample, out_dir=tmp_path / "out", source="calc")
    assert res.status is Status.PASS, res.message
    assert res.counts["passed"] == 3 and res.counts["total"] == 3
    assert "-n" in res.details["argv"]


def test_no_tests_collected_is_error_not_pass(sample, tmp_path):
    res = run_pytest_suite(
        name="unit", suite=SuiteConfig(paths=["calc"], marker="unit"), workdir=sample, out_dir=tmp_path / "out"
    )
    assert res.status is Status.ERROR
    assert "collected no tests" in res.message and res.exit_code == 5


def test_all_skipped_is_error(sample, tmp_path):
    res = run_pytest_suite(
        name="unit", suite=SuiteConfig(extra_args=["-k", "test_skipped"]), workdir=sample, out_dir=tmp_path / "out"
    )
    assert res.status is Status.ERROR and "skipped" in res.message


def test_usage_error_is_error(sample, tmp_path):
    res = run_pytest_suite(
        name="unit", suite=SuiteConfig(paths=["does_not_exist"]), workdir=sample, out_dir=tmp_path / "out"
    )
    assert res.status is Status.ERROR and res.exit_code == 4


@pytest.mark.slow
def test_hanging_suite_times_out_and_its_process_group_is_killed(sample, tmp_path, monkeypatch):
    pidfile = tmp_path / "hang.pid"
    monkeypatch.setenv("SAMPLE_HANG", "1")
    monkeypatch.setenv("SAMPLE_HANG_PIDFILE", str(pidfile))
    started = time.monotonic()
    # 8 s: on a busy 2-core machine pytest can take several seconds to reach the test that hangs
    res = run_pytest_suite(
        name="unit", suite=SuiteConfig(marker="slow", timeout_s=8), workdir=sample, out_dir=tmp_path / "out"
    )
    assert time.monotonic() - started < 30
    assert res.status is Status.ERROR and "exceeded its timeout of 8 s" in res.message
    pid = int(pidfile.read_text())
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


# -- pytest's outcomes, node ids and collection errors (tests/fixtures/outcomes_suite)

ODD_IDS = [
    "tests/test_outcomes.py::test_odd_ids[a b]",
    "tests/test_outcomes.py::test_odd_ids[x::y]",
    "tests/test_outcomes.py::test_odd_ids[[brackets]]",
    "tests/test_outcomes.py::test_odd_ids[\\xfcn\\xef]",
    "tests/test_outcomes.py::test_odd_ids[slash/part]",
    'tests/test_outcomes.py::test_odd_ids[q"uote]',
    "tests/test_outcomes.py::test_odd_ids[-dash]",
    "tests/test_outcomes.py::test_explicit_ids[one id]",
    "tests/test_outcomes.py::TestThing::TestNested::test_inner",
    "tests/test_outcomes.py::test_fails_then_teardown_error",
]


@pytest.fixture
def outcomes_suite(tmp_path, fixtures_dir):
    work = tmp_path / "outcomes"
    shutil.copytree(fixtures_dir / "outcomes_suite", work)
    return work


def plain_pytest(workdir, *args):
    """What a person sees running pytest by hand in the same checkout with the same interpreter."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | {"PYTHONPATH": ""},
    )
    return proc.stdout + proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("workers", [0, 2])
def test_counts_match_pytest_own_summary_line(outcomes_suite, tmp_path, workers):
    res = run_pytest_suite(
        name="unit", suite=SuiteConfig(workers=workers), workdir=outcomes_suite, out_dir=tmp_path / "out"
    )
    assert res.status is Status.FAIL
    expected = summary_counts(plain_pytest(outcomes_suite))
    assert {k: v for k, v in res.counts.items() if k != "total"} == expected
    assert res.message.startswith("4 failed, 13 passed, 2 skipped, 2 xfailed, 1 xpassed, 3 errors")
    assert res.counts["total"] == len(res.test_cases) == 23


@pytest.mark.slow
def test_recorded_node_ids_select_exactly_that_test_when_pasted_into_pytest(outcomes_suite, tmp_path):
    res = run_pytest_suite(name="unit", suite=SuiteConfig(), workdir=outcomes_suite, out_dir=tmp_path / "out")
    recorded = {c.node_id for c in res.test_cases}
    assert set(ODD_IDS) <= recorded
    for node_id in ODD_IDS:
        out = plain_pytest(outcomes_suite, "--collect-only", "-q", node_id)
        selected = [line for line in out.splitlines() if line.startswith("tests/")]
        assert selected == [node_id], out


@pytest.fixture
def broken_suite(tmp_path):
    work = tmp_path / "broken"
    (work / "tests").mkdir(parents=True)
    (work / "tests" / "test_ok.py").write_text("def test_ok():\n    assert True\n")
    (work / "tests" / "test_syntax.py").write_text("def test_a():\n    x = (\n\n\ndef test_b():\n    pass\n")
    (work / "tests" / "test_imports.py").write_text("import not_a_module_anywhere\n\n\ndef test_c():\n    pass\n")
    return work


def test_collection_errors_are_rows_with_file_line_and_exception(broken_suite, tmp_path):
    res = run_pytest_suite(name="unit", suite=SuiteConfig(), workdir=broken_suite, out_dir=tmp_path / "out")
    assert res.status is Status.ERROR and res.retryable is False and res.exit_code == 2
    assert "SyntaxError in tests/test_syntax.py:2" in res.message
    assert "ModuleNotFoundError in tests/test_imports.py:1" in res.message
    assert "usage or internal error" not in res.message
    rows = {c.node_id: c for c in res.test_cases}
    assert rows["tests/test_syntax.py"].outcome == "error"
    assert "SyntaxError" in rows["tests/test_syntax.py"].message
    assert rows["tests/test_imports.py"].outcome == "error"
    assert "No module named 'not_a_module_anywhere'" in rows["tests/test_imports.py"].message
    assert res.counts["error"] == 2 == summary_counts(plain_pytest(broken_suite))["error"]


def test_a_conftest_that_does_not_import_is_a_collection_error(broken_suite, tmp_path):
    (broken_suite / "conftest.py").write_text('"""conftest"""\nimport missing_plugin_dependency\n')
    res = run_pytest_suite(name="unit", suite=SuiteConfig(), workdir=broken_suite, out_dir=tmp_path / "out")
    assert res.status is Status.ERROR and res.retryable is False and res.exit_code == 4
    assert res.message.startswith("collection failed: ModuleNotFoundError in conftest.py:2")
    assert [c.outcome for c in res.test_cases] == ["error"]


HANGING = """
import os
import subprocess
import sys
import time


def test_one():
    assert True


def test_two():
    assert True


def test_three():
    assert False, "a real failure before the hang"


def test_hangs():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    with open(os.environ["HANG_PIDS"], "w") as fh:
        fh.write(f"{os.getpid()} {child.pid}")
    time.sleep(3600)


def test_never_reached():
    assert True
"""


@pytest.mark.slow
def test_timeout_keeps_finished_tests_and_names_the_running_one(tmp_path, monkeypatch):
    work = tmp_path / "hang"
    (work / "tests").mkdir(parents=True)
    (work / "tests" / "test_hang.py").write_text(HANGING)
    pids = tmp_path / "pids"
    monkeypatch.setenv("HANG_PIDS", str(pids))
    res = run_pytest_suite(name="unit", suite=SuiteConfig(timeout_s=20), workdir=work, out_dir=tmp_path / "out")
    assert res.status is Status.ERROR and res.retryable is False
    assert "exceeded its timeout of 20 s" in res.message
    assert "while running tests/test_hang.py::test_hangs" in res.message
    assert "3 test(s) finished before it (1 failed, 2 passed)" in res.message
    rows = {c.node_id: c.outcome for c in res.test_cases}
    assert rows == {
        "tests/test_hang.py::test_one": "passed",
        "tests/test_hang.py::test_two": "passed",
        "tests/test_hang.py::test_three": "failed",
        "tests/test_hang.py::test_hangs": "error",
    }
    time.sleep(0.2)
    for pid in map(int, pids.read_text().split()):  # pytest and the child it started: the whole group
        assert not running(pid)


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan waits for a reaper that a container's PID 1 may never be)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")
