"""Sandbox overhead: the same trivial pytest suite run directly and under bubblewrap (assay.sandbox).

Both runs use the command ``run_pytest_suite`` runs (report log, ``-p no:cacheprovider``), in the same
process, alternating (direct, sandboxed, direct, ...) so that machine noise hits both; the figures are the
median wall time of each and their difference: the cost of confining a commit's tests (bwrap's mounts and
namespaces, the setpriv drop to uid 65534 when run as root).

    .venv/bin/python benchmarks/sandbox_overhead.py [--runs 7] [--tests 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "include")]

from assay.engines.per_commit.config import SuiteConfig  # noqa: E402
from assay.engines.per_commit.pytest_suite import run_pytest_suite  # noqa: E402
from assay.process import run_command, target_env  # noqa: E402
from assay.sandbox import SandboxPolicy, check_available, interpreter_dirs, wrap_command  # noqa: E402
from assay.status import Status  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--tests", type=int, default=20)
    args = ap.parse_args()
    policy = SandboxPolicy()
    check_available(policy)
    with tempfile.TemporaryDirectory(prefix="assay-sandbox-bench-") as tmp:
        root = Path(tmp)
        work = root / "repo"
        (work / "tests").mkdir(parents=True)
        (work / "tests" / "test_trivial.py").write_text(
            "".join(f"def test_{i}():\n    assert {i} + 1 == {i + 1}\n\n" for i in range(args.tests))
        )
        suite = SuiteConfig(paths=["tests"], timeout_s=120)
        times: dict[str, list[float]] = {"direct": [], "sandboxed": []}
        for i in range(args.runs + 1):  # the first pair warms the page cache; not counted
            for mode in ("direct", "sandboxed"):
                started = time.perf_counter()
                result = run_pytest_suite(
                    name="bench",
                    suite=suite,
                    workdir=work,
                    out_dir=root / f"out-{mode}-{i}",
                    sandbox=policy if mode == "sandboxed" else None,
                )
                elapsed = time.perf_counter() - started
                if result.status is not Status.PASS:
                    raise SystemExit(f"{mode} run {i}: {result.status.value}: {result.message}")
                if i:
                    times[mode].append(elapsed)
        bare: dict[str, list[float]] = {"direct": [], "sandboxed": []}  # the fixed cost alone: python -c pass
        argv = [sys.executable, "-c", "pass"]
        for i in range(args.runs * 3 + 1):
            for mode in ("direct", "sandboxed"):
                cmd, env = argv, target_env()
                started = time.perf_counter()
                if mode == "sandboxed":
                    wrapped = wrap_command(
                        policy, argv, cwd=work, env=env, read_only=[work, *interpreter_dirs(sys.executable)]
                    )
                    cmd, env = wrapped.argv, wrapped.env
                res = run_command(cmd, cwd=work, timeout_s=60, log_path=root / "bare.log", env=env)
                if res.returncode != 0:
                    raise SystemExit(f"{mode} python -c pass: exit {res.returncode}: {res.output_tail}")
                if i:
                    bare[mode].append(time.perf_counter() - started)
    bare_direct, bare_boxed = statistics.median(bare["direct"]), statistics.median(bare["sandboxed"])
    print(f"fixed cost: python -c pass, {len(bare['direct'])} runs each, medians")
    print(f"  direct     {bare_direct * 1000:8.1f} ms")
    print(f"  sandboxed  {bare_boxed * 1000:8.1f} ms")
    print(f"  overhead   {(bare_boxed - bare_direct) * 1000:8.1f} ms")
    direct, boxed = statistics.median(times["direct"]), statistics.median(times["sandboxed"])
    print(f"sandbox overhead per pytest run ({args.tests} trivial tests, {args.runs} runs each, medians)")
    print(
        f"  direct     {direct * 1000:8.0f} ms   (min {min(times['direct']) * 1000:.0f}, max {max(times['direct']) * 1000:.0f})"
    )
    print(
        f"  sandboxed  {boxed * 1000:8.0f} ms   (min {min(times['sandboxed']) * 1000:.0f}, max {max(times['sandboxed']) * 1000:.0f})"
    )
    print(f"  overhead   {(boxed - direct) * 1000:8.0f} ms   ({(boxed / direct - 1) * 100:+.1f}%)")
    print(f"  uid in the sandbox: {policy.uid if policy.drops_uid else 'the worker own (not root)'}; network: none")


if __name__ == "__main__":
    main()
