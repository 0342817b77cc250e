"""Bad input never passes: a per-column ERROR where the rest can still be evaluated, a dataset ERROR otherwise."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from assay.engines.drift import ColumnOverride, DriftConfig, run_drift
from assay.sources import DataSource, FrameSource
from assay.status import Status


@pytest.fixture
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(1)

    def make(n: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "amount": rng.lognormal(size=n),
                "age": rng.integers(18, 90, n).astype(float),
                "country": rng.choice(["de", "fr", "it"], n),
            }
        )

    return make(400), make(300)


def column(result, name: str):
    (hit,) = [r for r in result.columns if r.column == name]
    return hit


def assert_dataset_error(result, fragment: str) -> None:
    assert result.status is Status.ERROR and result.dataset_status is Status.ERROR, result.message
    assert fragment in result.error and fragment in result.message
    (check,) = [c for c in result.checks if c.name == "dataset_drift"]
    assert check.status == "ERROR" and fragment in check.message


def test_empty_current_data_is_a_dataset_error(frames, tmp_path):
    ref, cur = frames
    assert_dataset_error(run_drift(ref, cur.iloc[:0]), "the current data has no rows")
    cur.iloc[:0].to_csv(tmp_path / "empty.csv", index=False)  # header only
    assert_dataset_error(
        run_drift(ref, DataSource(kind="csv", path=tmp_path / "empty.csv")), "the current data has no rows"
    )
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    cur.to_sql("scores", url, index=False)
    assert_dataset_error(
        run_drift(ref, DataSource(kind="sql", query="SELECT * FROM scores WHERE age < 0", engine=url)),
        "current data has no rows",
    )
    (tmp_path / "zero.csv").write_text("")
    assert_dataset_error(run_drift(ref, str(tmp_path / "zero.csv")), "the file is empty")


def test_empty_reference_is_a_dataset_error(frames):
    ref, cur = frames
    assert_dataset_error(run_drift(ref.iloc[:0], cur), "the reference data has no rows")


def test_missing_column_is_a_column_error_and_the_rest_is_evaluated(frames):
    ref, cur = frames
    result = run_drift(ref, cur.drop(columns=["age"]))
    age = column(result, "age")
    assert age.status is Status.ERROR and "missing from the current data" in age.message
    assert {r.column for r in result.columns if r.status is not Status.ERROR} == {"amount", "country"}
    # country drifted by chance (chisquare p 0.036): 1 of 2 evaluated. Whether the dataset drifts (share >= 0.5)
    # depends on the missing age column (1/3 or 2/3), so the verdict is not given (before: PASS on 1/2 > 0.5)
    assert (result.n_columns, result.n_drifted, result.n_unknown) == (2, 1, 1)
    assert result.status is Status.ERROR and result.dataset_status is Status.ERROR
    assert "dataset drift undetermined" in result.dataset_check().message
    assert "1 column(s) could not be evaluated: age" in result.message
    sure = run_drift(ref, cur.drop(columns=["age"]), DriftConfig(drift_share=0.9))  # 2/3 < 0.9 whatever age shows
    assert sure.dataset_status is Status.PASS and sure.status is Status.ERROR
    assert "the verdict holds whatever they show" in sure.dataset_check().message
    named = run_drift(ref, cur, DriftConfig(columns=["amount", "income"]))
    income = column(named, "income")
    assert income.status is Status.ERROR and "not in the reference data" in income.message
    check = next(c for c in named.checks if c.name == "drift:income")
    assert check.status == "ERROR" and check.severity == "error"


def test_all_nan_column_is_a_column_error(frames):
    ref, cur = frames
    cur = cur.assign(age=np.nan)
    result = run_drift(ref, cur)
    age = column(result, "age")
    assert age.status is Status.ERROR and "has no finite values (300 rows: 300 missing, 0 infinite)" in age.message
    (jump,) = [r for r in result.share_checks if r.column == "age"]  # and its missing share went 0% -> 100%
    assert jump.test == "missing_share" and jump.status is Status.FAIL and jump.statistic == 1.0
    ref_nan = run_drift(ref.assign(country=None), frames[1])
    country = column(ref_nan, "country")
    assert country.status is Status.ERROR and "reference column 'country' has only missing values" in country.message


def test_all_columns_failing_is_a_dataset_error(frames):
    ref, cur = frames
    empty = cur.assign(amount=np.nan, age=np.nan, country=None)
    result = run_drift(ref, empty, DriftConfig(missing_share_change=None))
    assert result.dataset_status is Status.ERROR and result.share_drifted is None
    assert "no feature column could be evaluated" in result.dataset_check().message
    # with the missing-share check (the default) every column is known to have drifted: 0% -> 100% missing
    checked = run_drift(ref, empty)
    assert checked.dataset_status is Status.FAIL and checked.status is Status.ERROR
    assert checked.drifted_columns == ["amount", "age", "country"]


def test_unseen_category_is_compared_honestly(frames):
    ref, cur = frames
    cur = cur.copy()
    cur.loc[cur.index[:30], "country"] = "es"
    cur.loc[cur.index[30:32], "country"] = "pt"
    result = run_drift(
        ref, cur, DriftConfig(overrides={"country": ColumnOverride(tests=["chisquare", "jensenshannon", "psi"])})
    )
    keys = ["de", "fr", "it", "es", "pt"]
    rc = ref["country"].value_counts().reindex(keys, fill_value=0).to_numpy()
    cc = cur["country"].value_counts().reindex(keys, fill_value=0).to_numpy()
    chi = next(r for r in result.columns if r.test == "chisquare")
    expected = stats.chi2_contingency(np.vstack([rc, cc]), correction=False)
    assert abs(chi.statistic - expected.statistic) < 1e-9 and abs(chi.p_value - expected.pvalue) < 1e-9
    assert chi.drifted and chi.status is Status.FAIL
    assert "2 current categories never seen in the reference" in chi.message and "'es' (30 rows)" in chi.message
    js = next(r for r in result.columns if r.test == "jensenshannon")
    assert abs(js.statistic - distance.jensenshannon(rc / rc.sum(), cc / cc.sum())) < 1e-9
    psi = next(r for r in result.columns if r.test == "psi")
    assert "empty-bin share stands in for 0" in psi.message


@pytest.mark.parametrize("chunk_rows", [None, 50])
def test_numeric_reference_with_strings_in_current_is_a_column_error(frames, chunk_rows):
    ref, cur = frames
    cur = cur.assign(age=cur["age"].astype(str))  # "34.0": strings, not numbers
    result = run_drift(FrameSource(ref), FrameSource(cur, chunk_rows=chunk_rows))
    age = column(result, "age")
    assert age.status is Status.ERROR
    assert "current column 'age' holds categorical values" in age.message and "reference holds numeric" in age.message
    assert column(result, "amount").status is not Status.ERROR


def test_strings_in_reference_and_numbers_in_current_is_a_column_error(frames):
    ref, cur = frames
    result = run_drift(ref, cur.assign(country=np.arange(len(cur))))
    country = column(result, "country")
    assert country.status is Status.ERROR and "holds numeric values" in country.message


def test_type_change_between_csv_blocks_is_a_column_error(frames, tmp_path):
    ref, cur = frames
    cur = cur.astype({"age": object})
    cur.loc[cur.index[250], "age"] = "unknown"  # only the last block holds the stray string
    cur.to_csv(tmp_path / "cur.csv", index=False)
    result = run_drift(ref, DataSource(kind="csv", path=tmp_path / "cur.csv", chunk_rows=100))
    age = column(result, "age")
    assert age.status is Status.ERROR and "'unknown'" in age.message


def test_value_test_on_categories_and_numeric_kind_on_strings_are_errors(frames):
    ref, cur = frames
    result = run_drift(ref, cur, DriftConfig(overrides={"country": ColumnOverride(tests=["ks", "chisquare"])}))
    ks = next(r for r in result.columns if r.column == "country" and r.test == "ks")
    chi = next(r for r in result.columns if r.column == "country" and r.test == "chisquare")
    assert ks.status is Status.ERROR and "needs numeric values" in ks.message
    assert chi.status in (Status.PASS, Status.FAIL)
    forced = run_drift(ref, cur, DriftConfig(overrides={"country": ColumnOverride(kind="numeric")}))
    assert column(forced, "country").status is Status.ERROR


def test_anderson_on_constant_columns_is_an_error_not_a_pass():
    ref, cur = pd.DataFrame({"x": [1.0] * 5}), pd.DataFrame({"x": [1.0] * 3})
    result = run_drift(ref, cur, DriftConfig(overrides={"x": ColumnOverride(tests=["anderson", "ks", "chisquare"])}))
    by = {r.test: r for r in result.columns}
    assert by["anderson"].status is Status.ERROR and "more than one distinct" in by["anderson"].message
    assert by["ks"].status is Status.PASS and by["ks"].p_value == 1.0  # identical constants: no drift
    assert by["chisquare"].status is Status.PASS


def test_unreadable_sources_are_dataset_errors(frames, tmp_path):
    ref, cur = frames
    assert_dataset_error(run_drift(str(tmp_path / "missing.parquet"), cur), "no such file or directory")
    assert_dataset_error(run_drift(ref, str(tmp_path / "missing.csv")), "no such file")
    (tmp_path / "broken.parquet").write_bytes(b"not parquet at all")
    assert_dataset_error(run_drift(str(tmp_path / "broken.parquet"), cur), "cannot read broken.parquet")
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert_dataset_error(
        run_drift(ref, DataSource(kind="sql", query="SELECT * FROM no_such_table", engine=url)),
        "no such table: no_such_table",
    )
    dupes = pd.concat([cur, cur[["age"]]], axis=1)
    assert_dataset_error(run_drift(ref, dupes), "duplicate column name(s) ['age']")


def test_infinite_values_are_dropped_and_counted():
    ref = pd.DataFrame({"x": [1.0, 2.0, np.inf, 3.0, np.nan] * 4})
    cur = pd.DataFrame({"x": [1.0, -np.inf, 2.0, 3.0] * 4})
    result = run_drift(ref, cur, DriftConfig(missing_share_change=0.2))
    (r,) = result.columns
    assert (r.n_reference, r.missing_reference, r.n_current, r.missing_current) == (12, 8, 12, 4)
    assert r.status is Status.PASS and "missing or non-finite dropped: 8 reference, 4 current" in r.message
    share = next(s for s in result.share_checks if s.test == "missing_share")
    assert share.status is Status.PASS and share.statistic == pytest.approx(0.15)  # 40% vs 25%: 0.15 <= 0.2
    assert "40.0% in the reference (8 of 20 rows), 25.0% in the current data (4 of 16)" in share.message


def test_override_for_a_column_the_reference_lacks_is_an_error(frames):
    ref, cur = frames
    result = run_drift(ref, cur, DriftConfig(overrides={"amonut": ColumnOverride(tests=["ks"])}))
    typo = column(result, "amonut")
    assert typo.status is Status.ERROR and "not in the reference data" in typo.message


def test_excluded_columns_are_not_compared(frames):
    ref, cur = frames
    result = run_drift(ref, cur.assign(age="not even numeric"), DriftConfig(exclude_columns=["age"]))
    assert {r.column for r in result.columns} == {"amount", "country"} and result.status is not Status.ERROR


def test_decimal_objects_count_as_numeric():
    ref = pd.DataFrame({"amount": [Decimal("1.5"), Decimal("2.25"), None, Decimal("3")] * 10})
    cur = pd.DataFrame({"amount": [1.5, 2.25, 3.0, 3.0] * 10})
    (r,) = run_drift(ref, cur).columns
    assert r.status is Status.PASS and r.test == "chisquare" and r.kind == "categorical" and r.n_reference == 30
