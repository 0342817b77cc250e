"""The leak check (assay.engines.test_data.leak) catching each planted leak, on the demo's customers masked
for real: a clear e-mail left in, an e-mail in free text, a pseudonym computed without the key, a rare
quasi-identifier combination; and a clean sample passing."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest
from support.demo_platform import demo_on_sys_path

from assay.engines.test_data.config import MaskingRule
from assay.engines.test_data.leak import leak_check, luhn_valid
from assay.engines.test_data.masking import mask_frame
from assay.status import Status

KEY = b"leak-test-key"
PERSONAL = ["customer_id", "name", "email", "phone", "date_of_birth", "address", "postcode", "city", "national_id"]
RULES = {
    "customer_id": MaskingRule(method="pseudonymise"),
    "name": MaskingRule(method="fake", faker="name"),
    "email": MaskingRule(method="fake", faker="email"),
    "phone": MaskingRule(method="fake", faker="phone_number"),
    "date_of_birth": MaskingRule(method="generalise", to="year"),
    "address": MaskingRule(method="fake", faker="street_address"),
    "postcode": MaskingRule(method="generalise", to="prefix", keep=1),
    "city": MaskingRule(method="drop"),
    "national_id": MaskingRule(method="drop"),
}
QUASI = ["postcode", "consent_marketing"]


@pytest.fixture(scope="module")
def source() -> pd.DataFrame:
    demo_on_sys_path()
    from fraud.customers import generate_customers

    return generate_customers(20_000, seed=11)


@pytest.fixture(scope="module")
def masked(source: pd.DataFrame) -> pd.DataFrame:
    out = mask_frame(source, RULES, key=KEY, seed=0)
    out["notes"] = "customer asked about a refund on 2024-03-01"
    return out


def check(source: pd.DataFrame | object, output: pd.DataFrame, k: int = 2, **kw: object):  # noqa: ANN201
    report = leak_check(
        source, output, personal_columns=PERSONAL, free_text_columns=["notes"], quasi_identifiers=QUASI, k=k, **kw
    )
    return report, {c.name: c for c in report.checks}


def test_a_properly_masked_sample_passes_every_check(source: pd.DataFrame, masked: pd.DataFrame) -> None:
    report, checks = check(source, masked)
    assert report.passed, [c.message for c in report.checks]
    assert checks["leak_personal_values"].observed == 0 and checks["leak_free_text"].observed == 0
    assert checks["k_anonymity"].observed >= 2 and checks["k_anonymity"].comparator == ">="
    assert report.figures["personal_values"]["compared"] == len(source) * len(PERSONAL)


def test_a_clear_email_left_in_is_found_and_never_quoted(source: pd.DataFrame, masked: pd.DataFrame) -> None:
    leaky = masked.assign(email=source["email"].to_numpy())
    leaky.loc[:99, "contact"] = source["email"].iloc[:100].to_numpy()  # copied into another column too
    report, checks = check(source, leaky)
    personal = checks["leak_personal_values"]
    assert (
        personal.status == Status.FAIL.value and personal.observed == len(source) + 100
    )  # distinct values per output column
    assert "of email in output column email" in personal.message
    assert "of email in output column contact" in personal.message
    assert not any(v in personal.message for v in source["email"].head(200))
    assert {"source_column": "email", "output_column": "contact", "values": 100} in report.figures["personal_values"][
        "exact"
    ]


def test_a_value_of_a_row_not_sampled_is_found_too(source: pd.DataFrame, masked: pd.DataFrame) -> None:
    out = masked.iloc[:1000].copy()
    out.loc[out.index[0], "address"] = source["address"].iloc[-1]  # the last source row is not in the output
    _, checks = check(source, out)
    assert checks["leak_personal_values"].status == Status.FAIL.value
    assert "of address in output column address" in checks["leak_personal_values"].message


def test_an_email_in_free_text_is_found(source: pd.DataFrame, masked: pd.DataFrame) -> None:
    out = masked.copy()
    out.loc[5, "notes"] = f"please reply to {source['email'].iloc[5]} today"
    out.loc[6, "notes"] = "call +44 7700 900123 after six"
    out.loc[7, "notes"] = "paid with 4111 1111 1111 1111"
    out.loc[8, "notes"] = "reference 4111 1111 1111 1112"  # not Luhn-valid: no card (nor a phone shape)
    report, checks = check(source, out)
    text = checks["leak_free_text"]
    assert text.status == Status.FAIL.value
    counts = report.figures["free_text"]["notes"]
    assert counts["email"] == 1 and counts["card"] == 1 and counts["phone"] >= 1
    assert source["email"].iloc[5] not in text.message


def test_luhn() -> None:
    assert luhn_valid("4111111111111111") and luhn_valid("79927398713")
    assert not luhn_valid("4111111111111112")


@pytest.mark.parametrize("algorithm", ["sha256", "md5"])
def test_a_pseudonym_made_without_the_key_is_found(source: pd.DataFrame, masked: pd.DataFrame, algorithm: str) -> None:
    """A plain hash of the e-mail holds no clear value, yet anyone can hash a list of e-mails: the check hashes
    the source's personal values without a key and looks for those digests in hex-looking output columns."""
    unkeyed = [hashlib.new(algorithm, e.encode()).hexdigest() for e in source["email"]]
    leaky = masked.assign(customer_id=unkeyed)
    report, checks = check(source, leaky)
    personal = checks["leak_personal_values"]
    assert personal.status == Status.FAIL.value
    assert f"unkeyed {algorithm} digest(s) of email in output column customer_id" in personal.message
    assert personal.observed == len(source)
    # the keyed pseudonym in the same column passes
    assert check(source, masked)[1]["leak_personal_values"].status == Status.PASS.value


def test_unkeyed_digests_are_found_from_the_sampled_rows_when_the_source_is_streamed(
    source: pd.DataFrame, masked: pd.DataFrame
) -> None:
    out = masked.iloc[:2000].assign(
        customer_id=[hashlib.sha256(c.encode()).hexdigest() for c in source["customer_id"].iloc[:2000]]
    )
    chunks = (source.iloc[i : i + 3000] for i in range(0, len(source), 3000))
    _, checks = check(chunks, out, digest_source=source.iloc[:2000])
    assert "unkeyed sha256 digest(s) of customer_id" in checks["leak_personal_values"].message


def test_a_rare_quasi_identifier_combination_breaks_k_anonymity(source: pd.DataFrame, masked: pd.DataFrame) -> None:
    out = masked.copy()
    out.loc[0, "postcode"] = "Q"
    report, checks = check(source, out, k=5)
    k = checks["k_anonymity"]
    assert k.status == Status.FAIL.value and k.observed == 1 and k.threshold == 5
    assert report.figures["k_anonymity"]["groups_below_k"] >= 1
    assert "smallest group over postcode, consent_marketing has 1 row(s)" in k.message


def test_streamed_source_gives_the_same_verdict_as_the_frame(source: pd.DataFrame, masked: pd.DataFrame) -> None:
    leaky = masked.assign(name=source["name"].to_numpy())
    whole, _ = check(source, leaky)
    streamed, _ = check((source.iloc[i : i + 4096] for i in range(0, len(source), 4096)), leaky, digest_source=source)
    assert whole.figures["personal_values"] == streamed.figures["personal_values"]


def test_a_numeric_personal_value_is_found_in_a_numeric_column() -> None:
    source = pd.DataFrame({"account_no": [12345678, 23456789, 34567890], "name": ["Ada Khan", "Ben Park", "Zoe Xu"]})
    output = pd.DataFrame({"account_no": ["x", "y", "z"], "amount": [1.5, 23456789.0, 3.0], "note_id": ["a", "b", "c"]})
    report = leak_check(source, output, personal_columns=["account_no", "name"], quasi_identifiers=[], k=1)
    personal = report.checks[0]
    assert personal.status == Status.FAIL.value and personal.observed == 1
    assert "of account_no in output column amount" in personal.message
    # a number in a text column is compared as text
    output2 = output.assign(note_id=["a", "34567890", "c"], amount=[1.0, 2.0, 3.0])
    assert (
        "of account_no in output column note_id"
        in leak_check(source, output2, personal_columns=["account_no"]).checks[0].message
    )


def test_a_long_personal_value_is_found_among_the_pseudonyms() -> None:
    """Long output values (pseudonyms) are a set of their own, looked up for source values as long."""
    token = "f" * 64
    source = pd.DataFrame({"api_token": [token, "e" * 64], "name": ["Ada Khan", "Ben Park"]})
    output = pd.DataFrame({"customer_id": ["a" * 64, token], "name": ["X Y", "Z W"]})
    personal = leak_check(source, output, personal_columns=["api_token", "name"]).checks[0]
    assert (
        personal.status == Status.FAIL.value
        and "1 value(s) of api_token in output column customer_id" in personal.message
    )
    assert token not in personal.message
