"""Recorded outcomes summed per metric and variant, columnar, with every bad row reported."""

from __future__ import annotations

import numpy as np
import pandas as pd

from assay.engines.ab_testing import (
    ABTestConfig,
    VariantCounts,
    analyze_records,
    outcomes_from_frame,
)


def per_user_frame(users=4000, seed=3):
    rng = np.random.default_rng(seed)
    variant = np.where(rng.random(users) < 0.5, "champion", "challenger")
    return pd.DataFrame(
        {
            "metric": np.repeat(["signup", "errors"], users // 2),
            "variant": variant,
            "exposures": 1,
            "conversions": (rng.random(users) < np.where(variant == "challenger", 0.13, 0.1)).astype(int),
        }
    )


def test_frame_and_records_give_the_same_analysis():
    frame = per_user_frame()
    cfg = ABTestConfig(metrics={"errors": {"role": "guardrail", "higher_is_better": False}})
    from_frame, from_rows = analyze_records(frame, cfg), analyze_records(frame.to_dict("records"), cfg)
    assert [a.describe_dict() for a in from_frame.analyses] == [a.describe_dict() for a in from_rows.analyses]
    outcomes, problems = outcomes_from_frame(frame)
    sums = frame.groupby(["metric", "variant"])[["exposures", "conversions"]].sum()
    assert problems == [] and [o.name for o in outcomes] == ["signup", "errors"]  # order of first appearance
    for o in outcomes:
        assert o.champion == VariantCounts(*sums.loc[(o.name, "champion")].tolist())
        assert o.challenger == VariantCounts(*sums.loc[(o.name, "challenger")].tolist())


def test_many_bad_rows_are_quoted_then_counted():
    frame = per_user_frame(200)
    frame.loc[:11, "conversions"] = -1
    frame.loc[20, "variant"] = "treatment"
    _, problems = outcomes_from_frame(frame)
    value_rows = [p for p in problems if "whole numbers" in p]
    assert len(value_rows) == 5 and value_rows[0].startswith("row 0 (signup/")
    assert "... and 7 more row(s) with the same problem (exposures or conversions)" in problems
    assert any(p.startswith("row 20: needs a metric and a variant") and "'treatment'" in p for p in problems)
    assert analyze_records(frame).decision == "invalid"


def test_missing_columns_are_named():
    result = analyze_records(pd.DataFrame({"metric": ["m"], "variant": ["champion"], "users": [3]}))
    assert result.decision == "invalid"
    assert "no column(s) ['exposures', 'conversions']" in result.message and "'users'" in result.message
