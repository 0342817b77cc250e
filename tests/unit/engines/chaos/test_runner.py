"""The chaos experiment runner: real ``chaos run`` subprocesses against a real multi-worker server on loopback.

The stand-in server (tests/support/chaos_target.py) has the demo serving API's endpoints and fault
hooks; the experiments are the demo's files in include/demo_platform/assay/chaos/experiments, kept short through their
``ASSAY_CHAOS_*`` variables.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import psutil
import pytest
import requests
from support.chaos_target import ADMIN_TOKEN, READER_TOKEN, chaos_env, target_argv, target_env
from support.demo_platform import EXPERIMENTS_DIR

from assay.engines.chaos.runner import discover_experiments, run_experiment, validate_experiment
from assay.engines.chaos.verdict import RECOVERY_WEIGHT
from assay.errors import ConfigError
from assay.service import start_service
from assay.status import Status

REPO = Path(__file__).resolve().parents[4]
TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_target(work: Path, *, no_db_reconnect: bool = False, workers: int = 2):
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    return start_service(
        target_argv(port, workers),
        cwd=REPO,
        port=port,
        ready_timeout=30,
        env=target_env(work / "faults.json", no_db_reconnect=no_db_reconnect),
        log_path=work / "server.log",
    )


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    with start_target(tmp_path_factory.mktemp("target")) as handle:
        yield handle


@pytest.fixture
def clean_target(target):
    """The shared target with no fault left over from a previous test."""
    requests.delete(f"{target.base_url}/admin/faults", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=5)
    return target


def fault_state_file(handle) -> Path:
    return handle.log_path.parent / "faults.json"


def live_pids(pids) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.add(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def check(result, name):
    return next(c for c in result.checks if c.name == name)


def metric(result, name, phase=None):
    return next(m for m in result.metrics if m.name == name and (phase is None or m.labels.get("phase") == phase))


# --- real experiments ------------------------------------------------------------------------------


def test_killing_a_worker_passes_when_the_master_replaces_it(clean_target, tmp_path):
    workers_before = {p.pid for p in psutil.Process(clean_target.pid).children()}
    res = run_experiment(
        EXPERIMENTS_DIR / "kill-serving-worker.json",
        env=chaos_env(clean_target.base_url),
        timeout_s=TIMEOUT_S,
        work_dir=tmp_path,
    )
    assert res.status is Status.PASS, res.message
    kill = res.journal.method[0]
    assert kill.name == "kill-serving-worker" and kill.succeeded
    assert kill.output["master_pid"] == clean_target.pid and kill.output["killed_pid"] in workers_before
    assert not live_pids([kill.output["killed_pid"]])  # really killed
    recovery = res.journal.method[1].output
    assert recovery["workers"] == 2
    assert 0 < res.recovery_s <= recovery["timeout_s"]
    assert res.resilience_score == pytest.approx(
        100 - RECOVERY_WEIGHT * res.recovery_s / recovery["timeout_s"], abs=0.1
    )
    assert [c.name for c in res.checks] == ["steady_state_before", "fault_injected", "recovery", "steady_state_after"]
    assert check(res, "recovery").observed == res.recovery_s
    assert metric(res, "chaos.probe.predict-p95-ms", "after").value < 250
    assert res.journal.declared_rollbacks == 0
    json.dumps(res.describe_dict())  # JSON-safe


def test_latency_fault_is_observed_then_cleared_and_secrets_stay_out_of_the_records(clean_target, tmp_path):
    res = run_experiment(
        EXPERIMENTS_DIR / "inject-latency.json",
        env=chaos_env(clean_target.base_url),
        timeout_s=TIMEOUT_S,
        work_dir=tmp_path,
    )
    assert res.status is Status.PASS, res.message
    # the fault really happened: clients saw at least the injected 300 ms during the fault window
    assert metric(res, "chaos.probe.predict-under-latency.p95_ms", "method").value >= 300
    assert metric(res, "chaos.probe.predict-p95-ms", "after").value < 250
    assert check(res, "rollbacks").status == "PASS" and [r.name for r in res.journal.rollbacks] == ["clear-faults"]
    assert json.loads(fault_state_file(clean_target).read_text())["faults"]["latency_ms"] == 0
    assert res.details["configuration"]["p95_max_ms"] == 250.0
    for path in tmp_path.iterdir():
        text = path.read_text(errors="replace")
        assert READER_TOKEN not in text and ADMIN_TOKEN not in text, path.name
    assert READER_TOKEN not in json.dumps(res.describe_dict())


def test_error_fault_is_observed_and_the_service_recovers(clean_target, tmp_path):
    res = run_experiment(
        EXPERIMENTS_DIR / "inject-errors.json",
        env=chaos_env(clean_target.base_url),
        timeout_s=TIMEOUT_S,
        work_dir=tmp_path,
    )
    assert res.status is Status.PASS, res.message
    under = res.journal.method[1].output
    assert under["success_rate"] < 1 and "503" in under["status_codes"]
    assert res.journal.after.met and res.resilience_score > 50


def test_cutting_the_database_passes_when_the_service_reconnects(clean_target, tmp_path):
    res = run_experiment(
        EXPERIMENTS_DIR / "cut-registry-db.json",
        env=chaos_env(clean_target.base_url),
        timeout_s=TIMEOUT_S,
        work_dir=tmp_path,
    )
    assert res.status is Status.PASS, res.message
    assert res.journal.method[0].output["faults"]["db_down"] is True
    assert metric(res, "chaos.probe.predict-while-db-down.success_rate", "method").value == 1.0


@pytest.mark.slow
def test_a_service_that_never_reconnects_deviates_is_fail_and_is_still_rolled_back(tmp_path):
    with start_target(tmp_path / "buggy", no_db_reconnect=True, workers=1) as buggy:
        env = chaos_env(buggy.base_url, ASSAY_CHAOS_RECOVERY_TIMEOUT_S="1.5")
        res = run_experiment(
            EXPERIMENTS_DIR / "cut-registry-db.json", env=env, timeout_s=TIMEOUT_S, work_dir=tmp_path / "run"
        )
    assert res.status is Status.FAIL, res.message
    assert res.deviated
    after = check(res, "steady_state_after")
    assert after.status == "FAIL" and "api-health" in after.message and "db is 'down'" in after.message
    assert check(res, "recovery").status == "FAIL" and "not recovered within 1.5 s" in check(res, "recovery").message
    assert check(res, "steady_state_before").status == "PASS"
    assert check(res, "rollbacks").status == "PASS"  # rollbacks ran although the hypothesis deviated
    assert res.resilience_score == 0.0


def test_target_down_when_the_run_starts_is_error_not_fail(tmp_path):
    res = run_experiment(
        EXPERIMENTS_DIR / "inject-latency.json",
        env=chaos_env(f"http://127.0.0.1:{free_port()}"),
        timeout_s=TIMEOUT_S,
        work_dir=tmp_path,
    )
    assert res.status is Status.ERROR
    before = check(res, "steady_state_before")
    assert before.status == "ERROR" and "cannot connect" in before.message and "no fault was injected" in before.message
    assert "fault_injected" not in [c.name for c in res.checks]
    assert res.journal.method == () and res.resilience_score is None
    assert "steady_state_before" in res.message


def test_a_fault_that_cannot_be_injected_is_error_not_pass(clean_target, tmp_path):
    env = chaos_env(clean_target.base_url, ASSAY_CHAOS_ADMIN_TOKEN="not-the-admin-token")
    res = run_experiment(EXPERIMENTS_DIR / "inject-latency.json", env=env, timeout_s=TIMEOUT_S, work_dir=tmp_path)
    assert res.status is Status.ERROR and res.resilience_score is None
    injected = check(res, "fault_injected")
    assert injected.status == "ERROR" and "action 'inject-latency' failed: POST" in injected.message
    assert "HTTP 403" in injected.message and "not-the-admin-token" not in res.message
    assert check(res, "steady_state_after").status == "PASS"  # held, but proves nothing without the fault
    assert check(res, "rollbacks").status == "ERROR"


@pytest.mark.slow
def test_timeout_interrupts_chaos_which_still_plays_its_rollbacks(clean_target, tmp_path):
    doc = json.loads((EXPERIMENTS_DIR / "inject-latency.json").read_text())
    doc["method"][0]["pauses"] = {"after": 60}  # the fault outlives the run's timeout
    experiment = tmp_path / "slow-latency.json"
    experiment.write_text(json.dumps(doc))
    res = run_experiment(experiment, env=chaos_env(clean_target.base_url), timeout_s=4, work_dir=tmp_path / "run")
    assert res.status is Status.ERROR
    assert check(res, "completed_in_time").status == "ERROR" and res.exit_code is None
    assert res.journal.status == "interrupted"
    assert check(res, "fault_injected").status == "ERROR"
    assert check(res, "rollbacks").status == "PASS"
    assert json.loads(fault_state_file(clean_target).read_text())["faults"]["latency_ms"] == 0


# --- experiment files are validated before anything runs ---------------------------------------------


def test_every_shipped_experiment_is_valid():
    files = discover_experiments(EXPERIMENTS_DIR)
    assert {f.stem for f in files} >= {"kill-serving-worker", "inject-latency", "inject-errors", "cut-registry-db"}
    for f in files:
        loaded = validate_experiment(f, chaos_env("http://127.0.0.1:9"))
        assert loaded.configuration["base_url"] == "http://127.0.0.1:9"
        assert loaded.document["rollbacks"] or f.stem == "kill-serving-worker"


def _broken(doc_edit):
    def make(tmp_path: Path) -> Path:
        doc = json.loads((EXPERIMENTS_DIR / "inject-latency.json").read_text())
        doc_edit(doc)
        path = tmp_path / "broken.json"
        path.write_text(json.dumps(doc))
        return path

    return make


def _text(content: str):
    def make(tmp_path: Path) -> Path:
        path = tmp_path / "broken.json"
        path.write_text(content)
        return path

    return make


def _set(path: list, value):
    def edit(doc):
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return edit


def _drop(key):
    return lambda doc: doc.pop(key)


BROKEN = {
    "not-json": (_text('{"title": "x",'), "not valid JSON at line 1"),
    "not-an-object": (_text("[1, 2]"), "top level must be a JSON object"),
    "no-title": (_broken(_drop("title")), "'title' is missing"),
    "no-hypothesis": (_broken(_drop("steady-state-hypothesis")), "'steady-state-hypothesis' with at least one probe"),
    "empty-method": (_broken(_set(["method"], [])), "'method' must be a non-empty list"),
    "unknown-module": (
        _broken(_set(["method", 0, "provider", "module"], "assay.engines.chaos.providers.nope")),
        "method[0] 'inject-latency': could not find Python module 'assay.engines.chaos.providers.nope'",
    ),
    "unknown-function": (
        _broken(_set(["method", 0, "provider", "func"], "inject_lag")),
        "does not expose a function called 'inject_lag'",
    ),
    "bad-argument": (
        _broken(_set(["method", 0, "provider", "arguments", "latency"], 5)),
        "argument 'latency' is not part of the function signature",
    ),
    "no-tolerance": (
        _broken(lambda d: d["steady-state-hypothesis"]["probes"][0].pop("tolerance")),
        "steady-state-hypothesis.probes[0] 'api-health': a steady-state probe needs a 'tolerance'",
    ),
    "undefined-reference": (
        _broken(_set(["method", 0, "provider", "arguments", "latency_ms"], "${lag}")),
        "uses ${lag} but neither 'configuration' nor 'secrets' defines 'lag'",
    ),
    "secret-in-file": (
        _broken(_set(["secrets", "assay", "token"], "hunter2hunter2")),
        "secret assay.token is written in the file",
    ),
    "unknown-secrets-group": (
        _broken(_set(["method", 0, "provider", "secrets"], ["vault"])),
        "asks for secrets group 'vault'",
    ),
    "bad-env-type": (
        _broken(
            _set(
                ["configuration", "latency_ms"],
                {"type": "env", "key": "ASSAY_CHAOS_LAG", "env_var_type": "int", "default": "soon"},
            )
        ),
        "configuration 'latency_ms': ASSAY_CHAOS_LAG='soon' is not a valid int",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_malformed_experiment_is_error_naming_the_file_and_the_problem(case, tmp_path):
    make, problem = BROKEN[case]
    path = make(tmp_path)
    res = run_experiment(path, env=chaos_env("http://127.0.0.1:9"), timeout_s=TIMEOUT_S, work_dir=tmp_path / "run")
    assert res.status is Status.ERROR
    assert str(path) in res.message and problem in res.message, res.message
    assert check(res, "experiment_valid").status == "ERROR"
    assert not list((tmp_path / "run").glob("*.journal.json"))  # chaos never ran


def test_a_missing_variable_or_file_is_error_that_names_it(tmp_path):
    env = chaos_env("http://127.0.0.1:9")
    del env["ASSAY_CHAOS_ADMIN_TOKEN"]
    res = run_experiment(EXPERIMENTS_DIR / "inject-errors.json", env=env, timeout_s=TIMEOUT_S, work_dir=tmp_path)
    assert (
        res.status is Status.ERROR and "ASSAY_CHAOS_ADMIN_TOKEN" in res.message and "assay.admin_token" in res.message
    )
    missing = tmp_path / "nope.json"
    res = run_experiment(missing, env=env, timeout_s=TIMEOUT_S, work_dir=tmp_path)
    assert res.status is Status.ERROR and f"{missing} does not exist" in res.message
    with pytest.raises(ConfigError, match="no chaos experiment"):
        discover_experiments(tmp_path / "empty")
    res = run_experiment(
        EXPERIMENTS_DIR / "inject-errors.json",
        env=chaos_env("http://127.0.0.1:9"),
        timeout_s=TIMEOUT_S,
        work_dir=tmp_path,
        python=str(tmp_path / "no-python"),
    )
    assert res.status is Status.ERROR and check(res, "chaos_started").message.startswith("cannot start")


# --- the real demo platform serving API ------------------------------------------------------------

DEMO_DIR = REPO / "include" / "demo_platform"


def start_demo(work: Path, workers: int):
    """The demo platform's serving API with fresh random tokens; returns (handle, tokens)."""
    import secrets
    import sys

    from assay.process import target_env as worker_env

    if not (DEMO_DIR / "serving" / "__main__.py").is_file():
        pytest.skip("include/demo_platform/serving is not there yet")
    tokens = {"reader": secrets.token_hex(16), "admin": secrets.token_hex(16)}
    (work / "tokens.json").write_text(
        json.dumps(
            {
                "tokens": [
                    {"token": tokens["reader"], "actor": "assay-chaos", "role": "reader"},
                    {"token": tokens["admin"], "actor": "assay-chaos-admin", "role": "admin"},
                ]
            }
        )
    )
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "serving",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--db-url",
        f"sqlite:///{work / 'registry.db'}",
        "--tokens-file",
        str(work / "tokens.json"),
        "--log-level",
        "warning",
    ]
    svc = start_service(
        argv, cwd=DEMO_DIR, port=port, env=worker_env(), ready_timeout=120, log_path=work / "serving.log"
    )
    return svc, tokens


def demo_env(svc, tokens, **extra: str) -> dict[str, str]:
    return {
        "ASSAY_CHAOS_BASE_URL": svc.base_url,
        "ASSAY_CHAOS_TOKEN": tokens["reader"],
        "ASSAY_CHAOS_ADMIN_TOKEN": tokens["admin"],
        "ASSAY_CHAOS_PROBE_REQUESTS": "12",
        **extra,
    }


def assert_no_token_in(directory: Path, tokens: dict[str, str]) -> None:
    for path in directory.iterdir():
        text = path.read_text(errors="replace")
        assert not any(t in text for t in tokens.values()), path.name


@pytest.fixture(scope="module")
def demo_api(tmp_path_factory):
    """One worker: the demo's fault hooks act on the worker process a request reaches."""
    svc, tokens = start_demo(tmp_path_factory.mktemp("demo"), workers=1)
    with svc:
        yield svc, tokens


@pytest.mark.slow
@pytest.mark.parametrize("experiment", ["cut-registry-db", "inject-errors", "inject-latency"])
def test_real_experiment_against_the_demo_serving_api(demo_api, experiment, tmp_path):
    svc, tokens = demo_api
    res = run_experiment(
        EXPERIMENTS_DIR / f"{experiment}.json", env=demo_env(svc, tokens), timeout_s=TIMEOUT_S, work_dir=tmp_path
    )
    assert res.status is Status.PASS, res.message
    injected = res.journal.method[0].output["faults"]
    assert injected["active"] is True  # the demo reports the fault it applied
    assert res.journal.method[2].output["faults"]["active"] is False
    assert [r.name for r in res.journal.rollbacks] == ["clear-faults"] and check(res, "rollbacks").status == "PASS"
    assert 0 < res.resilience_score <= 100
    assert_no_token_in(tmp_path, tokens)
