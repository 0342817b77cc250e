"""Run a chaostoolkit experiment against a service and turn its journal into a result.

``chaos run`` runs as a subprocess (its own process group, hard timeout) with rollbacks **always**
played (``--rollback-strategy always``: after a deviation, a failed probe or an interruption too). The
verdict comes from the journal it writes, never from its log (see :mod:`.verdict`):

* the steady state deviated after the fault, or the service did not recover in time → FAIL;
* the file is malformed or names unknown providers, chaostoolkit crashed, timed out or wrote no journal,
  the target was not in its steady state when the run started, a fault action failed, a rollback
  failed → ERROR (never PASS: nothing trustworthy was measured);
* otherwise PASS, with a recovery time and a resilience score.

The experiment files read their target and thresholds from ``ASSAY_CHAOS_*`` environment variables
(``configuration`` / ``secrets`` entries of type ``env``); the caller passes them in ``env``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import assay
from assay.engines.chaos.experiment_file import ExperimentFile, load_experiment
from assay.engines.chaos.journal import Journal, read_journal
from assay.engines.chaos.verdict import evaluate
from assay.errors import ConfigError, ToolError
from assay.process import run_command, target_env
from assay.results import Result
from assay.status import Status, worst
from assay.store.records import CheckRecord

__all__ = [
    "ChaosResult",
    "chaos_argv",
    "chaos_process_env",
    "discover_experiments",
    "run_experiment",
    "validate_experiment",
]

ROLLBACK_STRATEGY = "always"
_ENGINE_PATH = str(Path(assay.__file__).resolve().parents[1])


@dataclass(kw_only=True)
class ChaosResult(Result):
    """One run of experiment ``experiment`` (suite ``chaos:<experiment>``); its summary is derived from the
    journal and the fields below."""

    kind: str = "chaos"
    experiment: str
    title: str = ""
    journal: Journal | None = None
    recovery_s: float | None = None
    resilience_score: float | None = None
    exit_code: int | None = None
    journal_path: str | None = None
    log_path: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(init=False)

    @property
    def deviated(self) -> bool:
        return bool(self.journal and self.journal.after is not None and not self.journal.after.met)

    def derive(self) -> None:
        j = self.journal
        self.summary = {
            "experiment": self.experiment,
            "title": self.title,
            "deviated": self.deviated,
            "recovery_s": self.recovery_s,
            "resilience_score": self.resilience_score,
            "journal_status": j.status if j else None,
            "steady_state_before": j.before.describe_dict() if j and j.before else None,
            "steady_state_after": j.after.describe_dict() if j and j.after else None,
            "method": [r.describe_dict() for r in j.method] if j else [],
            "rollbacks": [r.describe_dict() for r in j.rollbacks] if j else [],
            "rollbacks_declared": j.declared_rollbacks if j else None,
            "exit_code": self.exit_code,
            "journal_path": self.journal_path,
            "log_path": self.log_path,
        }


def discover_experiments(directory: str | Path) -> list[Path]:
    """The experiment files (``*.json``) of ``directory``, sorted; a missing or empty one is a ConfigError."""
    d = Path(directory)
    files = sorted(d.glob("*.json")) if d.is_dir() else []
    if not files:
        raise ConfigError(f"no chaos experiment (*.json) found in {d}")
    return files


def chaos_process_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of ``chaos run``: the worker's minus Airflow/Assay settings, plus ``env``, with the
    engine package importable (the experiments' Python providers live in ``assay.engines.chaos.providers``)."""
    child = target_env(dict(env or {}))
    child["PYTHONPATH"] = _ENGINE_PATH
    return child


def validate_experiment(path: str | Path, env: Mapping[str, str] | None = None) -> ExperimentFile:
    """Validate an experiment file for a run with ``env``; raises ConfigError naming the file and problem."""
    return load_experiment(path, chaos_process_env(env))


def chaos_argv(experiment: Path, work_dir: Path, *, python: str | None = None) -> list[str]:
    stem = experiment.stem
    return [
        python or sys.executable,
        "-m",
        "chaostoolkit",
        "--no-version-check",
        "--settings",
        str(work_dir / "chaostoolkit-settings.yaml"),  # absent on purpose: no user settings
        "--log-file",
        str(work_dir / f"{stem}.chaostoolkit.log"),
        "--log-file-level",
        "info",
        "run",
        "--rollback-strategy",
        ROLLBACK_STRATEGY,
        "--journal-path",
        str(work_dir / f"{stem}.journal.json"),
        str(experiment),
    ]


def run_experiment(
    path: str | Path,
    *,
    env: Mapping[str, str],
    timeout_s: float,
    work_dir: str | Path,
    python: str | None = None,
    name: str | None = None,
) -> ChaosResult:
    """Validate and run one experiment file; never raises for a problem of the experiment or the target
    (those are FAIL or ERROR results). ``env`` holds the ``ASSAY_CHAOS_*`` variables the file reads; ``name``
    is the suite run's name (default ``chaos:<file stem>``)."""
    experiment = Path(path).resolve()
    work = Path(work_dir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    child_env = chaos_process_env(env)

    def result(status: Status, message: str, title: str = "", **kw: Any) -> ChaosResult:
        return ChaosResult(
            name=name or f"chaos:{experiment.stem}",
            experiment=experiment.stem,
            title=title,
            status=status,
            message=message,
            started_at=started,
            finished_at=datetime.now(UTC),
            **kw,
        )

    try:
        loaded = load_experiment(experiment, child_env)
    except ConfigError as exc:
        return result(Status.ERROR, str(exc), checks=(CheckRecord("experiment_valid", Status.ERROR, message=str(exc)),))
    argv = chaos_argv(experiment, work, python=python)
    journal_path = work / f"{experiment.stem}.journal.json"
    journal_path.unlink(missing_ok=True)
    try:
        cmd = run_command(
            argv, cwd=work, timeout_s=timeout_s, log_path=work / f"{experiment.stem}.output.log", env=child_env
        )
    except ToolError as exc:
        return result(
            Status.ERROR, str(exc), loaded.title, checks=(CheckRecord("chaos_started", Status.ERROR, message=str(exc)),)
        )
    common: dict[str, Any] = {
        "exit_code": cmd.returncode,
        "log_path": str(cmd.log_path),
        "details": {"argv": argv, "configuration": _public(loaded.configuration)},
    }
    timeout_check = (
        CheckRecord(
            "completed_in_time",
            Status.ERROR,
            observed=round(cmd.duration_s, 3),
            threshold=timeout_s,
            comparator="<=",
            message=f"chaos run exceeded its timeout of {timeout_s} s; it was interrupted (SIGTERM, rollbacks "
            f"still played) and its process group killed",
        )
        if cmd.timed_out
        else None
    )
    try:
        journal = read_journal(journal_path)
    except ToolError as exc:
        why = timeout_check.message if timeout_check else f"chaos run exited with code {cmd.returncode}"
        message = f"{why}; {exc}:\n{cmd.output_tail[-1500:]}"
        return result(
            Status.ERROR,
            message,
            loaded.title,
            checks=(CheckRecord("journal_written", Status.ERROR, message=message),),
            **common,
        )
    verdict = evaluate(journal, loaded.configuration)
    checks = verdict.checks + ((timeout_check,) if timeout_check else ())
    status = worst(c.status for c in checks)
    return result(
        status,
        _summary(status, checks, verdict.recovery_s, verdict.resilience_score),
        loaded.title,
        checks=checks,
        metrics=verdict.metrics,
        journal=journal,
        recovery_s=verdict.recovery_s,
        resilience_score=None if status is Status.ERROR else verdict.resilience_score,
        journal_path=str(journal_path),
        **common,
    )


def _summary(status: Status, checks: tuple[CheckRecord, ...], recovery_s: float | None, score: float | None) -> str:
    if status is Status.PASS:
        parts = ["steady state held before and after the fault"]
        if recovery_s is not None:
            parts.append(f"recovered in {recovery_s:.2f} s")
        if score is not None:
            parts.append(f"resilience score {score:g}")
        return "; ".join(parts)
    bad = [c for c in checks if c.status == status.value]
    return "; ".join(f"{c.name}: {c.message}" for c in bad)


def _public(configuration: Mapping[str, Any]) -> dict[str, Any]:
    """Configuration values for the record (configuration is not secret; secrets are never resolved here)."""
    return {k: v if isinstance(v, str | int | float | bool | type(None)) else str(v) for k, v in configuration.items()}
