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


def test_numeric_treatment_counts_distinct_values_of_both_sides_as_evidently():
    # Evidently: pd.concat([reference, current]).nunique() <= 5 -> categorical. Before, only the reference
    # counted, so a current column with new values was still binned by the reference's 4 values.
    ref = pd.DataFrame({"x": np.tile([0.0, 1.0, 2.0, 3.0], 100)})
    five = pd.DataFrame({"x": np.tile([0.0, 1.0, 2.0, 3.0, 4.0], 80)})
    six = pd.DataFrame({"x": np.tile([0.0, 1.0, 2.0, 3.0, 4.0, 5.0], 60)})
    assert chosen(ref, five) == {("x", "chisquare"): ("categorical", True)}
    assert chosen(ref, six) == {("x", "ks"): ("numeric", True)}
    big = pd.DataFrame({"x": np.tile([0.0, 1.0, 2.0, 3.0], 1000)})
    assert chosen(big, six.sample(3000, replace=True, random_state=0)) == {("x", "wasserstein"): ("numeric", True)}


def test_few_distinct_values_count_only_when_the_reference_repeats_them():
    # 4 reference rows hold 4 distinct values because they are 4 rows: numeric, whatever the current holds
    ref = pd.DataFrame({"x": [0.5, 1.5, 2.5, 3.5]})
    assert chosen(ref, pd.DataFrame({"x": [0.5, 1.5, 2.5, 3.5] * 3})) == {("x", "ks"): ("numeric", True)}
    repeated = pd.DataFrame({"x": [0.5, 1.5, 0.5, 1.5, 0.5]})  # 2 distinct in 5 rows: categorical
    assert chosen(repeated, pd.DataFrame({"x": [0.5, 1.5] * 3})) == {("x", "chisquare"): ("categorical", True)}


def test_the_decision_is_the_same_however_the_data_is_chunked(tmp_path):
    ref = pd.DataFrame({"x": np.tile([0.0, 1.0, 2.0, 3.0], 500)})
    cur = pd.DataFrame({"x": np.r_[np.tile([0.0, 1.0, 2.0], 600), [7.0, 8.0, 9.0] * 5]})  # 7 distinct together
    whole = run_drift(ref, cur)
    ref.to_parquet(tmp_path / "r.parquet", row_group_size=300)
    cur.to_parquet(tmp_path / "c.parquet", row_group_size=250)
    for spool in ("memory", "disk"):
        chunked = run_drift(str(tmp_path / "r.parquet"), str(tmp_path / "c.parquet"), DriftConfig(spool=spool))
        assert [r.describe_dict() for r in chunked.columns] == [r.describe_dict() for r in whole.columns]
    assert [(r.test, r.kind) for r in whole.columns] == [("wasserstein", "numeric")]
