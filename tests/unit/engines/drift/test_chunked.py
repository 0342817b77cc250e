"""Chunked reading gives results identical to the in-memory run, for every source and spool.

Same data, same config (every test on some columns, the automatic choice on others): a whole DataFrame,
the DataFrame in slices, Parquet row groups and batches, CSV blocks, SQL pages (SQLite through
SQLAlchemy), and the disk spool. Binned statistics are integer counts added per chunk with the
reference's fixed edges; value statistics see the same values; so the results are equal, not close.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine
from support.drift_data import make_pair

from assay.engines.drift import ColumnOverride, DriftConfig, run_drift
from assay.sources import DataSource, FrameSource
from assay.status import Status

ALL = ["psi", "kl_div", "jensenshannon", "chisquare", "ks", "wasserstein", "anderson"]
BINNED = ["psi", "kl_div", "jensenshannon", "chisquare"]


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    ref, cur = make_pair(
        3000, numeric=5, categorical=2, shifted_numeric=(0, 3), shifted_categorical=(1,), current_rows=2100
    )
    rng = np.random.default_rng(9)
    for frame in (ref, cur):
        frame.loc[rng.random(len(frame)) < 0.05, "num_01"] = np.nan
        frame.loc[rng.random(len(frame)) < 0.05, "cat_0"] = None
        frame["small_int"] = rng.integers(0, 4, len(frame)).astype(float)  # <= 5 values: categorical treatment
    cur.loc[cur.index[-40:], "cat_0"] = "unseen_level"
    cur.loc[cur.index[-10:], "small_int"] = 9.0  # a value the reference never had
    return ref, cur


CONFIG = dict(
    overrides={
        "num_00": ColumnOverride(tests=ALL),
        "num_01": ColumnOverride(tests=ALL, bins=7),
        "num_02": ColumnOverride(tests=BINNED),
        "cat_0": ColumnOverride(tests=BINNED),
        "small_int": ColumnOverride(tests=[*BINNED, "ks"]),
    },
    small_sample_rows=2000,  # num_03/num_04/cat_1 auto: wasserstein / jensenshannon
)


def outcome(result) -> list[dict]:
    assert result.error is None, result.error
    return [r.describe_dict() for r in result.columns] + [{"share": result.share_drifted}]


@pytest.fixture(scope="module")
def expected(data) -> list[dict]:
    ref, cur = data
    return outcome(run_drift(ref, cur, DriftConfig(**CONFIG)))


def chunks(source) -> int:
    return sum(1 for _ in source.iter_chunks())


@pytest.mark.filterwarnings("ignore:p-value (capped|floored)")
def test_in_memory_run_exercises_every_path(data, expected):
    statuses = {(d["column"], d["test"]): d["status"] for d in expected[:-1]}
    assert len(statuses) == 7 + 7 + 4 + 4 + 5 + 2 + 1
    assert set(statuses.values()) <= {"PASS", "FAIL"} and "FAIL" in statuses.values()
    assert statuses[("num_03", "wasserstein")] == "FAIL" and statuses[("cat_1", "jensenshannon")] == "FAIL"
    msg = next(d["message"] for d in expected if d.get("column") == "small_int" and d["test"] == "chisquare")
    assert "treated as categories" in msg and "9.0 (10 rows)" in msg


@pytest.mark.filterwarnings("ignore:p-value (capped|floored)")
@pytest.mark.parametrize("chunk_rows", [1, 137, 1000])
def test_dataframe_slices_equal_whole(data, expected, chunk_rows):
    ref, cur = data
    sources = FrameSource(ref, chunk_rows=chunk_rows), FrameSource(cur, chunk_rows=max(1, chunk_rows // 2 + 1))
    if chunk_rows == 1:  # one row per chunk: slow in Python, so only a prefix of the data
        ref, cur = ref.iloc[:300], cur.iloc[:200]
        sources = FrameSource(ref, chunk_rows=1), FrameSource(cur, chunk_rows=1)
        assert outcome(run_drift(*sources, DriftConfig(**CONFIG))) == outcome(
            run_drift(ref, cur, DriftConfig(**CONFIG))
        )
        return
    assert chunks(sources[0]) > 1
    assert outcome(run_drift(*sources, DriftConfig(**CONFIG))) == expected


@pytest.mark.filterwarnings("ignore:p-value (capped|floored)")
def test_disk_spool_equals_memory(data, expected, tmp_path):
    ref, cur = data
    config = DriftConfig(**CONFIG, spool="disk", spool_dir=str(tmp_path), threads=1)
    assert outcome(run_drift(FrameSource(ref, chunk_rows=500), FrameSource(cur, chunk_rows=400), config)) == expected
    assert list(tmp_path.iterdir()) == []  # the spool cleans up after itself


@pytest.mark.filterwarnings("ignore:p-value (capped|floored)")
def test_parquet_row_groups_and_batches_equal_in_memory(data, expected, tmp_path):
    ref, cur = data
    ref.to_parquet(tmp_path / "ref.parquet", row_group_size=250)
    cur.to_parquet(tmp_path / "cur.parquet", row_group_size=300)
    by_group = (
        DataSource(kind="parquet", path=tmp_path / "ref.parquet"),
        DataSource(kind="parquet", path=tmp_path / "cur.parquet"),
    )
    assert chunks(by_group[0]) == 12 and chunks(by_group[1]) == 7
    assert outcome(run_drift(*by_group, DriftConfig(**CONFIG))) == expected
    batches = (
        DataSource(kind="parquet", path=tmp_path / "ref.parquet", chunk_rows=100),
        DataSource(kind="parquet", path=tmp_path / "cur.parquet", chunk_rows=64),
    )
    assert outcome(run_drift(*batches, DriftConfig(**CONFIG))) == expected
    assert (
        outcome(run_drift(str(tmp_path / "ref.parquet"), str(tmp_path / "cur.parquet"), DriftConfig(**CONFIG)))
        == expected
    )


@pytest.mark.filterwarnings("ignore:p-value (capped|floored)")
def test_csv_blocks_equal_in_memory(data, expected, tmp_path):
    ref, cur = data
    ref.to_csv(tmp_path / "ref.csv", index=False)
    cur.to_csv(tmp_path / "cur.csv", index=False)
    sources = (
        DataSource(
            kind="csv", path=tmp_path / "ref.csv", chunk_rows=400, read_options={"float_precision": "round_trip"}
        ),
        DataSource(
            kind="csv", path=tmp_path / "cur.csv", chunk_rows=333, read_options={"float_precision": "round_trip"}
        ),
    )
    assert chunks(sources[1]) == 7
    assert outcome(run_drift(*sources, DriftConfig(**CONFIG))) == expected


@pytest.mark.filterwarnings("ignore:p-value (capped|floored)")
def test_sql_pages_equal_in_memory(data, expected, tmp_path):
    ref, cur = data
    url = f"sqlite:///{tmp_path / 'features.db'}"
    engine = create_engine(url)
    ref.to_sql("reference_features", engine, index=False)
    cur.to_sql("scored_today", engine, index=False)
    sources = (
        DataSource(kind="sql", query="SELECT * FROM reference_features", chunk_rows=500, engine=engine),
        DataSource(
            kind="sql", query="SELECT * FROM scored_today WHERE 1 = :one", params={"one": 1}, chunk_rows=333, engine=url
        ),
    )
    assert chunks(sources[1]) == 7
    result = run_drift(*sources, DriftConfig(**CONFIG))
    assert result.status is not Status.ERROR
    assert outcome(result) == expected
    engine.dispose()
