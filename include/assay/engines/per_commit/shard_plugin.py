"""Which tests one shard of a suite runs: the balancing rule, and the pytest plugin that applies it.

This module is standard library only: Assay copies it into the shard's output directory and loads it into
the target's own pytest (``-p assay_shard``), whose environment has no Assay installed. Assay's planner and
``benchmarks/sharding.py`` import the same :func:`assign`, so the plan they reason about is the one pytest
applies.

Every shard collects the whole suite and keeps its own part, so no list of node ids has to travel between
tasks: the same commit in the same environment collects the same items, and the assignment is a pure
function of the collected ids, the recorded durations and the shard count (ties broken by node id). Each
shard writes a manifest (how many items it collected, a digest of their ids, which ones it kept); the merge
checks that every shard collected the same items and that the shards' selections partition them exactly.

The rule is longest-processing-time first: tests sorted by recorded duration (slowest first), each given to
the shard with the least work so far. A test with no recorded duration gets the median of the recorded ones.
With no recorded durations at all, whole test files are spread so each shard gets an equal number of files
(the file-count fallback; a file's tests stay together, as module fixtures expect).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence

PLAN_ENV = "ASSAY_SHARD_PLAN"
MANIFEST = "shard-manifest.json"
BY_DURATION = "recorded_durations"
BY_FILE_COUNT = "file_count"


def _file_of(node_id: str) -> str:
    return node_id.split("::", 1)[0]


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return 0.0
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def strategy(node_ids: Sequence[str], durations: Mapping[str, float]) -> str:
    """The rule in force: recorded durations when any collected test has one, else file count."""
    return BY_DURATION if any(n in durations for n in node_ids) else BY_FILE_COUNT


def assign(node_ids: Sequence[str], durations: Mapping[str, float], count: int) -> list[list[str]]:
    """Split ``node_ids`` into ``count`` shards (each keeps collection order); see the module docstring."""
    if count < 1:
        raise ValueError(f"shard count must be at least 1, not {count}")
    ids = list(dict.fromkeys(node_ids))
    shard_of: dict[str, int] = {}
    loads = [0.0] * count
    if strategy(ids, durations) == BY_DURATION:
        known = [float(durations[n]) for n in ids if n in durations]
        default = median(known)
        weights = {n: max(0.0, float(durations.get(n, default))) for n in ids}
        for n in sorted(ids, key=lambda n: (-weights[n], n)):
            k = min(range(count), key=lambda i: (loads[i], i))
            shard_of[n] = k
            loads[k] += weights[n]
    else:
        files = list(dict.fromkeys(_file_of(n) for n in ids))
        file_shard = {}
        for f in sorted(files):
            k = min(range(count), key=lambda i: (loads[i], i))
            file_shard[f] = k
            loads[k] += 1.0
        shard_of = {n: file_shard[_file_of(n)] for n in ids}
    shards: list[list[str]] = [[] for _ in range(count)]
    for n in ids:
        shards[shard_of[n]].append(n)
    return shards


def digest(node_ids: Sequence[str]) -> str:
    """A digest of the collected ids in collection order: equal on every shard of one commit."""
    h = hashlib.sha256()
    for n in node_ids:
        h.update(n.encode("utf-8", "surrogateescape") + b"\0")
    return h.hexdigest()


# -- the pytest plugin (loaded with ``-p assay_shard`` when ASSAY_SHARD_PLAN names a plan file) -------------


def pytest_collection_modifyitems(session, config, items):  # noqa: ARG001 - pytest's hook signature
    path = os.environ.get(PLAN_ENV)
    if not path:
        return
    with open(path, encoding="utf-8") as fh:
        plan = json.load(fh)
    index, count = int(plan["index"]), int(plan["count"])
    ids = [item.nodeid for item in items]
    mine = set(assign(ids, plan.get("durations") or {}, count)[index])
    kept = [item for item in items if item.nodeid in mine]
    dropped = [item for item in items if item.nodeid not in mine]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept
    manifest = {
        "index": index,
        "count": count,
        "strategy": strategy(ids, plan.get("durations") or {}),
        "collected": len(ids),
        "collected_digest": digest(ids),
        "selected": [item.nodeid for item in kept],
    }
    out = os.path.join(os.path.dirname(os.path.abspath(path)), MANIFEST)
    tmp = f"{out}.{os.getpid()}.tmp"  # xdist workers each write the same content; the last rename wins
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh)
    os.replace(tmp, out)
