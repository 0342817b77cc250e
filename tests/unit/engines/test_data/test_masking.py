"""Masking (assay.engines.test_data.masking) on the demo's customers: each method, determinism, bad rules."""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd
import pytest
from support.demo_platform import demo_on_sys_path

from assay.engines.test_data.config import MaskingRule
from assay.engines.test_data.masking import mask_frame, pseudonymise, seeded_hash, validate_masking
from assay.errors import ConfigError

KEY = b"test-key-not-a-secret"


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    demo_on_sys_path()
    from fraud.customers import generate_customers

    return generate_customers(20_000, seed=3)


def rule(method: str, **kw: object) -> MaskingRule:
    return MaskingRule(method=method, **kw)


def test_pseudonymise_is_keyed_hmac_and_joins_across_tables(customers: pd.DataFrame) -> None:
    out = pseudonymise(customers["customer_id"], KEY)
    first = customers["customer_id"].iloc[0]
    assert out.iloc[0] == hmac.new(KEY, first.encode(), hashlib.sha256).hexdigest()
    assert out.iloc[0] != hashlib.sha256(first.encode()).hexdigest()
    assert out.str.fullmatch(r"[0-9a-f]{64}").all() and out.is_unique
    # another table holding some of the same customers: its pseudonyms join with the first table's
    other = customers.sample(500, random_state=1)[["customer_id", "amount"]]
    a = mask_frame(customers[["customer_id", "name"]], {"customer_id": rule("pseudonymise")}, key=KEY, seed=0)
    b = mask_frame(other, {"customer_id": rule("pseudonymise")}, key=KEY, seed=9)
    assert len(a.merge(b, on="customer_id")) == 500
    assert not pseudonymise(customers["customer_id"].head(5), b"another key").isin(out).any()


def test_pseudonymise_keeps_missing_values_missing() -> None:
    out = pseudonymise(pd.Series(["a", None, "a"], dtype="str"), KEY)
    assert out.isna().tolist() == [False, True, False] and out.iloc[0] == out.iloc[2]


@pytest.mark.parametrize("key", [None, b""])
def test_pseudonymise_without_key_is_an_error_never_an_unkeyed_hash(customers: pd.DataFrame, key: bytes | None) -> None:
    with pytest.raises(ConfigError, match="customer_id.*key"):
        mask_frame(customers.head(10), {"customer_id": rule("pseudonymise")}, key=key, seed=0)


def test_fake_is_seeded_consistent_per_person_and_never_an_original(customers: pd.DataFrame) -> None:
    rules = {
        "name": rule("fake", faker="name"),
        "email": rule("fake", faker="email"),
        "city": rule("fake", faker="city"),
    }
    out = mask_frame(customers, rules, key=None, seed=5)
    again = mask_frame(customers, rules, key=None, seed=5)
    pd.testing.assert_frame_equal(out, again)
    for column in rules:
        assert not out[column].isin(set(customers[column])).any()
        # the same original value always gets the same fake within the sample
        assert (pd.DataFrame({"o": customers[column], "f": out[column]}).groupby("o")["f"].nunique() == 1).all()
    assert out["email"].str.contains("@").all()
    assert out["name"].nunique() > 100  # spread over the pool, not one value
    other_seed = mask_frame(customers, rules, key=None, seed=6)
    assert (other_seed["name"] != out["name"]).mean() > 0.9
    # chunked masking gives the same fakes as the whole frame (a value's fake depends on the value alone)
    halves = pd.concat(
        [
            mask_frame(customers.iloc[:7000], rules, key=None, seed=5),
            mask_frame(customers.iloc[7000:], rules, key=None, seed=5),
        ]
    )
    pd.testing.assert_frame_equal(halves, out)


def test_generalise_dates_postcodes_and_numbers(customers: pd.DataFrame) -> None:
    rules = {
        "date_of_birth": rule("generalise", to="month"),
        "postcode": rule("generalise", to="prefix"),
        "city": rule("generalise", to="prefix", keep=2),
        "amount": rule("generalise", to="bucket", width=50),
    }
    out = mask_frame(customers, rules, key=None, seed=0)
    dob = customers["date_of_birth"]
    assert (out["date_of_birth"] == dob.dt.strftime("%Y-%m")).all()
    assert out["date_of_birth"].str.fullmatch(r"\d{4}-\d{2}").all()
    assert (out["postcode"] == customers["postcode"].str.split(" ").str[0]).all()
    assert (out["city"] == customers["city"].str[:2]).all()
    low = (customers["amount"] // 50 * 50).astype(int)
    assert (out["amount"] == "[" + low.astype(str) + ", " + (low + 50).astype(str) + ")").all()
    year = mask_frame(customers, {"date_of_birth": rule("generalise", to="year")}, key=None, seed=0)
    assert (year["date_of_birth"] == dob.dt.year.astype(str)).all()
    decade = mask_frame(customers, {"date_of_birth": rule("generalise", to="decade")}, key=None, seed=0)
    assert (decade["date_of_birth"] == (dob.dt.year // 10 * 10).astype(str) + "s").all()
    assert decade["date_of_birth"].str.fullmatch(r"\d{3}0s").all()


def test_generalise_postcode_without_space_keeps_the_outward_code() -> None:
    out = mask_frame(
        pd.DataFrame({"pc": ["SW1A1AA", "m1 1ae", None]}), {"pc": rule("generalise", to="prefix")}, key=None, seed=0
    )
    assert out["pc"].iloc[:2].tolist() == ["SW1A", "M1"] and pd.isna(out["pc"].iloc[2])


def test_drop_removes_the_column_and_other_columns_stay(customers: pd.DataFrame) -> None:
    out = mask_frame(customers, {"national_id": rule("drop"), "phone": rule("drop")}, key=None, seed=0)
    assert "national_id" not in out.columns and "phone" not in out.columns
    pd.testing.assert_series_equal(out["amount"], customers["amount"])


def test_validate_masking_names_uncovered_personal_columns_and_stray_rules() -> None:
    rules = {"name": rule("fake", faker="name"), "ghost": rule("drop")}
    with pytest.raises(ConfigError, match=r"without a masking rule: email, phone"):
        validate_masking(["name", "email", "phone"], rules)
    with pytest.raises(ConfigError, match=r"not in the source: ghost"):
        validate_masking(["name"], rules, ["name", "amount"])
    validate_masking(["name", "diagnosis"], {"name": rule("fake", faker="name")}, ["name"])  # absent: no rule needed
    with pytest.raises(ConfigError, match="faker"):
        validate_masking([], {"name": rule("fake")})
    with pytest.raises(ConfigError, match="width"):
        validate_masking([], {"amount": rule("generalise", to="bucket")})


def test_unknown_faker_provider_is_a_config_error(customers: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="no provider"):
        mask_frame(customers.head(5), {"name": rule("fake", faker="no_such_provider")}, key=None, seed=0)


def test_seeded_hash_depends_on_value_and_seed_only(customers: pd.DataFrame) -> None:
    ids = customers["customer_id"]
    whole = seeded_hash(ids, 1)
    assert np.array_equal(np.concatenate([seeded_hash(ids.iloc[:333], 1), seeded_hash(ids.iloc[333:], 1)]), whole)
    assert len(np.unique(whole)) == len(ids)
    assert not np.array_equal(seeded_hash(ids, 2), whole)
