"""Expectation suites as files: Great Expectations' own JSON suite format, checked entry by entry.

A suite file is what ``ExpectationSuite.to_json_dict()`` writes (``name``, ``expectations`` as
``{"type", "kwargs", "meta", "severity"}``, ``meta``, ``notes``); ``gx.ExpectationSuite(**json)`` loads
it too. Assay reads it itself first because GE's constructor only *logs* an entry it cannot build and
drops it, so a typo would silently shrink the suite. Here every entry is built into its GE expectation
up front and a bad one raises :class:`~assay.errors.ConfigError` naming the file, the entry's index and
type, and what is wrong.

A suite is named by a path to its file, or by a bare name looked up in a suites directory (the
``data_quality.suites_dir`` of ``assay.yaml``, passed in by the caller): no folder is built in.

Suite-level ``meta.assay`` (optional) carries Assay's own settings:

* ``personal_columns``: columns whose unexpected values are never copied into results or reports
  (their row indices still are).
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay.errors import ConfigError


@dataclass(frozen=True)
class SuiteSpec:
    """A validated suite as plain data; GE objects are built fresh from it for every validation."""

    name: str
    expectations: tuple[dict[str, Any], ...]
    meta: dict[str, Any] = field(default_factory=dict)
    notes: str | list[str] | None = None
    source: str = "<memory>"

    @property
    def personal_columns(self) -> frozenset[str]:
        return frozenset((self.meta.get("assay") or {}).get("personal_columns") or ())

    def to_json_dict(self) -> dict[str, Any]:
        """GE's suite format: the file this spec would be saved as."""
        return {
            "name": self.name,
            "expectations": [copy.deepcopy(e) for e in self.expectations],
            "meta": copy.deepcopy(self.meta),
            "notes": self.notes,
        }

    def build(self):
        """A new ``gx.ExpectationSuite`` (no ids, owned by no context) for one validation."""
        import great_expectations as gx

        built = [_build_expectation(e, i, self.source) for i, e in enumerate(self.expectations)]
        return gx.ExpectationSuite(name=self.name, expectations=built, meta=copy.deepcopy(self.meta), notes=self.notes)


#: What callers may pass as a suite: a name, a file path, a dict in GE's format, a spec, or a gx.ExpectationSuite.
SuiteRef = str | Path | Mapping[str, Any] | SuiteSpec | Any


def is_suite_name(ref: str | Path) -> bool:
    """Whether ``ref`` is a bare suite name (looked up in a suites directory) rather than a file path."""
    path = Path(ref)
    return path.suffix != ".json" and path.parent == Path(".")


def resolve_suite_path(ref: str | Path, suites_dir: str | Path | None = None) -> Path:
    """A path to a suite file, or a bare name looked up as ``<suites_dir>/<name>.json``."""
    path = Path(ref)
    if is_suite_name(ref):
        if suites_dir is None:
            raise ConfigError(
                f"expectation suite {str(ref)!r} is a name, but no suites directory is configured: set "
                "data_quality.suites_dir in assay.yaml, or give the path of the suite's JSON file"
            )
        suites_dir = Path(suites_dir)
        path = suites_dir / f"{ref}.json"
    if not path.is_file():
        where = Path(suites_dir) if suites_dir is not None else path.parent
        known = sorted(p.stem for p in where.glob("*.json")) if where.is_dir() else []
        raise ConfigError(f"expectation suite {str(ref)!r} not found at {path}; known suites in {where}: {known}")
    return path


def load_suite(ref: SuiteRef, suites_dir: str | Path | None = None) -> SuiteSpec:
    """Load and check a suite from a file path, a suite name (in ``suites_dir``), a dict in GE's format,
    or a GE suite."""
    if isinstance(ref, SuiteSpec):
        return ref
    if isinstance(ref, str | Path):
        path = resolve_suite_path(ref, suites_dir)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"suite file {path} is not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from exc
        return suite_from_dict(data, source=str(path))
    if isinstance(ref, Mapping):
        return suite_from_dict(ref, source="<dict>")
    if hasattr(ref, "to_json_dict") and hasattr(ref, "expectations"):
        return suite_from_dict(ref.to_json_dict(), source=f"<ExpectationSuite {getattr(ref, 'name', '?')}>")
    raise ConfigError(
        f"cannot use {type(ref).__name__} as an expectation suite: give a suite name, a path to a "
        "GE suite JSON file, a dict in that format, or a gx.ExpectationSuite"
    )


def suite_from_dict(data: Any, *, source: str = "<dict>") -> SuiteSpec:
    """Check a suite in GE's JSON format; every expectation entry must build into a GE expectation."""
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"suite {source}: top level must be a JSON object with 'name' and 'expectations', got {type(data).__name__}"
        )
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"suite {source}: 'name' must be a non-empty string")
    unknown = sorted(set(data) - {"name", "id", "expectations", "meta", "notes", "suite_parameters"})
    if unknown:
        raise ConfigError(
            f"suite {source}: unknown top-level key(s) {unknown}; allowed: name, expectations, meta, notes"
        )
    entries = data.get("expectations")
    if not isinstance(entries, Sequence) or isinstance(entries, str) or not entries:
        raise ConfigError(f"suite {source}: 'expectations' must be a non-empty list")
    meta = data.get("meta") or {}
    if not isinstance(meta, Mapping):
        raise ConfigError(f"suite {source}: 'meta' must be an object")
    personal = (meta.get("assay") or {}).get("personal_columns", [])
    if not isinstance(personal, list) or not all(isinstance(c, str) for c in personal):
        raise ConfigError(f"suite {source}: meta.assay.personal_columns must be a list of column names")
    cleaned = []
    for index, entry in enumerate(entries):
        clean = _clean_entry(entry, index, source)
        _build_expectation(clean, index, source)  # raises ConfigError naming the entry
        cleaned.append(clean)
    return SuiteSpec(
        name=name, expectations=tuple(cleaned), meta=copy.deepcopy(dict(meta)), notes=data.get("notes"), source=source
    )


def _where(index: int, entry: Any, source: str) -> str:
    kind = entry.get("type") if isinstance(entry, Mapping) else None
    column = (
        (entry.get("kwargs") or {}).get("column")
        if isinstance(entry, Mapping) and isinstance(entry.get("kwargs"), Mapping)
        else None
    )
    label = f"entry {index}" + (f" ({kind}" + (f", column {column!r}" if column else "") + ")" if kind else "")
    return f"suite {source}: {label}"


def _clean_entry(entry: Any, index: int, source: str) -> dict[str, Any]:
    where = _where(index, entry, source)
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: must be an object with 'type' and 'kwargs', got {type(entry).__name__}")
    unknown = sorted(
        set(entry) - {"type", "kwargs", "meta", "severity", "notes", "description", "id", "rendered_content"}
    )
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {unknown}; allowed: type, kwargs, meta, severity, notes, description"
        )
    if not isinstance(entry.get("type"), str) or not entry["type"]:
        raise ConfigError(f"{where}: 'type' must be an expectation type such as 'expect_column_values_to_not_be_null'")
    if not isinstance(entry.get("kwargs", {}), Mapping):
        raise ConfigError(f"{where}: 'kwargs' must be an object")
    clean = {
        "type": entry["type"],
        "kwargs": copy.deepcopy(dict(entry.get("kwargs") or {})),
        "meta": copy.deepcopy(dict(entry.get("meta") or {})),
    }
    for key in ("severity", "notes", "description"):
        if entry.get(key) is not None:
            clean[key] = entry[key]
    return clean


def _build_expectation(entry: Mapping[str, Any], index: int, source: str):
    """The GE expectation object for one entry, or a ConfigError that says which entry and why."""
    import great_expectations.exceptions as gx_exceptions
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
    from great_expectations.expectations.registry import list_registered_expectation_implementations

    where = _where(index, entry, source)
    try:
        config = ExpectationConfiguration(**{k: copy.deepcopy(v) for k, v in entry.items() if k != "id"})
        return config.to_domain_obj()
    except gx_exceptions.ExpectationNotFoundError as exc:
        known = list_registered_expectation_implementations()
        close = difflib.get_close_matches(entry["type"], known, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(f"{where}: unknown expectation type {entry['type']!r}{hint}") from exc
    except Exception as exc:  # noqa: BLE001 - pydantic/GE validation errors of the kwargs
        detail = " ".join(str(exc).split())
        raise ConfigError(f"{where}: invalid kwargs {dict(entry.get('kwargs') or {})!r}: {detail}") from exc
