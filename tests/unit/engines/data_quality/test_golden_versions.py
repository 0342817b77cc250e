"""Golden datasets by version: a change without a version bump fails, consumers read an exact version."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from support.data_quality import outcome
from support.demo_platform import GOLDEN_DIR

from assay.engines.data_quality.golden import (
    GoldenVersionError,
    file_sha256,
    load_golden,
    load_golden_spec,
    validate_golden,
    verify_golden,
    write_golden,
)
from assay.errors import ConfigError
from assay.status import Status

FRAUD = "fraud_transactions_200"


def _frame(n: int = 20, bump: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame(
        {"id": range(n), "amount": [1.5 * i + bump for i in range(n)], "label": [i % 2 for i in range(n)]}
    )


def _version_check(result):
    return outcome(result, "assay_golden_version", "table")


def _yaml(directory: Path, name: str) -> dict:
    return yaml.safe_load((directory / f"{name}.yaml").read_text())


@pytest.mark.parametrize("name", [FRAUD, "customers_200"])
def test_committed_golden_datasets_are_version_1_with_their_sha256(name):
    spec = load_golden_spec(name, GOLDEN_DIR)
    assert spec.version == 1 and spec.sha256 == file_sha256(spec.data_path) and spec.history == {1: spec.sha256}
    assert len(load_golden(GOLDEN_DIR, name, 1)) == 200
    assert verify_golden(GOLDEN_DIR, name, "1").version == 1  # "1" and 1 name the same version


def test_write_golden_records_version_sha256_and_history(tmp_path):
    spec = write_golden("t", _frame(), tmp_path, version="2026.1")
    data = _yaml(tmp_path, "t")
    sha = file_sha256(tmp_path / "t.csv")
    assert data["version"] == "2026.1" and data["sha256"] == sha and data["history"] == {"2026.1": sha}
    assert spec.version == "2026.1"
    again = write_golden("t", _frame(), tmp_path)  # same content, no version given: the version is kept
    assert again.version == "2026.1" and _yaml(tmp_path, "t")["history"] == {"2026.1": sha}
    assert write_golden("new", _frame(), tmp_path).version == 1  # a new dataset starts at 1


def test_a_csv_changed_without_a_version_bump_fails_naming_the_file(tmp_path):
    write_golden("t", _frame(), tmp_path, version=1)
    csv = tmp_path / "t.csv"
    csv.write_text(csv.read_text().replace("\n3,4.5,1\n", "\n3,4.6,1\n"))
    result = validate_golden("t", directory=tmp_path)
    check = _version_check(result)
    assert result.status is Status.FAIL and check.status is Status.FAIL
    assert str(csv) in check.message and "changed without a version bump" in check.message
    assert "bump `version` and regenerate with write_golden" in check.message
    with pytest.raises(GoldenVersionError, match=r"t.csv\) changed without a version bump"):
        load_golden(tmp_path, "t", 1)


def test_regenerating_csv_and_yaml_under_the_same_version_is_caught(tmp_path):
    write_golden("t", _frame(), tmp_path, version=1)
    with pytest.raises(GoldenVersionError, match=r"version 1 was already written with other content"):
        write_golden("t", _frame(bump=1.0), tmp_path, version=1)
    with pytest.raises(GoldenVersionError, match=r"pass write_golden\(version=...\) with a new version"):
        write_golden("t", _frame(bump=1.0), tmp_path)
    assert validate_golden("t", directory=tmp_path).status is Status.PASS  # refused writes wrote nothing

    # by hand (or an older writer): new CSV, statistics and sha256 regenerated, version and history kept
    history = _yaml(tmp_path, "t")["history"]
    other = tmp_path / "other"
    write_golden("t", _frame(bump=1.0), other, version=1)
    shutil.copy(other / "t.csv", tmp_path / "t.csv")
    data = _yaml(other, "t") | {"history": history}
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    result = validate_golden("t", directory=tmp_path)
    assert [o.expectation_type for o in result.failures] == ["assay_golden_version"]  # the statistics agree
    assert "version 1 was first written with sha256" in result.failures[0].message
    with pytest.raises(GoldenVersionError, match="changed without a version bump"):
        load_golden(tmp_path, "t", 1)


def test_a_bumped_and_regenerated_dataset_passes(tmp_path):
    first = write_golden("t", _frame(), tmp_path, version=1)
    second = write_golden("t", _frame(bump=1.0), tmp_path, version=2)
    assert second.history == {1: first.sha256, 2: second.sha256} and first.sha256 != second.sha256
    result = validate_golden("t", directory=tmp_path)
    assert result.status is Status.PASS and _version_check(result).status is Status.PASS
    assert load_golden(tmp_path, "t", 2)["amount"].iloc[0] == 1.0


def test_a_consumer_asking_for_another_version_is_refused_naming_both(tmp_path):
    write_golden("t", _frame(), tmp_path, version=1)
    write_golden("t", _frame(bump=1.0), tmp_path, version=2)
    with pytest.raises(ConfigError, match=r"golden dataset 't' in .* is version 2, but version 1 was requested"):
        load_golden(tmp_path, "t", 1)
    with pytest.raises(GoldenVersionError, match=r"is version 2, but version '3' was requested"):
        verify_golden(tmp_path, "t", "3")


def test_a_golden_yaml_without_a_version_fails_its_version_check(tmp_path):
    for suffix in (".csv", ".yaml"):
        shutil.copy(GOLDEN_DIR / f"{FRAUD}{suffix}", tmp_path / f"{FRAUD}{suffix}")
    data = yaml.safe_load((tmp_path / f"{FRAUD}.yaml").read_text())
    for key in ("version", "sha256", "history"):
        data.pop(key)
    (tmp_path / f"{FRAUD}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    result = validate_golden(FRAUD, directory=tmp_path)
    assert [o.expectation_type for o in result.failures] == ["assay_golden_version"]
    assert "has no recorded version and sha256" in result.failures[0].message
    with pytest.raises(GoldenVersionError, match=r"is version None, but version 1 was requested"):
        load_golden(tmp_path, FRAUD, 1)
