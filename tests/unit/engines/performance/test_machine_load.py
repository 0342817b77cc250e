"""The machine's load during a measurement: other work is what the machine was busy with beyond the
measurement's own process trees (real /proc reads, real CPU burners); a run above the configured share of
the cores is WARN "measurement disturbed", its latency and throughput FAILs set aside, its error rates not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime

import psutil
import pytest

from assay.engines.performance.config import MeasurementIsolationConfig, MicrobenchConfig
from assay.engines.performance.machine_load import (
    CHECK_NAME,
    LoadSample,
    MachineLoad,
    MachineLoadSampler,
    disturbance_check,
)
from assay.engines.performance.microbench import run_microbenchmarks
from assay.engines.performance.result import PerformanceResult
from assay.status import Status
from assay.store.records import CheckRecord

BURN_S = 2.0
BURNER = f"import time\nend = time.time() + {BURN_S}\nwhile time.time() < end: pass"
LONG_BURNER = BURNER.replace(f"+ {BURN_S}", "+ 60")  # outlives the probe however slowly it starts; killed after


def detached_burner() -> psutil.Process:
    """A CPU burner that is not a descendant of this process: started by a shell that exits at once, so it
    is re-parented (to init or a subreaper), as another task's process would be."""
    out = subprocess.run(
        ["sh", "-c", f'"{sys.executable}" -c "$0" >/dev/null 2>&1 & echo $!', LONG_BURNER],
        capture_output=True,
        text=True,
        check=True,
    )
    proc = psutil.Process(int(out.stdout.strip()))
    assert proc.pid not in {p.pid for p in psutil.Process().children(recursive=True)}
    return proc


# The sampler runs in a fresh process of its own, so "the measured tree" is that process and what it starts:
# nothing the test session keeps running (servers, an Airflow stack of another test) can count as its own.
PROBE = textwrap.dedent(
    """
    import json, resource, subprocess, sys, time
    import psutil
    from assay.engines.performance.machine_load import MachineLoadSampler

    mode, arg = sys.argv[1], sys.argv[2]
    watched = psutil.Process(int(arg)) if mode == "watch" else None
    cpu = lambda p: sum(p.cpu_times()[:2])
    children = lambda: sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2])
    before_watched, before_children = (cpu(watched) if watched else 0.0), children()
    with MachineLoadSampler(0.25) as sampler:
        if mode == "watch":
            time.sleep(float(sys.argv[3]))
        else:
            subprocess.run([sys.executable, "-c", arg], check=True)  # a child, reaped within the block
    load = sampler.load
    print(json.dumps({
        "own_s": load.own_cores_mean * load.duration_s,
        "other_s": load.other_cores_mean * load.duration_s,
        "busy_s": load.busy_share_mean * load.cores * load.duration_s,
        "samples": len(load.samples),
        "cores": load.cores,
        "watched_s": (cpu(watched) - before_watched) if watched else 0.0,
        "children_s": children() - before_children,
        "describe": load.describe(),
    }))
    """
)


def probe(*args: str) -> dict:
    env = os.environ | {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def test_a_burner_outside_the_measured_tree_is_other_work():
    burner = detached_burner()
    try:
        seen = probe("watch", str(burner.pid), str(BURN_S * 0.6))
    finally:
        burner.kill()
    burned = seen["watched_s"]
    assert burned > 0.1, f"the burner got {burned:.2f} s of CPU: the machine is too busy to test anything"
    # the burner's CPU shows as other work (whatever else the machine does), none of it as the run's own
    assert seen["other_s"] >= 0.7 * burned, seen
    assert seen["own_s"] < 0.5 * burned, seen
    assert seen["samples"] >= 3 and seen["cores"] == psutil.cpu_count()


def test_a_burner_inside_the_measured_tree_is_the_runs_own_cpu():
    seen = probe("child", BURNER)
    burned = seen["children_s"]
    assert burned > 0.1, f"the burner got {burned:.2f} s of CPU: the machine is too busy to test anything"
    # the child's CPU is the run's own (reaped before the last sample: counted through children_user)
    assert 0.7 * burned <= seen["own_s"] <= burned + 0.5, seen
    # the machine was at least as busy as the run itself
    assert seen["busy_s"] >= 0.7 * seen["own_s"], seen


def test_a_run_shorter_than_one_interval_still_has_its_sample():
    with MachineLoadSampler(30.0) as sampler:
        time.sleep(0.05)
    assert len(sampler.load.samples) == 1 and sampler.load.duration_s < 5


def test_the_metrics_name_the_share_of_the_cores():
    load = _load(other=[0.5, 1.5], own=[1.0, 1.0], cores=4)
    metrics = {m.name: m.value for m in load.metrics()}
    assert metrics["machine.other_work_share_mean"] == pytest.approx(0.25)
    assert metrics["machine.other_work_share_max"] == pytest.approx(0.375)
    assert metrics["machine.other_work_cores_mean"] == pytest.approx(1.0)
    assert metrics["machine.own_cores_mean"] == pytest.approx(1.0)
    assert metrics["machine.cpu_busy_share_mean"] == pytest.approx(0.5)
    assert metrics["machine.load_avg_per_core_max"] == pytest.approx(0.5)


def _load(*, other: list[float], own: list[float], cores: int = 2) -> MachineLoad:
    """A recorded series: one-second samples with ``other`` and ``own`` cores busy."""
    return MachineLoad(
        cores=cores,
        samples=tuple(
            LoadSample(interval_s=1.0, busy_cores=o + w, own_cores=w, load_avg_1m=cores / 2)
            for o, w in zip(other, own, strict=True)
        ),
    )


def test_the_check_passes_a_quiet_run_and_warns_a_busy_one():
    quiet = disturbance_check(_load(other=[0.1, 0.3, 0.2], own=[1.8, 1.6, 1.7]), 0.25)
    assert quiet.status == Status.PASS and quiet.observed == pytest.approx(0.1) and quiet.comparator == "<="
    busy = disturbance_check(_load(other=[1.0, 1.2, 0.8], own=[1.0, 0.8, 1.2]), 0.25)
    assert busy.status == Status.WARN and busy.observed == pytest.approx(0.5) and busy.threshold == 0.25
    assert busy.message.startswith("measurement disturbed: other work used 1.00 of 2 cores during the run")
    assert "threshold 0.50 = 25% of the cores" in busy.message
    # a one-second blip does not disturb a run whose mean stays under the threshold
    blip = disturbance_check(_load(other=[2.0] + [0.0] * 9, own=[0.0] * 10), 0.25)
    assert blip.status == Status.PASS
    unread = disturbance_check(None, 0.25)
    assert unread.status == Status.ERROR and "could not be read" in unread.message


def _result(*checks: CheckRecord) -> PerformanceResult:
    now = datetime.now(UTC)
    return PerformanceResult(
        name="load_test", suite_kind="load_test", started_at=now, finished_at=now, checks=list(checks), message=""
    )


P95_FAIL = CheckRecord(
    "load.p95_ms[inference]", Status.FAIL, observed=180, threshold=100, comparator="<", message="p95"
)
ERRORS_FAIL = CheckRecord(
    "load.error_rate[inference]", Status.FAIL, observed=0.2, threshold=0.001, comparator="<", message="20% errors"
)
DISTURBED = disturbance_check(_load(other=[1.4, 1.6], own=[0.6, 0.4]), 0.25)
QUIET = disturbance_check(_load(other=[0.1, 0.1], own=[1.9, 1.9]), 0.25)


def test_a_disturbed_run_is_warn_not_fail_for_its_latency():
    result = _result(P95_FAIL, DISTURBED)
    assert result.status == Status.WARN
    assert result.message.startswith("measurement disturbed: other work used 1.50 of 2 cores during the run")
    p95 = result.check("load.p95_ms[inference]")
    assert p95.status == Status.WARN and p95.observed == 180 and p95.threshold == 100
    assert p95.message.startswith("FAIL on these figures, not judged (measurement disturbed)")
    # checks judged after the run (the regression against the baseline) are set aside too, once
    result.add_checks([CheckRecord("load.regression_p95", Status.FAIL, observed=0.8, threshold=0.25)])
    result.add_checks([])
    assert result.status == Status.WARN and result.check("load.regression_p95").status == Status.WARN
    assert result.message.count("measurement disturbed: other work used") == 1


def test_an_error_rate_fails_a_disturbed_run_all_the_same():
    result = _result(P95_FAIL, ERRORS_FAIL, DISTURBED)
    assert result.status == Status.FAIL
    assert result.check("load.error_rate[inference]").status == Status.FAIL
    assert result.check("load.p95_ms[inference]").status == Status.WARN
    lines = result.message.splitlines()
    assert lines[0].startswith("FAIL: load.error_rate[inference]") and lines[-1].startswith("measurement disturbed")


def test_an_undisturbed_run_keeps_its_verdict():
    result = _result(P95_FAIL, QUIET)
    assert result.status == Status.FAIL and result.check("load.p95_ms[inference]").status == Status.FAIL
    assert _result(CheckRecord("load.p95_ms[x]", Status.PASS), QUIET).status == Status.PASS


SUBJECT = textwrap.dedent(
    """
    def build():
        return (lambda batch: sum(range(1000 * batch))), (lambda n: n)
    """
)


def test_microbenchmarks_record_the_machine_load_and_judge_it(tmp_path):
    (tmp_path / "subject.py").write_text(SUBJECT)
    config = MicrobenchConfig(factory="subject:build", cwd=str(tmp_path), batch_sizes=[1], iterations=3, warmup=0)
    # other work can never use more than every core: this run is never disturbed, on any machine
    judged = run_microbenchmarks(
        config, out_dir=tmp_path / "judged", isolation=MeasurementIsolationConfig(other_work_max_share=1.0)
    )
    gate = judged.check(CHECK_NAME)
    assert gate.status == Status.PASS and gate.threshold == 1.0 and 0 <= gate.observed <= 1
    assert judged.status == Status.PASS, judged.message
    assert judged.metric("machine.other_work_share_mean", cores=psutil.cpu_count()) == pytest.approx(gate.observed)
    assert judged.summary["details"]["machine"]["other_work_max_share"] == 1.0
    # without isolation the load is recorded, not judged
    recorded = run_microbenchmarks(config, out_dir=tmp_path / "recorded")
    assert recorded.check(CHECK_NAME) is None and recorded.metric("machine.own_cores_mean") is not None


def test_a_check_the_run_exempts_keeps_its_fail_on_a_disturbed_machine():
    """The pipelines' own CPU (resource_scope process_tree) is theirs whatever else runs."""
    now = datetime.now(UTC)
    cpu = CheckRecord("pipeline.cpu_percent", Status.FAIL, observed=95, threshold=80, comparator="<", message="cpu")
    kept = PerformanceResult(
        name="pipeline_load",
        suite_kind="pipeline_load",
        started_at=now,
        finished_at=now,
        checks=[cpu, DISTURBED],
        message="",
        noise_exempt=("pipeline.cpu_percent",),
    )
    assert kept.status == Status.FAIL and kept.check("pipeline.cpu_percent").status == Status.FAIL
    assert _result(cpu, DISTURBED).check("pipeline.cpu_percent").status == Status.WARN  # machine-wide: set aside
