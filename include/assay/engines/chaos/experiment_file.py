"""Read and validate a chaostoolkit experiment file before anything runs.

Every problem is a :class:`~assay.errors.ConfigError` whose message starts with the file and says what
to fix: not JSON, a missing key, an unknown provider module or function, arguments that do not fit the
function, a ``${name}`` that nothing defines, a secret written in the file, an environment variable the
run does not provide. chaostoolkit's own activity validation is reused for the provider checks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay.errors import ConfigError

REQUIRED_TEXT_KEYS = ("title", "description")
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class ExperimentFile:
    """A validated experiment: its document and its configuration resolved against the run's environment."""

    path: Path
    document: dict[str, Any]
    configuration: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def title(self) -> str:
        return str(self.document["title"])


def load_experiment(path: str | Path, env: Mapping[str, str]) -> ExperimentFile:
    """Parse and validate ``path`` for a run whose environment is ``env``; raise ConfigError otherwise."""
    p = Path(path)
    doc = _read(p)

    def bad(problem: str) -> ConfigError:
        return ConfigError(f"chaos experiment {p}: {problem}")

    for key in REQUIRED_TEXT_KEYS:
        if not isinstance(doc.get(key), str) or not doc[key].strip():
            raise bad(f"{key!r} is missing or empty; every experiment needs a {key}")
    hypo = doc.get("steady-state-hypothesis")
    if not isinstance(hypo, dict) or not isinstance(hypo.get("probes"), list) or not hypo["probes"]:
        raise bad(
            "'steady-state-hypothesis' with at least one probe is required: Assay judges an experiment by "
            "its steady state before and after the method"
        )
    if not isinstance(hypo.get("title"), str) or not hypo["title"].strip():
        raise bad("'steady-state-hypothesis' needs a 'title'")
    if not isinstance(doc.get("method"), list) or not doc["method"]:
        raise bad("'method' must be a non-empty list of activities (a method with no action injects no fault)")
    if not isinstance(doc.get("rollbacks", []), list):
        raise bad("'rollbacks' must be a list of activities")
    config_def = doc.get("configuration", {})
    secrets_def = doc.get("secrets", {})
    if not isinstance(config_def, dict):
        raise bad('\'configuration\' must be an object of key: value or {"type": "env", "key": ...}')
    if not isinstance(secrets_def, dict) or not all(isinstance(g, dict) for g in secrets_def.values()):
        raise bad("'secrets' must map a group name to an object of secrets")

    try:
        configuration = resolve_configuration(config_def, env)
        _check_secrets(secrets_def, env)
        _check_activities(doc, config_def, secrets_def)
    except ConfigError as exc:
        raise bad(str(exc)) from None
    return ExperimentFile(p, doc, configuration)


def resolve_configuration(config_def: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """The configuration values the run will see (chaostoolkit's rules for ``{"type": "env"}`` entries)."""
    from chaoslib import convert_to_type

    resolved: dict[str, Any] = {}
    for key, value in config_def.items():
        if not (isinstance(value, dict) and "type" in value):
            resolved[key] = value
            continue
        if value["type"] != "env":
            raise ConfigError(f'configuration {key!r}: only literal values and "type": "env" are supported')
        raw = _env_value(env, value, f"configuration {key!r}")
        try:
            resolved[key] = convert_to_type(value.get("env_var_type"), raw)
        except Exception as exc:  # noqa: BLE001 - int(), float(), json.loads() or an unknown type
            raise ConfigError(
                f"configuration {key!r}: {value['key']}={raw!r} is not a valid {value.get('env_var_type')} ({exc})"
            ) from None
    return resolved


def _env_value(env: Mapping[str, str], spec: Mapping[str, Any], what: str) -> Any:
    name = spec.get("key")
    if not isinstance(name, str) or not name:
        raise ConfigError(f'{what}: an env entry needs a "key" naming the environment variable')
    if name in env:
        return env[name]
    if "default" in spec:
        return spec["default"]
    raise ConfigError(
        f"{what} reads environment variable {name}, which the run does not set; pass it in the run's env "
        f'(or give the entry a "default")'
    )


def _check_secrets(secrets_def: Mapping[str, Mapping[str, Any]], env: Mapping[str, str]) -> None:
    for group, entries in secrets_def.items():
        for key, value in entries.items():
            what = f"secret {group}.{key}"
            if not isinstance(value, dict) or "type" not in value:
                raise ConfigError(
                    f"{what} is written in the file; secrets never live in experiment files, read it from "
                    f'the environment: {{"type": "env", "key": "SOME_VARIABLE"}}'
                )
            if value["type"] == "env":
                _env_value(env, value, what)


def _check_activities(doc: Mapping[str, Any], config_def: Mapping[str, Any], secrets_def: Mapping[str, Any]) -> None:
    from chaoslib.exceptions import ChaosException
    from chaoslib.hypothesis import ensure_hypothesis_tolerance_is_valid

    known = set(config_def) | {k for group in secrets_def.values() for k in group}
    for where, activity, is_hypothesis in _activities(doc):
        if not isinstance(activity, dict):
            raise ConfigError(f"{where} must be an object (an activity), got {type(activity).__name__}")
        label = f"{where} {activity.get('name')!r}" if activity.get("name") else where
        try:
            _ensure_activity_is_valid(activity)
            if is_hypothesis:
                if "tolerance" not in activity:
                    raise ConfigError("a steady-state probe needs a 'tolerance' (e.g. true, or a [low, high] range)")
                ensure_hypothesis_tolerance_is_valid(activity["tolerance"])
        except (ChaosException, ConfigError) as exc:
            raise ConfigError(f"{label}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - importing the provider module itself failed
            raise ConfigError(f"{label}: its provider module cannot be imported: {type(exc).__name__}: {exc}") from None
        provider = activity.get("provider") or {}
        for group in provider.get("secrets", []) or []:
            if group not in secrets_def:
                raise ConfigError(f"{label}: asks for secrets group {group!r}, which 'secrets' does not declare")
        for name in sorted(set(_references(activity))):
            if name not in known:
                raise ConfigError(
                    f"{label}: uses ${{{name}}} but neither 'configuration' nor 'secrets' defines {name!r}"
                )


def _ensure_activity_is_valid(activity: Mapping[str, Any]) -> None:
    from chaoslib.activity import ensure_activity_is_valid

    ensure_activity_is_valid(dict(activity))


def _activities(doc: Mapping[str, Any]) -> Iterator[tuple[str, Any, bool]]:
    for i, probe in enumerate(doc["steady-state-hypothesis"]["probes"]):
        yield f"steady-state-hypothesis.probes[{i}]", probe, True
    for i, activity in enumerate(doc["method"]):
        yield f"method[{i}]", activity, False
    for i, activity in enumerate(doc.get("rollbacks", [])):
        yield f"rollbacks[{i}]", activity, False


def _references(data: Any) -> Iterator[str]:
    if isinstance(data, str):
        yield from _REFERENCE.findall(data)
    elif isinstance(data, dict):
        for value in data.values():
            yield from _references(value)
    elif isinstance(data, list):
        for value in data:
            yield from _references(value)


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"chaos experiment {path} does not exist (or is not a file)")
    if path.suffix != ".json":
        raise ConfigError(f"chaos experiment {path}: experiments are JSON files ending in .json")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"chaos experiment {path}: not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"chaos experiment {path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(doc, dict):
        raise ConfigError(f"chaos experiment {path}: the top level must be a JSON object, got {type(doc).__name__}")
    return doc
