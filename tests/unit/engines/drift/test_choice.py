"""The automatic test choice (Evidently's rule), through the engine, and how overrides replace it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assay.engines.drift import ColumnOverride, DriftConfig, run_drift
from assay.engines.drift.choice import auto_tests


def chosen(reference: pd.DataFrame, current: pd.DataFrame, config: DriftConfig | None = None) -> dict:
    result = run_drift(reference, current, config)
    return {(r.column, r.test): (r.kind, r.auto) for r in result.columns}


def frame(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "continuous": rng.normal(size=rows),
            "five_values": rng.integers(0, 5, rows).astype(float),
            "six_values": rng.integers(0, 6, rows),
            "text": rng.choice(["a", "b", "c"], rows),
            "flag": rng.random(rows) > 0.5,
            "category": pd.Categorical(rng.choice(["x", "y"], rows)),
        }
    )


@pytest.mark.parametrize(
    ("rows", "numeric", "categorical"),
    [
        (1000, "ks", "chisquare"),  # at most 1000 reference values: small-sample tests
        (1001, "wasserstein", "jensenshannon"),
    ],
)
def test_rule_by_type_cardinality_and_reference_size(rows, numeric, categorical):
    got = chosen(frame(rows), frame(rows, seed=1))
    assert got == {
        ("continuous", numeric): ("numeric", True),
        ("five_values", categorical): ("categorical", True),  # <= 5 distinct numeric values count as categorical
        ("six_values", numeric): ("numeric", True),
        ("text", categorical): ("categorical", True),
        ("flag", categorical): ("categorical", True),
        ("category", categorical): ("categorical", True),
    }


def test_size_counts_non_missing_reference_values():
    ref = frame(1500)
    ref.loc[ref.index[:600], "continuous"] = np.nan  # 900 values left: small sample
    got = chosen(ref, frame(1500, seed=1))
    assert ("continuous", "ks") in got and ("six_values", "wasserstein") in got


def test_overrides_replace_the_choice():
    config = DriftConfig(
        tests=["psi"],
        overrides={
            "continuous": ColumnOverride(tests=["ks", "anderson"]),
            "six_values": ColumnOverride(kind="categorical"),
            "five_values": ColumnOverride(kind="numeric", tests=["wasserstein"]),
        },
        max_categorical_unique=2,
    )
    got = chosen(frame(300), frame(300, seed=1), config)
    assert got[("continuous", "ks")] == ("numeric", False)
    assert got[("continuous", "anderson")] == ("numeric", False)
    assert got[("six_values", "psi")] == ("categorical", False)
    assert got[("five_values", "wasserstein")] == ("numeric", False)
    assert got[("text", "psi")] == ("categorical", False)


def test_auto_tests_table():
    assert auto_tests("numeric", 10, 1000) == ("ks",)
    assert auto_tests("categorical", 10, 1000) == ("chisquare",)
    assert auto_tests("numeric", 1001, 1000) == ("wasserstein",)
    assert auto_tests("categorical", 1001, 1000) == ("jensenshannon",)
