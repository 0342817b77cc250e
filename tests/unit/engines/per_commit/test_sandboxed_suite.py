"""A commit's tests cannot reach Assay's secrets: a real generated commit, real bubblewrap, real git.

The commit's tests try to read what a worker holds (Airflow's config, the Airflow home's passwords, the
metrics SQLite file, another target's worktree) and to connect out (PostgreSQL on the host, a socket
server this test process listens on). Sandboxed (the default) each of those tests FAILs and the suite is
recorded FAIL, not ERROR; the same commit on a trusted target (``sandbox: {enabled: false}``) reads them.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from pathlib import Path

import pytest
from support.git_repo import commit_folder
from support.postgres import PG_HOST, PG_PORT

from assay.engines.per_commit.config import CommitTargetConfig, SandboxConfig, SuiteConfig
from assay.engines.per_commit.pytest_suite import run_pytest_suite
from assay.engines.per_commit.suite import run_commit_suite
from assay.engines.per_commit.workspace import GitWorkspace
from assay.sandbox import SandboxPolicy
from assay.status import Status

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

SECRET_TESTS = {
    "test_reads_airflow_cfg",
    "test_reads_airflow_passwords",
    "test_reads_metrics_db",
    "test_reads_other_targets_worktree",
    "test_connects_to_host_postgres",
    "test_connects_to_host_socket_server",
}

TESTS = """\
import socket
from pathlib import Path

AIRFLOW_CFG = {airflow_cfg!r}
PASSWORDS = {passwords!r}
METRICS_DB = {metrics_db!r}
OTHER_WORKTREE = {other!r}
PG = ({pg_host!r}, {pg_port})
HOST_SERVER = ("127.0.0.1", {server_port})


def test_arithmetic():
    assert 1 + 1 == 2


def test_own_loopback_server_works():
    # an integration suite that starts its own server on 127.0.0.1 still works in the sandbox
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    with socket.create_connection(srv.getsockname(), timeout=5):
        conn, _ = srv.accept()
        conn.close()
    srv.close()


def test_reads_airflow_cfg():
    assert "sql_alchemy_conn" in Path(AIRFLOW_CFG).read_text()


def test_reads_airflow_passwords():
    assert "admin" in Path(PASSWORDS).read_text()


def test_reads_metrics_db():
    assert Path(METRICS_DB).read_bytes().startswith(b"SQLite format 3")


def test_reads_other_targets_worktree():
    assert "TOKEN" in (Path(OTHER_WORKTREE) / "secrets.env").read_text()


def test_connects_to_host_postgres():
    socket.create_connection(PG, timeout=3).close()


def test_connects_to_host_socket_server():
    with socket.create_connection(HOST_SERVER, timeout=3) as s:
        assert s.recv(16) == b"host secret"
"""


@pytest.fixture
def host_server():
    """A socket server on the host's loopback that hands out a 'secret' to whoever connects."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    stop = threading.Event()
    connected: list[bool] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            connected.append(True)
            conn.sendall(b"host secret")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield srv.getsockname()[1], connected
    stop.set()
    thread.join(timeout=2)
    srv.close()


@pytest.fixture
def worker_home(tmp_path, monkeypatch):
    """A worker's homes laid out as in production: Airflow's config and passwords, Assay's metrics DB and
    git worktrees, all world-readable (only the sandbox's mounts keep them from the commit's code)."""
    airflow_home = tmp_path / "airflow"
    assay_home = tmp_path / "assay"
    airflow_home.mkdir()
    assay_home.mkdir()
    monkeypatch.setenv("AIRFLOW_HOME", str(airflow_home))
    monkeypatch.setenv("ASSAY_HOME", str(assay_home))
    (airflow_home / "airflow.cfg").write_text("[database]\nsql_alchemy_conn = postgresql://airflow:s3cret@db/airflow\n")
    (airflow_home / "passwords.json").write_text('{"admin": "hunter2"}')
    import sqlite3

    db = sqlite3.connect(assay_home / "metrics.db")
    db.execute("create table t (x)")
    db.commit()
    db.close()
    other = assay_home / "git" / "worktrees" / "other-target" / ("0" * 40)
    other.mkdir(parents=True)
    (other / "secrets.env").write_text("TOKEN=other-targets-token\n")
    for p in [*tmp_path.rglob("*"), tmp_path]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    return {
        "airflow_cfg": str(airflow_home / "airflow.cfg"),
        "passwords": str(airflow_home / "passwords.json"),
        "metrics_db": str(assay_home / "metrics.db"),
        "other": str(other),
        "git": assay_home / "git",
        "envs": assay_home / "envs",
    }


@pytest.fixture
def probe_commit(tmp_path, worker_home, host_server):
    """A commit whose tests try every secret above; checked out as Assay does ($ASSAY_HOME/git/worktrees)."""
    port, connected = host_server
    src = tmp_path / "src"
    (src / "tests").mkdir(parents=True)
    (src / "tests" / "test_probe.py").write_text(
        TESTS.format(
            **{k: v for k, v in worker_home.items() if isinstance(v, str)},
            pg_host=PG_HOST,
            pg_port=PG_PORT,
            server_port=port,
        )
    )
    repo = tmp_path / "repo"
    sha = commit_folder(repo, src)
    ws = GitWorkspace(worker_home["git"])
    ws.sync_mirror("probe", str(repo))
    worktree = ws.worktree("probe", sha)
    return {"repo": str(repo), "worktree": worktree, "connected": connected, **worker_home}


def _target(repo: str, **sandbox) -> CommitTargetConfig:
    return CommitTargetConfig(
        repo=repo,
        python="worker",
        install_project=False,
        suites={"unit": SuiteConfig(paths=["tests"], timeout_s=120)},
        sandbox=SandboxConfig(**sandbox),
    )


def _run(probe, target: CommitTargetConfig, out: Path):
    return run_commit_suite(
        target_name="probe",
        target=target,
        suite_name="unit",
        worktree=probe["worktree"],
        envs_root=probe["envs"],
        out_dir=out,
    )


def _outcomes(result) -> dict[str, str]:
    return {c.node_id.rsplit("::", 1)[-1]: c.outcome for c in result.test_cases}


def _pg_up() -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex((PG_HOST, PG_PORT)) == 0


def test_sandboxed_commit_cannot_read_secrets_nor_connect_out(probe_commit, tmp_path):
    result = _run(probe_commit, _target(probe_commit["repo"]), tmp_path / "out-sandboxed")

    outcomes = _outcomes(result)
    assert result.status is Status.FAIL, result.message  # the commit's tests failed; Assay did not ERROR
    assert {t for t, o in outcomes.items() if o == "failed"} == SECRET_TESTS
    assert outcomes["test_arithmetic"] == "passed"
    assert outcomes["test_own_loopback_server_works"] == "passed"  # its own loopback still works
    assert probe_commit["connected"] == []  # the host server never saw a connection
    failures = {c.node_id.rsplit("::", 1)[-1]: c.message or "" for c in result.test_cases}
    assert (
        "FileNotFoundError" in failures["test_reads_airflow_cfg"]
        or "No such file" in failures["test_reads_airflow_cfg"]
    )
    sandbox = result.details["sandbox"]
    assert sandbox["network"] == "none"
    if os.geteuid() == 0:
        assert sandbox["uid"] == 65534
    assert str(probe_commit["worktree"]) in sandbox["read_only"]


def test_trusted_target_runs_unconfined_and_reads_them(probe_commit, tmp_path):
    result = _run(probe_commit, _target(probe_commit["repo"], enabled=False), tmp_path / "out-trusted")

    outcomes = _outcomes(result)
    expected_pass = SECRET_TESTS - (set() if _pg_up() else {"test_connects_to_host_postgres"})
    assert {t for t in expected_pass if outcomes[t] == "passed"} == expected_pass, result.message
    assert probe_commit["connected"]  # what the sandbox kept it from: the host server answered
    assert result.details["sandbox"] is None


def test_network_host_reaches_the_host_but_still_sees_no_secret(probe_commit, tmp_path):
    result = _run(probe_commit, _target(probe_commit["repo"], network="host"), tmp_path / "out-host-net")

    outcomes = _outcomes(result)
    assert outcomes["test_connects_to_host_socket_server"] == "passed"
    for name in ("test_reads_airflow_cfg", "test_reads_metrics_db", "test_reads_other_targets_worktree"):
        assert outcomes[name] == "failed"
    assert result.details["sandbox"]["network"] == "host"


def test_missing_bubblewrap_is_a_clear_error_never_unsandboxed(probe_commit, tmp_path):
    result = run_pytest_suite(
        name="unit",
        suite=SuiteConfig(paths=["tests"], timeout_s=60),
        workdir=probe_commit["worktree"],
        out_dir=tmp_path / "out-no-bwrap",
        sandbox=SandboxPolicy(bwrap="/nonexistent/bwrap"),
    )

    assert result.status is Status.ERROR
    assert "install bubblewrap (apt-get install bubblewrap)" in result.message
    assert "sandbox: {enabled: false}" in result.message
    assert not result.retryable
    assert result.test_cases == []  # nothing ran unconfined
    assert probe_commit["connected"] == []


SETUP_PY = """\
import os
from setuptools import setup

SECRET = {secret!r}
if os.path.exists(SECRET):
    raise SystemExit("the build backend read " + open(SECRET).read())
setup(name="probeproj", version="0.1", py_modules=["probeproj"])
"""


def test_the_commits_build_backend_runs_sandboxed_too(tmp_path, worker_home):
    import sys

    from assay.engines.per_commit.python_env import DependencyPlan, LocalProject, TargetPython, install_project_layer
    from assay.errors import TargetError

    project = tmp_path / "project"
    project.mkdir()
    (project / "setup.py").write_text(SETUP_PY.format(secret=worker_home["airflow_cfg"]))
    (project / "probeproj.py").write_text("VALUE = 1\n")
    # a venv that has the build backend: --no-build-isolation first, so no index (and no network) is needed
    tp = TargetPython(sys.executable, DependencyPlan("k", {}), Path(sys.prefix), projects=(LocalProject("."),))

    layer = install_project_layer(tp, project, tmp_path / "out" / "layer", sandbox=SandboxPolicy())
    assert layer.projects == (".",)  # built, sandboxed: the secret was not there to read

    with pytest.raises(TargetError, match="the build backend read"):  # unconfined, it would have been
        install_project_layer(tp, project, tmp_path / "out2" / "layer")


def test_sandbox_config_gives_the_policy_a_suite_runs_under():
    from pydantic import ValidationError

    target = CommitTargetConfig.model_validate(
        {
            "repo": "/r",
            "sandbox": {"read_only": ["/srv/data"]},
            "suites": {"unit": {}, "integration": {"network": "host"}},
        }
    )
    unit = target.sandbox.policy(target.suites["unit"].network)
    integration = target.sandbox.policy(target.suites["integration"].network)
    assert (unit.network, integration.network) == ("none", "host")
    assert unit.uid == 65534 and unit.read_only == ("/srv/data",)
    assert SandboxConfig(enabled=False).policy("host") is None  # trusted: runs unconfined
    assert not target.testable_refs.pull_requests
    for bad in ({"read_only": ["data"]}, {"network": "bridge"}, {"uid": 0}, {"enabeld": False}):
        with pytest.raises(ValidationError):
            SandboxConfig.model_validate(bad)
