"""What DAG files read at parse time: the config, and the lists, param patterns and timeouts derived from it.

DAG files import airflow and this layer only (tests/dags/test_dag_integrity.py), and parse in well under
0.5 s (benchmarks/dag_parse.py): everything imported here is config models, regular expressions and
arithmetic on the config; no engine code (numpy, pandas, Great Expectations...) loads before a task runs.

    CONFIG = load_dag_config()
    Param(None, type=["null", "string"], pattern=SHA_PATTERN)
"""

from __future__ import annotations

from datetime import timedelta

from assay.config import AssayConfig, load_config
from assay.engines.model_validation.config import VERSION_RE
from assay.engines.per_commit.budget import per_commit_task_timeout_s
from assay.engines.per_commit.request import BRANCH_RE, SHA_RE
from assay.params import json_schema_pattern

#: JSON-schema patterns of the UI forms' params, the same expressions the operators check server-side
SHA_PATTERN = json_schema_pattern(SHA_RE)
BRANCH_PATTERN = json_schema_pattern(BRANCH_RE)
MODEL_VERSION_PATTERN = json_schema_pattern(VERSION_RE)


def load_dag_config() -> AssayConfig:
    """The Assay config (``$ASSAY_CONFIG`` or ``include/config/assay.yaml``); a bad config is the DAG file's
    import error, which the UI shows with the dotted path of every bad key."""
    return load_config()


def suite_task_timeout(config: AssayConfig) -> timedelta:
    """Airflow's timeout of a per-commit suite task: a backstop never below a suite's ``timeout_s`` plus
    what the task needs around it (installing the commit's project, building its venv)."""
    return timedelta(seconds=per_commit_task_timeout_s(config.targets.values()))


def performance_targets(config: AssayConfig) -> list[str]:
    """The targets with a ``performance`` section, sorted."""
    return sorted(name for name, t in config.targets.items() if t.performance)


def measurement_task_args(config: AssayConfig) -> dict[str, str]:
    """``pool`` and ``queue`` of a timing measurement's task (``performance_isolation``): the one-slot pool
    keeps two measurements from ever running at once; the queue sends them to the worker that runs nothing
    else (docker-compose's ``airflow-worker-performance``; the LocalExecutor of ``make run`` ignores it)."""
    isolation = config.performance_isolation
    return {"pool": isolation.pool, "queue": isolation.queue}


def load_test_targets(config: AssayConfig) -> list[str]:
    """The targets whose ``performance`` section has a load test (they can have a performance baseline)."""
    return sorted(name for name, t in config.targets.items() if (t.performance or {}).get("load_test"))


def chaos_experiments(config: AssayConfig) -> list[tuple[str, str]]:
    """(target, experiment) for every experiment a target's ``chaos.experiments`` names, by target."""
    return [
        (name, experiment)
        for name, t in sorted(config.targets.items())
        if t.chaos
        for experiment in t.chaos.get("experiments") or []
    ]


def compliance_frameworks(config: AssayConfig) -> list[str]:
    """The frameworks the weekly audit runs: ``compliance.frameworks``, else every file of the catalog
    directory (a directory listing, no catalog parsing: the task validates its framework file)."""
    section = config.compliance
    if section is None:
        return []
    if section.frameworks is not None:
        return list(section.frameworks)
    from pathlib import Path

    directory = Path(section.catalog_dir)
    return sorted(p.stem for p in directory.glob("*.yaml")) if directory.is_dir() else []


def security_scanners() -> list[str]:
    """Every scanner a security scan can run (the UI form's choices): ``assay.engines.security.config``'s."""
    from assay.engines.security.config import ALL_SCANNERS

    return list(ALL_SCANNERS)


def security_scan_timeout(config: AssayConfig) -> timedelta:
    """Airflow's timeout of a scanner task: the longest ``security.timeout_s`` of any target."""
    return timedelta(seconds=max((t.security.timeout_s for t in config.targets.values()), default=1800.0))


def test_datasets(config: AssayConfig) -> list[tuple[str, list[str], str | None]]:
    """(dataset, its steps in order, its Asset URI) for every ``test_data`` dataset: synthetic and sample where
    configured, retention always."""
    section = config.test_data
    if section is None:
        return []
    out = []
    for name, ds in sorted(section.datasets.items()):
        steps = [s for s, cfg in (("synthetic", ds.synthetic), ("sample", ds.sample)) if cfg is not None]
        out.append((name, [*steps, "retention"], ds.asset))
    return out
