"""Seeded synthetic customers with personal fields and transaction features (up to millions of rows).

Every value is made up: names from short lists, ``example.com``/``.org``/``.net`` emails (reserved
domains), national ids shaped like US SSNs but in the never-issued 9xx area, UK-shaped postcodes.
The personal fields are there so compliance audits have PII to find and mask. The transaction
features and the fraud label follow the platform's one transaction model (:mod:`fraud.data`).

Vectorised with numpy and pyarrow compute. Rows are made in fixed blocks of :data:`BLOCK_ROWS`, block
``i`` from ``SeedSequence(seed, spawn_key=(i,))``, so the same seed always gives the same frame, a
smaller ``n`` is a prefix of a larger one, and :func:`write_customers_parquet` streams block by block
with bounded memory yet writes exactly :func:`generate_customers`' rows.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fraud.data import FEATURE_COLUMNS, LABEL_COLUMN, draw_features, fraud_score, intercept_for_rate

BLOCK_ROWS = 50_000
MAX_ROWS = 10_000_000
REFERENCE_DATE = np.datetime64("2025-01-01", "D")  # ages are relative to a fixed day: output never drifts
FRAUD_RATE = 0.05

PERSONAL_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "name",
    "email",
    "phone",
    "date_of_birth",
    "address",
    "postcode",
    "city",
    "national_id",
)
COLUMNS: tuple[str, ...] = (*PERSONAL_COLUMNS, "consent_marketing", *FEATURE_COLUMNS, LABEL_COLUMN)

_FIRST = pa.array(
    [
        "Ada",
        "Ben",
        "Chloe",
        "Dev",
        "Ema",
        "Farid",
        "Greta",
        "Hugo",
        "Ines",
        "Jonas",
        "Kiri",
        "Liam",
        "Maya",
        "Nils",
        "Olu",
        "Priya",
        "Quinn",
        "Rosa",
        "Sami",
        "Tara",
        "Umar",
        "Vera",
        "Wen",
        "Xavi",
        "Yara",
        "Zoe",
    ]
)
_LAST = pa.array(
    [
        "Khan",
        "Lopez",
        "Meyer",
        "Novak",
        "Okafor",
        "Park",
        "Rossi",
        "Smith",
        "Tanaka",
        "Ueda",
        "Varga",
        "Walsh",
        "Xu",
        "Young",
        "Zhang",
        "Andersen",
        "Baker",
        "Costa",
        "Dubois",
        "Evans",
        "Fischer",
        "Garcia",
        "Haddad",
    ]
)
_STREETS = pa.array(
    [
        "Mill",
        "Church",
        "Station",
        "Park",
        "Victoria",
        "Green",
        "Manor",
        "Kings",
        "Queens",
        "North",
        "School",
        "Orchard",
        "Bridge",
        "High",
        "Chapel",
        "Meadow",
    ]
)
_SUFFIXES = pa.array(["Road", "Street", "Lane", "Avenue", "Close", "Way", "Gardens"])
_CITIES = pa.array(
    [
        "Leeds",
        "Bristol",
        "York",
        "Bath",
        "Derby",
        "Exeter",
        "Norwich",
        "Oxford",
        "Cardiff",
        "Dundee",
        "Chester",
        "Durham",
        "Lincoln",
        "Perth",
        "Truro",
        "Wells",
    ]
)
_DOMAINS = pa.array(["example.com", "example.org", "example.net"])
_LETTERS = pa.array(list("ABCDEFGHJKLMNOPRSTUWYZ"))


def _pick(rng: np.random.Generator, choices: pa.Array, n: int) -> pa.Array:
    return pc.take(choices, pa.array(rng.integers(0, len(choices), n)))


def _digits(rng: np.random.Generator, width: int, n: int, low: int = 0) -> pa.Array:
    """Zero-padded random decimal strings of ``width`` digits, each >= ``low``."""
    return pc.utf8_lpad(pc.cast(pa.array(rng.integers(low, 10**width, n)), pa.string()), width, "0")


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


@functools.cache
def _fraud_intercept() -> float:
    """The logit intercept giving a :data:`FRAUD_RATE` fraud rate, fitted once on a fixed sample (so every
    block uses the same one, whatever its size)."""
    return intercept_for_rate(fraud_score(draw_features(np.random.default_rng(20250101), 200_000)), FRAUD_RATE)


def _block(index: int, start: int, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))
    ids = pc.utf8_lpad(pc.cast(pa.array(np.arange(start, start + n)), pa.string()), 8, "0")
    first, last = _pick(rng, _FIRST, n), _pick(rng, _LAST, n)
    postcode = _join(
        _pick(rng, _LETTERS, n),
        _pick(rng, _LETTERS, n),
        _digits(rng, 1, n, 1),
        _digits(rng, 1, n),
        " ",
        _digits(rng, 1, n),
        _pick(rng, _LETTERS, n),
        _pick(rng, _LETTERS, n),
    )
    age_days = rng.integers(18 * 365 + 5, 90 * 365, size=n)
    columns: dict[str, object] = {
        "customer_id": _join("CUST", ids),
        "name": _join(first, " ", last),
        "email": _join(pc.utf8_lower(first), ".", pc.utf8_lower(last), ids, "@", _pick(rng, _DOMAINS, n)),
        "phone": _join("+44 7", _digits(rng, 3, n), " ", _digits(rng, 6, n)),
        "date_of_birth": (REFERENCE_DATE - age_days.astype("timedelta64[D]")).astype("datetime64[ms]"),
        "address": _join(
            pc.cast(pa.array(rng.integers(1, 250, n)), pa.string()),
            " ",
            _pick(rng, _STREETS, n),
            " ",
            _pick(rng, _SUFFIXES, n),
        ),
        "postcode": postcode,
        "city": _pick(rng, _CITIES, n),
        "national_id": _join("9", _digits(rng, 2, n), "-", _digits(rng, 2, n, 1), "-", _digits(rng, 4, n, 1)),
        "consent_marketing": rng.random(n) < 0.62,
    }
    features = draw_features(rng, n)
    logits = fraud_score(features) + _fraud_intercept()
    features[LABEL_COLUMN] = (rng.random(n) < 1.0 / (1.0 + np.exp(-logits))).astype(np.int64)
    columns |= features
    index = pd.RangeIndex(start, start + n)
    return pd.DataFrame(
        {k: pd.Series(v, index=index, dtype="str" if isinstance(v, pa.Array) else None) for k, v in columns.items()},
        index=index,
    )


def iter_customer_blocks(n: int, seed: int = 0) -> Iterator[pd.DataFrame]:
    """The rows of :func:`generate_customers` as consecutive frames of at most :data:`BLOCK_ROWS`."""
    if not isinstance(n, int | np.integer) or isinstance(n, bool) or not 0 < n <= MAX_ROWS:
        raise ValueError(f"number of synthetic customers must be an integer in 1..{MAX_ROWS}, got {n!r}")
    for index, start in enumerate(range(0, int(n), BLOCK_ROWS)):
        block = _block(index, start, BLOCK_ROWS, int(seed))  # always a whole block: a smaller n is a prefix
        yield block if start + BLOCK_ROWS <= n else block.iloc[: int(n) - start]


def generate_customers(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` synthetic customers with personal fields, a consent flag and transaction features."""
    blocks = list(iter_customer_blocks(n, seed))
    return blocks[0] if len(blocks) == 1 else pd.concat(blocks)


def write_customers_parquet(path: str | Path, n: int, seed: int = 0, *, row_group_size: int = BLOCK_ROWS) -> Path:
    """Stream ``generate_customers(n, seed)`` to a Parquet file in row groups of ``row_group_size``."""
    import pyarrow.parquet as pq

    if row_group_size < 1:
        raise ValueError(f"row_group_size must be >= 1, got {row_group_size}")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    writer = None
    pending: list[pa.Table] = []

    def flush(final: bool) -> None:
        nonlocal writer, pending
        table = pa.concat_tables(pending)
        if writer is None:
            writer = pq.ParquetWriter(tmp, table.schema)
        whole = table.num_rows if final else table.num_rows // row_group_size * row_group_size
        if whole:
            writer.write_table(table.slice(0, whole), row_group_size=row_group_size)
        pending = [table.slice(whole)] if whole < table.num_rows else []

    try:
        for block in iter_customer_blocks(n, seed):
            pending.append(pa.Table.from_pandas(block, preserve_index=False))
            if sum(t.num_rows for t in pending) >= row_group_size:
                flush(final=False)
        if pending:
            flush(final=True)
    except BaseException:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
        raise
    writer.close()
    tmp.replace(out)
    return out
