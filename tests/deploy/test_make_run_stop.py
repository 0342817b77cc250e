"""``make run`` stops whole: ``make stop``, Ctrl-C and SIGTERM on ``make run`` each stop every process it
started, and ``make stop`` also stops Airflow processes an earlier, unsupervised run left behind.

The real Makefile and supervisor run here; only ``airflow standalone`` is replaced by a stand-in with the
same process tree and signal behaviour (tests/support/fake_standalone.py): four components, a task in
its own process group, and a grandchild that ignores SIGINT and SIGTERM.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[2]
FAKE = REPO / "tests" / "support" / "fake_standalone.py"
PROCESSES = {"standalone", "scheduler", "api-server", "dag-processor", "triggerer", "task", "stubborn"}

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make on PATH")


@pytest.fixture
def stack(tmp_path):
    """Paths and the make command line of a `make run` whose standalone is the stand-in."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    airflow = bin_dir / "airflow"  # named like the real command, as make stop's leftover search expects
    shutil.copy(FAKE, airflow)
    home = tmp_path / "assay"
    state = tmp_path / "state"
    variables = [
        f"PYTHON={sys.executable}",
        f"ASSAY_HOME={home}",
        f"AIRFLOW_HOME={home / 'airflow'}",
        f"STANDALONE={sys.executable} {airflow} standalone {state}",
        "STOP_GRACE_S=2",
    ]
    yield {"home": home, "state": state, "airflow": airflow, "vars": variables}
    for pid in pids(state).values():  # never leave a process behind, whatever the test did
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def pids(state: Path) -> dict[str, int]:
    d = state / "pids"
    return {p.name: int(p.read_text()) for p in d.iterdir()} if d.is_dir() else {}


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_for(predicate, timeout_s: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def make(stack, *targets: str, **kwargs) -> subprocess.Popen:
    # -o: the set-up prerequisites count as done (no venv, no Airflow DB), so only the recipes under test run
    argv = ["make", "--no-print-directory", "-C", str(REPO), "-o", "install", "-o", "setup", *targets, *stack["vars"]]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)


def start(stack, **kwargs) -> tuple[subprocess.Popen, dict[str, int]]:
    run = make(stack, "run", **kwargs)
    assert wait_for(lambda: set(pids(stack["state"])) == PROCESSES and (stack["home"] / "standalone.pid").exists()), (
        f"the stand-in did not come up: {pids(stack['state'])}"
    )
    started = pids(stack["state"])
    assert all(alive(pid) for pid in started.values())
    return run, started


def assert_all_stopped(started: dict[str, int]) -> None:
    assert wait_for(lambda: not any(alive(pid) for pid in started.values()), 30), {
        name: pid for name, pid in started.items() if alive(pid)
    }


@pytest.mark.slow
def test_make_stop_stops_every_process_make_run_started(stack):
    run, started = start(stack)
    stop = make(stack, "stop")
    out, _ = stop.communicate(timeout=120)
    assert stop.returncode == 0, out
    assert_all_stopped(started)
    assert run.wait(timeout=30) == 0
    assert not (stack["home"] / "standalone.pid").exists()
    again = make(stack, "stop")
    assert "nothing was running" in again.communicate(timeout=120)[0]


@pytest.mark.slow
def test_sigterm_on_make_run_stops_them_all(stack):
    run, started = start(stack)
    run.send_signal(signal.SIGTERM)  # make passes it on to the supervisor
    run.wait(timeout=60)
    assert_all_stopped(started)


@pytest.mark.slow
def test_ctrl_c_on_make_run_stops_them_all(stack):
    run, started = start(stack, start_new_session=True)  # make leads a process group, as in a terminal
    os.killpg(run.pid, signal.SIGINT)  # what the terminal does on Ctrl-C: the whole foreground group
    out, _ = run.communicate(timeout=60)
    assert "SIGINT: stopping" in out
    assert_all_stopped(started)


@pytest.mark.slow
def test_make_stop_also_stops_what_an_unsupervised_run_orphaned(stack):
    """The defect as reported: standalone killed by its PID leaves its components running."""
    env = {**os.environ, "AIRFLOW_HOME": str(stack["home"] / "airflow")}
    direct = subprocess.Popen([sys.executable, str(stack["airflow"]), "standalone", str(stack["state"])], env=env)
    assert wait_for(lambda: set(pids(stack["state"])) == PROCESSES)
    started = pids(stack["state"])
    direct.send_signal(signal.SIGTERM)
    direct.wait(timeout=30)
    time.sleep(0.5)
    orphans = {name for name, pid in started.items() if alive(pid)}
    assert orphans == PROCESSES - {"standalone"}  # what `kill <standalone pid>` leaves behind
    stop = make(stack, "stop")
    out, _ = stop.communicate(timeout=120)
    assert stop.returncode == 0 and "leftover Airflow process" in out, out
    assert_all_stopped(started)
