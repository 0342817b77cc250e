"""Read the journal ``chaos run --journal-path`` writes (never its log).

The fields used (chaostoolkit-lib 1.44, the journal of chaostoolkit 1.19):

* top level: ``status`` (completed | failed | aborted | interrupted), ``deviated``, ``start``, ``end``,
  ``duration``, ``chaoslib-version``, ``experiment`` (the experiment as run: ``title``, ``method``,
  ``rollbacks`` — to count what was declared);
* ``steady_states.before`` / ``steady_states.after``: ``null`` when not run, else
  ``{"steady_state_met": bool, "probes": [run, ...]}`` (probing stops at the first probe out of tolerance);
* ``run`` (the method) and ``rollbacks``: lists of runs;
* a run: ``activity`` (``name``, ``type``, ``provider``, ``tolerance``), ``status`` (succeeded | failed),
  ``output``, ``exception`` (formatted traceback lines, when failed), ``start``, ``end`` (ISO 8601),
  ``duration`` (s), and ``tolerance_met`` for steady-state probes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from assay.errors import ToolError

_NOISE_PREFIXES = ("chaoslib.exceptions.ActivityFailed: ", "assay.engines.chaos.providers.target_api.ProbeError: ")


@dataclass(frozen=True)
class ActivityRun:
    """One activity as the journal recorded it."""

    name: str
    kind: str  # "probe" | "action"
    provider: str  # "assay.engines.chaos.providers.probes.health_ok", "http GET <url>", "process <path>"
    status: str  # "succeeded" | "failed"
    output: Any = None
    error: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_s: float | None = None
    tolerance: Any = None
    tolerance_met: bool | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    @property
    def func(self) -> str:
        """The provider's Python function name ('' for http and process providers)."""
        return self.provider.rsplit(".", 1)[-1] if " " not in self.provider else ""

    def describe_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "type": self.kind,
            "provider": self.provider,
            "status": self.status,
            "output": self.output,
            "duration_s": None if self.duration_s is None else round(self.duration_s, 3),
        }
        if self.error:
            data["error"] = self.error
        if self.tolerance_met is not None:
            data["tolerance_met"] = self.tolerance_met
        return data


@dataclass(frozen=True)
class SteadyState:
    met: bool
    probes: tuple[ActivityRun, ...]

    @property
    def first_miss(self) -> ActivityRun | None:
        """The probe that broke the steady state (failed, or out of tolerance)."""
        return next((p for p in self.probes if not p.succeeded or p.tolerance_met is False), None)

    def describe_dict(self) -> dict[str, Any]:
        return {"met": self.met, "probes": [p.describe_dict() for p in self.probes]}


@dataclass(frozen=True)
class Journal:
    title: str
    status: str
    deviated: bool
    started_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None
    before: SteadyState | None
    after: SteadyState | None
    method: tuple[ActivityRun, ...]
    rollbacks: tuple[ActivityRun, ...]
    declared_method: int
    declared_rollbacks: int
    chaoslib_version: str | None = None


def read_journal(path: str | Path) -> Journal:
    """Parse a journal file; a missing or malformed one is a ToolError that says what is wrong."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ToolError(f"chaostoolkit wrote no journal at {p}") from None
    except (OSError, ValueError) as exc:
        raise ToolError(f"chaostoolkit journal {p} is unreadable or not JSON: {exc}") from None
    try:
        return parse_journal(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ToolError(
            f"chaostoolkit journal {p} does not have the expected shape ({type(exc).__name__}: {exc})"
        ) from None


def parse_journal(data: dict[str, Any]) -> Journal:
    experiment = data.get("experiment") or {}
    states = data.get("steady_states") or {}
    return Journal(
        title=str(experiment.get("title", "")),
        status=str(data["status"]),
        deviated=bool(data.get("deviated", False)),
        started_at=_time(data.get("start")),
        ended_at=_time(data.get("end")),
        duration_s=_float(data.get("duration")),
        before=_steady_state(states.get("before")),
        after=_steady_state(states.get("after")),
        method=tuple(_run(r) for r in data.get("run") or ()),
        rollbacks=tuple(_run(r) for r in data.get("rollbacks") or ()),
        declared_method=len(experiment.get("method") or ()),
        declared_rollbacks=len(experiment.get("rollbacks") or ()),
        chaoslib_version=data.get("chaoslib-version"),
    )


def _steady_state(state: dict[str, Any] | None) -> SteadyState | None:
    if not state:
        return None
    return SteadyState(bool(state.get("steady_state_met")), tuple(_run(r) for r in state.get("probes") or ()))


def _run(run: dict[str, Any]) -> ActivityRun:
    activity = run["activity"]
    return ActivityRun(
        name=str(activity.get("name") or activity.get("ref") or "?"),
        kind=str(activity.get("type", "?")),
        provider=_provider(activity.get("provider") or {}),
        status=str(run.get("status", "failed")),
        output=run.get("output"),
        error=_error(run.get("exception")),
        started_at=_time(run.get("start")),
        ended_at=_time(run.get("end")),
        duration_s=_float(run.get("duration")),
        tolerance=activity.get("tolerance"),
        tolerance_met=run.get("tolerance_met"),
    )


def _provider(provider: dict[str, Any]) -> str:
    kind = provider.get("type")
    if kind == "python":
        return f"{provider.get('module')}.{provider.get('func')}"
    if kind == "http":
        return f"http {provider.get('method', 'GET')} {provider.get('url')}"
    return f"{kind} {provider.get('path', '')}".strip()


def _error(exception: Any) -> str | None:
    """The last line of the recorded traceback, without chaostoolkit's wrapper class name."""
    if not exception:
        return None
    lines = [line.strip() for chunk in exception for line in str(chunk).splitlines() if line.strip()]
    if not lines:
        return None
    text = lines[-1]
    stripped = True
    while stripped:
        stripped = False
        for prefix in _NOISE_PREFIXES:
            if text.startswith(prefix):
                text, stripped = text[len(prefix) :], True
    return text


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None
