"""A stand-in for ``airflow standalone`` with the same process tree and signal behaviour, for testing
``make run`` / ``make stop`` without starting Airflow.

``standalone STATE_DIR``: starts four components (scheduler, api-server, dag-processor, triggerer) as
plain children; on SIGINT it terminates them and exits, on SIGTERM it dies at once and orphans them (as
``airflow standalone`` does). The scheduler starts a "task" in a process group of its own (as Airflow's
task supervisor does), and that task a child that ignores SIGINT and SIGTERM. Every process writes its
PID to ``STATE_DIR/pids/<name>``. Run it as ``python <copy named airflow> standalone STATE_DIR``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

COMPONENTS = ("scheduler", "api-server", "dag-processor", "triggerer")


def note(state: Path, name: str) -> None:
    pids = state / "pids"
    pids.mkdir(parents=True, exist_ok=True)
    (pids / name).write_text(str(os.getpid()))


def spawn(state: Path, *args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, sys.argv[0], *args, str(state)], **kwargs)


def main() -> None:
    role, state = sys.argv[1], Path(sys.argv[-1])
    if role == "standalone":
        children = [spawn(state, "component", name) for name in COMPONENTS]
        note(state, "standalone")
        try:
            while True:
                time.sleep(0.1)
        except KeyboardInterrupt:
            for child in children:
                child.terminate()
            for child in children:
                child.wait()
    elif role == "component":
        name = sys.argv[2]
        if name == "scheduler":
            spawn(state, "task", process_group=0)
        note(state, name)
        while True:
            time.sleep(0.1)
    elif role == "task":
        spawn(state, "stubborn")
        note(state, "task")
        while True:
            time.sleep(0.1)
    elif role == "stubborn":
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        note(state, "stubborn")
        while True:
            time.sleep(0.1)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
