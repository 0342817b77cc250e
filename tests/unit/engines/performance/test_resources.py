"""CPU and memory sampling with psutil, and the utilisation gates."""

from __future__ import annotations

import subprocess
import sys
import time

from assay.engines.performance.resources import ResourceSampler, Sample, utilisation_checks_and_metrics


def _sample(cpu: float, mem: float) -> Sample:
    return Sample(at=0.0, system_cpu=cpu, system_memory=mem, tree_cpu=cpu / 2, tree_memory=mem / 4)


def _checks(samples, scope="system"):
    checks, metrics = utilisation_checks_and_metrics(samples, scope=scope, cpu_max=80, memory_max=80, interval_s=1)
    return {c.name: c for c in checks}, {(m.name, m.labels["scope"]): m.value for m in metrics}


def test_cpu_gate_is_on_the_mean_and_memory_gate_on_the_peak():
    checks, metrics = _checks([_sample(100, 50), _sample(40, 85), _sample(40, 50)])
    assert checks["pipeline.cpu_percent"].status == "PASS" and checks["pipeline.cpu_percent"].observed == 60
    assert checks["pipeline.memory_percent"].status == "FAIL" and checks["pipeline.memory_percent"].observed == 85
    assert "max 100.0%, mean 60.0%" in checks["pipeline.cpu_percent"].message
    assert metrics[("pipeline.cpu_percent_max", "system")] == 100
    assert metrics[("pipeline.cpu_percent_mean", "process_tree")] == 30


def test_sustained_cpu_saturation_fails_and_scope_selects_the_series():
    samples = [_sample(95, 10), _sample(90, 10)]
    assert _checks(samples)[0]["pipeline.cpu_percent"].status == "FAIL"
    tree = _checks(samples, scope="process_tree")[0]["pipeline.cpu_percent"]
    assert tree.status == "PASS" and tree.observed == 46.25


def test_no_sample_is_error_never_assumed_fine():
    checks, metrics = _checks([])
    assert {c.status for c in checks.values()} == {"ERROR"} and metrics == {}


def test_sampler_sees_a_busy_child_in_the_process_tree():
    burn = "import time\nend = time.time() + 1.5\nwhile time.time() < end: pass\n"
    with ResourceSampler(0.25) as sampler:
        subprocess.run([sys.executable, "-c", burn], check=True, timeout=30)
        time.sleep(0.3)
    assert len(sampler.samples) >= 4
    assert max(s.tree_cpu for s in sampler.samples) > 10  # one busy core of this machine's cores
    assert all(0 <= s.system_cpu <= 100 and 0 < s.system_memory < 100 for s in sampler.samples)
    assert all(s.tree_memory > 0 for s in sampler.samples)
