"""The synthetic refresh (assay.engines.test_data.synthetic): seeded and reproducible, realistic Faker values,
the reference's marginals and correlations learnt through the copula, the dataset's own GE suite as the gate
before publishing, unique columns unique at 1M rows."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from scipy.stats import ks_2samp
from support.demo_platform import SUITES_DIR, demo_on_sys_path

from assay.config import parse_config
from assay.engines.test_data import generate, run_synthetic
from assay.engines.test_data.config import SyntheticColumn, SyntheticConfig
from assay.engines.test_data.snapshots import list_snapshots
from assay.errors import ConfigError
from assay.sources import DataSourceError
from assay.status import Status

EMAIL = re.compile(r"^[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$")
UK_MOBILE = re.compile(r"^\+44 7\d{3} \d{6}$")

PERSONAL = {
    "name": {"faker": "name"},
    "email": {"faker": "email", "unique": True},
    "phone": {"faker": "phone_number"},
    "mobile": {"faker": "numerify", "args": {"text": "+44 7### ######"}},
    "address": {"faker": "street_address"},
    "postcode": {"faker": "postcode"},
    "date_of_birth": {"faker": "date_between", "args": {"start_date": "1940-01-01", "end_date": "2006-12-31"}},
}


def _reference(n: int, seed: int = 7) -> pd.DataFrame:
    """A frame with known strong dependence: correlated lognormal amount and income, an integer count that
    rises with them, a categorical tier tied to income, a 5% binary flag, and missing values."""
    rng = np.random.default_rng(seed)
    cov = np.array([[1.0, 0.8, 0.6, -0.5], [0.8, 1.0, 0.5, -0.4], [0.6, 0.5, 1.0, -0.3], [-0.5, -0.4, -0.3, 1.0]])
    z = rng.multivariate_normal(np.zeros(4), cov, size=n)
    amount = np.exp(3.0 + 0.8 * z[:, 0])
    income = np.round(np.exp(10.0 + 0.5 * z[:, 1]), 2)
    visits = rng.poisson(np.exp(1.0 + 0.6 * z[:, 2])).astype(np.int64)
    tier = np.where(z[:, 1] > 0.8, "gold", np.where(z[:, 1] > -0.3, "silver", "bronze"))
    flag = (z[:, 3] > 1.645).astype(np.int64)
    df = pd.DataFrame(
        {"amount": amount, "income": income, "visits": visits, "tier": pd.Series(tier, dtype="str"), "flag": flag}
    )
    df.loc[rng.random(n) < 0.03, "income"] = np.nan
    return df


def _write_reference(tmp_path: Path, df: pd.DataFrame) -> dict:
    path = tmp_path / "reference.parquet"
    df.to_parquet(path, index=False)
    return {"kind": "parquet", "path": str(path)}


LEARNT = ["amount", "income", "visits", "tier", "flag"]


def _cfg(reference: dict | None = None, rows: int = 5_000, seed: int = 0, **extra) -> SyntheticConfig:
    columns = {
        "id": {"format": "ID{row:07d}"},
        **PERSONAL,
        "segment": {"values": ["a", "b", "c"], "weights": [0.6, 0.3, 0.1]},
        "score": {"distribution": "beta", "params": {"a": 2, "b": 5}},
    }
    if reference is not None:
        columns |= {c: {"learn": True} for c in LEARNT}
    return SyntheticConfig(rows=rows, seed=seed, reference=reference, columns=columns, pool_size=2_000, **extra)


# -- reproducible --------------------------------------------------------------------------------------------


def test_same_seed_same_parquet_bytes_another_seed_differs(tmp_path):
    ref = _write_reference(tmp_path, _reference(5_000))
    a = run_synthetic("people", _cfg(ref), tmp_path / "a")
    b = run_synthetic("people", _cfg(ref), tmp_path / "b")
    c = run_synthetic("people", _cfg(ref, seed=1), tmp_path / "c")
    assert a.status == b.status == c.status == Status.PASS, a.message
    (sa,), (sb,), (sc,) = list_snapshots(tmp_path / "a"), list_snapshots(tmp_path / "b"), list_snapshots(tmp_path / "c")
    assert sa.data.read_bytes() == sb.data.read_bytes()
    assert sa.manifest["sha256"] == sb.manifest["sha256"] != sc.manifest["sha256"]
    fa, fc = pd.read_parquet(sa.data), pd.read_parquet(sc.data)
    for column in ("name", "email", "amount", "tier", "score", "segment"):
        assert not fa[column].equals(fc[column]), column


def test_a_column_draws_the_same_values_whatever_else_is_configured():
    both = generate(_cfg(rows=2_000))[0]
    alone = generate(SyntheticConfig(rows=2_000, columns={"name": PERSONAL["name"]}, pool_size=2_000))[0]
    pd.testing.assert_series_equal(both["name"], alone["name"])


# -- realistic values ----------------------------------------------------------------------------------------


def test_faker_values_are_realistic():
    frame, model = generate(_cfg(rows=20_000))
    assert model is None
    assert list(frame.columns) == ["id", *PERSONAL, "segment", "score"]
    assert frame["email"].map(lambda e: bool(EMAIL.match(e))).all()
    assert frame["email"].is_unique
    assert frame["mobile"].str.fullmatch(UK_MOBILE).all()
    assert frame["mobile"].nunique() > 19_000  # drawn per row, not from a pool
    # Faker's UK phone numbers in their several shapes: 10 or 11 national digits, an optional +44 prefix
    digits = frame["phone"].str.replace(r"^\+44\s?(\(0\))?", "0", regex=True).str.replace(r"[\s()-]", "", regex=True)
    assert digits.str.fullmatch(r"0\d{9,10}").mean() > 0.99, frame["phone"][~digits.str.fullmatch(r"0\d{9,10}")][:5]
    assert frame["postcode"].str.fullmatch(r"[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}").all()
    assert frame["name"].str.contains(" ").all() and frame["name"].nunique() > 1_000
    dob = frame["date_of_birth"]
    assert str(dob.dtype) == "datetime64[ms]"
    assert dob.min() >= pd.Timestamp("1940-01-01") and dob.max() <= pd.Timestamp("2006-12-31")
    assert frame["id"].iloc[0] == "ID0000000" and frame["id"].is_unique
    shares = frame["segment"].value_counts(normalize=True)
    assert abs(shares["a"] - 0.6) < 0.02 and abs(shares["c"] - 0.1) < 0.02
    assert frame["score"].between(0, 1).all() and abs(frame["score"].mean() - 2 / 7) < 0.01


def test_unique_values_stay_unique_when_pool_values_end_in_digits():
    # a pool of 20 values, most ending in digits: "x1" + row 23 and "x12" + row 3 must still differ
    cfg = SyntheticConfig(
        rows=5_000,
        pool_size=20,
        columns={
            "email": {"faker": "safe_email", "unique": True},
            "handle": {"faker": "user_name", "unique": True},
        },
    )
    frame = generate(cfg)[0]
    assert frame["email"].is_unique and frame["handle"].is_unique
    assert frame["email"].str.fullmatch(r"[a-z0-9._%+-]+\.\d+@example\.(com|org|net)").all()
    assert frame["email"].iloc[7].split("@")[0].endswith(".7") and frame["handle"].iloc[7].endswith("-7")


def test_declared_columns_missing_share_and_dtype():
    cfg = SyntheticConfig(
        rows=20_000,
        columns={
            "visits": {"distribution": "poisson", "params": {"mu": 3}, "missing": 0.1},
            "wait": {"distribution": "exponential", "params": {"scale": 2.0}, "dtype": "float32"},
            "city": {"faker": "city", "missing": 0.05},
        },
        pool_size=500,
    )
    frame = generate(cfg)[0]
    assert str(frame["visits"].dtype) == "Int64" and abs(frame["visits"].isna().mean() - 0.1) < 0.01
    assert abs(frame["visits"].mean() - 3) < 0.05
    assert frame["wait"].dtype == np.float32
    assert abs(frame["city"].isna().mean() - 0.05) < 0.01


# -- learnt from the reference -------------------------------------------------------------------------------


def test_learnt_marginals_correlations_missing_share_and_dtypes_match_the_reference(tmp_path):
    ref_df = _reference(50_000)
    result = run_synthetic("people", _cfg(_write_reference(tmp_path, ref_df), rows=200_000), tmp_path / "snaps")
    assert result.status == Status.PASS, result.message
    syn = pd.read_parquet(list_snapshots(tmp_path / "snaps")[0].data)

    for column in LEARNT:
        assert syn[column].dtype == ref_df[column].dtype, column
    for column in ("amount", "income", "visits", "flag"):
        ks = ks_2samp(ref_df[column].dropna(), syn[column].dropna()).statistic
        assert ks < 0.02, (column, ks)
    assert syn["amount"].min() >= ref_df["amount"].min() and syn["amount"].max() <= ref_df["amount"].max()
    assert abs(syn["income"].isna().mean() - ref_df["income"].isna().mean()) < 0.005
    assert syn["flag"].isin([0, 1]).all() and abs(syn["flag"].mean() - ref_df["flag"].mean()) < 0.005
    shares = syn["tier"].value_counts(normalize=True) - ref_df["tier"].value_counts(normalize=True)
    assert shares.abs().max() < 0.01

    def rank_corr(df):
        coded = df[LEARNT].assign(tier=df["tier"].map({"bronze": 0, "gold": 1, "silver": 2}))
        return coded.corr(method="spearman")

    delta = (rank_corr(ref_df) - rank_corr(syn)).abs().to_numpy().max()
    assert delta < 0.03, delta
    assert rank_corr(syn).loc["amount", "income"] > 0.7
    # the lognormal pair keeps its linear correlation on the log scale too
    logs = np.log(syn[["amount", "income"]].dropna()).corr().iloc[0, 1]
    assert abs(logs - 0.8) < 0.03, logs

    check = result.check("correlation")
    assert check.status == "PASS" and check.observed < 0.03 and check.threshold == 0.05 and check.comparator == "<="
    assert all(result.check(f"marginal:{c}").observed < 0.02 for c in LEARNT)
    fid = result.summary["fidelity"]
    assert fid["marginals"]["amount"]["measure"] == "ks" and fid["marginals"]["tier"]["measure"] == "max_share_delta"


def test_learnt_columns_of_every_kind_keep_dtype_missing_share_and_range():
    rng = np.random.default_rng(0)
    n = 5_000
    start = pd.Timestamp("2024-01-01")
    ref = pd.DataFrame(
        {
            "when": (start + pd.to_timedelta(rng.integers(0, 10**7, n), unit="s")).astype("datetime64[us]"),
            "when_tz": (start + pd.to_timedelta(rng.integers(0, 10**7, n), unit="s")).tz_localize("UTC"),
            "flag": pd.array(rng.random(n) < 0.3, dtype="boolean"),
            "label": pd.Series(rng.choice(["x", "y", "z"], n), dtype="str"),
            "kind": pd.Series(rng.choice(["p", "q"], n), dtype=object),
            "count": pd.array(rng.integers(0, 9, n), dtype="Int64"),
            "small": rng.normal(size=n).astype("float32"),
        }
    )
    ref.loc[:200, "flag"] = pd.NA
    ref.loc[:300, "label"] = None
    ref.loc[100:500, "count"] = pd.NA
    ref.loc[:49, "when"] = pd.NaT
    frame, model = generate(SyntheticConfig(rows=40_000, columns={c: {"learn": True} for c in ref.columns}), ref)
    assert frame.dtypes.to_dict() == ref.dtypes.to_dict()
    assert (frame.isna().mean() - ref.isna().mean()).abs().max() < 0.01
    assert frame["when"].min() >= ref["when"].min() and frame["when"].max() <= ref["when"].max()
    assert set(frame["count"].dropna()) <= set(ref["count"].dropna())
    assert {c.name: c.kind for c in model.columns} == {
        "when": "discrete",  # 5,000 distinct instants: a step function over them
        "when_tz": "discrete",
        "flag": "categorical",
        "label": "categorical",
        "kind": "categorical",
        "count": "discrete",
        "small": "continuous",
    }


def test_a_generator_that_loses_a_correlation_fails_and_publishes_nothing(tmp_path, monkeypatch):
    from assay.engines.test_data import synthetic

    real = synthetic.sample_copula

    def shuffled(model, n, seed):  # a broken generator: income drawn independently of everything else
        out = real(model, n, seed)
        out["income"] = out["income"].sample(frac=1.0, random_state=1).reset_index(drop=True)
        return out

    monkeypatch.setattr(synthetic, "sample_copula", shuffled)
    ref = _write_reference(tmp_path, _reference(20_000))
    result = run_synthetic("people", _cfg(ref, rows=20_000), tmp_path / "snaps")
    assert result.status == Status.FAIL
    check = result.check("correlation")
    assert check.status == "FAIL" and check.observed > 0.5 and check.threshold == 0.05
    assert "income" in check.message
    assert result.check("marginal:income").status == "PASS"  # the marginal itself is still right
    assert "not published" in result.message and not result.summary["published"]
    assert list_snapshots(tmp_path / "snaps") == []
    assert not any((tmp_path / "snaps" / "people" / "synthetic").iterdir())  # no staging left behind


def test_small_samples_are_judged_against_the_sampling_noise_floor(tmp_path):
    ref = _write_reference(tmp_path, _reference(500))
    result = run_synthetic("people", _cfg(ref, rows=500, marginal_tolerance=0.001), tmp_path / "snaps")
    check = result.check("marginal:amount")
    assert check.threshold == pytest.approx(1.95 * (2 / 500) ** 0.5, abs=1e-6)
    assert "sampling-noise floor" in check.message
    assert result.status == Status.PASS, result.message


# -- the dataset's own suite ---------------------------------------------------------------------------------

DEMO_FEATURES = [
    "consent_marketing",
    "amount",
    "hour",
    "merchant_risk",
    "distance_km",
    "account_age_days",
    "n_tx_24h",
    "is_fraud",
]


def _customer_columns() -> dict:
    """The demo customers' columns, mirrored: personal fields from Faker in the suite's formats, the
    consent flag and transaction features learnt."""
    letters = "ABCDEFGHJKLMNOPRSTUWYZ"
    return {
        "customer_id": {"format": "CUST{row:08d}"},
        "name": {"faker": "name"},
        "email": {"faker": "safe_email", "unique": True},
        "phone": {"faker": "numerify", "args": {"text": "+44 7### ######"}},
        "date_of_birth": {"faker": "date_between", "args": {"start_date": "1935-01-06", "end_date": "2006-12-27"}},
        "address": {"faker": "street_address"},
        "postcode": {"faker": "bothify", "args": {"text": "??## #??", "letters": letters}},
        "city": {"faker": "city"},
        "national_id": {"faker": "numerify", "args": {"text": "9##-##-####"}},
        **{c: {"learn": True} for c in DEMO_FEATURES},
    }


def _demo_reference(tmp_path: Path, n: int) -> dict:
    demo_on_sys_path()
    from fraud.customers import generate_customers

    return _write_reference(tmp_path, generate_customers(n, seed=3))


def test_synthetic_customers_pass_the_demo_suite_and_publish(tmp_path):
    cfg = SyntheticConfig(
        rows=20_000,
        seed=5,
        reference=_demo_reference(tmp_path, 20_000),
        columns=_customer_columns(),
        quality_suite="synthetic_customers",
        pool_size=2_000,
    )
    result = run_synthetic("people", cfg, tmp_path / "snaps", suites_dir=SUITES_DIR)
    failing = result.summary.get("quality_suite", {}).get("failing")
    assert result.status == Status.PASS, (result.message, failing)
    assert result.check("quality_suite:synthetic_customers").status == "PASS"
    assert result.check("correlation").observed <= 0.05
    (snap,) = list_snapshots(tmp_path / "snaps", "people", "synthetic")
    manifest = json.loads((snap.path / "manifest.json").read_text())
    detail = manifest["detail"]
    assert manifest["rows"] == 20_000 and detail["seed"] == 5 and detail["quality_suite"] == "synthetic_customers"
    assert detail["reference_rows"] == 20_000
    assert detail["generator"]["learnt"]["method"] == "gaussian_copula"
    assert detail["columns"]["email"] == {"faker": "safe_email", "unique": True}
    assert result.metric("rows") == 20_000 and result.metric("bytes") == manifest["bytes"] > 0
    assert result.metric("columns") == 17 and result.metric("duration_s") > 0
    assert result.summary["published"] and result.summary["snapshot"] == snap.id
    assert result.name == "people:synthetic" and result.kind == "test_data"


def test_a_failing_suite_is_fail_and_publishes_nothing(tmp_path):
    columns = _customer_columns() | {"email": {"faker": "free_email", "unique": True}}  # real-looking domains
    cfg = SyntheticConfig(
        rows=3_000,
        reference=_demo_reference(tmp_path, 3_000),
        columns=columns,
        quality_suite="synthetic_customers",
        pool_size=500,
    )
    result = run_synthetic("people", cfg, tmp_path / "snaps", suites_dir=SUITES_DIR)
    assert result.status == Status.FAIL
    check = result.check("quality_suite:synthetic_customers")
    assert check.status == "FAIL" and check.observed >= 1 and check.threshold == 0
    failing = result.summary["quality_suite"]["failing"]
    assert {"expectation": "expect_column_values_to_match_regex", "column": "email"}.items() <= failing[0].items()
    assert list_snapshots(tmp_path / "snaps") == []
    assert not result.summary["published"] and "not published" in result.message


def test_an_unknown_suite_is_a_config_error_before_anything_is_generated(tmp_path):
    with pytest.raises(ConfigError, match="no_such_suite"):
        run_synthetic("people", _cfg(quality_suite="no_such_suite"), tmp_path, suites_dir=SUITES_DIR)
    assert not (tmp_path / "people").exists()


# -- configuration errors ------------------------------------------------------------------------------------


def test_learn_without_reference_is_a_config_error_naming_the_column(tmp_path):
    cfg = SyntheticConfig(rows=10, columns={"name": {"faker": "name"}, "amount": {"learn": True}})
    with pytest.raises(ConfigError, match="'amount'"):
        run_synthetic("people", cfg, tmp_path)


def test_a_missing_reference_is_a_data_source_error(tmp_path):
    cfg = SyntheticConfig(
        rows=10,
        reference={"kind": "parquet", "path": str(tmp_path / "nope.parquet")},
        columns={"amount": {"learn": True}},
    )
    with pytest.raises(DataSourceError, match="nope.parquet"):
        run_synthetic("people", cfg, tmp_path / "snaps")
    assert list_snapshots(tmp_path / "snaps") == []


def test_a_learnt_column_absent_from_the_reference_is_a_config_error(tmp_path):
    ref = _write_reference(tmp_path, _reference(100))
    cfg = SyntheticConfig(rows=10, reference=ref, columns={"salary": {"learn": True}})
    with pytest.raises(ConfigError, match="salary"):
        run_synthetic("people", cfg, tmp_path / "snaps")


@pytest.mark.parametrize(
    ("column", "match"),
    [
        ({}, "needs one of"),
        ({"faker": "name", "learn": True}, "one of faker"),
        ({"values": ["a", "b"], "weights": [1.0]}, "1 weights for 2 values"),
        ({"distribution": "norm", "unique": True}, "unique applies"),
        ({"weights": [1.0]}, "needs one of"),
    ],
)
def test_a_column_must_say_how_it_is_made(column, match):
    with pytest.raises(ValidationError, match=match):
        SyntheticColumn(**column)


def test_a_bad_column_fails_config_loading_with_its_path():
    data = {"test_data": {"datasets": {"people": {"synthetic": {"columns": {"nickname": {"args": {"x": 1}}}}}}}}
    with pytest.raises(ConfigError, match=r"test_data\.datasets\.people\.synthetic\.columns\.nickname"):
        parse_config(data)


@pytest.mark.parametrize(
    ("column", "match"),
    [
        ({"faker": "no_such_provider"}, "no provider 'no_such_provider'"),
        ({"distribution": "no_such_dist"}, "unknown distribution 'no_such_dist'"),
        ({"distribution": "norm", "params": {"wrong": 1}}, "norm"),
    ],
)
def test_unknown_providers_and_distributions_are_config_errors(column, match):
    with pytest.raises(ConfigError, match=match):
        generate(SyntheticConfig(rows=10, columns={"x": column}))


def test_iso_dates_in_faker_args_are_dates():
    frame = generate(
        SyntheticConfig(
            rows=1_000,
            columns={"d": {"faker": "date_between", "args": {"start_date": "2020-01-01", "end_date": "2020-01-31"}}},
        )
    )[0]
    assert frame["d"].min() >= pd.Timestamp(date(2020, 1, 1)) and frame["d"].max() <= pd.Timestamp(date(2020, 1, 31))


# -- scale -----------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_unique_columns_are_unique_at_one_million_rows():
    cfg = SyntheticConfig(
        rows=1_000_000,
        columns={
            "id": {"format": "CUST{row:08d}"},
            "email": {"faker": "safe_email", "unique": True},
            "token": {"faker": "bothify", "args": {"text": "??##"}, "unique": True},
        },
    )
    frame = generate(cfg)[0]
    assert len(frame) == 1_000_000
    for column in ("id", "email", "token"):
        assert frame[column].is_unique, column
    assert frame["email"].str.fullmatch(r"[a-z0-9._%+-]+@example\.(com|org|net)").all()


@pytest.mark.slow
def test_one_million_customers_pass_the_suite_within_the_fidelity_tolerances(tmp_path):
    cfg = SyntheticConfig(
        reference=_demo_reference(tmp_path, 100_000),
        columns=_customer_columns(),
        quality_suite="synthetic_customers",
    )
    result = run_synthetic("people", cfg, tmp_path / "snaps", suites_dir=SUITES_DIR)
    assert result.status == Status.PASS, (result.message, result.summary.get("quality_suite"))
    assert result.metric("rows") == 1_000_000
    assert result.check("correlation").observed <= 0.05 and result.check("correlation").threshold == 0.05
    assert max(result.check(f"marginal:{c}").observed for c in DEMO_FEATURES) <= 0.05
    (snap,) = list_snapshots(tmp_path / "snaps")
    frame = pd.read_parquet(snap.data, columns=["customer_id", "email"])
    assert frame["customer_id"].is_unique and frame["email"].is_unique
