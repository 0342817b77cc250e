"""Performance configuration: the strategy's numbers as profiles, and clear errors for bad values."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from support.demo_platform import demo_performance

from assay.engines.performance.config import (
    PRODUCTION_INFERENCE_PROFILE,
    PRODUCTION_INFERENCE_SLO,
    PRODUCTION_PIPELINE_LOAD,
    LoadProfile,
    LoadTestConfig,
    MutationConfig,
    PerformanceSuitesConfig,
    PipelineLoadConfig,
)
from assay.engines.performance.load_test import build_locust_argv

# the demo's scale, as include/config/assay.yaml sets it for a 2-core machine
DEMO_INFERENCE_PROFILE = LoadProfile(users=20, ramp_up_s=2, duration_s=10, target_rps=20)


def test_production_profiles_are_the_strategys_numbers():
    p, slo = PRODUCTION_INFERENCE_PROFILE, PRODUCTION_INFERENCE_SLO
    assert (p.users, p.ramp_up_s, p.duration_s, p.target_rps) == (1000, 60, 600, 100)
    assert (slo.p95_max_ms, slo.error_rate_max) == (100, 0.001)
    assert p.spawn_rate == pytest.approx(1000 / 60) and p.rps_per_user == pytest.approx(0.1)
    pipe = PRODUCTION_PIPELINE_LOAD
    assert (
        pipe.concurrency,
        pipe.duration_s,
        pipe.completion_rate_min,
        pipe.cpu_percent_max,
        pipe.memory_percent_max,
    ) == (50, 1800, 0.95, 80, 80)
    assert pipe == PipelineLoadConfig()  # the strategy's numbers are the defaults
    assert pipe.command == [] and pipe.cwd is None  # what runs is the target's own, never a default


def test_demo_scale_keeps_the_latency_and_error_limits():
    demo = demo_performance()
    slo = demo.load_test.slo
    assert (slo.p95_max_ms, slo.error_rate_max) == (
        PRODUCTION_INFERENCE_SLO.p95_max_ms,
        PRODUCTION_INFERENCE_SLO.error_rate_max,
    )
    assert slo.groups["inference"] == PRODUCTION_INFERENCE_SLO.groups["inference"]
    assert demo.load_test.profile == DEMO_INFERENCE_PROFILE
    assert demo.load_test.profile.users == 20 and demo.load_test.profile.target_rps == 20
    assert demo.pipeline_load.concurrency == 1 and demo.pipeline_load.duration_s == 20


@pytest.mark.parametrize(
    ("section", "match"),
    [
        ({"load_test": {"host": "http://x"}}, r"load_test\.locustfile\n  Field required"),
        ({"microbenchmark": {"batch_sizes": [1]}}, r"microbenchmark\.factory\n  Field required"),
        ({"mutation": {"min_score": 0.8}}, r"mutation\.project_dir\n  Field required"),
    ],
)
def test_what_a_suite_runs_has_no_default_and_its_absence_says_what_to_set(section, match):
    """No product default names a target's code: a suite without its locustfile, benchmark factory or
    project is a config error naming the key (a pipeline load without a command is one when it runs:
    tests/unit/engines/performance/test_pipelines.py)."""
    with pytest.raises(ValidationError, match=match):
        PerformanceSuitesConfig.model_validate(section)


def test_locust_argv_uses_machine_output_and_never_carries_the_token(tmp_path):
    config = LoadTestConfig(
        host="http://127.0.0.1:8000/",
        locustfile="locustfile.py",
        profile=DEMO_INFERENCE_PROFILE,
        user_classes=["InferenceUser"],
    )
    argv = build_locust_argv(config, tmp_path / "locust", python="python")
    assert argv[:3] == ["python", "-m", "locust"] and argv[-1] == "InferenceUser"
    for flag in ("--headless", "--csv-full-history", "--only-summary"):
        assert flag in argv
    assert argv[argv.index("--json-file") + 1] == str(tmp_path / "locust")
    assert argv[argv.index("--host") + 1] == "http://127.0.0.1:8000"
    assert (argv[argv.index("-u") + 1], argv[argv.index("-r") + 1], argv[argv.index("-t") + 1]) == ("20", "10", "10s")
    assert argv[argv.index("--exit-code-on-error") + 1] == "3"
    assert config.hard_timeout_s == 10 + 5 + 60


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"host": "127.0.0.1:8000"}, "must be an http"),
        ({"host": "http://x", "health_path": "health"}, "must start with '/'"),
        (
            {"host": "http://x", "profile": {"users": 10, "ramp_up_s": 60, "duration_s": 30, "target_rps": 5}},
            "ramp_up_s .* must be shorter",
        ),
        ({"host": "http://x", "profile": {"users": 0, "ramp_up_s": 0, "duration_s": 30, "target_rps": 5}}, "users"),
        ({"host": "http://x", "tyop": 1}, "tyop"),
    ],
)
def test_bad_load_test_config_names_what_to_fix(kwargs, match):
    with pytest.raises(ValidationError, match=match):
        LoadTestConfig(**kwargs)


def test_no_ramp_spawns_everyone_at_once_and_mutation_score_is_a_fraction():
    assert LoadProfile(users=7, ramp_up_s=0, duration_s=5, target_rps=7).spawn_rate == 7
    with pytest.raises(ValidationError, match="min_score"):
        MutationConfig(project_dir=".", min_score=80)


def test_a_targets_performance_section_parses_from_yaml():
    import yaml

    text = """
    load_test:
      host: http://127.0.0.1:8000
      locustfile: locustfile.py
      profile: {users: 20, ramp_up_s: 2, duration_s: 10, target_rps: 20}
      slo: {p95_max_ms: 100, error_rate_max: 0.001, throughput_min_rps: 19}
    regression: {warn_margin: 0.1, fail_margin: 0.25}
    pipeline_load: {command: ["{python}", "-c", "print(1)"], concurrency: 4, duration_s: 20}
    microbenchmark: {factory: "bench_fraud:build", batch_sizes: [1, 32, 256]}
    mutation: {project_dir: include/demo_platform, source_paths: [fraud], min_score: 0.8}
    """
    suites = PerformanceSuitesConfig.model_validate(yaml.safe_load(text))
    assert suites.load_test.profile == DEMO_INFERENCE_PROFILE
    assert suites.pipeline_load.concurrency == 4 and suites.mutation.min_score == 0.8
    assert PerformanceSuitesConfig().load_test is None  # a suite left out is not run
    with pytest.raises(ValidationError, match="need source_paths"):
        MutationConfig(project_dir=".", test_paths=["tests"])


def test_performance_isolation_defaults_and_errors():
    from assay.config import parse_config
    from assay.engines.performance.config import MeasurementIsolationConfig
    from assay.errors import ConfigError

    default = parse_config({"targets": {"t": {"repo": "x"}}}).performance_isolation
    assert default == MeasurementIsolationConfig()
    assert (default.pool, default.queue, default.other_work_max_share) == ("assay_measurement", "performance", 0.25)
    assert MeasurementIsolationConfig(other_work_max_share=None).other_work_max_share is None  # recorded, not judged
    for bad, where in (
        ({"other_work_max_share": 1.5}, "performance_isolation.other_work_max_share"),
        ({"pool": "two words"}, "performance_isolation.pool"),
        ({"queues": "performance"}, "performance_isolation.queues"),
    ):
        with pytest.raises(ConfigError, match=where.replace(".", r"\.")):
            parse_config({"targets": {"t": {"repo": "x"}}, "performance_isolation": bad})
