"""A/B analysis, fairness and the regression bootstrap at 1,000,000 rows, each beside its reference library.

* A/B: 1M per-user rows (``metric, variant, exposures, conversions``; 500,000 users x 2 metrics, a
  primary conversion and a guardrail, exposures 1 and conversions 0/1 per row), written as CSV (the
  demo's source kind) and Parquet. Timed from ``DataSource.read`` to the result through ``analyze_records``,
  exactly the data lines of ``ABAnalysisOperator``. Reference: ``pandas`` groupby sums and statsmodels
  ``proportions_ztest`` on the same file (read included).
* Fairness: ``check_fairness`` on 1M scored rows with two protected attributes (``region``: 3 groups;
  ``age`` banded [18, 35, 50, 120] with 1% NaN and 0.5% ages outside the bands). Reference: fairlearn
  ``MetricFrame`` (selection rate, TPR, FPR) per attribute on the same groups, and its ``ratio`` /
  ``difference`` (what ``demographic_parity_ratio`` and ``equalized_odds_difference`` compute).
* Bootstrap: ``paired_bootstrap`` (candidate - baseline of accuracy, precision, recall, F1) at 2,000
  resamples on 1M rows. Reference: the per-row bootstrap Assay used before (``tests/support``) at
  ``--reference-resamples`` resamples (timed, and extrapolated to 2,000), its 95% CIs and decisions
  (a regression needs the CI's upper end below 0).

Wall time and CPU time (``time.process_time``: this process only) per step; the machine is shared, so wall
time varies with the load average, CPU time much less. Targets: A/B <= 1 s, fairness <= 2 s, bootstrap <= 3 s.
At the default sizes, the figures this script gave on the code before issue 8 (commit 694dc7e, same shared
machine) are printed beside the new ones. Exit 1 when a value or decision differs from the reference.

    .venv/bin/python benchmarks/ab_fairness.py [--rows 1000000] [--resamples 2000] [--reference-resamples 40]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "include"), str(REPO / "tests")]

TARGETS = {"ab": 1.0, "fairness": 2.0, "bootstrap": 3.0}
# (wall s, CPU s) of this script on commit 694dc7e (before issue 8) at 1M rows, load average 1.2-2.8 on 2 cores:
# the operator built a dict per row (to_dict("records")), fairness called fairlearn per metric and group, the
# bootstrap drew 1M row indices per resample (measured at 100 resamples, x20 for 2,000)
BEFORE = {
    "ab:csv": (6.17, 6.17),
    "ab:parquet": (8.07, 8.10),
    "fairness": (171.31, 145.46),
    "bootstrap": (9.96 * 20, 9.71 * 20),
}
VALUE_TOLERANCE = 1e-9


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def line(name: str, wall: float, cpu: float, note: str = "") -> None:
    print(f"  {name:58} {wall:8.2f} s wall {cpu:8.2f} s CPU  {note}")


def before(key: str, default_size: bool) -> None:
    if default_size:
        wall, cpu = BEFORE[key]
        line("  before issue 8 (694dc7e, recorded)", wall, cpu)


# ----------------------------------------------------------------------------------------------- A/B


def ab_rows(rows: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    users = rows // 2
    variant = np.where(rng.random(users) < 0.5, "champion", "challenger")
    challenger = variant == "challenger"
    conversion = rng.random(users) < np.where(challenger, 0.103, 0.100)
    chargeback = rng.random(users) < 0.010
    return pd.DataFrame(
        {
            "metric": np.repeat(["approval_conversion", "chargeback"], users),
            "variant": np.concatenate([variant, variant]),
            "exposures": np.ones(2 * users, dtype=np.int64),
            "conversions": np.concatenate([conversion, chargeback]).astype(np.int64),
        }
    )


def bench_ab(workdir: Path, rows: int) -> bool:
    from statsmodels.stats.proportion import proportions_ztest

    from assay.engines.ab_testing import analyze_records, parse_ab_config
    from assay.sources import DataSource

    frame = ab_rows(rows)
    frame.to_csv(workdir / "ab.csv", index=False)
    frame.to_parquet(workdir / "ab.parquet", index=False)
    del frame
    cfg = parse_ab_config(
        {
            "minimum_detectable_effect": 0.003,
            "metrics": {"chargeback": {"role": "guardrail", "higher_is_better": False}},
        }
    )
    print(f"\nA/B: {rows:,} per-user rows, 2 metrics (primary approval_conversion, guardrail chargeback)")
    ok = True
    for kind in ("csv", "parquet"):
        source = DataSource(kind=kind, path=str(workdir / f"ab.{kind}"))

        def operator_path(source=source):  # ABAnalysisOperator.execute's data lines
            data = source.read()
            return analyze_records(data, cfg, name="bench")

        result, wall, cpu = timed(operator_path)

        def reference(kind=kind):
            data = pd.read_csv(workdir / "ab.csv") if kind == "csv" else pd.read_parquet(workdir / "ab.parquet")
            sums = data.groupby(["metric", "variant"])[["exposures", "conversions"]].sum()
            out = {}
            for metric in ("approval_conversion", "chargeback"):
                chal, champ = sums.loc[(metric, "challenger")], sums.loc[(metric, "champion")]
                count = [chal["conversions"], champ["conversions"]]
                nobs = [chal["exposures"], champ["exposures"]]
                alternative = "two-sided" if metric == "approval_conversion" else "larger"
                out[metric] = proportions_ztest(count, nobs, alternative=alternative)
            return out

        ref, ref_wall, ref_cpu = timed(reference)
        ours = {a.name: (a.z, a.p_value) for a in result.analyses}
        worst = max(max(abs(ours[m][0] - ref[m][0]), abs(ours[m][1] - ref[m][1])) for m in ref)
        ok &= worst <= VALUE_TOLERANCE
        target = "met" if wall <= TARGETS["ab"] else "MISSED"
        line(f"operator path, {kind} (DataSource.read + analyze_records)", wall, cpu, f"target <= 1 s: {target}")
        before(f"ab:{kind}", rows == 1_000_000)
        line(f"reference, {kind}: read + groupby + statsmodels z-tests", ref_wall, ref_cpu)
        detail = "; ".join(f"{m} z={ours[m][0]:+.4f} p={ours[m][1]:.4g} (statsmodels {ref[m][1]:.4g})" for m in ref)
        print(f"    decision {result.decision} ({result.status.value}); {detail}; max |diff| {worst:.1e}")
    return ok


# ------------------------------------------------------------------------------------------ fairness


def fairness_frame(rows: int, seed: int = 11) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    region = rng.choice(np.array(["north", "south", "east"], dtype=object), size=rows)
    age = rng.integers(18, 90, size=rows).astype(np.float64)
    age[rng.random(rows) < 0.01] = np.nan
    outside = rng.random(rows) < 0.005
    age[outside] = rng.choice([12.0, 16.0, 130.0], size=int(outside.sum()))
    y = (rng.random(rows) < 0.2).astype(np.int64)
    lean = np.where(np.nan_to_num(age, nan=50.0) < 35, 0.08, 0.0) + np.where(region == "east", 0.03, 0.0)
    prob = np.clip(0.25 + 0.5 * y + lean + rng.normal(0.0, 0.2, rows), 0.0, 1.0)
    return pd.DataFrame({"region": region, "age": age, "is_fraud": y}), y, prob


def bench_fairness(rows: int) -> bool:
    import warnings

    from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate

    from assay.engines.model_validation import FairnessConfig, ProtectedAttribute
    from assay.engines.model_validation.fairness import check_fairness, group_labels
    from assay.engines.model_validation.scoring import Scored

    df, y, prob = fairness_frame(rows)
    scored = Scored(y, prob, (prob > 0.5).astype(np.int64))
    attrs = [
        ProtectedAttribute(column="region"),
        ProtectedAttribute(column="age", bins=[18, 35, 50, 120], labels=["18-35", "36-50", "51+"]),
    ]
    cfg = FairnessConfig(attributes=attrs)
    section, wall, cpu = timed(lambda: check_fairness(df, scored, cfg))
    print(f"\nfairness: {rows:,} scored rows, attributes region (3 groups) and age (3 bands, NaN, out of bands)")
    target = "met" if wall <= TARGETS["fairness"] else "MISSED"
    line("check_fairness (every check, metric and calibration)", wall, cpu, f"target <= 2 s: {target}")
    before("fairness", rows == 1_000_000)

    def reference():
        out = {}
        for attr in attrs:
            sf = group_labels(df, attr).to_numpy()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                frame = MetricFrame(
                    metrics={"selection_rate": selection_rate, "tpr": true_positive_rate, "fpr": false_positive_rate},
                    y_true=scored.y_true,
                    y_pred=scored.y_pred,
                    sensitive_features=sf,
                )
            out[attr.column] = frame
        return out

    frames, ref_wall, ref_cpu = timed(reference)
    line("reference: fairlearn MetricFrame per attribute", ref_wall, ref_cpu)
    metrics = {(m.name, m.labels.get("attribute")): m.value for m in section.metrics if not m.labels.get("group")}
    worst, ok = 0.0, True
    for name, frame in frames.items():
        ours = pd.DataFrame(section.details[name]["by_group"]).T
        theirs = frame.by_group
        if sorted(ours.index) != sorted(theirs.index.astype(str)):
            print(f"    {name}: groups differ: ours {sorted(ours.index)} fairlearn {sorted(theirs.index)}")
            ok = False
            continue
        for column in ("selection_rate", "tpr", "fpr"):
            worst = max(
                worst,
                float(
                    np.max(
                        np.abs(
                            ours.loc[theirs.index.astype(str), column].to_numpy(float) - theirs[column].to_numpy(float)
                        )
                    )
                ),
            )
        expected = {
            "fairness.disparate_impact": frame.ratio()["selection_rate"],
            "fairness.demographic_parity_difference": frame.difference()["selection_rate"],
            "fairness.equalized_odds_difference": max(frame.difference()[["tpr", "fpr"]]),
            "fairness.equalized_odds_ratio": min(frame.ratio()[["tpr", "fpr"]]),
        }
        for metric, value in expected.items():
            worst = max(worst, abs(metrics[(metric, name)] - float(value)))
        groups = ", ".join(f"{g} {int(n):,}" for g, n in section.details[name]["group_sizes"].items())
        print(
            f"    {name}: groups {groups}; disparate impact {metrics[('fairness.disparate_impact', name)]:.6f} "
            f"(fairlearn {expected['fairness.disparate_impact']:.6f}), equalized odds difference "
            f"{metrics[('fairness.equalized_odds_difference', name)]:.6f} "
            f"(fairlearn {expected['fairness.equalized_odds_difference']:.6f})"
        )
    ok &= worst <= VALUE_TOLERANCE
    print(f"    max |ours - fairlearn| over every group rate and aggregate: {worst:.1e}")
    return ok


# ----------------------------------------------------------------------------------------- bootstrap


def bench_bootstrap(rows: int, resamples: int, reference_resamples: int) -> bool:
    from support.model_validation import per_row_bootstrap

    from assay.engines.model_validation.regression import paired_bootstrap

    rng = np.random.default_rng(3)
    y = (rng.random(rows) < 0.2).astype(np.int64)
    base = np.where(rng.random(rows) < 0.08, 1 - y, y)  # 8% wrong
    # the candidate misses 0.5% of rows more positives and clears as many false alarms: accuracy unchanged,
    # recall clearly worse, precision better
    flips = rows // 200
    missed = rng.choice(np.flatnonzero((y == 1) & (base == 1)), flips, replace=False)
    cleared = rng.choice(np.flatnonzero((y == 0) & (base == 1)), flips, replace=False)
    cand = base.copy()
    cand[np.concatenate([missed, cleared])] = 0
    print(f"\nregression bootstrap: {rows:,} rows, candidate vs baseline predictions, seed 0")
    draws, wall, cpu = timed(lambda: paired_bootstrap(y, cand, base, resamples, 0))
    target = "met" if wall <= TARGETS["bootstrap"] else "MISSED"
    line(f"paired_bootstrap, {resamples:,} resamples", wall, cpu, f"target <= 3 s: {target}")
    before("bootstrap", rows == 1_000_000 and resamples == 2000)
    ref, ref_wall, ref_cpu = timed(lambda: per_row_bootstrap(y, cand, base, reference_resamples, 0))
    scale = resamples / reference_resamples
    line(
        f"reference: per-row bootstrap, {reference_resamples:,} resamples",
        ref_wall,
        ref_cpu,
        f"(x{scale:.0f} for {resamples:,}: ~{ref_wall * scale:.0f} s wall, ~{ref_cpu * scale:.0f} s CPU)",
    )
    ok = True
    for metric in ("accuracy", "precision", "recall", "f1"):
        lo, hi = np.quantile(draws[metric], [0.025, 0.975])
        rlo, rhi = np.quantile(ref[metric], [0.025, 0.975])
        same = (hi < 0) == (rhi < 0)
        ok &= bool(same)
        print(
            f"    {metric:9} 95% CI of the difference [{lo:+.5f}, {hi:+.5f}] (per-row reference [{rlo:+.5f}, "
            f"{rhi:+.5f}]); significantly worse: {hi < 0} (reference {rhi < 0})"
        )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--reference-resamples", type=int, default=40)
    parser.add_argument("--only", choices=["ab", "fairness", "bootstrap"], action="append")
    args = parser.parse_args()
    only = set(args.only or ["ab", "fairness", "bootstrap"])
    import fairlearn.metrics  # noqa: F401 - imports are not part of any timing
    import statsmodels.stats.proportion  # noqa: F401

    import assay.engines.ab_testing  # noqa: F401
    import assay.engines.model_validation.fairness  # noqa: F401
    import assay.engines.model_validation.regression  # noqa: F401

    print(f"load average at the start: {Path('/proc/loadavg').read_text().split()[:3]} (2 cores, shared)")
    ok = True
    with tempfile.TemporaryDirectory(prefix="assay-ab-bench-") as tmp:
        if "ab" in only:
            ok &= bench_ab(Path(tmp), args.rows)
    if "fairness" in only:
        ok &= bench_fairness(args.rows)
    if "bootstrap" in only:
        ok &= bench_bootstrap(args.rows, args.resamples, args.reference_resamples)
    print(f"\nload average at the end: {Path('/proc/loadavg').read_text().split()[:3]}")
    print(f"values within {VALUE_TOLERANCE:g} of the reference and the same decisions: {ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
