"""Suite files: GE's own JSON format, loaded and checked entry by entry."""

from __future__ import annotations

import json
from collections import Counter

import great_expectations as gx
import pytest
from support.demo_platform import SUITES_DIR

from assay.engines.data_quality.suites import SuiteSpec, load_suite, suite_from_dict
from assay.errors import ConfigError


def _kinds(spec: SuiteSpec) -> Counter:
    return Counter(e["type"] for e in spec.expectations)


@pytest.mark.parametrize("name", ["fraud_transactions", "synthetic_customers"])
def test_shipped_suite_files_are_ge_format_and_round_trip(name):
    path = SUITES_DIR / f"{name}.json"
    raw = json.loads(path.read_text())
    ge_suite = gx.ExpectationSuite(**raw)  # GE reads the file itself...
    assert len(ge_suite.expectations) == len(raw["expectations"])  # ...and dropped nothing
    spec = load_suite(name, SUITES_DIR)
    assert spec.source == str(path)
    again = suite_from_dict(json.loads(json.dumps(spec.build().to_json_dict())))  # GE writes, Assay reads back
    assert again.build().expectations == spec.build().expectations == ge_suite.expectations


def test_fraud_suite_covers_the_strategy():
    spec = load_suite("fraud_transactions", SUITES_DIR)
    kinds = _kinds(spec)
    for kind in (
        "expect_column_to_exist",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
        "expect_column_mean_to_be_between",
        "expect_column_values_to_be_of_type",
        "expect_table_columns_to_match_set",
        "expect_column_values_to_be_unique",
        "expect_compound_columns_to_be_unique",
        "expect_column_values_to_match_regex",
    ):
        assert kinds[kind] >= 1, kind
    completeness = {
        e["kwargs"]["column"]: e["kwargs"]["mostly"]
        for e in spec.expectations
        if e["type"] == "expect_column_values_to_not_be_null"
    }
    assert completeness["customer_id"] == completeness["amount"] == completeness["is_fraud"] == 1.0
    assert completeness["name"] == completeness["email"] == 0.95
    assert spec.personal_columns == {"customer_id", "name", "email"}


def test_suite_by_path_dict_and_ge_object(tmp_path):
    doc = {"name": "tiny", "expectations": [{"type": "expect_column_to_exist", "kwargs": {"column": "a"}}]}
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(doc))
    from_path = load_suite(path)
    from_dict = load_suite(doc)
    from_ge = load_suite(gx.ExpectationSuite(**doc))
    assert from_path.name == from_dict.name == from_ge.name == "tiny"
    assert from_path.expectations == from_dict.expectations
    assert [(e["type"], e["kwargs"]) for e in from_ge.expectations] == [("expect_column_to_exist", {"column": "a"})]
    built = from_path.build()
    assert isinstance(built.expectations[0], gx.expectations.ExpectColumnToExist)
    assert built.expectations[0].id is None  # a fresh suite per validation, owned by no context


def test_unknown_suite_name_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"'no_such_suite' not found.*fraud_transactions"):
        load_suite("no_such_suite", SUITES_DIR)


def test_a_suite_name_needs_a_configured_suites_directory():
    """No folder is built into the engine: a bare name is looked up only where the config says."""
    with pytest.raises(ConfigError, match=r"'fraud_transactions' is a name, but no suites directory is configured"):
        load_suite("fraud_transactions")


def test_malformed_json_names_file_and_position(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"name": "x", "expectations": [\n  {"type": "expect_column_to_exist",, }\n]}')
    with pytest.raises(ConfigError, match=r"broken\.json is not valid JSON: line 2 column"):
        load_suite(path)


def test_unknown_expectation_type_names_file_entry_and_suggests(tmp_path):
    path = tmp_path / "typo.json"
    path.write_text(
        json.dumps(
            {
                "name": "typo",
                "expectations": [
                    {"type": "expect_column_to_exist", "kwargs": {"column": "a"}},
                    {"type": "expect_column_values_to_not_be_nul", "kwargs": {"column": "a"}},
                ],
            }
        )
    )
    # GE's own constructor only logs such an entry and drops it: the suite would silently shrink
    assert len(gx.ExpectationSuite(**json.loads(path.read_text())).expectations) == 1
    with pytest.raises(ConfigError) as err:
        load_suite(path)
    msg = str(err.value)
    assert str(path) in msg and "entry 1 (expect_column_values_to_not_be_nul, column 'a')" in msg
    assert "unknown expectation type" in msg and "did you mean expect_column_values_to_not_be_null" in msg


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            {"type": "expect_column_values_to_be_between", "kwargs": {"column": "a", "min_value": "low"}},
            r"entry 0 \(expect_column_values_to_be_between, column 'a'\): invalid kwargs",
        ),
        ({"type": "expect_column_to_exist", "kwargs": {"column": "a", "colour": "red"}}, r"invalid kwargs.*colour"),
        ({"type": "expect_column_to_exist"}, r"entry 0 \(expect_column_to_exist\): invalid kwargs"),
        ({"kwargs": {"column": "a"}}, r"entry 0: 'type' must be an expectation type"),
        ({"type": "expect_column_to_exist", "kwarg": {"column": "a"}}, r"unknown key\(s\) \['kwarg'\]"),
        ("expect_column_to_exist", r"entry 0: must be an object"),
    ],
)
def test_bad_entries_are_named(entry, expected):
    with pytest.raises(ConfigError, match=expected):
        suite_from_dict({"name": "s", "expectations": [entry]}, source="inline.json")


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ([], r"top level must be a JSON object"),
        ({"expectations": []}, r"'name' must be a non-empty string"),
        ({"name": "s", "expectations": []}, r"'expectations' must be a non-empty list"),
        ({"name": "s", "expectation": []}, r"unknown top-level key\(s\) \['expectation'\]"),
        (
            {
                "name": "s",
                "expectations": [{"type": "expect_column_to_exist", "kwargs": {"column": "a"}}],
                "meta": {"assay": {"personal_columns": "email"}},
            },
            r"personal_columns must be a list",
        ),
    ],
)
def test_bad_suite_documents(doc, expected):
    with pytest.raises(ConfigError, match=expected):
        suite_from_dict(doc, source="inline.json")
