"""The personal-data inventory: which stores hold a data subject's data, where, and what each column is.

A YAML file (validated with pydantic, unknown keys rejected), shared by the compliance audit (erasure,
portability, PHI encryption, retention) and the test-data engine::

    subject: patient                       # what one data subject is called
    stores:
      - name: raw_patients                 # unique
        kind: sql                          # sql | parquet | api
        connection: main_db                # sql: a named store in compliance.stores
        table: patients_raw                # sql
        path: null                         # parquet: file or directory
        endpoint: null                     # api: GET path with a "{subject_id}" placeholder
        subject_column: patient_id
        time_column: created_at            # for retention (optional)
        retention_days: 730                # optional
        erasable: true                     # erasure must remove the subject here
        columns:                           # column -> tags: personal | provided | phi | quasi_identifier
          name: [personal, provided]

:func:`load_inventory` reads the file; errors are ConfigErrors naming the file and the dotted path.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assay.errors import ConfigError
from assay.yamlfile import dotted, read_yaml

__all__ = ["ColumnTag", "InventoryStore", "PersonalDataInventory", "load_inventory", "parse_inventory"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?")


class ColumnTag(StrEnum):
    PERSONAL = "personal"  # identifies or relates to the subject
    PROVIDED = "provided"  # provided by the subject (portability covers it)
    PHI = "phi"  # protected health information (encrypted at rest)
    QUASI_IDENTIFIER = "quasi_identifier"  # identifies in combination (de-identification)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InventoryStore(_Strict):
    """One store holding subjects' data."""

    name: str = Field(min_length=1)
    kind: Literal["sql", "parquet", "api"]
    connection: str | None = None
    table: str | None = None
    path: str | None = None
    endpoint: str | None = None
    subject_column: str = Field(min_length=1)
    time_column: str | None = None
    retention_days: int | None = Field(default=None, gt=0)
    erasable: bool = True
    columns: dict[str, list[ColumnTag]] = Field(default_factory=dict)

    @field_validator("table", "subject_column", "time_column")
    @classmethod
    def _identifier(cls, value: str | None) -> str | None:
        # table and column names are put into SQL text by the checks: only plain (schema-qualified) identifiers
        if value is not None and not _IDENTIFIER.fullmatch(value):
            raise ValueError(f"{value!r} is not a plain SQL identifier (letters, digits, _ and one optional schema.)")
        return value

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: dict[str, list[ColumnTag]]) -> dict[str, list[ColumnTag]]:
        for column, tags in value.items():
            if not _IDENTIFIER.fullmatch(column) or "." in column:
                raise ValueError(f"column {column!r} is not a plain SQL identifier")
            if len(set(tags)) != len(tags):
                raise ValueError(f"column {column!r} lists a tag twice: {[t.value for t in tags]}")
        return value

    @model_validator(mode="after")
    def _kind_fields(self) -> InventoryStore:
        needed = {"sql": ("connection", "table"), "parquet": ("path",), "api": ("endpoint",)}[self.kind]
        missing = [f for f in needed if not getattr(self, f)]
        if missing:
            raise ValueError(f"a {self.kind} store needs {' and '.join(missing)}")
        stray = [f for f in ("connection", "table", "path", "endpoint") if f not in needed and getattr(self, f)]
        if stray:
            raise ValueError(f"a {self.kind} store does not use {', '.join(stray)} (it needs {', '.join(needed)})")
        if self.kind == "api" and "{subject_id}" not in (self.endpoint or ""):
            raise ValueError(f"endpoint {self.endpoint!r} has no {{subject_id}} placeholder")
        if self.retention_days is not None and not self.time_column:
            raise ValueError("retention_days needs time_column (the column a row's age is measured by)")
        return self

    def columns_tagged(self, tag: ColumnTag | str) -> list[str]:
        tag = ColumnTag(tag)
        return [c for c, tags in self.columns.items() if tag in tags]


class PersonalDataInventory(_Strict):
    """The whole inventory: the subject's name and the stores."""

    subject: str = Field(min_length=1)
    stores: list[InventoryStore] = Field(min_length=1)

    @field_validator("stores")
    @classmethod
    def _unique(cls, stores: list[InventoryStore]) -> list[InventoryStore]:
        seen: dict[str, int] = {}
        for i, s in enumerate(stores):
            if s.name in seen:
                raise ValueError(f"store name {s.name!r} of stores[{i}] is already used by stores[{seen[s.name]}]")
            seen[s.name] = i
        return stores

    def store(self, name: str) -> InventoryStore:
        for s in self.stores:
            if s.name == name:
                return s
        raise KeyError(f"store {name!r} is not in the inventory (stores: {', '.join(self.store_names)})")

    @property
    def store_names(self) -> list[str]:
        return [s.name for s in self.stores]

    def erasable_stores(self) -> list[InventoryStore]:
        return [s for s in self.stores if s.erasable]

    def tagged(self, tag: ColumnTag | str) -> list[tuple[InventoryStore, str]]:
        """Every (store, column) carrying ``tag``, in file order."""
        return [(s, c) for s in self.stores for c in s.columns_tagged(tag)]

    def provided_fields(self) -> list[str]:
        """The distinct columns the subject provided (what a portability export must cover), in file order."""
        return list(dict.fromkeys(c for _, c in self.tagged(ColumnTag.PROVIDED)))

    def connections(self) -> list[str]:
        """The named SQL stores (compliance.stores entries) the inventory needs."""
        return sorted({s.connection for s in self.stores if s.connection})


def parse_inventory(data: Any, source: str = "<inventory>") -> PersonalDataInventory:
    """Validate loaded YAML; a ConfigError names ``source`` and the dotted path of each problem."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping with 'subject' and 'stores'")
    try:
        return PersonalDataInventory.model_validate(data)
    except ValidationError as exc:
        problems = [f"{source}: {dotted(e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ConfigError("personal-data inventory is invalid:\n  " + "\n  ".join(problems)) from None


def load_inventory(path: str | Path) -> PersonalDataInventory:
    """Read and validate the inventory file at ``path``."""
    return parse_inventory(read_yaml(path, "personal-data inventory"), str(path))
