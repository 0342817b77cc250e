"""Masking of personal columns, vectorised: one :class:`~.config.MaskingRule` per column.

* ``pseudonymise``: HMAC-SHA-256 of the value's string form with the key, as 64 hex characters. The same
  value gives the same pseudonym in every table masked with the same key, so joins still work. A missing
  or empty key is a :class:`~assay.errors.ConfigError`; there is never a fallback to an unkeyed hash (an
  unkeyed SHA-256 of an e-mail is reversed by hashing a list of e-mails). Each distinct value is hashed once.
* ``fake``: a value of the Faker provider ``rule.faker`` (``name``, ``email``, ``city``...). A pool of fakes
  is made once per column (Faker seeded from ``seed`` and the column name), and each original value picks
  its fake by a seeded hash of the value: the same person gets the same fake within a sample (and between
  samples of the same seed), and no Faker call is made per row. Pool values equal to an original value of
  the column are removed first, so a fake never reproduces a real value of the frame.
* ``generalise``: ``to: month`` / ``year`` / ``decade`` for dates (``"1978-07"`` / ``"1978"`` / ``"1970s"``, strings: a date cut to
  its month start would equal the real birth date of everyone born on the 1st); ``to: prefix`` for codes:
  the first ``keep`` characters, or without ``keep`` the outward part of a postcode (before the space, or
  all but the last three characters); ``to: bucket`` for numbers: ``"[30, 40)"`` buckets of ``width``.
* ``drop``: the column is removed.

Missing values stay missing in every method.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from assay.engines.test_data.config import MaskingRule
from assay.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

__all__ = [
    "METHODS",
    "arrow_strings",
    "as_strings",
    "seeded_hash",
    "mask_frame",
    "needs_key",
    "pseudonymise",
    "validate_masking",
]

METHODS = ("pseudonymise", "fake", "generalise", "drop")
FAKE_POOL = 2000  # fakes made per column; originals map onto them by a seeded hash


def needs_key(rules: Mapping[str, MaskingRule]) -> list[str]:
    """The columns whose rule is ``pseudonymise`` (they need the HMAC key)."""
    return [c for c, r in rules.items() if r.method == "pseudonymise"]


def validate_masking(
    personal_columns: Iterable[str], rules: Mapping[str, MaskingRule], source_columns: Iterable[str] | None = None
) -> None:
    """Every personal column has a rule, every rule's column exists in the source (when ``source_columns`` is
    given) and every rule is complete; a ConfigError names the columns otherwise."""
    personal = list(dict.fromkeys(personal_columns))
    problems: list[str] = []
    if source_columns is not None:
        present = set(source_columns)
        personal = [c for c in personal if c in present]  # tagged but absent from this source: nothing to mask
        absent = [c for c in rules if c not in present]
        if absent:
            problems.append(f"masking rule(s) for column(s) not in the source: {', '.join(absent)}")
    uncovered = [c for c in personal if c not in rules]
    if uncovered:
        problems.append(f"personal column(s) without a masking rule: {', '.join(uncovered)}")
    for column, rule in rules.items():
        if rule.method == "fake" and not rule.faker:
            problems.append(f"masking rule of {column!r}: method fake needs 'faker' (a Faker provider, e.g. name)")
        if rule.method == "generalise":
            to = rule.to or ""
            if to not in ("month", "year", "decade", "prefix", "bucket"):
                problems.append(
                    f"masking rule of {column!r}: generalise needs 'to' (month, year, decade, prefix or bucket)"
                )
            if to == "bucket" and not (rule.width and rule.width > 0):
                problems.append(f"masking rule of {column!r}: generalise to bucket needs a positive 'width'")
            if to == "prefix" and rule.keep is not None and rule.keep < 1:
                problems.append(f"masking rule of {column!r}: 'keep' must be at least 1")
    if problems:
        raise ConfigError("test data masking: " + "; ".join(problems))


def as_strings(series: pd.Series) -> pd.Series:
    """The canonical string form of a column's values (what pseudonyms hash and the leak check compares):
    strings as they are, dates as ISO ``YYYY-MM-DD`` (with the time when there is one), numbers as pandas
    prints them; missing stays missing."""
    import pandas as pd

    if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(series.dtype):
        return series
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return pd.Series(arrow_strings(series), index=series.index, dtype="str")
    return series.astype("str").where(series.notna())


def pseudonymise(series: pd.Series, key: bytes) -> pd.Series:
    """HMAC-SHA-256 (hex) of each value's string form with ``key``; each distinct value is hashed once."""
    import numpy as np
    import pandas as pd

    if not key:
        raise ConfigError("pseudonymisation needs the HMAC key (never an unkeyed hash): no key was given")
    codes, uniques = pd.factorize(as_strings(series), use_na_sentinel=True)
    hashed = np.array([*_hmac_hex(key, uniques.to_numpy(dtype=object).tolist()), None], dtype=object)
    return pd.Series(hashed[codes], index=series.index, dtype="str")  # code -1 (missing) takes the last: None


def _hmac_hex(key: bytes, values: list[str]) -> list[str]:
    """HMAC-SHA-256 hex of each value (RFC 2104 with the pads hashed once: the same digests as ``hmac``)."""
    block = 64
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key.ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    out = []
    for value in values:
        i = inner.copy()
        i.update(str(value).encode())
        o = outer.copy()
        o.update(i.digest())
        out.append(o.hexdigest())
    return out


def seeded_hash(series: pd.Series, seed: int) -> np.ndarray:
    """A seeded 64-bit hash of each value's string form, vectorised over the Arrow buffers (a polynomial hash
    of the UTF-8 bytes, one vector step per byte position, then a splitmix64 finaliser with the seed and
    the length). Not a secret: it only spreads values. Depends on the value alone (not on its chunk)."""
    import numpy as np
    import pyarrow.compute as pc

    arr = pc.fill_null(arrow_strings(series), "")
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
    data_buf = arr.buffers()[2]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(1, np.uint8)
    starts = offsets[:-1]
    lengths = np.diff(offsets)
    h = np.zeros(n, dtype=np.uint64)
    prime = np.uint64(1099511628211)
    top = int(lengths.max()) if n else 0
    last = max(len(data) - 1, 0)
    uniform = n > 0 and top > 0 and bool((lengths == top).all())
    with np.errstate(over="ignore"):
        if uniform:  # every value has the same byte length (ids, codes): a strided view, no gathers
            rows = data[int(starts[0]) : int(starts[0]) + n * top].reshape(n, top)
            for j in range(top):
                h = h * prime + rows[:, j]
            top = 0
        for j in range(top):
            byte = data[np.minimum(starts + j, last)].astype(np.uint64)
            if not (lengths > j).all():
                byte[lengths <= j] = 0
            h = h * prime + byte
        h ^= np.uint64((seed * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF) ^ lengths.astype(np.uint64)
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    return h


def arrow_strings(series: pd.Series) -> pa.LargeStringArray:
    """:func:`as_strings` as one Arrow large-string array, converted in Arrow (dates with ``strftime``, numbers
    with a cast) rather than row by row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(series, from_pandas=True) if not isinstance(series, pa.Array | pa.ChunkedArray) else series
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    t = arr.type
    if pa.types.is_timestamp(t):
        days = pc.cast(arr, pa.date32())
        has_time = pc.any(pc.not_equal(days.cast(t), arr)).as_py()
        arr = pc.strftime(arr, "%Y-%m-%d %H:%M:%S") if has_time else pc.cast(days, pa.large_string())
    elif pa.types.is_date(t):
        arr = pc.cast(pc.cast(arr, pa.date32()), pa.large_string())
    elif pa.types.is_dictionary(t):
        arr = arr.dictionary_decode()
    if arr.type != pa.large_string():
        try:
            arr = pc.cast(arr, pa.large_string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            arr = pa.array(as_strings(series), type=pa.large_string())
    return arr


def _fake(series: pd.Series, column: str, rule: MaskingRule, seed: int, locale: str) -> pd.Series:
    import numpy as np
    import pandas as pd
    from faker import Faker

    strings = as_strings(series)
    faker = Faker(locale)
    faker.seed_instance(seed * 1_000_003 + zlib.crc32(column.encode()))
    provider = getattr(faker, str(rule.faker), None)
    if provider is None or not callable(provider):
        raise ConfigError(f"masking rule of {column!r}: Faker has no provider {rule.faker!r}")
    import pyarrow as pa
    import pyarrow.compute as pc

    raw = [provider() for _ in range(FAKE_POOL)]
    pool = pa.array([v if isinstance(v, str) else str(v) for v in raw], type=pa.large_string()).unique()
    taken = pc.unique(
        pa.array(strings, type=pa.large_string()).filter(
            pc.is_in(pa.array(strings, type=pa.large_string()), value_set=pool)
        )
    )
    pool = pool.filter(pc.invert(pc.is_in(pool, value_set=taken))).to_numpy(zero_copy_only=False)
    if len(pool) == 0:
        raise ConfigError(f"masking rule of {column!r}: every fake of {rule.faker!r} equals an original value")
    salt = seed * 1_000_003 + zlib.crc32(column.encode())
    picked = pool[(seeded_hash(strings, salt) % np.uint64(len(pool))).astype(np.int64)]
    return pd.Series(picked, index=series.index, dtype="str").where(strings.notna())


def _generalise(series: pd.Series, column: str, rule: MaskingRule) -> pd.Series:
    import numpy as np
    import pandas as pd

    to = rule.to
    if to in ("month", "year", "decade"):
        dates = pd.to_datetime(series, errors="coerce")
        if dates.notna().sum() < series.notna().sum():
            raise ConfigError(f"masking rule of {column!r}: generalise to {to} needs dates, found other values")
        if to == "decade":
            decades = (dates.dt.year // 10 * 10).astype("Int64").astype("str") + "s"
            return decades.where(dates.notna()).astype("str")
        return dates.dt.strftime("%Y-%m" if to == "month" else "%Y").astype("str")
    if to == "prefix":
        import pyarrow as pa
        import pyarrow.compute as pc

        s = as_strings(series)
        arr = pa.array(s, type=pa.large_string())
        if rule.keep:
            cut = pc.utf8_slice_codeunits(arr, 0, rule.keep)
        else:
            compact = pc.utf8_upper(pc.utf8_trim_whitespace(arr))
            cut = pc.if_else(
                pc.match_substring(compact, " "),
                pc.replace_substring_regex(compact, r" .*$", ""),
                pc.utf8_slice_codeunits(compact, 0, -3),
            )
        return pd.Series(cut.to_pandas(), index=series.index, dtype="str")
    if to == "bucket":
        width = float(rule.width or 0)
        numbers = pd.to_numeric(series, errors="coerce")
        low = np.floor(numbers.to_numpy(dtype=float) / width) * width
        fmt = (lambda x: f"{x:g}") if not width.is_integer() else (lambda x: f"{int(x)}")
        uniq = pd.unique(low[~np.isnan(low)])
        labels = {lo: f"[{fmt(lo)}, {fmt(lo + width)})" for lo in uniq}
        out = pd.Series(low, index=series.index).map(labels)
        return out.astype("str").where(numbers.notna())
    raise ConfigError(f"masking rule of {column!r}: generalise needs 'to' (month, year, decade, prefix or bucket)")


def mask_frame(
    df: pd.DataFrame,
    rules: Mapping[str, MaskingRule],
    *,
    key: bytes | None,
    seed: int,
    locale: str = "en_GB",
) -> pd.DataFrame:
    """``df`` with every ruled column masked (dropped columns removed); other columns as they are.

    A rule for a column ``df`` lacks is a ConfigError; a ``pseudonymise`` rule without ``key`` is a
    ConfigError (nothing is hashed unkeyed)."""
    missing = [c for c in rules if c not in df.columns]
    if missing:
        raise ConfigError(f"test data masking: rule(s) for column(s) not in the data: {', '.join(missing)}")
    keyed = needs_key(rules)
    if keyed and not key:
        raise ConfigError(
            f"test data masking: column(s) {', '.join(keyed)} are pseudonymised and need the HMAC key; none was "
            "given (there is no unkeyed fallback)"
        )
    out = df.copy(deep=False)
    for column, rule in rules.items():
        if rule.method == "drop":
            continue
        if rule.method == "pseudonymise":
            out[column] = pseudonymise(df[column], key or b"")
        elif rule.method == "fake":
            out[column] = _fake(df[column], column, rule, seed, locale)
        elif rule.method == "generalise":
            out[column] = _generalise(df[column], column, rule)
        else:  # pragma: no cover - the model allows only the four methods
            raise ConfigError(f"masking rule of {column!r}: unknown method {rule.method!r}")
    dropped = [c for c, r in rules.items() if r.method == "drop"]
    return out.drop(columns=dropped)


def unkeyed_digests(value: str) -> dict[str, str]:
    """The unkeyed hex digests a careless pseudonymisation would produce (what the leak check looks for)."""
    data = value.encode()
    return {name: hashlib.new(name, data).hexdigest() for name in ("sha256", "sha1", "md5")}
