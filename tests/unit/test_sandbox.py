"""assay.sandbox with real bubblewrap: what a confined command sees, as which uid, and how it fails."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from assay.errors import ToolError
from assay.process import run_command, target_env
from assay.sandbox import SandboxPolicy, SandboxUnavailable, check_available, interpreter_dirs, wrap_command

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="the uid drop applies when the worker runs as root")


def run(policy: SandboxPolicy, argv: list[str], tmp_path: Path, **paths) -> tuple[int | None, str]:
    cmd = wrap_command(policy, argv, cwd=tmp_path, env=target_env(), **paths)
    res = run_command(cmd.argv, cwd=tmp_path, timeout_s=60, log_path=tmp_path / "out.log", env=cmd.env)
    return res.returncode, res.output_tail


@as_root
def test_a_bound_root_only_file_is_refused_because_the_kernel_sees_uid_65534(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    (shared / "root-only").write_text("root secret")
    (shared / "root-only").chmod(0o600)
    tmp_path.chmod(0o755)
    argv = ["sh", "-c", "id -u; cat " + str(shared / "root-only")]

    code, out = run(SandboxPolicy(), argv, tmp_path, read_only=[shared])
    assert code != 0
    assert out.splitlines()[0] == "65534"
    assert "Permission denied" in out
    assert "root secret" not in out

    code, out = run(SandboxPolicy(uid=None), argv, tmp_path, read_only=[shared])  # what the drop prevents
    assert code == 0 and "root secret" in out


def test_only_what_is_bound_is_visible(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "beside.txt").write_text("not bound")
    code, out = run(
        SandboxPolicy(),
        ["sh", "-c", f"ls /; ls /etc; ls {tmp_path}; cat {tmp_path}/beside.txt"],
        work,
        read_only=[work],
    )
    listing = out.split()
    assert code != 0 and "not bound" not in out  # beside the bound dir: not there
    assert "passwd" in listing and "ld.so.cache" in listing  # what programs need of /etc
    for secret in ("shadow", "pip.conf", "postgresql", "gitconfig", "sudoers"):
        assert secret not in listing


def test_writable_dir_is_written_as_the_sandbox_uid_and_tmp_is_private(tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    marker = Path("/tmp") / f"assay-sandbox-marker-{os.getpid()}"
    code, out = run(
        SandboxPolicy(),
        ["sh", "-c", f"echo hi > {out_dir}/result.txt && echo x > {marker} && ls /tmp && echo HOME=$HOME"],
        tmp_path,
        writable=[out_dir],
    )
    assert code == 0, out
    assert (out_dir / "result.txt").read_text() == "hi\n"
    assert not marker.exists()  # its /tmp is a tmpfs of its own
    assert "HOME=/tmp" in out


def test_the_venv_is_bound_exactly_never_its_parent(tmp_path):
    dirs = interpreter_dirs(sys.executable)
    assert Path(sys.prefix) in dirs and Path(sys.base_prefix) in dirs
    venv = Path(sys.prefix)
    sibling = next((p for p in venv.parent.iterdir() if p != venv), None)
    if sibling is None:
        pytest.skip("the venv has no sibling to check")
    code, out = run(SandboxPolicy(), ["sh", "-c", f"ls {venv.parent}"], tmp_path, read_only=dirs)
    assert sibling.name not in out.split() or sibling.resolve() in [d.resolve() for d in dirs]


def test_assay_and_airflow_homes_are_never_bound(tmp_path, monkeypatch):
    home = tmp_path / "assay-home"
    (home / "git").mkdir(parents=True)
    monkeypatch.setenv("ASSAY_HOME", str(home))
    with pytest.raises(ToolError, match="refusing to expose .* it contains"):
        wrap_command(SandboxPolicy(), ["true"], cwd=tmp_path, env={}, read_only=[tmp_path])
    with pytest.raises(ToolError, match="refusing to expose"):
        wrap_command(SandboxPolicy(read_only=("/",)), ["true"], cwd=tmp_path, env={})
    inside = home / "git" / "worktrees"
    inside.mkdir(parents=True)
    wrap_command(SandboxPolicy(), ["true"], cwd=inside, env={}, read_only=[inside])  # inside it: fine


def test_missing_bwrap_is_refused_with_what_to_do():
    with pytest.raises(SandboxUnavailable, match=r"install bubblewrap \(apt-get install bubblewrap\)") as info:
        check_available(SandboxPolicy(bwrap="/nonexistent/bwrap"))
    assert not info.value.retryable


def test_a_timeout_kills_everything_inside_the_sandbox(tmp_path):
    tmp_path.chmod(0o755)
    cmd = wrap_command(
        SandboxPolicy(), ["sh", "-c", "sleep 300 & sleep 300"], cwd=tmp_path, env=target_env(), read_only=[tmp_path]
    )
    started = time.monotonic()
    res = run_command(cmd.argv, cwd=tmp_path, timeout_s=1, log_path=tmp_path / "log", env=cmd.env, grace_s=1)
    assert res.timed_out and time.monotonic() - started < 10
    time.sleep(0.5)
    leftovers = [
        p
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and _cmdline(p) == "sleep 300" and _ppid_chain_has_bwrap(p, cmd.argv[0])
    ]
    assert leftovers == []


def _cmdline(p: Path) -> str:
    try:
        return (p / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def _ppid_chain_has_bwrap(p: Path, bwrap: str) -> bool:
    try:
        ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
        return os.path.basename(bwrap) in _cmdline(Path(f"/proc/{ppid}"))
    except (OSError, ValueError, IndexError):
        return False


SERVICE = """\
import http.server, json, os, sys

SECRET = sys.argv[2]


class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            seen = open(SECRET).read()
        except OSError as exc:
            seen = type(exc).__name__
        body = json.dumps({"uid": os.getuid(), "secret": seen}).encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def test_a_sandboxed_service_is_reachable_from_the_host_and_sees_no_secret(tmp_path, monkeypatch):
    import socket

    import requests

    from assay.service import start_service

    home = tmp_path / "assay-home"
    home.mkdir()
    (home / "metrics.db").write_text("metrics")
    monkeypatch.setenv("ASSAY_HOME", str(home))
    app = tmp_path / "app"
    app.mkdir(mode=0o755)
    (app / "server.py").write_text(SERVICE)
    work = tmp_path / "work"
    work.mkdir()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handle = start_service(
        [sys.executable, "server.py", str(port), str(home / "metrics.db")],
        cwd=app,
        port=port,
        health_path="/",
        log_path=work / "service.log",
        ready_timeout=30,
        sandbox=SandboxPolicy(),  # network none is overridden: the worker must reach the service
        writable=[work],
    )
    with handle:
        seen = requests.get(f"{handle.base_url}/", timeout=5).json()
        inside = [p.pid for p in __import__("psutil").Process(handle.pid).children(recursive=True)]
    assert seen["secret"] == "FileNotFoundError"
    if os.geteuid() == 0:
        assert seen["uid"] == 65534
    assert inside and not any(Path(f"/proc/{pid}").exists() for pid in inside)  # stop took the sandbox with it


def test_git_reads_a_bound_repository_as_the_dropped_uid(tmp_path):
    """e.g. the demo service reads its deployed commit from a repository exposed by sandbox.read_only"""
    import subprocess

    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "-c",
            "user.name=a",
            "-c",
            "user.email=a@b",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "x",
        ],
        check=True,
    )
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    code, out = run(SandboxPolicy(read_only=(str(repo),)), ["git", "-C", str(repo), "rev-parse", "HEAD"], repo)
    assert code == 0 and out.strip() == head.strip()


@as_root
def test_a_path_the_dropped_uid_cannot_read_is_named_before_anything_runs(tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    with pytest.raises(ToolError, match=r"private is exposed to the target's code but uid 65534 cannot read it"):
        wrap_command(SandboxPolicy(), ["true"], cwd=private, env={}, read_only=[private])
