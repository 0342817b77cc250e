"""Per-commit suites in a container per task (``isolation.backend`` kubernetes / docker), without a cluster or a
Docker engine (there is neither here):

* the pod the ``KubernetesPodOperator`` would create (``build_pod_request_obj`` / ``dry_run``) and the
  arguments and host config of the ``DockerOperator``'s container: image, command, the shared volume at
  ``$ASSAY_HOME``, no environment of the worker (no connection, no metrics DB URL, no ``AIRFLOW__*``), no
  network, non-root and every capability dropped;
* the recording half for real: the container is stood in for by running the very command it would run
  (``python -m assay.engines.per_commit.run_in_container ...``) as a local process with an empty environment,
  then the operator reads ``result.json`` and records it. What lands in the metrics DB (SQLite and PostgreSQL)
  is what ``PytestSuiteOperator`` records for the same suite in the worker's own process;
* a container that ended without ``result.json`` is recorded ERROR, retryable, never PASS.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from support.context import TaskInstanceStub, make_context
from support.git_repo import commit_folder
from support.operator_env import recorded

import docker
from assay.engines.per_commit import SuiteResult, write_suite_result
from assay.isolation_config import IsolationConfig
from assay.status import Status
from assay_airflow.operators.base import task_work_dir
from assay_airflow.operators.docker_suite import HARDENING, DockerSuiteOperator, HardenedDockerClient
from assay_airflow.operators.kubernetes_suite import KubernetesSuiteOperator
from assay_airflow.operators.per_commit import PytestSuiteOperator, ResolveCommitOperator, checkout

REPO = Path(__file__).resolve().parents[2]
INCLUDE = REPO / "include"
SECRET_NAMES = ("AIRFLOW", "ASSAY_METRICS", "AIRFLOW_CONN", "PASSWORD", "TOKEN", "SECRET")
ALLOWED_ENV = {"HOME", "TMPDIR", "PYTHONDONTWRITEBYTECODE", "ASSAY_HOME"}


@pytest.fixture
def sample(tmp_path, fixtures_dir, monkeypatch, metrics_url):
    """The sample suite (failing, erroring, skipped tests, coverage of ``calc``) as a configured target, with the
    worker's environment holding secrets a container must never see."""
    repo = tmp_path / "sample-repo"
    sha = commit_folder(repo, fixtures_dir / "sample_suite")
    cfg = {
        "targets": {
            "sample": {
                "repo": str(repo),
                "python": "worker",
                "source": "calc",
                "suites": {"unit": {"marker": "unit and not slow", "timeout_s": 120}},
                "gates": {"coverage_min": 50},
            }
        },
        "isolation": {
            "backend": "kubernetes",
            "image": "registry.example/assay-runner:1.2.3",
            "python": sys.executable,
            "kubernetes": {"namespace": "assay-suites", "volume_claim": "assay-home", "service_account": "suites"},
            "docker": {"workspace_volume": "assay_assay-workspace"},
        },
    }
    path = tmp_path / "assay.yaml"
    path.write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("ASSAY_CONFIG", str(path))
    monkeypatch.setenv("ASSAY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ASSAY_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("ASSAY_METRICS_DB_URL", metrics_url)
    monkeypatch.setenv("AIRFLOW_CONN_ASSAY_SLACK", "https://hooks.slack.invalid/services/T0/B0/s3cr3t")
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", "not-a-real-fernet-key")
    return {"sha": sha, "url": metrics_url, "isolation": IsolationConfig.model_validate(cfg["isolation"])}


def resolved(run_id: str = "manual__container") -> TaskInstanceStub:
    ctx = make_context("resolve_commit", {"target": "sample", "branch": "main"}, run_id=run_id)
    ctx["ti"].xcom_push("return_value", ResolveCommitOperator(task_id="resolve_commit").execute(ctx))
    return ctx["ti"]


def prepared(op, ti: TaskInstanceStub) -> tuple[dict, list[str]]:
    """What the operator does on the worker before the container starts: its context and the command."""
    ctx = make_context("run_suite", ti=ti)
    target = op.assay_config.target("sample")
    worktree = checkout("sample", target, ti.xcoms[("resolve_commit", "commit")]["sha"])
    argv = op.prepare_container(
        target_name="sample", target=target, suite_name="unit", worktree=worktree, out_dir=task_work_dir(ctx)
    )
    return ctx, argv


class PodStandIn(KubernetesSuiteOperator):
    """The suite pod stood in for by a local process running the pod's own command with an empty environment
    but the image's (``PYTHONPATH``, ``PATH``) and the pod's env vars: what the container would do, on the
    shared volume (here: the test's ``$ASSAY_HOME``)."""

    def run_container(self, context):
        pod = self.build_pod_request_obj(dry_run=True)  # the stub context has no run_id for the pod labels
        (container,) = pod.spec.containers
        env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(INCLUDE)} | {e.name: e.value for e in container.env}
        proc = subprocess.run([*container.command, *container.args], env=env, capture_output=True, text=True)
        self.log.info("pod output: %s%s", proc.stdout, proc.stderr)
        if proc.returncode != 0:
            raise AirflowException(f"Pod returned a failure: exit {proc.returncode}")


class BubblewrapPod(KubernetesSuiteOperator):
    """The suite pod emulated from its own spec with bubblewrap, as close to the pod as this machine gets: the
    root filesystem read-only, only the pod's volume mounts writable (the shared ``$ASSAY_HOME`` directories
    bound at their paths, a tmpfs at /tmp), no network (a network namespace with nothing in it), its own PID
    namespace, the pod's ``runAsUser``, every capability dropped, and an environment of the pod's env vars
    only (plus the image's ``PATH``/``PYTHONPATH``)."""

    def run_container(self, context):
        pod = self.build_pod_request_obj(dry_run=True)
        (container,) = pod.spec.containers
        argv = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        for m in container.volume_mounts:
            argv += ["--tmpfs", m.mount_path] if m.mount_path == "/tmp" else []
        for m in container.volume_mounts:
            argv += [] if m.mount_path == "/tmp" else ["--bind", m.mount_path, m.mount_path]
        # the image's own files (Assay and its Python): this checkout, which may itself lie under /tmp
        argv += ["--ro-bind", str(REPO), str(REPO)]
        argv += ["--unshare-net", "--unshare-pid", "--unshare-user", "--die-with-parent", "--cap-drop", "ALL"]
        argv += ["--uid", str(pod.spec.security_context.run_as_user), "--gid", "0", "--clearenv"]
        env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(INCLUDE)} | {e.name: e.value for e in container.env}
        for name, value in env.items():
            argv += ["--setenv", name, value]
        proc = subprocess.run([*argv, "--", *container.command], capture_output=True, text=True)
        self.log.info("pod output: %s%s", proc.stdout, proc.stderr)
        if proc.returncode != 0:
            raise AirflowException(f"Pod returned a failure: exit {proc.returncode}: {proc.stderr[-500:]}")


def bubblewrap_works() -> bool:
    try:
        probe = ["bwrap", "--ro-bind", "/", "/", "--unshare-net", "--unshare-user", "--uid", "50000", "true"]
        return subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class DeadPod(KubernetesSuiteOperator):
    """A pod that was OOM-killed before the runner wrote anything."""

    def run_container(self, context):
        raise AirflowException("Pod assay-suite-x returned a failure: OOMKilled")


def assert_no_worker_secret(env: dict[str, str]) -> None:
    assert set(env) <= ALLOWED_ENV, set(env) - ALLOWED_ENV
    for name, value in env.items():
        assert not any(s in name.upper() for s in SECRET_NAMES), name
        assert "://" not in (value or ""), (name, value)


# -- Kubernetes: the pod ------------------------------------------------------------------------------------


def test_the_suite_pod_runs_the_entry_point_on_the_shared_volume_with_nothing_of_the_worker(sample, tmp_path):
    op = KubernetesSuiteOperator(task_id="run_suite", suite="unit")
    ctx, argv = prepared(op, resolved())
    pod = op.build_pod_request_obj(dry_run=True)
    (container,) = pod.spec.containers
    home = str((tmp_path / "home").resolve())
    out_dir = task_work_dir(ctx)

    assert container.image == "registry.example/assay-runner:1.2.3"
    assert container.command == argv and not container.args
    assert argv[:3] == [sys.executable, "-m", "assay.engines.per_commit.run_in_container"]
    assert argv[argv.index("--out") + 1] == str(out_dir) and argv[argv.index("--suite") + 1] == "unit"
    assert argv[argv.index("--worktree") + 1].startswith(f"{home}/git/")
    assert (out_dir / "target.json").is_file()

    mounts = sorted((m.name, m.mount_path, m.sub_path) for m in container.volume_mounts)
    volumes = {v.name: v for v in pod.spec.volumes}
    # git (mirrors, worktrees), the venv cache and the tasks' outputs, at the worker's paths: nothing else of
    # $ASSAY_HOME (the metrics outbox, test-data snapshots) is in the pod
    assert mounts == [
        ("assay-home", f"{home}/envs", "envs"),
        ("assay-home", f"{home}/git", "git"),
        ("assay-home", f"{home}/results", "results"),
        ("tmp", "/tmp", None),
    ]
    assert volumes["assay-home"].persistent_volume_claim.claim_name == "assay-home"
    assert volumes["tmp"].empty_dir is not None

    assert_no_worker_secret({e.name: e.value for e in container.env})
    assert not container.env_from and not pod.spec.init_containers
    assert pod.spec.automount_service_account_token is False and pod.spec.enable_service_links is False
    assert pod.spec.host_network is False and pod.spec.service_account_name == "suites"
    assert pod.metadata.namespace == "assay-suites" and pod.metadata.labels["assay.io/isolation"] == "suite"

    sc = container.security_context
    assert sc.run_as_non_root and sc.read_only_root_filesystem and sc.allow_privilege_escalation is False
    assert sc.capabilities.drop == ["ALL"] and not sc.capabilities.add and sc.privileged is False
    psc = pod.spec.security_context
    assert psc.run_as_non_root and psc.run_as_user == 50000 and psc.seccomp_profile.type == "RuntimeDefault"
    assert container.resources.requests == {"cpu": "1", "memory": "2Gi"}
    assert container.resources.limits == {"cpu": "2", "memory": "4Gi"}


def test_dry_run_prints_a_pod_without_any_secret_of_the_worker(sample, capsys):
    op = KubernetesSuiteOperator(task_id="run_suite", suite="unit")
    prepared(op, resolved())
    capsys.readouterr()
    op.dry_run()
    printed = capsys.readouterr().out
    spec = yaml.safe_load("\n".join(ln for ln in printed.splitlines() if not re.match(r"\d{4}-\d\d-\d\dT", ln)))
    assert spec["kind"] == "Pod" and spec["spec"]["containers"][0]["image"] == "registry.example/assay-runner:1.2.3"
    for secret in ("s3cr3t", "not-a-real-fernet-key", sample["url"], "AIRFLOW_CONN", "ASSAY_METRICS"):
        assert secret not in printed


def test_a_path_off_the_shared_volume_is_a_final_error_recorded_before_any_pod(sample, tmp_path, monkeypatch):
    monkeypatch.setenv("ASSAY_ENVS_DIR", str(tmp_path / "elsewhere"))
    ti = resolved()
    with pytest.raises(AirflowFailException, match="venv cache .* is not under \\$ASSAY_HOME"):
        DeadPod(task_id="run_suite", suite="unit").execute(make_context("run_suite", ti=ti))
    assert recorded(sample["url"], ti.dag_id, ti.run_id)["unit"].status == "ERROR"


# -- the recording half: the pod stood in for by its own command --------------------------------------------


def comparable(row) -> dict:
    return {
        "kind": row.kind,
        "status": row.status,
        "message": row.message,
        "target": row.target,
        "commit_sha": row.commit_sha,
        "branch": row.branch,
        "test_cases": sorted((t.node_id, t.outcome, t.message) for t in row.test_cases),
        "metrics": sorted((m.name, m.value, str(m.labels)) for m in row.metrics if m.name != "suite.duration_s"),
        "summary": {k: v for k, v in row.summary.items() if k != "log_path"},
    }


def test_a_suite_run_in_the_pod_is_recorded_as_the_worker_records_it_itself(sample, tmp_path):
    local_ti = resolved("manual__local")
    with pytest.raises(AirflowFailException, match="1 failed"):
        PytestSuiteOperator(task_id="run_suite", suite="unit").execute(make_context("run_suite", ti=local_ti))

    ti = resolved("manual__pod")
    op = PodStandIn(task_id="run_suite", suite="unit")
    with pytest.raises(AirflowFailException, match="1 failed"):  # FAIL is final, as in the worker
        op.execute(make_context("run_suite", ti=ti))

    local = recorded(sample["url"], local_ti.dag_id, local_ti.run_id)["unit"]
    contained = recorded(sample["url"], ti.dag_id, ti.run_id)["unit"]
    assert contained.status == "FAIL" and len(contained.test_cases) == 6
    assert comparable(contained) == comparable(local)
    assert contained.summary["log_path"].startswith(str(tmp_path / "home"))
    pushed = ti.xcoms[("run_suite", "return_value")]  # the failed result, as PytestSuiteOperator pushes it
    assert pushed["status"] == "FAIL" and pushed["records"]["test_cases"] == 6


def test_the_suite_runs_as_the_pod_would_without_network_on_a_read_only_root_as_uid_50000(sample):
    """The pod's spec, enforced by bubblewrap: the runner needs nothing beyond its shared directories, /tmp
    and no network, and its result is recorded as the worker records its own run."""
    if not bubblewrap_works():
        pytest.skip("bubblewrap cannot create user and network namespaces on this machine")
    local_ti = resolved("manual__local")
    with pytest.raises(AirflowFailException, match="1 failed"):
        PytestSuiteOperator(task_id="run_suite", suite="unit").execute(make_context("run_suite", ti=local_ti))
    ti = resolved("manual__sandboxed_pod")
    with pytest.raises(AirflowFailException, match="1 failed"):
        BubblewrapPod(task_id="run_suite", suite="unit").execute(make_context("run_suite", ti=ti))
    local = recorded(sample["url"], local_ti.dag_id, local_ti.run_id)["unit"]
    contained = recorded(sample["url"], ti.dag_id, ti.run_id)["unit"]
    assert contained.status == "FAIL" and comparable(contained) == comparable(local)


def test_a_pod_that_died_without_a_result_is_a_retryable_error_never_a_pass(sample):
    ti = resolved()
    with pytest.raises(AirflowException) as err:
        DeadPod(task_id="run_suite", suite="unit").execute(make_context("run_suite", ti=ti))
    assert not isinstance(err.value, AirflowFailException)  # retried: the next pod may live
    row = recorded(sample["url"], ti.dag_id, ti.run_id)["unit"]
    assert row.status == "ERROR"
    assert "kubernetes container that left no result" in row.message and "OOMKilled" in row.message


class ForgedThenKilled(KubernetesSuiteOperator):
    """The suite's own code wrote a PASS result.json into the output directory, then killed the runner."""

    def run_container(self, context):
        out = task_work_dir(context)
        now = datetime.now(UTC)
        write_suite_result(
            SuiteResult(name="unit", status=Status.PASS, message="all good", started_at=now, finished_at=now), out
        )
        raise AirflowException("Pod assay-suite-x returned a failure: exit 137")


def test_a_failed_container_with_a_result_file_is_an_error_not_its_files_pass(sample):
    ti = resolved()
    with pytest.raises(AirflowException) as err:
        ForgedThenKilled(task_id="run_suite", suite="unit").execute(make_context("run_suite", ti=ti))
    assert not isinstance(err.value, AirflowFailException)
    row = recorded(sample["url"], ti.dag_id, ti.run_id)["unit"]
    assert row.status == "ERROR" and "result.json says PASS" in row.message and "not taken" in row.message


def test_a_result_file_of_another_suite_is_not_taken_for_this_one(sample, tmp_path):
    ti = resolved()
    op = PodStandIn(task_id="run_suite", suite="unit")
    ctx, argv = prepared(op, ti)
    subprocess.run(
        argv,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(INCLUDE), "HOME": str(tmp_path)},
        check=True,
        capture_output=True,
    )
    out_dir = task_work_dir(ctx)
    text = (out_dir / "result.json").read_text().replace('"name": "unit"', '"name": "integration"')
    (out_dir / "result.json").write_text(text)
    result = op.collect_result(
        suite_name="unit", out_dir=out_dir, workdir=out_dir, started=datetime.now(UTC), failure=None
    )
    assert result.status.value == "ERROR" and "not 'unit'" in result.message


# -- Docker: the container ----------------------------------------------------------------------------------


def test_the_docker_container_has_no_network_runs_as_the_image_user_and_mounts_the_workspace(sample, tmp_path):
    op = DockerSuiteOperator(task_id="run_suite", suite="unit")
    _ctx, argv = prepared(op, resolved())
    home = str((tmp_path / "home").resolve())
    assert op.image == "registry.example/assay-runner:1.2.3"
    assert [*op.entrypoint, *op.command] == argv
    assert op.network_mode == "none" and op.user == "50000:0" and op.privileged is False and not op.cap_add
    assert op.mount_tmp_dir is False  # no bind mount of a worker directory, no AIRFLOW_TMP_DIR
    assert [(m["Source"], m["Target"], m["Type"]) for m in op.mounts] == [("assay_assay-workspace", home, "volume")]
    assert_no_worker_secret(op.environment)
    assert not op._private_environment and op.env_file is None and op.docker_conn_id is None
    # a host directory as the workspace: only git, the venv cache and the outputs are bound, at the same paths
    iso = sample["isolation"].model_copy(
        update={"docker": sample["isolation"].docker.model_copy(update={"workspace_volume": "/srv/assay"})}
    )
    bound = DockerSuiteOperator(task_id="run_suite", suite="unit", isolation=iso).mounts
    assert [(m["Source"], m["Target"], m["Type"]) for m in bound] == [
        (f"/srv/assay/{d}", f"{home}/{d}", "bind") for d in ("git", "envs", "results")
    ]


def test_the_docker_host_config_drops_every_capability_and_makes_the_root_filesystem_read_only(sample):
    import docker

    op = DockerSuiteOperator(task_id="run_suite", suite="unit")
    # a real API client of a pinned API version contacts no engine until a request is made
    client = HardenedDockerClient(docker.APIClient(base_url="unix:///nonexistent.sock", version="1.41"), op.hardening)
    # the arguments DockerOperator._run_image_with_mounts passes, then what the suite container adds
    host = client.create_host_config(
        auto_remove=False,
        mounts=op.mounts,
        network_mode=op.network_mode,
        cpu_shares=round(op.cpus * 1024),
        mem_limit=op.mem_limit,
        cap_add=op.cap_add,
        privileged=op.privileged,
    )
    assert host["NetworkMode"] == "none" and host["CapDrop"] == ["ALL"] and "CapAdd" not in host
    assert host["ReadonlyRootfs"] is True and host["SecurityOpt"] == ["no-new-privileges:true"]
    assert host["Tmpfs"] == {"/tmp": "rw,nosuid,nodev,size=2g"} and host["PidsLimit"] == HARDENING["pids_limit"]
    assert host["Mounts"][0]["Source"] == "assay_assay-workspace" and host["Memory"] == 4 * 1024**3


# -- Docker: the whole DockerOperator.execute, the engine stood in for ----------------------------------------


class LocalEngine(docker.APIClient):
    """The Docker engine stood in for (there is none here): a real ``docker.APIClient`` of a pinned API version,
    so the container config is built by docker-py's own ``create_container`` (exactly the JSON an engine
    would receive; only the POST that sends it is replaced), and "starting" the container runs its entrypoint + command as a local process with
    the container's environment only (plus the image's ``PATH``/``PYTHONPATH``). ``exit_code`` forces the
    container's exit status without running anything (a container killed before it wrote anything)."""

    def __init__(self, exit_code: int | None = None) -> None:
        super().__init__(base_url="unix:///nonexistent-docker.sock", version="1.41")
        self.exit_code = exit_code
        self.created: dict = {}
        self.removed: list = []
        self.output = ""

    def images(self, name=None, **kwargs):
        return [{"Id": "sha256:image"}]

    def create_container_from_config(self, config, name=None, platform=None):
        self.created = config  # docker-py's own create_container built it: the body of POST /containers/create
        return {"Id": "c0ffee"}

    def attach(self, container, **kwargs):
        yield from (line.encode() for line in self.output.splitlines(keepends=True))

    def start(self, container, **kwargs):
        if self.exit_code is not None:
            self.returncode = self.exit_code
            return
        env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(INCLUDE)}
        env |= dict(e.split("=", 1) for e in self.created.get("Env") or [])
        proc = subprocess.run(
            [*self.created["Entrypoint"], *self.created["Cmd"]], env=env, capture_output=True, text=True
        )
        self.output, self.returncode = proc.stdout + proc.stderr, proc.returncode

    def wait(self, container, **kwargs):
        return {"StatusCode": self.returncode}

    def remove_container(self, container, **kwargs):
        self.removed.append((container, kwargs))


def docker_suite(engine: LocalEngine) -> DockerSuiteOperator:
    op = DockerSuiteOperator(task_id="run_suite", suite="unit")
    op.hook.__dict__["api_client"] = engine  # the hook's cached client: no engine to connect to
    return op


def test_a_suite_run_through_the_docker_operator_is_recorded_as_the_worker_records_it(sample, tmp_path):
    local_ti = resolved("manual__local")
    with pytest.raises(AirflowFailException, match="1 failed"):
        PytestSuiteOperator(task_id="run_suite", suite="unit").execute(make_context("run_suite", ti=local_ti))

    engine = LocalEngine()
    ti = resolved("manual__docker")
    with pytest.raises(AirflowFailException, match="1 failed"):
        docker_suite(engine).execute(make_context("run_suite", ti=ti))

    host = engine.created["HostConfig"]  # what DockerOperator sent, with the suite container's hardening
    assert host["NetworkMode"] == "none" and host["CapDrop"] == ["ALL"] and host["ReadonlyRootfs"] is True
    assert host["SecurityOpt"] == ["no-new-privileges:true"] and not host.get("Privileged")
    assert [m["Target"] for m in host["Mounts"]] == [str((tmp_path / "home").resolve())]
    assert engine.created["User"] == "50000:0" and engine.created["Image"] == "registry.example/assay-runner:1.2.3"
    assert_no_worker_secret(dict(e.split("=", 1) for e in engine.created["Env"]))
    assert engine.removed == [("c0ffee", {"force": True})]

    local = recorded(sample["url"], local_ti.dag_id, local_ti.run_id)["unit"]
    contained = recorded(sample["url"], ti.dag_id, ti.run_id)["unit"]
    assert contained.status == "FAIL" and comparable(contained) == comparable(local)


def test_a_docker_container_killed_before_writing_its_result_is_a_retryable_error(sample):
    ti = resolved()
    with pytest.raises(AirflowException) as err:
        docker_suite(LocalEngine(exit_code=137)).execute(make_context("run_suite", ti=ti))
    assert not isinstance(err.value, AirflowFailException)
    row = recorded(sample["url"], ti.dag_id, ti.run_id)["unit"]
    assert row.status == "ERROR" and "docker container that left no result" in row.message
    assert "137" in row.message


def test_shards_run_in_pods_and_merge_to_what_the_worker_records_unsharded(sample, tmp_path):
    """A sharded suite with the kubernetes backend: each shard's pod gets its part (the durations travel in
    ``shard.json``: the pod has no metrics DB), and the merge records what an unsharded local run recorded."""
    from assay_airflow.operators.per_commit import SHARD_PLANS_XCOM_KEY, MergeShardsOperator

    local_ti = resolved("manual__local")
    with pytest.raises(AirflowFailException):
        PytestSuiteOperator(task_id="run_suite", suite="unit").execute(make_context("run_suite", ti=local_ti))
    local = recorded(sample["url"], local_ti.dag_id, local_ti.run_id)["unit"]

    cfg_path = Path(os.environ["ASSAY_CONFIG"])
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["targets"]["sample"]["suites"]["unit"]["shards"] = 2
    cfg_path.write_text(yaml.safe_dump(cfg))
    ti = resolved("manual__pods")
    items = ti.xcoms[("resolve_commit", "return_value")]
    assert items == ["unit[1/2]", "unit[2/2]"]
    assert ti.xcoms[("resolve_commit", SHARD_PLANS_XCOM_KEY)]["unit"]["duration_runs"] == [local.id]
    for map_index, item in enumerate(items):
        ti.map_index = map_index
        op = PodStandIn(task_id="run_suite", suite=item)
        try:
            op.execute(make_context("run_suite", ti=ti))
        except AirflowFailException:
            pass
        assert (
            "--shard" in op.cmds and json.loads(Path(op.cmds[op.cmds.index("--shard") + 1]).read_text())["count"] == 2
        )
    ti.map_index = -1
    with pytest.raises(AirflowFailException, match="1 failed"):
        MergeShardsOperator(task_id="merge_shards").execute(make_context("merge_shards", ti=ti))
    merged = recorded(sample["url"], ti.dag_id, ti.run_id)["unit"]
    assert merged.task_id == "merge_shards"
    assert sorted((t.node_id, t.outcome) for t in merged.test_cases) == sorted(
        (t.node_id, t.outcome) for t in local.test_cases
    )
    assert comparable(merged)["metrics"] == comparable(local)["metrics"]
