"""Run one configured suite of a checked-out commit inside a container, with no metrics DB and no Airflow:

    python -m assay.engines.per_commit.run_in_container --target NAME --suite SUITE \\
        --worktree DIR --envs-root DIR --out DIR [--target-config FILE]

It runs :func:`assay.engines.per_commit.run_commit_suite` exactly as the worker's own process would and writes
the :class:`SuiteResult` as ``<out>/result.json`` (:mod:`assay.engines.per_commit.result_json`), beside the
usual ``reportlog.jsonl``, ``coverage.json`` and ``pytest.log``. The worker (``isolation.backend`` kubernetes
or docker) reads that file from the shared volume and records it.

``--target-config`` is the target's per-commit config as JSON (:class:`CommitTargetConfig`, written by the
worker into the output directory; default ``<out>/target.json``): the container never reads Assay's own config
file, which may reference the worker's secrets.

Exit status: 0 when ``result.json`` was written, whatever the suite's verdict (the verdict is in the file);
2 for bad arguments; 1 when no result could be written.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from assay.engines.per_commit.config import CommitTargetConfig
from assay.engines.per_commit.pytest_suite import SuiteResult
from assay.engines.per_commit.result_json import RESULT_FILE, write_suite_result
from assay.engines.per_commit.sharding import ShardSpec
from assay.engines.per_commit.suite import run_commit_suite
from assay.errors import AssayError
from assay.redaction import strip_url_credentials
from assay.status import Status

TARGET_CONFIG_FILE = "target.json"
SHARD_FILE = "shard.json"
MODULE = "assay.engines.per_commit.run_in_container"


def container_argv(
    python: str,
    *,
    target: str,
    suite: str,
    worktree: str | Path,
    envs_root: str | Path,
    out_dir: str | Path,
    target_config: str | Path | None = None,
    shard: str | Path | None = None,
) -> list[str]:
    """The command line that runs this module (what the container's command is)."""
    argv = [python, "-m", MODULE, "--target", target, "--suite", suite]
    argv += ["--worktree", str(worktree), "--envs-root", str(envs_root), "--out", str(out_dir)]
    if target_config is not None:
        argv += ["--target-config", str(target_config)]
    if shard is not None:
        argv += ["--shard", str(shard)]
    return argv


def write_shard_spec(shard: ShardSpec, out_dir: str | Path) -> Path:
    """Write the shard to run (index, count, the recorded durations) for the container (``<out>/shard.json``):
    the container has no metrics DB to read the durations from."""
    path = Path(out_dir) / SHARD_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"index": shard.index, "count": shard.count, "durations": dict(shard.durations)}), encoding="utf-8"
    )
    return path


def read_shard_spec(path: str | Path) -> ShardSpec:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return ShardSpec(int(data["index"]), int(data["count"]), {str(k): float(v) for k, v in data["durations"].items()})


def write_target_config(target: CommitTargetConfig, out_dir: str | Path) -> Path:
    """Write the per-commit part of a target's config as JSON for the container (``<out>/target.json``).

    The repository URL's credentials are masked: the container runs on a checkout the worker made, and never
    fetches (nothing in a suite run reads ``repo``). The local sandbox is turned off: the container is it."""
    data = target.model_dump(mode="json", include=set(CommitTargetConfig.model_fields))
    data["repo"] = strip_url_credentials(data["repo"])
    # the container is the suite's sandbox (no network, no secrets, read-only root, non-root uid); bubblewrap
    # needs namespaces an unprivileged container does not grant, so it is not nested inside
    data["sandbox"] = data.get("sandbox", {}) | {"enabled": False}
    path = Path(out_dir) / TARGET_CONFIG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    return path


def read_target_config(path: str | Path) -> CommitTargetConfig:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return CommitTargetConfig.model_validate(data)


def run(args: argparse.Namespace) -> SuiteResult:
    """The suite's result; never raises for the suite's own failure or an error of Assay (those are results)."""
    started = datetime.now(UTC)
    out = Path(args.out)

    def error(message: str, *, retryable: bool) -> SuiteResult:
        return SuiteResult(
            name=args.suite,
            status=Status.ERROR,
            message=message,
            started_at=started,
            finished_at=datetime.now(UTC),
            retryable=retryable,
        )

    config_path = Path(args.target_config) if args.target_config else out / TARGET_CONFIG_FILE
    try:
        target = read_target_config(config_path)
    except (OSError, ValueError, ValidationError) as exc:  # JSONDecodeError and ValidationError are ValueErrors
        return error(f"cannot read the target config {config_path}: {exc}", retryable=False)
    if args.suite not in target.suites:
        return error(f"target {args.target!r} configures no suite {args.suite!r}", retryable=False)
    try:
        shard = read_shard_spec(args.shard) if args.shard else None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return error(f"cannot read the shard to run from {args.shard}: {exc}", retryable=False)
    try:
        return run_commit_suite(
            target_name=args.target,
            target=target,
            suite_name=args.suite,
            worktree=Path(args.worktree),
            envs_root=Path(args.envs_root),
            out_dir=out,
            shard=shard,
        )
    except AssayError as exc:
        return error(str(exc), retryable=exc.retryable)
    except Exception as exc:  # noqa: BLE001 - a bug of Assay's is still a result the worker records
        detail = "".join(traceback.format_exception_only(exc)).strip()
        return error(f"the suite runner failed: {detail}", retryable=True)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.split("\n\n", 1)[0])
    p.add_argument("--target", required=True, help="the target's name in Assay's config")
    p.add_argument("--suite", required=True, help="the suite's name in the target's config")
    p.add_argument("--worktree", required=True, help="the checked-out commit")
    p.add_argument("--envs-root", required=True, help="where the target's cached venvs are")
    p.add_argument("--out", required=True, help="the task's output directory; result.json is written there")
    p.add_argument("--shard", help=f"run one shard of the suite: its {SHARD_FILE} (index, count, durations)")
    p.add_argument(
        "--target-config", help=f"the target's per-commit config as JSON (default <out>/{TARGET_CONFIG_FILE})"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / RESULT_FILE).unlink(missing_ok=True)
    result = run(args)
    try:
        path = write_suite_result(result, out)
    except OSError as exc:
        print(f"cannot write {out / RESULT_FILE}: {exc}", file=sys.stderr)
        return 1
    print(f"suite {args.suite}: {result.status.value}: {result.message}\nresult: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
