"""What Assay keeps to test the demo (include/demo_platform/assay) is found through the shipped config,
and the demo's generated data passes the demo's suites through Assay's data-quality engine."""

from __future__ import annotations

from pathlib import Path

from support.demo_platform import (
    DEMO_ASSAY_DIR,
    EXPERIMENTS_DIR,
    GOLDEN_DIR,
    LOCUSTFILE,
    PERFORMANCE_DIR,
    SUITES_DIR,
    demo_on_sys_path,
    demo_performance,
    demo_target,
)

from assay.config import DEFAULT_CONFIG_PATH, load_config
from assay.engines.data_quality.runner import validate_dataframe
from assay.status import Status


def test_the_shipped_config_names_the_demos_assets_where_they_are():
    cfg = load_config(DEFAULT_CONFIG_PATH)
    assert Path(cfg.data_quality.suites_dir) == SUITES_DIR and Path(cfg.data_quality.golden_dir) == GOLDEN_DIR
    target = demo_target()
    assert Path(target.chaos["experiments_dir"]) == EXPERIMENTS_DIR
    for name in target.chaos["experiments"]:
        assert target.chaos_experiment(name) == EXPERIMENTS_DIR / f"{name}.json"
    perf = demo_performance()
    assert Path(perf.load_test.locustfile) == LOCUSTFILE and LOCUSTFILE.is_file()
    assert Path(perf.microbenchmark.cwd) == PERFORMANCE_DIR and (PERFORMANCE_DIR / "bench_fraud.py").is_file()
    assert Path(perf.pipeline_load.command[1]) == PERFORMANCE_DIR / "pipeline_job.py"
    for name in cfg.data_quality.golden:
        assert (GOLDEN_DIR / f"{name}.csv").is_file() and (GOLDEN_DIR / f"{name}.yaml").is_file()
    for ds in cfg.datasets.values():
        assert ds.quality_suite is None or (SUITES_DIR / f"{ds.quality_suite}.json").is_file()
    assert not (DEMO_ASSAY_DIR / "__init__.py").exists()


def test_generated_customers_pass_their_suite():
    demo_on_sys_path()
    from fraud.customers import BLOCK_ROWS, generate_customers

    customers = generate_customers(BLOCK_ROWS + 10_000, seed=5)  # spans two blocks
    result = validate_dataframe(customers, "synthetic_customers", suites_dir=SUITES_DIR, data_name="synthetic")
    assert result.status is Status.PASS, result.message
