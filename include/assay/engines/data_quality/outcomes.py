"""One expectation's verdict, read from GE's machine result (never its rendered text).

Status rules (missing data is never PASS):

* GE raised while computing a metric (``exception_info.raised_exception``) → ERROR with GE's message,
  plus a hint when a column the expectation names is not in the dataset;
* the dataset has no rows → ERROR for every expectation whose verdict depends on rows, whatever GE
  said (GE calls many of them successful on an empty frame);
* a column expectation that passed only because every value was null (nothing was checked) → ERROR;
* an aggregate (mean, stdev, min, ...) GE could not compute (observed value None) → ERROR;
* otherwise GE's ``success``: True → PASS; False → FAIL, or WARN when the expectation's severity is
  ``warning`` or ``info``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np

from assay.status import Status
from assay.store.records import CheckRecord

MAX_EXAMPLES = 20
MAX_EXAMPLE_CHARS = 120
REDACTED = "<redacted personal data>"

#: Expectations whose verdict does not depend on any row (they are judged on an empty frame too).
ROW_INDEPENDENT = frozenset(
    {
        "expect_column_to_exist",
        "expect_table_columns_to_match_ordered_list",
        "expect_table_columns_to_match_set",
        "expect_table_column_count_to_equal",
        "expect_table_column_count_to_be_between",
        "expect_column_values_to_be_of_type",
        "expect_column_values_to_be_in_type_list",
        "expect_table_row_count_to_equal",
        "expect_table_row_count_to_be_between",
    }
)
_AGGREGATE = re.compile(
    r"^expect_column_(mean|median|stdev|min|max|sum|quantile_values|proportion_of_unique_values|"
    r"unique_value_count|most_common_value|proportion_of_non_null_values)_"
)
_SEVERITY = {"critical": "error", "warning": "warning", "info": "info"}


def json_safe(value: Any) -> Any:
    """Plain JSON types: numpy scalars to Python, NaN/inf to None, dates to ISO strings."""
    if isinstance(value, np.generic):  # before float: np.float64 is a float subclass
        value = value.item()
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "isoformat"):  # pandas Timestamp, numpy datetime64 via pandas
        return value.isoformat()
    return str(value)


def columns_of(expectation_type: str, kwargs: Mapping[str, Any]) -> tuple[str, ...]:
    """The column(s) an expectation is about, in its kwargs' order (none for table expectations)."""
    if "column" in kwargs:
        return (str(kwargs["column"]),)
    if expectation_type.startswith("expect_table_"):
        return ()
    if isinstance(kwargs.get("column_list"), list):
        return tuple(str(c) for c in kwargs["column_list"])
    if "column_A" in kwargs and "column_B" in kwargs:
        return (str(kwargs["column_A"]), str(kwargs["column_B"]))
    return ()


@dataclass(frozen=True)
class ExpectationOutcome:
    """Everything Assay keeps about one evaluated expectation (JSON-safe)."""

    expectation_type: str
    status: Status
    message: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    columns: tuple[str, ...] = ()
    severity: str = "critical"
    observed_value: Any = None
    element_count: int | None = None
    missing_count: int | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    unexpected_examples: tuple[Any, ...] = ()
    unexpected_index_examples: tuple[Any, ...] = ()
    exception: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    source: str = "great_expectations"

    @property
    def column_label(self) -> str:
        return "+".join(self.columns) if self.columns else "table"

    @property
    def mostly(self) -> float:
        return float(self.kwargs.get("mostly", 1.0))

    def describe_dict(self) -> dict[str, Any]:
        return {
            "expectation_type": self.expectation_type,
            "column": self.column_label,
            "status": self.status.value,
            "message": self.message,
            "severity": self.severity,
            "kwargs": self.kwargs,
            "observed_value": self.observed_value,
            "element_count": self.element_count,
            "missing_count": self.missing_count,
            "unexpected_count": self.unexpected_count,
            "unexpected_percent": self.unexpected_percent,
            "unexpected_examples": list(self.unexpected_examples),
            "unexpected_index_examples": list(self.unexpected_index_examples),
            "exception": self.exception,
            "meta": self.meta,
            "source": self.source,
        }

    def check_record(self, name: str) -> CheckRecord:
        """As a stored check. For column-value expectations ``observed`` is the percent of unexpected
        values and ``threshold`` the percent ``mostly`` allows; for aggregates the observed number."""
        severity = _SEVERITY.get(self.severity, "error")
        if self.unexpected_percent is not None or self.element_count is not None:
            return CheckRecord(
                name,
                self.status,
                observed=_round(self.unexpected_percent),
                threshold=_round((1.0 - self.mostly) * 100.0),
                comparator="<=",
                severity=severity,
                message=self.message,
            )
        observed = (
            self.observed_value
            if isinstance(self.observed_value, int | float) and not isinstance(self.observed_value, bool)
            else None
        )
        threshold, comparator = _bounds(self.kwargs)
        return CheckRecord(
            name,
            self.status,
            observed=_round(observed),
            threshold=_round(threshold),
            comparator=comparator,
            severity=severity,
            message=self.message,
        )


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 6)


def _bounds(kwargs: Mapping[str, Any]) -> tuple[float | None, str | None]:
    if "value" in kwargs and isinstance(kwargs["value"], int | float):
        return float(kwargs["value"]), "=="
    lo, hi = kwargs.get("min_value"), kwargs.get("max_value")
    if isinstance(lo, int | float) and isinstance(hi, int | float):
        return None, "between"
    if isinstance(lo, int | float):
        return float(lo), ">" if kwargs.get("strict_min") else ">="
    if isinstance(hi, int | float):
        return float(hi), "<" if kwargs.get("strict_max") else "<="
    return None, None


def exception_message(info: Mapping[str, Any] | None) -> str | None:
    """GE's exception message(s) for one result; ``exception_info`` is either flat or keyed by metric."""
    if not info:
        return None
    if "raised_exception" in info:
        return (info.get("exception_message") or "GE raised an exception") if info["raised_exception"] else None
    messages: list[str] = []
    for item in info.values():
        if isinstance(item, Mapping) and item.get("raised_exception"):
            msg = str(item.get("exception_message") or "GE raised an exception")
            if msg not in messages:
                messages.append(msg)
    return "; ".join(messages) or None


def _examples(values: Iterable[Any], redact: bool) -> tuple[Any, ...]:
    out = []
    for v in list(values)[:MAX_EXAMPLES]:
        v = json_safe(v)
        if redact and v is not None:
            v = REDACTED
        elif isinstance(v, str) and len(v) > MAX_EXAMPLE_CHARS:
            v = v[:MAX_EXAMPLE_CHARS] + "…"
        elif isinstance(v, list | dict):
            text = str(v)
            v = v if len(text) <= MAX_EXAMPLE_CHARS else text[:MAX_EXAMPLE_CHARS] + "…"
        out.append(v)
    return tuple(out)


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.6g}"
    return repr(x)


def outcome_from_ge(
    result: Mapping[str, Any],
    *,
    row_count: int,
    dataset_columns: Iterable[str],
    personal_columns: Iterable[str] = (),
) -> ExpectationOutcome:
    """Turn one ``ExpectationValidationResult.to_json_dict()`` into an outcome with an Assay status."""
    config = result.get("expectation_config") or {}
    etype = str(config.get("type"))
    kwargs = {k: json_safe(v) for k, v in (config.get("kwargs") or {}).items() if k != "batch_id"}
    columns = columns_of(etype, kwargs)
    res = result.get("result") or {}
    severity = str(config.get("severity") or "critical")
    redact = bool(set(columns) & set(personal_columns))
    present = set(dataset_columns)
    base = dict(
        expectation_type=etype,
        kwargs=kwargs,
        columns=columns,
        severity=severity,
        observed_value=json_safe(res.get("observed_value")),
        element_count=res.get("element_count"),
        missing_count=res.get("missing_count"),
        unexpected_count=res.get("unexpected_count"),
        unexpected_percent=json_safe(res.get("unexpected_percent")),
        unexpected_examples=_examples(res.get("partial_unexpected_list") or (), redact),
        unexpected_index_examples=_examples(res.get("partial_unexpected_index_list") or (), False),
        meta=json_safe(dict(config.get("meta") or {})),
    )
    if redact and isinstance(base["observed_value"], str | list):
        base["observed_value"] = REDACTED

    error = exception_message(result.get("exception_info"))
    if error is not None:
        missing = [c for c in columns if c not in present]
        hint = (
            (f" (column(s) {missing} not in the dataset, which has {len(present)} columns: {sorted(present)[:30]})")
            if missing
            else ""
        )
        return ExpectationOutcome(
            status=Status.ERROR,
            exception=error,
            message=f"GE could not evaluate this expectation: {error}{hint}",
            **base,
        )
    success = result.get("success")
    if row_count == 0 and etype not in ROW_INDEPENDENT:
        return ExpectationOutcome(
            status=Status.ERROR,
            message=f"not evaluated: the dataset has no rows (GE said success={success}, "
            "which on an empty dataset checks nothing)",
            **base,
        )
    if success is None:
        return ExpectationOutcome(status=Status.ERROR, message="GE returned no success value", **base)
    n, n_missing = base["element_count"], base["missing_count"]
    if success and n and n_missing is not None and n_missing >= n:
        return ExpectationOutcome(
            status=Status.ERROR,
            message=f"nothing was checked: all {n} values of {columns[0] if columns else '?'}"
            " are null, so GE's success is vacuous",
            **base,
        )
    if not success and _AGGREGATE.match(etype) and base["observed_value"] is None:
        return ExpectationOutcome(
            status=Status.ERROR,
            message="GE could not compute the statistic (no non-null values in "
            f"{columns[0] if columns else 'the column'}?)",
            **base,
        )
    status = Status.PASS if success else (Status.FAIL if severity == "critical" else Status.WARN)
    return ExpectationOutcome(status=status, message=_describe(etype, bool(success), base, kwargs), **base)


def _describe(etype: str, success: bool, base: Mapping[str, Any], kwargs: Mapping[str, Any]) -> str:
    """A one-line explanation of the verdict from the numbers GE measured."""
    n, bad, pct = base["element_count"], base["unexpected_count"], base["unexpected_percent"]
    if n is not None and bad is not None:
        mostly = float(kwargs.get("mostly", 1.0))
        text = (
            f"{bad} of {n} values unexpected ({(pct or 0.0):.2f}%); allowed {(1 - mostly) * 100:.2f}% "
            f"(mostly={mostly:g})"
        )
        if base["missing_count"]:
            text += f"; {base['missing_count']} null value(s) not checked"
        if not success and any(v is not None for v in base["unexpected_examples"]):
            text += f"; e.g. {list(base['unexpected_examples'][:5])}"
        elif not success and base["unexpected_index_examples"]:
            text += f"; at rows {list(base['unexpected_index_examples'][:5])}"
        return text
    observed = base["observed_value"]
    if "type_" in kwargs or "type_list" in kwargs:
        expected = kwargs.get("type_") or kwargs.get("type_list")
        return f"column dtype {_fmt(observed)}; expected {_fmt(expected)}"
    lo, hi = kwargs.get("min_value"), kwargs.get("max_value")
    if lo is not None or hi is not None:
        return (
            f"observed {_fmt(observed)}; expected between {_fmt(lo) if lo is not None else '-inf'} and "
            f"{_fmt(hi) if hi is not None else '+inf'}"
        )
    if "value" in kwargs:
        return f"observed {_fmt(observed)}; expected {_fmt(kwargs['value'])}"
    if etype == "expect_table_columns_to_match_set" and isinstance(observed, list):
        expected = set(kwargs.get("column_set") or ())
        missing, extra = sorted(expected - set(observed)), sorted(set(observed) - expected)
        return f"missing columns {missing}; unexpected columns {extra}" if not success else "column set matches"
    if etype == "expect_table_columns_to_match_ordered_list" and isinstance(observed, list):
        return (
            "column order matches"
            if success
            else (f"observed columns {observed}; expected {list(kwargs.get('column_list') or ())}")
        )
    if etype == "expect_column_to_exist":
        return "column present" if success else f"column {kwargs.get('column')!r} is missing"
    if observed is not None:
        return f"observed {_fmt(observed)}"
    return "passed" if success else "failed"
