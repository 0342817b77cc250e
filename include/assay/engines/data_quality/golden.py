"""Golden datasets: small version-controlled files validated by schema and statistics on every run.

Each golden dataset is ``<name>.csv`` with ``<name>.yaml`` beside it, in a golden directory (the
``data_quality.golden_dir`` of ``assay.yaml``, passed in by the caller): where the data came from, the
row count, and per column its dtype, whether it may be null, whether it is unique, and statistics
(null count; numeric mean / std / min / max; string value lengths and distinct count; category
counts for columns with few distinct values; a SHA-256 digest of the column's values in row order).

:func:`validate_golden` re-reads the CSV, turns the YAML into a GE suite (row count, ordered columns,
types, nulls, uniqueness, mean/std/min/max within tolerance, lengths, distinct counts, category sets)
plus Assay's exact checks (category counts, null counts, digests), and validates it like any dataset.

Tolerance: the statistics were computed from this very file, so they must reproduce up to floating
point noise. A statistic ``v`` passes within ``max(tolerance.absolute, tolerance.relative * |v|)``,
by default relative 1e-9 and absolute 1e-12: enough for summation-order differences between pandas
versions, far too little for an edited value (changing one of 200 amounts by 0.01 moves the mean by
5e-5, about 1e-6 of it). Edits that keep every statistic (e.g. swapping two values) are caught by the
column digest. Regenerate a golden file and its YAML together with ``write_golden``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from assay.engines.data_quality.outcomes import ExpectationOutcome, json_safe
from assay.engines.data_quality.result import DataQualityResult
from assay.engines.data_quality.runner import validate_dataframe
from assay.engines.data_quality.suites import SuiteSpec, suite_from_dict
from assay.errors import ConfigError, TargetError
from assay.sources import DataSource, DataSourceError
from assay.status import Status

DEFAULT_TOLERANCE = {"relative": 1e-9, "absolute": 1e-12}
MAX_CATEGORIES = 30
_HEADER = """\
# Golden dataset {name}: schema and summary statistics of {file}, written by
# assay.engines.data_quality.golden.write_golden. Regenerate both files together; validate_golden
# checks the CSV against this file on every run. A statistic v passes within
# max(tolerance.absolute, tolerance.relative * |v|); digests and counts must match exactly.
"""


@dataclass(frozen=True)
class ColumnSchema:
    name: str
    dtype: str
    nullable: bool
    unique: bool = False
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GoldenSpec:
    name: str
    file: str
    row_count: int
    columns: tuple[ColumnSchema, ...]
    tolerance: dict[str, float]
    description: str = ""
    source: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None  # the YAML file

    @property
    def data_path(self) -> Path:
        return self.path.parent / self.file if self.path else Path(self.file)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "file": self.file,
            "description": self.description,
            "source": self.source,
            "tolerance": self.tolerance,
            "row_count": self.row_count,
            "columns": [
                {"name": c.name, "dtype": c.dtype, "nullable": c.nullable, "unique": c.unique, "stats": c.stats}
                for c in self.columns
            ],
        }


def column_digest(values: pd.Series) -> str:
    """SHA-256 of a column's values in row order (nulls as a marker), as text."""
    h = hashlib.sha256()
    for v in values.astype(object).where(values.notna(), None):
        h.update(b"\x00" if v is None else str(v).encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()


def _kind(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s):
        return "bool"
    if pd.api.types.is_numeric_dtype(s):
        return "integer" if pd.api.types.is_integer_dtype(s) else "float"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime"
    return "string"


def profile_column(s: pd.Series, *, unique: bool = False) -> ColumnSchema:
    """Schema and statistics of one column, as written to the golden YAML."""
    kind = _kind(s)
    stats: dict[str, Any] = {"null_count": int(s.isna().sum())}
    present = s.dropna()
    if kind in ("integer", "float"):
        stats |= {
            "mean": float(present.mean()),
            "std": float(present.std()),
            "min": json_safe(present.min()),
            "max": json_safe(present.max()),
        }
    elif kind == "datetime":
        stats |= {"min": present.min().isoformat(), "max": present.max().isoformat()}
    elif kind == "string":
        lengths = present.str.len()
        stats |= {
            "n_unique": int(present.nunique()),
            "min_length": int(lengths.min()),
            "max_length": int(lengths.max()),
        }
    if kind in ("bool", "integer", "string") and present.nunique() <= MAX_CATEGORIES:
        counts = present.value_counts().sort_index()
        stats["counts"] = {json_safe(k): int(v) for k, v in counts.items()}
    stats["digest"] = column_digest(s)
    return ColumnSchema(name=str(s.name), dtype=str(s.dtype), nullable=bool(s.isna().any()), unique=unique, stats=stats)


def write_golden(
    name: str,
    df: pd.DataFrame,
    directory: str | Path,
    *,
    description: str = "",
    source: dict[str, Any] | None = None,
    unique_columns: tuple[str, ...] = (),
    tolerance: dict[str, float] | None = None,
) -> GoldenSpec:
    """Write ``<name>.csv`` and its ``<name>.yaml`` (schema and statistics measured on the CSV as read back)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / f"{name}.csv"
    df.to_csv(csv_path, index=False, lineterminator="\n")
    draft = GoldenSpec(
        name=name,
        file=csv_path.name,
        row_count=len(df),
        tolerance=dict(tolerance or DEFAULT_TOLERANCE),
        columns=tuple(ColumnSchema(str(c), str(df[c].dtype), True) for c in df.columns),
        description=description,
        source=dict(source or {}),
        path=out / f"{name}.yaml",
    )
    back = read_golden_frame(draft)  # statistics of what a reader will see, not of the in-memory frame
    spec = GoldenSpec(
        **{
            **draft.__dict__,
            "row_count": len(back),
            "columns": tuple(profile_column(back[c], unique=c in unique_columns) for c in back.columns),
        }
    )
    text = _HEADER.format(name=name, file=csv_path.name) + yaml.safe_dump(
        spec.to_dict(), sort_keys=False, allow_unicode=True, width=120
    )
    (out / f"{name}.yaml").write_text(text, encoding="utf-8")
    return spec


def load_golden_spec(name: str, directory: str | Path) -> GoldenSpec:
    """Read and check ``<directory>/<name>.yaml``; a bad file raises ConfigError naming file and key."""
    path = Path(directory) / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in Path(directory).glob("*.yaml"))
        raise ConfigError(f"golden dataset {name!r} has no schema file {path}; known golden datasets: {known}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"golden schema {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"golden schema {path}: top level must be a mapping")
    for key, typ in (("file", str), ("row_count", int), ("columns", list)):
        if not isinstance(data.get(key), typ):
            raise ConfigError(f"golden schema {path}: {key!r} must be a {typ.__name__}")
    columns = []
    for i, col in enumerate(data["columns"]):
        if not isinstance(col, dict) or not isinstance(col.get("name"), str) or not isinstance(col.get("dtype"), str):
            raise ConfigError(f"golden schema {path}: columns[{i}] needs 'name' and 'dtype' strings")
        columns.append(
            ColumnSchema(
                name=col["name"],
                dtype=col["dtype"],
                nullable=bool(col.get("nullable", False)),
                unique=bool(col.get("unique", False)),
                stats=dict(col.get("stats") or {}),
            )
        )
    tolerance = {**DEFAULT_TOLERANCE, **(data.get("tolerance") or {})}
    return GoldenSpec(
        name=str(data.get("name", name)),
        file=data["file"],
        row_count=data["row_count"],
        columns=tuple(columns),
        tolerance=tolerance,
        description=str(data.get("description") or ""),
        source=dict(data.get("source") or {}),
        path=path,
    )


def read_golden_frame(spec: GoldenSpec) -> pd.DataFrame:
    """The golden CSV as pandas reads it; datetime columns of the schema are parsed."""
    path = spec.data_path
    if not path.is_file():
        raise TargetError(f"golden dataset file {path} (named by {spec.path}) does not exist")
    dates = [c.name for c in spec.columns if c.dtype.startswith("datetime64")]
    try:
        df = DataSource(kind="csv", path=str(path), read_options={"parse_dates": dates or False}).read()
    except DataSourceError as exc:  # a damaged golden file cannot be validated
        raise TargetError(f"golden dataset {spec.name!r} (named by {spec.path}): {exc}") from exc
    for c in spec.columns:
        if c.name in df.columns and c.dtype.startswith("datetime64") and df[c.name].dtype.kind == "M":
            df[c.name] = df[c.name].astype(c.dtype)
    return df


def _within(v: float, tol: dict[str, float]) -> tuple[float, float]:
    d = max(tol["absolute"], tol["relative"] * abs(v))
    return v - d, v + d


def golden_suite(spec: GoldenSpec) -> SuiteSpec:
    """The GE suite the golden schema and statistics imply."""
    e: list[dict[str, Any]] = [
        {
            "type": "expect_table_row_count_to_equal",
            "kwargs": {"value": spec.row_count},
            "meta": {"dimension": "schema"},
        },
        {
            "type": "expect_table_columns_to_match_ordered_list",
            "kwargs": {"column_list": [c.name for c in spec.columns]},
            "meta": {"dimension": "schema"},
        },
    ]
    for c in spec.columns:
        e.append(
            {
                "type": "expect_column_values_to_be_of_type",
                "kwargs": {"column": c.name, "type_": c.dtype},
                "meta": {"dimension": "schema"},
            }
        )
        if not c.nullable:
            e.append(
                {
                    "type": "expect_column_values_to_not_be_null",
                    "kwargs": {"column": c.name},
                    "meta": {"dimension": "completeness"},
                }
            )
        if c.unique:
            e.append(
                {
                    "type": "expect_column_values_to_be_unique",
                    "kwargs": {"column": c.name},
                    "meta": {"dimension": "constraints"},
                }
            )
        st = c.stats
        for stat, etype in (("mean", "expect_column_mean_to_be_between"), ("std", "expect_column_stdev_to_be_between")):
            if isinstance(st.get(stat), int | float):
                lo, hi = _within(float(st[stat]), spec.tolerance)
                e.append(
                    {
                        "type": etype,
                        "kwargs": {"column": c.name, "min_value": lo, "max_value": hi},
                        "meta": {"dimension": "statistics", "golden": st[stat]},
                    }
                )
        for stat, etype in (("min", "expect_column_min_to_be_between"), ("max", "expect_column_max_to_be_between")):
            if isinstance(st.get(stat), int | float) and not isinstance(st.get(stat), bool):
                lo, hi = _within(float(st[stat]), spec.tolerance)
                e.append(
                    {
                        "type": etype,
                        "kwargs": {"column": c.name, "min_value": lo, "max_value": hi},
                        "meta": {"dimension": "statistics", "golden": st[stat]},
                    }
                )
        if "min_length" in st and "max_length" in st:
            e.append(
                {
                    "type": "expect_column_value_lengths_to_be_between",
                    "kwargs": {"column": c.name, "min_value": st["min_length"], "max_value": st["max_length"]},
                    "meta": {"dimension": "statistics"},
                }
            )
        if "n_unique" in st:
            e.append(
                {
                    "type": "expect_column_unique_value_count_to_be_between",
                    "kwargs": {"column": c.name, "min_value": st["n_unique"], "max_value": st["n_unique"]},
                    "meta": {"dimension": "statistics"},
                }
            )
        if isinstance(st.get("counts"), dict):
            e.append(
                {
                    "type": "expect_column_distinct_values_to_equal_set",
                    "kwargs": {"column": c.name, "value_set": list(st["counts"])},
                    "meta": {"dimension": "statistics"},
                }
            )
    return suite_from_dict(
        {"name": f"golden_{spec.name}", "expectations": e, "meta": {"assay": {"golden": spec.name}}},
        source=str(spec.path),
    )


def _exact(etype: str, column: str, expected: Any, observed: Any, what: str) -> ExpectationOutcome:
    ok = expected == observed
    if ok:
        message = f"{what} matches the golden schema"
    elif isinstance(expected, dict) and isinstance(observed, dict):
        diff = {
            k: [expected.get(k), observed.get(k)]
            for k in sorted(set(expected) | set(observed), key=str)
            if expected.get(k) != observed.get(k)
        }
        message = f"{what} differs from the golden schema ([golden, now] by value): {json_safe(diff)}"
    else:
        message = f"{what} differs from the golden schema: golden {expected!r}, now {observed!r}"
    return ExpectationOutcome(
        expectation_type=etype,
        status=Status.PASS if ok else Status.FAIL,
        message=message,
        kwargs={"column": column, "expected": json_safe(expected)},
        columns=(column,),
        observed_value=json_safe(observed),
        source="assay",
        meta={"dimension": "statistics"},
    )


def _exact_checks(spec: GoldenSpec, df: pd.DataFrame) -> list[ExpectationOutcome]:
    out: list[ExpectationOutcome] = []
    for c in spec.columns:
        if c.name not in df.columns:
            out.append(
                ExpectationOutcome(
                    expectation_type="assay_golden_column_digest",
                    status=Status.ERROR,
                    message=f"column {c.name!r} of the golden schema is not in the file",
                    kwargs={"column": c.name},
                    columns=(c.name,),
                    source="assay",
                )
            )
            continue
        s = df[c.name]
        if "null_count" in c.stats:
            out.append(
                _exact("assay_golden_null_count", c.name, c.stats["null_count"], int(s.isna().sum()), "null count")
            )
        if isinstance(c.stats.get("counts"), dict):
            now = {json_safe(k): int(v) for k, v in s.dropna().value_counts().items()}
            out.append(_exact("assay_golden_category_counts", c.name, c.stats["counts"], now, "category counts"))
        if c.dtype.startswith("datetime64") and s.dtype.kind == "M":
            for stat in ("min", "max"):
                if stat in c.stats:
                    now = getattr(s.dropna(), stat)()
                    out.append(
                        _exact(
                            f"assay_golden_{stat}",
                            c.name,
                            c.stats[stat],
                            None if pd.isna(now) else now.isoformat(),
                            f"{stat} date",
                        )
                    )
        if "digest" in c.stats:
            out.append(
                _exact(
                    "assay_golden_column_digest",
                    c.name,
                    c.stats["digest"],
                    column_digest(s),
                    "SHA-256 of the column's values",
                )
            )
    return out


def validate_golden(name: str, *, directory: str | Path) -> DataQualityResult:
    """Check that golden dataset ``name`` still matches its schema and statistics (every run).

    A missing or malformed YAML raises ConfigError; a CSV that cannot be read is an ERROR result.
    """
    spec = load_golden_spec(name, directory)
    suite = golden_suite(spec)
    started = datetime.now(UTC)
    try:
        df = read_golden_frame(spec)
    except TargetError as exc:
        return DataQualityResult(
            name=f"golden:{name}",
            suite_name=suite.name,
            data_name=f"golden:{spec.name}",
            started_at=started,
            finished_at=datetime.now(UTC),
            outcomes=(),
            row_count=0,
            suite_source=suite.source,
            error=f"golden dataset could not be loaded: {exc}",
        )
    result = validate_dataframe(df, suite, data_name=f"golden:{spec.name}", name=f"golden:{name}")
    return result.with_outcomes(tuple(_exact_checks(spec, df)))


def list_golden(directory: str | Path) -> list[str]:
    """Names of the golden datasets in ``directory`` (every ``*.yaml``)."""
    return sorted(p.stem for p in Path(directory).glob("*.yaml"))
