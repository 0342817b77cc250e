"""Run ``airflow standalone`` for ``make run`` so that it always stops whole, and stop it for ``make stop``.

``airflow standalone`` starts the scheduler, API server, dag-processor and triggerer as child processes
and stops them only on Ctrl-C (SIGINT); a SIGTERM, or a kill of its PID, leaves them running, orphaned.
So ``make run`` starts it through this supervisor::

    python scripts/standalone.py run --pid-file .assay/standalone.pid -- .venv/bin/airflow standalone

The supervisor starts the command in a session of its own, records both PIDs in the pid file, and on
Ctrl-C, SIGTERM or SIGHUP (and when the command exits by itself) stops the whole process tree: SIGINT to
the command (Airflow's own orderly shutdown), then SIGTERM, then SIGKILL to whatever is left of every
process it had started, task processes in their own process groups included. ``make stop`` runs::

    python scripts/standalone.py stop --pid-file .assay/standalone.pid --airflow-home .assay/airflow

which asks the supervisor to stop (or stops the tree itself if the supervisor is gone), then stops any
Airflow process still running on this Airflow home (left over by an earlier, unsupervised run).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

GRACE_S = 20.0


def _same(proc_info: dict | None) -> psutil.Process | None:
    """The process recorded as ``{"pid", "create_time"}`` if it is still that process (not a reused PID)."""
    if not proc_info:
        return None
    try:
        proc = psutil.Process(proc_info["pid"])
        if abs(proc.create_time() - proc_info["create_time"]) < 0.01 and proc.status() != psutil.STATUS_ZOMBIE:
            return proc
    except (psutil.Error, KeyError, TypeError):
        pass
    return None


def _record(proc: psutil.Process) -> dict:
    return {"pid": proc.pid, "create_time": proc.create_time()}


def _tree(procs: list[psutil.Process]) -> list[psutil.Process]:
    """``procs`` and all their descendants that are alive now."""
    seen: dict[int, psutil.Process] = {}
    for proc in procs:
        try:
            for p in [proc, *proc.children(recursive=True)]:
                seen.setdefault(p.pid, p)
        except psutil.Error:
            continue
    return [p for p in seen.values() if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def _signal_all(procs: list[psutil.Process], sig: int) -> None:
    for p in procs:
        try:
            p.send_signal(sig)
        except psutil.Error:
            pass


def stop_tree(root: psutil.Process, grace_s: float = GRACE_S, log=print) -> list[int]:
    """Stop ``root`` and every process below it: SIGINT to root, then SIGTERM, then SIGKILL to the rest.
    Returns the PIDs that were running."""
    known = _tree([root])
    pids = [p.pid for p in known]
    steps = [("SIGINT", [root]), ("SIGTERM", None), ("SIGKILL", None)]
    for name, targets in steps:
        alive = [p for p in known if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if not alive:
            break
        known = _tree(alive)  # new children of what is left (a task started meanwhile) are stopped too
        log(f"[assay] {name} to {len(targets or known)} process(es)")
        _signal_all(targets or known, getattr(signal, name))
        _, still = psutil.wait_procs(known, timeout=grace_s / 2 if name != "SIGKILL" else 10)
        known = still
    return pids


def _stop_group(pgid: int, grace_s: float = 5.0) -> None:
    """SIGTERM, then SIGKILL, whatever is left in process group ``pgid``."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except OSError:
            return  # the group is empty
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            members = [p for p in psutil.process_iter(["status"]) if _pgid(p) == pgid]
            if all(p.info["status"] == psutil.STATUS_ZOMBIE for p in members):
                return
            time.sleep(0.1)


def _pgid(proc: psutil.Process) -> int | None:
    try:
        return os.getpgid(proc.pid)
    except OSError:
        return None


def strays(airflow_home: str) -> list[psutil.Process]:
    """Airflow processes (an ``airflow`` command line) whose AIRFLOW_HOME is ``airflow_home``."""
    home = os.path.realpath(airflow_home)
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        if proc.pid == os.getpid():
            continue
        try:
            cmdline = proc.info["cmdline"] or []
            if not any(os.path.basename(arg) == "airflow" for arg in cmdline[:3]):
                continue
            env_home = proc.environ().get("AIRFLOW_HOME")
        except psutil.Error:
            continue
        if env_home and os.path.realpath(env_home) == home:
            found.append(proc)
    # only the topmost of each tree: stopping a parent stops its children
    pids = {p.pid for p in found}
    return [p for p in found if p.ppid() not in pids]


def run(pid_file: Path, command: list[str], grace_s: float) -> int:
    recorded = _read(pid_file)
    if recorded and _same(recorded.get("supervisor")):
        print(
            f"[assay] already running (supervisor pid {recorded['supervisor']['pid']}); `make stop` first",
            file=sys.stderr,
        )
        return 1
    requested: list[int] = []

    def on_signal(signum, _frame):
        requested.append(signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    child = subprocess.Popen(command, start_new_session=True)
    root = psutil.Process(child.pid)
    _write(pid_file, {"supervisor": _record(psutil.Process()), "child": _record(root), "command": command})
    try:
        while not requested and child.poll() is None:
            try:
                child.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
        if requested:
            print(f"\n[assay] {signal.Signals(requested[0]).name}: stopping {command[0]} and all its processes")
        stop_tree(root, grace_s)
        _stop_group(child.pid)  # what left the tree (its parent died first) is still in the session's group
        code = child.wait()
    finally:
        pid_file.unlink(missing_ok=True)
    return 0 if requested else code


def stop(pid_file: Path, airflow_home: str | None, grace_s: float) -> int:
    recorded = _read(pid_file) or {}
    stopped = False
    supervisor, child = _same(recorded.get("supervisor")), _same(recorded.get("child"))
    if supervisor is not None:
        print(f"[assay] stopping make run (supervisor pid {supervisor.pid})")
        supervisor.send_signal(signal.SIGTERM)
        _, alive = psutil.wait_procs([supervisor], timeout=grace_s + 15)
        if alive:
            print("[assay] the supervisor did not stop in time; stopping its processes directly")
            if child is not None:
                stop_tree(child, grace_s)
            stop_tree(supervisor, grace_s)
        stopped = True
    elif child is not None:
        print(f"[assay] the supervisor is gone; stopping {child.pid} and its processes")
        stop_tree(child, grace_s)
        stopped = True
    pid_file.unlink(missing_ok=True)
    for proc in strays(airflow_home) if airflow_home else []:
        print(f"[assay] stopping leftover Airflow process {proc.pid}: {' '.join(proc.cmdline()[:3])}")
        stop_tree(proc, grace_s)
        stopped = True
    print("[assay] stopped" if stopped else "[assay] nothing was running")
    return 0


def _read(pid_file: Path) -> dict | None:
    try:
        return json.loads(pid_file.read_text())
    except (OSError, ValueError):
        return None


def _write(pid_file: Path, data: dict) -> None:
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = pid_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(pid_file)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    p_run = sub.add_parser("run", help="run COMMAND and stop its whole process tree on Ctrl-C/SIGTERM")
    p_run.add_argument("--pid-file", type=Path, required=True)
    p_run.add_argument("--grace", type=float, default=GRACE_S, help="seconds for an orderly stop (default 20)")
    p_run.add_argument("command", nargs=argparse.REMAINDER)
    p_stop = sub.add_parser("stop", help="stop what `run` started, and leftover Airflow processes")
    p_stop.add_argument("--pid-file", type=Path, required=True)
    p_stop.add_argument("--airflow-home", help="also stop Airflow processes running with this AIRFLOW_HOME")
    p_stop.add_argument("--grace", type=float, default=GRACE_S)
    args = parser.parse_args(argv)
    if args.action == "run":
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        if not command:
            parser.error("run needs a command after --")
        return run(args.pid_file, command, args.grace)
    return stop(args.pid_file, args.airflow_home, args.grace)


if __name__ == "__main__":
    sys.exit(main())
