"""Sharding: how evenly recorded durations split a skewed suite, and what N shards do to the wall time.

Generates a suite of 2,000 CPU-bound tests in 80 files with a skewed duration distribution (most tests a
few milliseconds, a few files holding tests of a quarter to one second: a typical ML repo's slow model
tests beside fast unit tests). Then, with Assay's own engine:

1. runs it unsharded (one pytest), whose report gives each test's measured duration (what the metrics DB
   records);
2. for 2 and 4 shards, plans the shards by those recorded durations and by file count (the fallback), and
   prints the imbalance of each plan: the slowest shard's work over the mean shard's work (1.00 is perfect;
   the wall time of N shards on N workers is the slowest shard's);
3. runs the 2- and 4-shard plans by recorded durations for real, the shards as concurrent processes (as N
   workers would), merges them, and checks the merged outcomes and counts equal the unsharded run's.

On this machine (2 cores) 4 concurrent shards share 2 cores, so their wall time shows 2-core scaling; the
speed-up 4 workers would give is N / imbalance (less pytest's start-up per shard), printed from the plan.

    .venv/bin/python benchmarks/sharding.py [--tests 2000] [--files 80] [--seed 7] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "include")]

from assay.engines.per_commit.config import SuiteConfig  # noqa: E402
from assay.engines.per_commit.pytest_suite import run_pytest_suite  # noqa: E402
from assay.engines.per_commit.shard_merge import ShardOutput, merge_shards  # noqa: E402
from assay.engines.per_commit.shard_plugin import assign  # noqa: E402
from assay.engines.per_commit.sharding import ShardSpec  # noqa: E402

HEADER = """\
import time


def spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass

"""


def durations(tests: int, files: int, seed: int, scale: float) -> list[list[float]]:
    """Per file, its tests' durations (s): lognormal fast tests; 4 files of slow ones (0.25-1.0 s)."""
    rng = random.Random(seed)
    per_file = tests // files
    slow_files = set(rng.sample(range(files), 4))
    out = []
    for f in range(files):
        if f in slow_files:
            out.append([scale * rng.uniform(0.25, 1.0) if i < 8 else scale * 0.004 for i in range(per_file)])
        else:
            out.append([scale * min(0.2, rng.lognormvariate(-5.3, 0.9)) for _ in range(per_file)])
    return out


def generate(root: Path, plan: list[list[float]]) -> None:
    (root / "tests").mkdir(parents=True)
    (root / "pytest.ini").write_text("[pytest]\ntestpaths = tests\n")
    for f, durs in enumerate(plan):
        body = "".join(f"def test_{i}():\n    spin({d:.6f})\n\n\n" for i, d in enumerate(durs))
        (root / "tests" / f"test_mod{f:03d}.py").write_text(HEADER + "\n" + body)


def imbalance(shards: list[list[str]], weight: dict[str, float]) -> float:
    loads = [sum(weight[n] for n in s) for s in shards]
    return max(loads) / (sum(loads) / len(loads))


def run_shards(root: Path, out: Path, count: int, recorded: dict[str, float]) -> tuple[float, list[ShardOutput], float]:
    """Wall time of the shards run concurrently, their outputs, and the imbalance of the test time each
    shard really measured."""
    suite = SuiteConfig(timeout_s=3600)
    work: dict[int, float] = {}

    def one(i: int) -> ShardOutput:
        d = out / f"s{count}-{i}"
        res = run_pytest_suite(name="bench", suite=suite, workdir=root, out_dir=d, shard=ShardSpec(i, count, recorded))
        work[i] = sum(c.duration_s for c in res.test_cases)
        return ShardOutput(i, d, res.status, res.message, res.started_at, res.finished_at)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=count) as pool:
        outputs = list(pool.map(one, range(count)))
    loads = list(work.values())
    return time.perf_counter() - started, outputs, max(loads) / (sum(loads) / len(loads))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tests", type=int, default=2000)
    ap.add_argument("--files", type=int, default=80)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every test's duration")
    args = ap.parse_args()
    plan = durations(args.tests, args.files, args.seed, args.scale)
    flat = sorted((d for f in plan for d in f), reverse=True)
    total = sum(flat)
    print(
        f"suite: {args.tests} tests in {args.files} files, {total:.1f} s of test work; slowest 1% of tests hold "
        f"{100 * sum(flat[: len(flat) // 100]) / total:.0f}% of it; cores: {os.cpu_count()}; "
        f"load {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory(prefix="assay-shard-bench-") as tmp:
        root = Path(tmp) / "suite"
        generate(root, plan)
        started = time.perf_counter()
        whole = run_pytest_suite(name="bench", suite=SuiteConfig(timeout_s=3600), workdir=root, out_dir=Path(tmp) / "w")
        wall1 = time.perf_counter() - started
        assert whole.status.value == "PASS", whole.message
        recorded = {c.node_id: c.duration_s for c in whole.test_cases}
        ids = [c.node_id for c in whole.test_cases]
        print(
            f"\n1 shard: wall {wall1:.1f} s, {whole.counts['passed']} passed, recorded test time {sum(recorded.values()):.1f} s"
        )
        print(
            "\n| shards | imbalance planned, recorded durations | imbalance planned, file count | imbalance measured"
            " in the shards | wall, this machine | speed-up here | speed-up on N workers (N / imbalance) |"
            " merged = unsharded |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for count in (2, 4):
            by_time = imbalance(assign(ids, recorded, count), recorded)
            by_files = imbalance(assign(ids, {}, count), recorded)
            wall, outputs, measured = run_shards(root, Path(tmp), count, recorded)
            merged = merge_shards(
                name="bench",
                suite=SuiteConfig(),
                count=count,
                shards=outputs,
                worktree=root,
                out_dir=Path(tmp) / f"m{count}",
                python=sys.executable,
                source=None,
            )
            same = merged.counts == whole.counts and sorted(
                (c.node_id, c.outcome) for c in merged.test_cases
            ) == sorted((c.node_id, c.outcome) for c in whole.test_cases)
            print(
                f"| {count} | {by_time:.3f} | {by_files:.3f} | {measured:.3f} | {wall:.1f} s | {wall1 / wall:.2f}x | "
                f"{count / by_time:.2f}x (file count: {count / by_files:.2f}x) | {'yes' if same else 'NO: ' + merged.message} |"
            )


if __name__ == "__main__":
    main()
