"""Static checks of the production deployment shape.

Covers docker-compose.yaml, Dockerfile and the helper files under docker/.
Nothing here needs a network or a Docker engine; the one test that runs the
compose CLI (`docker compose config` / `docker-compose config`) skips, saying
why, when no compose CLI is installed.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yaml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKER_DIR = REPO_ROOT / "docker"

AIRFLOW_IMAGE = "${AIRFLOW_IMAGE_NAME:-assay-airflow:latest}"
ASSAY_HOME = "/opt/airflow/assay"
EXPECTED_SERVICES = {
    "postgres",
    "redis",
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
    "airflow-worker-performance",
    "grafana",
}
# service -> the Airflow CLI command it runs (workers are matched by command)
AIRFLOW_COMMANDS = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
}
PROJECT_MOUNTS = {
    "dags": "/opt/airflow/dags",
    "plugins": "/opt/airflow/plugins",
    "include": "/opt/airflow/include",
}


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def _load_compose() -> dict:
    with COMPOSE_FILE.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict), "docker-compose.yaml must be a mapping"
    return data


@pytest.fixture(scope="module")
def compose() -> dict:
    return _load_compose()


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    svcs = compose.get("services")
    assert isinstance(svcs, dict) and svcs, "docker-compose.yaml has no services"
    return svcs


def _command_str(svc: dict) -> str:
    cmd = svc.get("command", "")
    if isinstance(cmd, list):
        return " ".join(str(c) for c in cmd)
    return str(cmd or "")


def _is_worker(svc: dict) -> bool:
    return re.search(r"\bcelery\s+worker\b", _command_str(svc)) is not None


def _worker_names(services: dict) -> list[str]:
    return [name for name, svc in services.items() if _is_worker(svc)]


def _airflow_names(services: dict) -> list[str]:
    """Services running the Assay Airflow image (by name or by being a worker)."""
    return [name for name, svc in services.items() if name.startswith("airflow-") or _is_worker(svc)]


def _env(svc: dict) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        out = {}
        for item in env:
            key, _, value = str(item).partition("=")
            out[key] = value
        return out
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _replicas(svc: dict) -> int:
    deploy = svc.get("deploy") or {}
    if "replicas" in deploy:
        return int(deploy["replicas"])
    if "scale" in svc:
        return int(svc["scale"])
    return 1


def _mounts(svc: dict) -> list[tuple[str, str]]:
    """(source, target) of every volume entry, short or long syntax."""
    out = []
    for vol in svc.get("volumes") or []:
        if isinstance(vol, dict):
            out.append((str(vol.get("source", "")), str(vol.get("target", ""))))
        else:
            parts = str(vol).split(":")
            if len(parts) == 1:  # anonymous volume
                out.append(("", parts[0]))
            else:
                out.append((parts[0], parts[1]))
    return out


def _is_host_path(source: str) -> bool:
    return source.startswith(("./", "../", "/", "~"))


def _healthcheck_test(svc: dict) -> str:
    hc = svc.get("healthcheck") or {}
    if hc.get("disable"):
        return ""
    test = hc.get("test")
    if isinstance(test, list):
        if not test or test[0] == "NONE":
            return ""
        return " ".join(str(t) for t in test)
    return str(test or "")


def _depends_on(svc: dict) -> dict[str, str]:
    dep = svc.get("depends_on") or {}
    if isinstance(dep, list):  # short syntax carries no condition
        return {name: "service_started" for name in dep}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in dep.items()}


# -- Dockerfile --------------------------------------------------------------


def _dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    buf = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # comments are allowed (and ignored) inside continuations too
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        keyword, _, args = buf.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        buf = ""
    if buf:
        keyword, _, args = buf.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    return instructions


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    assert DOCKERFILE.is_file(), f"missing {DOCKERFILE}"
    return _dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8"))


def _copies(instructions) -> list[tuple[list[str], str, str]]:
    """(sources, destination, user-at-that-point) of every COPY/ADD."""
    out, user = [], "root"
    for keyword, args in instructions:
        if keyword == "FROM":
            user = "root"
        elif keyword == "USER":
            user = args.split(":")[0]
        elif keyword in {"COPY", "ADD"}:
            parts = [p for p in shlex.split(args) if not p.startswith("--")]
            out.append((parts[:-1], parts[-1], user))
    return out


def _runs(instructions) -> list[tuple[str, str]]:
    """(command, user-at-that-point) of every RUN."""
    out, user = [], "root"
    for keyword, args in instructions:
        if keyword == "FROM":
            user = "root"
        elif keyword == "USER":
            user = args.split(":")[0]
        elif keyword == "RUN":
            out.append((args, user))
    return out


# -- secrets ---------------------------------------------------------------------

# The database owner `airflow`/`airflow` of the official compose file: internal (postgres is not published).
INTERNAL_DB_PASSWORD = "airflow"
INTERNAL_DB_PASSWORD_KEYS = {"POSTGRES_PASSWORD"}
# Secrets that must come from the operator's environment with no default at all: `${VAR:?message}`.
REQUIRED_SECRETS = {
    "airflow-common": {"AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY"},
    "airflow-init": {"_AIRFLOW_WWW_USER_PASSWORD", "ASSAY_GRAFANA_DB_PASSWORD"},
    "grafana": {"GF_SECURITY_ADMIN_PASSWORD", "ASSAY_METRICS_DB_PASSWORD"},
}
SECRET_KEY_RE = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|APIKEY|FERNET_KEY|PRIVATE_KEY|WEBHOOK", re.I)
INTERPOLATION_RE = re.compile(r"^\$\{(?P<var>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<default>[^}]*))?\}$")
TOKEN_PATTERNS = {
    "Slack webhook URL": re.compile(r"hooks\.slack\.com/", re.I),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{8,}"),
    "GitHub token": re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}"),
    "GitLab token": re.compile(r"\bglpat-[A-Za-z0-9_-]{16,}"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "OpenAI-style key": re.compile(r"\bsk-[A-Za-z0-9_-]{20,}"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "Discord/Teams webhook": re.compile(r"discord(?:app)?\.com/api/webhooks/|webhook\.office\.com/", re.I),
}
URI_USERINFO_RE = re.compile(r"[a-z][a-z0-9+.-]*://(?P<user>[^:/@\s]*):(?P<password>[^@/\s]*)@", re.I)


def _walk(node, path=""):
    """Yield (dotted path, key, string value) for every scalar in a YAML tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk_kv(f"{path}.{key}" if path else str(key), str(key), value)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if isinstance(value, str) and "=" in value and not value.startswith(("-", "/")):
                key, _, val = value.partition("=")  # KEY=value list-style environment
                yield from _walk_kv(f"{path}[{i}]", key, val)
            else:
                yield from _walk_kv(f"{path}[{i}]", "", value)
    elif node is not None:
        yield path, "", str(node)


def _walk_kv(path, key, value):
    if isinstance(value, (dict, list)):
        yield from _walk(value, path)
    else:
        yield path, key, "" if value is None else str(value)


def secret_findings(data) -> list[str]:
    """Secret-looking literals and defaults in a parsed compose tree (empty list = clean).

    A secret-like key may hold: nothing, a required interpolation (``${VAR:?message}``), an interpolation
    whose default is empty (``${VAR:-}``: the feature is off until set), or, for the internal database
    owner only, the literal ``airflow``. Any other literal or default is a finding, however it is spelt:
    "change-me", "dev-only", "airflow" are known defaults, so they are no secret.
    """
    findings = []
    for path, key, value in _walk(data):
        for label, pattern in TOKEN_PATTERNS.items():
            if pattern.search(value):
                findings.append(f"{path}: looks like a {label}")
        for match in URI_USERINFO_RE.finditer(value):
            if match.group("password") not in {"", INTERNAL_DB_PASSWORD}:
                findings.append(f"{path}: URI with a non-default password")
        if key and SECRET_KEY_RE.search(key):
            if value == "" or (value == INTERNAL_DB_PASSWORD and key in INTERNAL_DB_PASSWORD_KEYS):
                continue
            interp = INTERPOLATION_RE.match(value)
            if interp is None:
                findings.append(f"{path}: literal value for secret-like key {key}")
            elif interp.group("op") in {"-", ":-"} and interp.group("default"):
                findings.append(
                    f"{path}: secret-like key {key} has a default ({interp.group('default')!r}); "
                    f"make it required: ${{{interp.group('var')}:?...}}"
                )
    return findings


def required_secret_findings(compose: dict) -> list[str]:
    """Each secret of REQUIRED_SECRETS is ``${VAR:?message}``: compose refuses to start without it."""
    findings = []
    for where, keys in REQUIRED_SECRETS.items():
        env = _env(compose["x-airflow-common"] if where == "airflow-common" else compose["services"][where])
        for key in sorted(keys):
            interp = INTERPOLATION_RE.match(env.get(key, ""))
            if interp is None or interp.group("op") != ":?" or not interp.group("default").strip():
                findings.append(f"{where}: {key}={env.get(key)!r} must be ${{VAR:?what to set}}")
    return findings


# --------------------------------------------------------------------------
# docker-compose.yaml
# --------------------------------------------------------------------------


def test_compose_file_parses(compose):
    assert "services" in compose
    assert isinstance(compose.get("x-airflow-common"), dict), "expected an x-airflow-common anchor block"


def test_expected_services_exist(services):
    missing = EXPECTED_SERVICES - set(services)
    assert not missing, f"missing services: {sorted(missing)}"
    assert _worker_names(services), "no service runs `celery worker`"


def test_airflow_services_run_expected_commands(services):
    for name, command in AIRFLOW_COMMANDS.items():
        assert _command_str(services[name]).split() == [command], f"{name} should run `{command}`"


def test_every_airflow_service_uses_common_image_and_build(compose, services):
    common = compose["x-airflow-common"]
    assert common.get("image") == AIRFLOW_IMAGE
    assert common.get("build") in (".", {"context": "."}), "the common anchor must build the repo-root Dockerfile"
    names = _airflow_names(services)
    assert len(names) >= 6
    for name in names:
        svc = services[name]
        assert svc.get("image") == AIRFLOW_IMAGE, f"{name} does not use the common image"
        build = svc.get("build")
        context = build.get("context") if isinstance(build, dict) else build
        assert context is not None and (REPO_ROOT / context).resolve() == REPO_ROOT, f"{name} does not build from ."


def test_every_airflow_service_uses_celery_executor_and_shared_settings(services):
    jwt_secrets = set()
    for name in _airflow_names(services):
        env = _env(services[name])
        assert env.get("AIRFLOW__CORE__EXECUTOR") == "CeleryExecutor", name
        assert (
            env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN") == "postgresql+psycopg2://airflow:airflow@postgres/airflow"
        ), name
        assert env.get("AIRFLOW__CELERY__RESULT_BACKEND", "").startswith("db+postgresql://"), name
        assert env.get("AIRFLOW__CELERY__BROKER_URL") == "redis://:@redis:6379/0", name
        assert env.get("AIRFLOW__CORE__EXECUTION_API_SERVER_URL") == "http://airflow-apiserver:8080/execution/", name
        assert env.get("AIRFLOW__CORE__LOAD_EXAMPLES", "").lower() == "false", name
        assert env.get("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "").lower() == "false", name
        assert env.get("PYTHONPATH") == "/opt/airflow/include", name
        assert env.get("ASSAY_CONFIG") == "/opt/airflow/include/config/assay.yaml", name
        assert env.get("ASSAY_HOME") == ASSAY_HOME, name
        assert env.get("AIRFLOW__API_AUTH__JWT_SECRET"), f"{name} has no JWT secret"
        jwt_secrets.add(env["AIRFLOW__API_AUTH__JWT_SECRET"])
    assert len(jwt_secrets) == 1, "all Airflow components must share one JWT secret"


def test_assay_connections(services):
    for name in _airflow_names(services):
        env = _env(services[name])
        metrics = urlsplit(env.get("AIRFLOW_CONN_ASSAY_METRICS", ""))
        assert metrics.scheme in {"postgres", "postgresql"}, name
        assert (metrics.hostname, metrics.port, metrics.path) == ("postgres", 5432, "/assay_metrics"), name
        for conn in ("ASSAY_SLACK", "ASSAY_SMTP"):
            var = f"AIRFLOW_CONN_{conn}"
            assert env.get(var) == f"${{{var}:-}}", (
                f"{name}: {var} must come from the environment with an empty default"
            )


def _default_of(value: str) -> str:
    """``${VAR:-default}`` -> ``default`` (what compose uses when VAR is unset); anything else unchanged."""
    m = re.fullmatch(r"\$\{\w+:-([^}]*)\}", value)
    return m.group(1) if m else value


def _worker_queues(svc: dict) -> set[str]:
    """The queues ``celery worker`` serves: ``--queues``/``-q`` (defaults resolved), else ``default``."""
    args = shlex.split(_command_str(svc))
    for flag in ("--queues", "-q"):
        if flag in args:
            return {_default_of(q) for q in args[args.index(flag) + 1].split(",")}
        joined = next((a for a in args if a.startswith(f"{flag}=")), None)
        if joined:
            return {_default_of(q) for q in joined.split("=", 1)[1].split(",")}
    return {"default"}


def _worker_concurrency(svc: dict) -> int | None:
    args = shlex.split(_command_str(svc))
    for flag in ("--concurrency", "-c"):
        if flag in args:
            return int(args[args.index(flag) + 1])
    value = _env(svc).get("AIRFLOW__CELERY__WORKER_CONCURRENCY")
    return int(_default_of(value)) if value else None


def _performance_queue(services: dict) -> str:
    """The measurements' queue as the DAGs see it in compose: assay.yaml's performance_isolation.queue with
    the ASSAY_PERFORMANCE_QUEUE the Airflow services get (its compose default)."""
    from assay.config import load_config

    queue = _default_of(_env(services["airflow-scheduler"])["ASSAY_PERFORMANCE_QUEUE"])
    old = os.environ.get("ASSAY_PERFORMANCE_QUEUE")
    os.environ["ASSAY_PERFORMANCE_QUEUE"] = queue
    try:
        return load_config(REPO_ROOT / "include" / "config" / "assay.yaml").performance_isolation.queue
    finally:
        if old is None:
            del os.environ["ASSAY_PERFORMANCE_QUEUE"]
        else:
            os.environ["ASSAY_PERFORMANCE_QUEUE"] = old


def _general_workers(services: dict) -> list[str]:
    return [n for n in _worker_names(services) if "default" in _worker_queues(services[n])]


def test_exactly_two_general_worker_replicas(services):
    workers = _general_workers(services)
    total = sum(_replicas(services[name]) for name in workers)
    assert total == 2, f"expected 2 Celery worker replicas on the default queue, found {total} ({workers})"


def test_the_timing_measurements_have_a_worker_of_their_own(services):
    """The measurements' queue (performance_isolation.queue) is served by one worker that serves nothing
    else and runs one task at a time; the general workers do not serve it (else a load test could land
    beside a per-commit run)."""
    queue = _performance_queue(services)
    assert queue == "performance"
    serving = [n for n in _worker_names(services) if queue in _worker_queues(services[n])]
    assert serving == ["airflow-worker-performance"], serving
    worker = services["airflow-worker-performance"]
    assert _worker_queues(worker) == {queue}
    assert _worker_concurrency(worker) == 1 and _replicas(worker) == 1
    assert _env(worker)["AIRFLOW__CELERY__WORKER_CONCURRENCY"] == "1"
    for name in _general_workers(services):
        assert queue not in _worker_queues(services[name]), name
    # the worker's command and the DAGs' config read the same variable
    assert "${ASSAY_PERFORMANCE_QUEUE:-performance}" in _command_str(worker)
    assert _healthcheck_test(worker), "the performance worker needs a healthcheck"


def test_airflow_init_sets_the_one_slot_measurement_pool(services):
    """A task in a pool that does not exist is never scheduled: airflow-init sets performance_isolation.pool
    with one slot, reading its name from the config the DAGs read."""
    script = (DOCKER_DIR / "airflow-init.sh").read_text(encoding="utf-8")
    assert re.search(r'^airflow pools set "\$\{pool\}" 1 ', script, re.M), "init script must set the pool"
    snippet = re.search(r"^pool=\"\$\(python -c '([^']+)'\)\"$", script, re.M)
    assert snippet, "the pool's name must come from the config"
    env = os.environ | {
        "PYTHONPATH": str(REPO_ROOT / "include"),
        "ASSAY_CONFIG": str(REPO_ROOT / "include/config/assay.yaml"),
    }
    out = subprocess.run([sys.executable, "-c", snippet.group(1)], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "assay_measurement"


def test_postgres_and_redis_healthchecks(services):
    assert services["postgres"]["image"].split(":")[0] == "postgres"
    assert services["postgres"]["image"].split(":")[1].startswith("16")
    assert "pg_isready" in _healthcheck_test(services["postgres"])
    assert services["redis"]["image"].split(":")[0] == "redis"
    assert services["redis"]["image"].split(":")[1].startswith("7.2")
    assert re.search(r"redis-cli\s+ping", _healthcheck_test(services["redis"]))


def test_every_long_running_service_has_a_healthcheck(services):
    long_running = [name for name in services if name != "airflow-init"]
    assert len(long_running) >= 8
    lacking = [name for name in long_running if not _healthcheck_test(services[name])]
    assert not lacking, f"services without a healthcheck: {lacking}"


def test_apiserver_healthcheck_and_port(services):
    api = services["airflow-apiserver"]
    assert re.search(r"localhost:8080/api/v2/(version|monitor/health)", _healthcheck_test(api))
    ports = [
        str(p.get("published", "")) + ":" + str(p.get("target")) if isinstance(p, dict) else str(p)
        for p in api.get("ports", [])
    ]
    assert any(p.endswith(":8080") for p in ports), f"api server does not publish 8080: {ports}"


def test_airflow_services_depend_on_healthy_backends_and_init(services):
    for name in _airflow_names(services):
        deps = _depends_on(services[name])
        assert deps.get("postgres") == "service_healthy", f"{name} must wait for a healthy postgres"
        assert deps.get("redis") == "service_healthy", f"{name} must wait for a healthy redis"
        if name != "airflow-init":
            assert deps.get("airflow-init") == "service_completed_successfully", f"{name} must wait for airflow-init"
    assert "airflow-init" not in _depends_on(services["airflow-init"])
    assert _depends_on(services["grafana"]).get("postgres") == "service_healthy"


def test_airflow_init_migrates_the_database(services):
    init = services["airflow-init"]
    command = _command_str(init) + " " + str(init.get("entrypoint", ""))
    env = _env(init)
    if "assay-airflow-init" in command:
        script = (DOCKER_DIR / "airflow-init.sh").read_text(encoding="utf-8")
        assert re.search(r"^\s*airflow db migrate\b", script, re.M), "init script must run `airflow db migrate`"
        assert re.search(r"airflow connections add assay_metrics\b", script), (
            "init script must create the metrics connection"
        )
        assert re.search(r"python -m assay\.store migrate\b", script), "init script must migrate the metrics schema"
    else:
        assert "airflow db migrate" in command or env.get("_AIRFLOW_DB_MIGRATE") == "true"
    assert "restart" not in init or init["restart"] in ("no", "on-failure"), "airflow-init is one-shot"


def test_init_script_is_valid_bash():
    script = DOCKER_DIR / "airflow-init.sh"
    assert script.read_text(encoding="utf-8").startswith("#!/usr/bin/env bash")
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash on PATH to syntax-check docker/airflow-init.sh")
    result = subprocess.run([bash, "-n", str(script)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_init_script_is_installed_in_the_image(services, dockerfile):
    command = _command_str(services["airflow-init"])
    match = re.search(r"(/\S*assay-airflow-init)", command)
    if match is None:
        pytest.skip("airflow-init does not use the bundled init script")
    destinations = {dest for _, dest, _ in _copies(dockerfile)}
    assert match.group(1) in destinations, f"{match.group(1)} is not COPY'd by the Dockerfile"


def test_project_directories_are_mounted_and_exist(services):
    for name in _airflow_names(services):
        mounts = dict((target, source) for source, target in _mounts(services[name]))
        for directory, target in PROJECT_MOUNTS.items():
            assert target in mounts, f"{name} does not mount {target}"
            source = mounts[target]
            assert _is_host_path(source), f"{name}: {target} should be a bind mount of ./{directory}"
            assert (REPO_ROOT / source).resolve() == REPO_ROOT / directory, f"{name}: {target} <- {source}"
    for directory in PROJECT_MOUNTS:
        assert (REPO_ROOT / directory).is_dir(), f"{directory}/ is mounted but does not exist in the repo"


def test_every_relative_bind_mount_exists(services):
    missing = []
    for name, svc in services.items():
        for source, target in _mounts(svc):
            if source.startswith(("./", "../")) and not (REPO_ROOT / source).exists():
                missing.append(f"{name}: {source} -> {target}")
    assert not missing, f"bind-mount sources missing from the repo: {missing}"


def test_named_volumes_for_postgres_and_assay_workspace(compose, services):
    declared = set((compose.get("volumes") or {}).keys())
    pg = dict((t, s) for s, t in _mounts(services["postgres"]))
    pg_source = pg.get("/var/lib/postgresql/data", "")
    assert pg_source in declared, "postgres data must live in a declared named volume"

    workspace_volumes = set()
    for name in _worker_names(services):
        env = _env(services[name])
        assert env.get("ASSAY_HOME") == ASSAY_HOME
        mounts = dict((t, s) for s, t in _mounts(services[name]))
        source = mounts.get(ASSAY_HOME, "")
        assert source in declared, f"{name}: {ASSAY_HOME} must be a declared named volume"
        workspace_volumes.add(source)
    assert len(workspace_volumes) == 1, "all workers must share one Assay workspace volume"


def test_postgres_init_script_creates_metrics_db(services):
    mounts = dict((t, s) for s, t in _mounts(services["postgres"]))
    source = mounts.get("/docker-entrypoint-initdb.d")
    assert source, "postgres has no /docker-entrypoint-initdb.d mount"
    init_dir = REPO_ROOT / source
    scripts = sorted(p for p in init_dir.glob("*") if p.suffix in {".sql", ".sh"})
    assert scripts, f"no init scripts in {init_dir}"
    text = "\n".join(p.read_text(encoding="utf-8") for p in scripts)
    assert re.search(r"CREATE DATABASE\s+\"?assay_metrics\b", text, re.I)


def test_grafana_datasource_points_at_metrics_db(services):
    grafana = services["grafana"]
    assert grafana["image"].startswith("grafana/grafana")
    env = _env(grafana)
    mounts = dict((t, s) for s, t in _mounts(grafana))
    prov = [(t, s) for t, s in mounts.items() if t.startswith("/etc/grafana/provisioning")]
    assert prov, "grafana has no provisioning mount"
    # every provisioning mount (datasources, dashboards): the datasource may be in any of them
    files = sorted(path for _, source in prov for path in (REPO_ROOT / source).rglob("*.y*ml"))
    assert files, f"no provisioning files under {[s for _, s in prov]}"

    def expand(value):
        return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: env.get(m.group(1) or m.group(2), m.group(0)), str(value))

    datasources = []
    for path in files:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        datasources.extend(doc.get("datasources") or [])
    pg = [d for d in datasources if d.get("type") in {"postgres", "grafana-postgresql-datasource"}]
    assert pg, "no PostgreSQL datasource provisioned"
    ds = pg[0]
    database = expand((ds.get("jsonData") or {}).get("database") or ds.get("database", ""))
    assert database == "assay_metrics"
    assert expand(ds.get("url", "")) == "postgres:5432"
    assert "password" not in ds, "datasource password must live in secureJsonData"


def test_no_secret_literals_in_compose(compose):
    findings = secret_findings(compose)
    assert not findings, "secret-looking values in docker-compose.yaml:\n" + "\n".join(findings)
    raw = COMPOSE_FILE.read_text(encoding="utf-8")
    for label, pattern in TOKEN_PATTERNS.items():
        assert not pattern.search(raw), f"docker-compose.yaml contains a {label}"


def test_no_secret_literals_in_deploy_helpers():
    paths = [DOCKERFILE, *(p for p in DOCKER_DIR.rglob("*") if p.is_file())]
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        for label, pattern in TOKEN_PATTERNS.items():
            assert not pattern.search(text), f"{path.relative_to(REPO_ROOT)} contains a {label}"
        for match in URI_USERINFO_RE.finditer(text):
            password = match.group("password")
            assert password in {"", INTERNAL_DB_PASSWORD} or password.startswith(("<", "$")), (
                f"{path.relative_to(REPO_ROOT)} has a URI with a literal password"
            )


def test_required_secrets_have_no_default(compose):
    findings = required_secret_findings(compose)
    assert not findings, "\n".join(findings)


def test_a_planted_known_default_is_caught(compose):
    """The detectors catch a 'change-me' default planted in the real file, and a literal Grafana password."""
    import copy

    planted = copy.deepcopy(compose)
    planted["x-airflow-common"]["environment"]["AIRFLOW__API_AUTH__JWT_SECRET"] = (
        "${AIRFLOW_JWT_SECRET:-assay-local-dev-only-jwt-secret-change-me}"
    )
    planted["services"]["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"] = "airflow"
    findings = secret_findings(planted) + required_secret_findings(planted)
    assert any("AIRFLOW__API_AUTH__JWT_SECRET has a default" in f for f in findings), findings
    assert any("literal value for secret-like key GF_SECURITY_ADMIN_PASSWORD" in f for f in findings), findings
    assert any("airflow-common: AIRFLOW__API_AUTH__JWT_SECRET=" in f for f in findings), findings


@pytest.mark.parametrize(
    "data",
    [
        {"environment": {"GRAFANA_ADMIN_PASSWORD": "hunter2"}},
        {"environment": {"GF_SECURITY_ADMIN_PASSWORD": "airflow"}},
        {"environment": {"AIRFLOW__API_AUTH__JWT_SECRET": "${JWT:-s3cr3t-value}"}},
        {"environment": {"AIRFLOW__API_AUTH__JWT_SECRET": "${AIRFLOW_JWT_SECRET:-dev-only-change-me}"}},
        {"environment": {"GRAFANA_ADMIN_PASSWORD": "${GRAFANA_ADMIN_PASSWORD:-airflow}"}},
        {"environment": {"AIRFLOW__CORE__FERNET_KEY": "${FERNET:-change-me}"}},
        {"environment": ["SLACK_TOKEN=abc123"]},
        {"environment": {"AIRFLOW_CONN_X": "postgresql://airflow:prod-pass@db/x"}},
        {"environment": {"AIRFLOW_CONN_ASSAY_SLACK": "https://hooks.slack.com/services/T0/B0/XYZ"}},
        {"x": "ghp_" + "a" * 36},
    ],
)
def test_secret_detector_flags_real_secrets_and_known_defaults(data):
    assert secret_findings(data), f"detector missed a secret in {data}"


@pytest.mark.parametrize(
    "data",
    [
        {"environment": {"POSTGRES_PASSWORD": "airflow"}},
        {"environment": {"AIRFLOW_CONN_ASSAY_SLACK": "${AIRFLOW_CONN_ASSAY_SLACK:-}"}},
        {"environment": {"AIRFLOW__API_AUTH__JWT_SECRET": "${AIRFLOW_JWT_SECRET:?set it in .env}"}},
        {"environment": {"AIRFLOW__CELERY__BROKER_URL": "redis://:@redis:6379/0"}},
    ],
)
def test_secret_detector_accepts_required_and_empty_values(data):
    assert secret_findings(data) == []


def _published(port) -> tuple[str, str, str]:
    """(host ip, published, target) of a port entry, short or long syntax."""
    if isinstance(port, dict):
        return str(port.get("host_ip", "")), str(port.get("published", "")), str(port.get("target", ""))
    parts = str(port).rsplit(":", 2)
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else ("", *(["", *parts][-2:]))


def test_every_published_port_binds_to_loopback_unless_told_otherwise(services):
    published = {name: [_published(p) for p in svc.get("ports") or []] for name, svc in services.items()}
    assert published["airflow-apiserver"] and published["grafana"]
    for name, ports in published.items():
        for host_ip, _, target in ports:
            assert host_ip == "${ASSAY_BIND:-127.0.0.1}", f"{name}: port {target} must bind ${{ASSAY_BIND:-127.0.0.1}}"
    assert "postgres" not in {n for n, p in published.items() if p} and not published["redis"]


def test_grafana_reads_through_the_read_only_role_airflow_init_makes(services, dockerfile):
    grafana, init = _env(services["grafana"]), _env(services["airflow-init"])
    assert grafana["ASSAY_METRICS_DB_USER"] == init["ASSAY_GRAFANA_DB_USER"] != "airflow"
    assert grafana["ASSAY_METRICS_DB_PASSWORD"].startswith("${ASSAY_GRAFANA_DB_PASSWORD:?")
    assert init["ASSAY_GRAFANA_DB_PASSWORD"].startswith("${ASSAY_GRAFANA_DB_PASSWORD:?")
    script = (DOCKER_DIR / "airflow-init.sh").read_text(encoding="utf-8")
    role_sql = "/usr/local/share/assay/grafana-readonly-role.sql"
    assert re.search(rf"psql .*\n?.*-f {re.escape(role_sql)}", script), "airflow-init must run the role script"
    assert any(
        srcs == ["docker/postgres/grafana-readonly-role.sql"] and dest == role_sql
        for srcs, dest, _ in _copies(dockerfile)
    ), "the Dockerfile must install the role script"


# --------------------------------------------------------------------------
# Dockerfile
# --------------------------------------------------------------------------


def test_dockerfile_from_official_airflow_image(dockerfile):
    froms = [args for keyword, args in dockerfile if keyword == "FROM"]
    assert froms, "Dockerfile has no FROM"
    final = froms[-1].split()[0]
    assert re.fullmatch(r"apache/airflow:3\.3\.\d+(-python3\.\d+)?", final), f"final stage is {final}"


def test_dockerfile_installs_pinned_trivy_as_root(dockerfile):
    args = dict(
        (a.split("=", 1)[0], a.split("=", 1)[1].strip("\"'") if "=" in a else "")
        for keyword, a in dockerfile
        if keyword == "ARG"
    )
    assert re.fullmatch(r"\d+\.\d+\.\d+", args.get("TRIVY_VERSION", "")), "ARG TRIVY_VERSION must pin x.y.z"
    trivy_runs = [(cmd, user) for cmd, user in _runs(dockerfile) if "trivy" in cmd.lower()]
    assert trivy_runs, "no RUN installs trivy"
    assert any("TRIVY_VERSION" in cmd for cmd, _ in trivy_runs), "trivy install must use TRIVY_VERSION"
    assert all(user in {"root", "0"} for _, user in trivy_runs), "trivy must be installed as root"


def test_dockerfile_installs_git(dockerfile):
    assert any(
        re.search(r"apt-get\s+install\b[^;&|]*\bgit\b", cmd) and user in {"root", "0"}
        for cmd, user in _runs(dockerfile)
    ), "git must be apt-installed as root"


def test_dockerfile_installs_requirements_as_airflow_user(dockerfile):
    req_dests = [dest for srcs, dest, _ in _copies(dockerfile) if "requirements.txt" in srcs]
    assert req_dests, "requirements.txt is not COPY'd"
    pip_runs = [
        (cmd, user)
        for cmd, user in _runs(dockerfile)
        if re.search(r"pip install\b", cmd) and any(re.search(rf"-r\s+{re.escape(d)}", cmd) for d in req_dests)
    ]
    assert pip_runs, "no `pip install -r <requirements>` found"
    for cmd, user in pip_runs:
        assert user == "airflow", f"pip install must run as the airflow user, not {user}"
        assert "--no-cache-dir" in cmd


def test_dockerfile_bakes_in_project_code(dockerfile):
    copies = _copies(dockerfile)
    for directory in ("include", "plugins", "dags"):
        assert any(
            any(s.rstrip("/") == directory for s in srcs) and dest.rstrip("/") == f"/opt/airflow/{directory}"
            for srcs, dest, _ in copies
        ), f"{directory}/ is not copied to /opt/airflow/{directory}"
    env_lines = " ".join(args for keyword, args in dockerfile if keyword == "ENV")
    assert re.search(r"\bPYTHONPATH=/opt/airflow/include\b", env_lines), "PYTHONPATH must be /opt/airflow/include"


def test_dockerfile_copy_sources_exist(dockerfile):
    missing = [src for srcs, _, _ in _copies(dockerfile) for src in srcs if not (REPO_ROOT / src).exists()]
    assert not missing, f"COPY sources missing from the repo: {missing}"


def test_extra_package_index_only_in_dockerfile():
    assert "download.pytorch.org" not in COMPOSE_FILE.read_text(encoding="utf-8")


# --------------------------------------------------------------------------
# compose CLI (optional)
# --------------------------------------------------------------------------


def _compose_cli() -> tuple[list[str] | None, str]:
    """The compose command to use, or None and the reason there is none."""
    reasons = []
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=60)
        if probe.returncode == 0:
            return ["docker", "compose"], ""
        reasons.append("`docker` is installed but has no compose plugin (`docker compose version` failed)")
    else:
        reasons.append("no `docker` CLI on PATH")
    if shutil.which("docker-compose"):
        return ["docker-compose"], ""
    reasons.append("no standalone `docker-compose` on PATH")
    return None, "; ".join(reasons)


REQUIRED_ENV = {
    "AIRFLOW_JWT_SECRET": "jwt-" + "x" * 60,
    "AIRFLOW__CORE__FERNET_KEY": "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg=",
    "_AIRFLOW_WWW_USER_PASSWORD": "admin-pass-for-the-test",
    "GRAFANA_ADMIN_PASSWORD": "grafana-pass-for-the-test",
    "ASSAY_GRAFANA_DB_PASSWORD": "grafana-db-pass-for-the-test",
}


def test_compose_cli_validates_file(services, tmp_path):
    cli, reason = _compose_cli()
    if cli is None:
        pytest.skip(f"compose CLI check skipped: {reason}")
    # A clean environment and an env file of the test's own, so a developer's .env or shell
    # cannot change what is validated.
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"}}

    def run(env_lines: dict[str, str], *args):
        env_file = tmp_path / "test.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in env_lines.items()), encoding="utf-8")
        base = [*cli, "--project-directory", str(REPO_ROOT), "-f", str(COMPOSE_FILE), "--env-file", str(env_file)]
        return subprocess.run([*base, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)

    empty = run({}, "config", "-q")
    if empty.returncode != 0 and "Cannot connect to the Docker daemon" in empty.stderr:
        pytest.skip(f"`{' '.join(cli)} config` needs a Docker engine here: {empty.stderr.strip()}")
    assert empty.returncode != 0, "compose must refuse to start without the required secrets"
    missing = [var for var in REQUIRED_ENV if var in empty.stderr]
    assert missing, f"the refusal names no missing secret:\n{empty.stderr}"

    quiet = run(REQUIRED_ENV, "config", "-q")
    assert quiet.returncode == 0, f"`{' '.join(cli)} config -q` failed:\n{quiet.stderr}"

    listed = run(REQUIRED_ENV, "config", "--services")
    assert listed.returncode == 0, listed.stderr
    assert set(listed.stdout.split()) == set(services)

    rendered = run(REQUIRED_ENV, "config")
    assert rendered.returncode == 0, rendered.stderr
    resolved = yaml.safe_load(rendered.stdout)["services"]
    for name in _airflow_names(resolved):
        env_resolved = _env(resolved[name])
        assert resolved[name]["image"] == "assay-airflow:latest", name
        assert env_resolved.get("AIRFLOW_CONN_ASSAY_SLACK", "") == "", name
        assert env_resolved.get("AIRFLOW_CONN_ASSAY_SMTP", "") == "", name
        assert env_resolved["AIRFLOW__API_AUTH__JWT_SECRET"] == REQUIRED_ENV["AIRFLOW_JWT_SECRET"], name
    assert sum(_replicas(resolved[n]) for n in _general_workers(resolved)) == 2
    assert _worker_queues(resolved["airflow-worker-performance"]) == {"performance"}
    for name in ("airflow-apiserver", "grafana"):
        host_ips = {_published(p)[0] or str(p.get("host_ip")) for p in resolved[name]["ports"]}
        assert host_ips == {"127.0.0.1"}, f"{name} publishes on {host_ips}"
    opened = run(REQUIRED_ENV | {"ASSAY_BIND": "0.0.0.0"}, "config")
    ports = yaml.safe_load(opened.stdout)["services"]["airflow-apiserver"]["ports"]
    assert {_published(p)[0] or str(p.get("host_ip")) for p in ports} == {"0.0.0.0"}
