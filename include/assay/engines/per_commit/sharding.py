"""Sharding a suite across tasks: how many shards, and what one shard needs to run its part.

A sharded suite runs as N mapped tasks of ``assay_per_commit``; each runs pytest on the whole suite with
the plugin of :mod:`.shard_plugin`, which keeps that shard's part. The part is decided by the tests'
durations recorded in the metrics DB, frozen for the DAG run: ``resolve_commit`` picks the recorded suite
runs whose durations count (:class:`ShardPlan`), and every shard reads exactly those, so a suite run that
finishes meanwhile cannot make two shards disagree. :mod:`.shard_merge` turns the shards' outputs into the
one suite run an unsharded run would have recorded.

How many shards (``SuiteConfig.shards``): a number, or ``auto``: the total test time of the suite's last
passing run divided by ``shard_target_s``, rounded up, between 1 and ``max_shards`` (1 while nothing is
recorded: the first run records the durations the next one balances by).
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay.engines.per_commit import shard_plugin
from assay.engines.per_commit.config import SuiteConfig

PLAN_FILE = "shard-plan.json"
PLUGIN_DIR = "shard-plugin"


def shard_count(suite: SuiteConfig, last_total_s: float | None) -> int:
    """The shard count for a run: the configured number, or for ``auto`` the recorded work divided by
    ``shard_target_s`` (rounded up, between 1 and ``max_shards``)."""
    if suite.shards != "auto":
        return int(suite.shards)
    if not last_total_s or last_total_s <= 0 or not math.isfinite(last_total_s):
        return 1
    return max(1, min(suite.max_shards, math.ceil(last_total_s / suite.shard_target_s)))


@dataclass(frozen=True)
class ShardPlan:
    """The shards of one suite in one DAG run: ``count`` and the recorded suite runs (ids in the metrics DB)
    whose test durations balance them. JSON-safe through :meth:`to_dict` (it travels by XCom)."""

    suite: str
    count: int
    duration_runs: tuple[int, ...] = ()
    recorded_total_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "count": self.count,
            "duration_runs": list(self.duration_runs),
            "recorded_total_s": self.recorded_total_s,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ShardPlan:
        return cls(
            suite=str(data["suite"]),
            count=int(data["count"]),
            duration_runs=tuple(int(i) for i in data.get("duration_runs") or ()),
            recorded_total_s=data.get("recorded_total_s"),
        )


@dataclass(frozen=True)
class ShardSpec:
    """One shard to run: its index (0-based), the count, and the recorded durations (node id -> seconds)."""

    index: int
    count: int
    durations: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard index {self.index} is outside 0..{self.count - 1}")

    def describe(self) -> str:
        return f"shard {self.index + 1}/{self.count}"

    def install(self, out_dir: Path, pythonpath: str | None) -> dict[str, str]:
        """Write the plan and the plugin into ``out_dir``; return the environment pytest needs to load them."""
        plan = out_dir / PLAN_FILE
        plan.write_text(
            json.dumps({"index": self.index, "count": self.count, "durations": dict(self.durations)}),
            encoding="utf-8",
        )
        (out_dir / shard_plugin.MANIFEST).unlink(missing_ok=True)
        plugin_dir = out_dir / PLUGIN_DIR
        plugin_dir.mkdir(exist_ok=True)
        shutil.copyfile(shard_plugin.__file__, plugin_dir / "assay_shard.py")
        path = str(plugin_dir) + (f":{pythonpath}" if pythonpath else "")
        return {shard_plugin.PLAN_ENV: str(plan), "PYTHONPATH": path}

    def selected_nothing(self, out_dir: Path) -> bool:
        """Whether pytest collected tests but none fell to this shard (pytest then exits 5)."""
        manifest = read_manifest(out_dir)
        return manifest is not None and manifest["collected"] > 0 and not manifest["selected"]


def read_manifest(out_dir: Path) -> dict[str, Any] | None:
    """The shard's manifest (collected count and digest, the selected node ids), or None if none was written."""
    try:
        return json.loads((Path(out_dir) / shard_plugin.MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
