"""Child process of the model micro-benchmark: one batch size, one fresh interpreter.

Run as a script (``python microbench_child.py --factory pkg.mod:build --batch-size 32 ...``) so it needs
nothing but the standard library and the target's own code: the working directory is put on
``sys.path`` and ``factory()`` must return ``(predict, make_batch)``. The batch is built and the model
warmed up before timing; each ``predict(batch)`` call is timed with ``perf_counter_ns``. Peak memory
is the process's peak RSS after set-up and at the end, so the figure covers everything this process
ever held, interpreter and model included.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import resource
import sys
import time


def _peak_rss_mb() -> float:
    """Peak RSS of this process. On Linux ``VmHWM`` of ``/proc/self/status``: ``ru_maxrss`` there keeps the
    high-water mark of the process image replaced by ``exec`` (the parent's, forked), so a small child of
    a big worker would report the worker's size."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB elsewhere


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--factory", required=True)
    p.add_argument("--batch-size", type=int, required=True)
    p.add_argument("--iterations", type=int, required=True)
    p.add_argument("--warmup", type=int, default=0)
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)

    sys.path.insert(0, os.getcwd())
    module_name, _, func_name = args.factory.partition(":")
    predict, make_batch = getattr(importlib.import_module(module_name), func_name)()
    batch = make_batch(args.batch_size)
    for _ in range(args.warmup):
        predict(batch)
    gc.collect()
    setup_peak = _peak_rss_mb()
    latencies_ms = []
    loop_start = time.perf_counter()
    for _ in range(args.iterations):
        t0 = time.perf_counter_ns()
        predict(batch)
        latencies_ms.append((time.perf_counter_ns() - t0) / 1e6)
    loop_s = time.perf_counter() - loop_start
    result = {
        "batch_size": args.batch_size,
        "iterations": args.iterations,
        "latencies_ms": latencies_ms,
        "loop_s": loop_s,
        "setup_peak_rss_mb": setup_peak,
        "peak_rss_mb": _peak_rss_mb(),
    }
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
