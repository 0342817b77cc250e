"""Every engine's public run function returns the one result model (assay.results.Result), named and kinded
as the store records it: a cheap real call per engine, and a check of every run function's declared return
type (mutation testing, a long real run, is covered by the declaration alone)."""

from __future__ import annotations

import ast
import importlib
import json
import socket
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assay.config import SuiteConfig
from assay.results import Result, suite_run_record
from assay.status import Status
from assay.store import RunKey

ENGINES = Path(__file__).resolve().parents[3] / "include" / "assay" / "engines"
KEY = RunKey("assay_test", "manual__every_engine", "task")

#: module -> its public functions that run a suite and return its result
RUN_FUNCTIONS = {
    "assay.engines.per_commit.pytest_suite": ("run_pytest_suite", "interrupted_suite_result"),
    "assay.engines.per_commit.suite": ("run_commit_suite",),
    "assay.engines.drift.engine": ("run_drift",),
    "assay.engines.drift.decay": ("run_performance_decay",),
    "assay.engines.data_quality.run": ("run_data_quality",),
    "assay.engines.data_quality.runner": ("validate_dataframe",),
    "assay.engines.data_quality.golden": ("validate_golden",),
    "assay.engines.model_validation.validate": ("run_model_validation", "validate_model"),
    "assay.engines.ab_testing.analysis": ("analyze_records", "analyze_experiment"),
    "assay.engines.performance.load_test": ("run_load_test",),
    "assay.engines.performance.pipelines": ("run_pipeline_load",),
    "assay.engines.performance.microbench": ("run_microbenchmarks",),
    "assay.engines.performance.mutation": ("run_mutation_testing",),
    "assay.engines.chaos.runner": ("run_experiment",),
    "assay.engines.compliance.audit": ("run_audit",),
    "assay.engines.security.scan": ("run_security_scan",),
    "assay.engines.test_data.synthetic": ("run_synthetic",),
    "assay.engines.test_data.sample": ("run_sample",),
    "assay.engines.test_data.retention": ("run_retention",),
}
#: module -> run functions of one security tool: each returns its ScanReport, which run_security_scan judges
TOOL_RUNNERS = {
    "assay.engines.security.bandit": ("run_bandit",),
    "assay.engines.security.dast": ("run_fuzz", "run_auth_matrix", "run_injection_probes"),
}


def declared_return(module: str, function: str) -> type:
    fn = getattr(importlib.import_module(module), function)
    return eval(fn.__annotations__["return"], fn.__globals__)  # noqa: S307 - the module's own annotation


@pytest.mark.parametrize(
    "module, function", [(m, f) for m, fs in RUN_FUNCTIONS.items() for f in fs], ids=lambda v: v.rsplit(".", 1)[-1]
)
def test_every_run_function_declares_the_result_model(module, function):
    returned = declared_return(module, function)
    assert isinstance(returned, type) and issubclass(returned, Result), f"{module}.{function} -> {returned}"


@pytest.mark.parametrize(
    "module, function", [(m, f) for m, fs in TOOL_RUNNERS.items() for f in fs], ids=lambda v: v.rsplit(".", 1)[-1]
)
def test_every_security_tool_runner_declares_the_scan_report(module, function):
    from assay.engines.security.model import ScanReport

    assert declared_return(module, function) is ScanReport


def test_every_run_function_of_an_engine_is_listed():
    """A new engine's ``run_*`` function joins the lists above (and so the checks of this module)."""
    listed = {(m, f) for runs in (RUN_FUNCTIONS, TOOL_RUNNERS) for m, fs in runs.items() for f in fs}
    found = set()
    for path in ENGINES.rglob("*.py"):
        module = ".".join(("assay", *path.relative_to(ENGINES.parent).with_suffix("").parts))
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("run_"):
                found.add((module, node.name))
    assert found and found <= listed, sorted(found - listed)


def assert_recordable(result: Result, *, name: str, kind: str) -> None:
    """The result is the shared model, with a reason, JSON-safe, and becomes a suite run of that name and kind."""
    assert isinstance(result, Result)
    assert result.message.strip()
    described = json.loads(json.dumps(result.describe_dict(), allow_nan=False))
    assert described["status"] == result.status.value and described["summary"] == result.summary
    record = suite_run_record(result, KEY)
    assert (record.name, record.kind, record.status) == (name, kind, result.status.value)
    assert record.checks == tuple(result.checks) and record.metrics == tuple(result.metrics)


# ------------------------------------------------------------------------------------------------ per commit


def test_pytest_suite(tmp_path):
    from assay.engines.per_commit.pytest_suite import interrupted_suite_result, run_pytest_suite

    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_one.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
    result = run_pytest_suite(name="unit", suite=SuiteConfig(timeout_s=120), workdir=tmp_path, out_dir=tmp_path / "o")
    assert_recordable(result, name="unit", kind="pytest")
    assert result.status is Status.PASS and [c.node_id for c in result.test_cases] == ["tests/test_one.py::test_one"]
    assert result.metric("tests.passed") == 1 and result.summary["counts"]["passed"] == 1
    cut = interrupted_suite_result(
        name="unit", out_dir=tmp_path / "none", workdir=tmp_path, started_at=datetime.now(UTC), reason="was stopped"
    )
    assert_recordable(cut, name="unit", kind="pytest")
    assert cut.status is Status.ERROR


# ------------------------------------------------------------------------------------------------ drift


def test_drift_and_decay():
    from assay.engines.drift import DecayConfig, run_drift, run_performance_decay

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(["a", "b"], size=300)})
    drift = run_drift(frame, frame.copy())
    assert_recordable(drift, name="data_drift", kind="drift")
    assert drift.status is Status.PASS and drift.check("dataset_drift").status == "PASS"
    decay = run_performance_decay(frame, DecayConfig("at", "label", "score"))
    assert_recordable(decay, name="concept_drift", kind="drift")
    assert decay.status is Status.ERROR and decay.check("performance_decay").status == "ERROR"


# ------------------------------------------------------------------------------------------------ data quality


def test_data_quality(tmp_path):
    from assay.engines.data_quality import run_data_quality

    (tmp_path / "d.csv").write_text("a\n1\n2\n")
    suite = {
        "name": "tiny",
        "expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}}],
    }
    result = run_data_quality({"kind": "csv", "path": str(tmp_path / "d.csv")}, suite, data_name="d")
    assert_recordable(result, name="data_quality:tiny", kind="data_quality")
    assert result.status is Status.PASS and result.summary["counts"]["evaluated"] == 2  # with the rows guard


# ------------------------------------------------------------------------------------------------ model validation


class LabelModel:
    """A model that knows the label (it reads it): perfect scores, no torch view."""

    model_id = "oracle"
    torch_module = None

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        p = df["y"].to_numpy(dtype=float) * 0.8 + 0.1
        return np.column_stack([1 - p, p])

    def features(self, df: pd.DataFrame) -> np.ndarray:
        return df[["y"]].to_numpy(dtype=np.float32)


def test_model_validation():
    from assay.engines.model_validation import ModelValidationConfig, validate_model

    config = ModelValidationConfig(
        label_column="y",
        quality={"latency_calls": 10},
        regression={"enabled": False},
        fairness={"enabled": False},
        robustness={"enabled": False},
        statistical={"enabled": False},
    )
    frame = pd.DataFrame({"y": [0, 1] * 50})
    result = validate_model(LabelModel(), frame, config, model="oracle-model", model_version="v1")
    assert_recordable(result, name="model_validation", kind="model_validation")
    assert result.check("quality:accuracy").status == "PASS"
    assert result.summary["model"] == "oracle-model" and result.summary["model_version"] == "v1"


# ------------------------------------------------------------------------------------------------ A/B testing


def test_ab_analysis():
    from assay.engines.ab_testing import analyze_records

    rows = [
        {"metric": "conversion", "variant": "champion", "exposures": 20_000, "conversions": 2000},
        {"metric": "conversion", "variant": "challenger", "exposures": 20_000, "conversions": 2300},
    ]
    result = analyze_records(rows, name="checkout")
    assert_recordable(result, name="ab:checkout", kind="ab_test")
    assert result.decision == "challenger_wins" and result.summary["decision"] == "challenger_wins"


# ------------------------------------------------------------------------------------------------ performance


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_load_test_against_a_target_that_is_not_there(tmp_path):
    from assay.engines.performance import LoadTestConfig, run_load_test

    (tmp_path / "locustfile.py").write_text("")
    config = LoadTestConfig(
        host=f"http://127.0.0.1:{closed_port()}", locustfile=str(tmp_path / "locustfile.py"), probe_timeout_s=2
    )
    result = run_load_test(config, out_dir=tmp_path / "out")
    assert_recordable(result, name="load_test", kind="performance")
    assert result.status is Status.ERROR and "Locust was not started" in result.message


def test_pipeline_load(tmp_path):
    from assay.engines.performance import PipelineLoadConfig, run_pipeline_load

    config = PipelineLoadConfig(concurrency=1, duration_s=1, sustained=False, sample_interval_s=0.05)
    result = run_pipeline_load(config, out_dir=tmp_path, pipeline=lambda: None)
    assert_recordable(result, name="pipeline_load", kind="performance")
    assert result.check("pipeline.completion_rate").status == "PASS" and result.summary["suite_kind"] == "pipeline_load"


def test_microbenchmarks(tmp_path):
    from assay.engines.performance import MicrobenchConfig, run_microbenchmarks

    (tmp_path / "tiny_model.py").write_text(
        "def build():\n    return (lambda batch: [x * 2 for x in batch]), (lambda n: list(range(n)))\n"
    )
    config = MicrobenchConfig(
        factory="tiny_model:build", cwd=str(tmp_path), batch_sizes=[4], iterations=20, warmup=2, timeout_s=60
    )
    result = run_microbenchmarks(config, out_dir=tmp_path / "out")
    assert_recordable(result, name="microbenchmark", kind="performance")
    assert result.check("microbench.run:batch=4").status == "PASS", result.message


# ------------------------------------------------------------------------------------------------ chaos


def test_chaos_experiment_that_is_not_valid(tmp_path):
    from assay.engines.chaos.runner import run_experiment

    (tmp_path / "broken.json").write_text("{}")
    result = run_experiment(tmp_path / "broken.json", env={}, timeout_s=30, work_dir=tmp_path / "work")
    assert_recordable(result, name="chaos:broken", kind="chaos")
    assert result.status is Status.ERROR and result.check("experiment_valid").status == "ERROR"
    named = run_experiment(tmp_path / "broken.json", env={}, timeout_s=30, work_dir=tmp_path / "w", name="chaos:x")
    assert named.name == "chaos:x"


# ------------------------------------------------------------------------------------------------ compliance


def test_compliance_audit(tmp_path):
    from support.compliance import control, write_framework

    from assay.engines.compliance import ResourceResult, check
    from assay.engines.compliance.audit import run_audit
    from assay.engines.compliance.registry import unregister

    @check("every_engine.fine", title="fine")
    def fine(ctx):
        return [ResourceResult("user:alice", "PASS", "unique", [ctx.evidence("accounts", "computed", "x", ["alice"])])]

    try:
        write_framework(tmp_path / "catalog", "sox", [control("c-1", ["every_engine.fine"]), control("c-2")])
        result = run_audit("sox", catalog_dir=tmp_path / "catalog", work_dir=tmp_path / "out", builtin_checks=False)
    finally:
        unregister("every_engine.fine")
    assert_recordable(result, name="sox", kind="compliance")
    assert (
        result.status is Status.PASS
        and result.check("c-2").status == "WARN"
        and result.metric("compliance.score") == 50
    )
    assert suite_run_record(result, KEY).evidence == tuple(result.evidence) and len(result.evidence) == 1
