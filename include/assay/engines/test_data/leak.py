"""The leak check a masked sample must pass before it is published. Three checks, each a CheckRecord:

``leak_personal_values``
    No original value of a personal column appears anywhere in the output: every source value of every
    personal column (as its string form, :func:`.masking.as_strings`) is matched exactly against the
    distinct values of every text column of the output (any non-numeric column, as strings); a numeric
    personal value is also matched, as a number, against the output's numeric columns. (A text value is
    not looked for in numeric columns: stringifying millions of measurements to find a name costs more
    than it could find; a personal number kept as text and copied into a numeric column is the one case
    this does not see.) The source is streamed (a DataFrame or an iterator of chunks), the output's
    values are held once: the short ones as one small set, the long ones (>= 48 bytes: pseudonyms,
    digests) as another, looked up only for source values as long. Observed: the number of distinct
    leaked values per (source column, output column) pair, summed (0 passes). Messages name the output
    column and the source column, never a value.

    Also the **unkeyed pseudonym**: a column "pseudonymised" with a plain SHA-256 (or SHA-1 / MD5) of the
    value, without the key, does not contain the value itself, yet anyone can hash a list of e-mails and
    join. So every output column whose values look like hex digests (32, 40 or 64 hex characters) is
    compared with the unkeyed digests of the source's personal values: those of ``digest_source`` (the
    sampled rows before masking, which are the rows the output's pseudonyms were computed from), else of
    the source frame itself; at most ``digest_rows`` rows of it are hashed (a digest made without the key
    shows on every row it was made for, so a probe of thousands of rows finds it; a hit is then counted
    over the whole frame). Those hits count in the same check.

``leak_free_text``
    No free-text column carries an e-mail address, a phone number or a card number (13-19 digits, with
    spaces or dashes, that pass the Luhn checksum). Observed: the number of cells with a pattern.

``k_anonymity``
    Over the quasi-identifiers still in the output (after masking), the smallest group of identical
    combinations has at least ``k`` rows. Observed: the smallest group's size; the summary adds how many
    groups are below ``k``. Missing values form a group of their own. A quasi-identifier the masking
    dropped no longer identifies; when none is left the check passes with the output's row count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from assay.engines.test_data.masking import arrow_strings, as_strings
from assay.status import Status
from assay.store.records import CheckRecord

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LeakReport", "leak_check", "luhn_valid"]

EMAIL = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
PHONE = r"(\+\d{1,3}[ .\-]?)?(\(0?\d{1,4}\)|\d{2,5})[ .\-]?\d{3,4}[ .\-]?\d{3,4}"
CARD = r"\d(?:[ \-]?\d){12,18}"
_CARD_RE = re.compile(r"(?<!\d)\d(?:[ \-]?\d){12,18}(?!\d)")
_DIGEST_LENGTHS = (32, 40, 64)
_DIGESTS = ("sha256", "sha1", "md5")
LONG = 48  # bytes: output values at least this long (pseudonyms, digests) are a set of their own


@dataclass
class LeakReport:
    """The three checks and the figures behind them (JSON-safe ``figures`` for the result's summary)."""

    checks: list[CheckRecord]
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c.status == Status.PASS.value for c in self.checks)

    @property
    def smallest_group(self) -> int | None:
        return self.figures.get("k_anonymity", {}).get("smallest_group")


def luhn_valid(digits: str) -> bool:
    """Whether a digit string passes the Luhn checksum."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _arrow_strings(series: pd.Series) -> Any:
    return arrow_strings(series)


def _is_number(dtype: Any) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))


def _output_values(output: pd.DataFrame) -> tuple[Any, Any, Any, Any, list[str]]:
    """The output's distinct non-missing values, text and numbers apart: text values (every non-numeric
    column as strings) and each one's column index; numbers (float64) and each one's column index."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    names = [str(c) for c in output.columns]
    text, text_owner, nums, num_owner = [], [], [], []
    for i, column in enumerate(output.columns):
        series = output[column]
        if _is_number(series.dtype):
            uniq = np.unique(series.dropna().to_numpy(dtype=np.float64))
            nums.append(uniq)
            num_owner.append(np.full(len(uniq), i, dtype=np.int32))
        else:
            uniq = pc.unique(_arrow_strings(series).drop_null())
            text.append(uniq)
            text_owner.append(np.full(len(uniq), i, dtype=np.int32))
    empty_i = np.zeros(0, np.int32)
    return (
        pa.concat_arrays(text) if text else pa.array([], type=pa.large_string()),
        np.concatenate(text_owner) if text else empty_i,
        np.concatenate(nums) if nums else np.zeros(0),
        np.concatenate(num_owner) if nums else empty_i,
        names,
    )


def _chunks(source: pd.DataFrame | Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        yield source
    else:
        yield from source


def _exact_matches(
    source: pd.DataFrame | Iterable[pd.DataFrame], personal: Sequence[str], output: pd.DataFrame
) -> tuple[dict[tuple[str, str], int], int]:
    """(source column, output column) -> distinct leaked values; and the number of source values compared.

    Every source value is compared as text with the output's text columns; a numeric source value also as a
    number with the output's numeric columns (a number is never compared as text with a numeric column:
    stringifying millions of measurements to find a name among them costs more than it could find)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    text_values, text_owner, num_values, num_owner, names = _output_values(output)
    is_long = pc.greater_equal(pc.binary_length(text_values), LONG)
    long_values = text_values.filter(is_long)
    short_values = text_values.filter(pc.invert(is_long))
    hits: dict[tuple[str, str], set[tuple[str, int]]] = {}
    compared = 0

    def record(column: str, owners: np.ndarray, where: np.ndarray) -> None:
        for j in where:
            hits.setdefault((column, names[owners[j]]), set()).add(("t", int(j)))

    for chunk in _chunks(source):
        present = [c for c in personal if c in chunk.columns]
        if not present:
            continue
        compared += len(chunk) * len(present)
        arrays = {c: _arrow_strings(chunk[c]) for c in present}
        if len(text_values):
            probe = pa.concat_arrays(list(arrays.values()))  # one probe for every personal column of the chunk
            # long output values (pseudonyms, digests: most of the distinct values) are looked up only for the
            # rare source values as long; the rest against the short values, a small set quick to build
            found = pc.is_in(probe, value_set=short_values)
            lengths = pc.binary_length(probe)
            long_probe = pc.fill_null(pc.greater_equal(lengths, LONG), False)
            if len(long_values) and pc.any(long_probe).as_py():
                found = pc.or_(found, pc.and_(long_probe, pc.is_in(probe, value_set=long_values)))
            if pc.any(found).as_py():
                leaked = pc.unique(probe.filter(found))
                where = np.flatnonzero(pc.is_in(text_values, value_set=leaked).to_numpy(zero_copy_only=False))
                candidates = text_values.take(pa.array(where))
                for column, arr in arrays.items():
                    mine = pc.is_in(candidates, value_set=arr.drop_null()).to_numpy(zero_copy_only=False)
                    record(column, text_owner, where[mine])
            del probe, found
        if len(num_values):
            for column in present:
                if _is_number(chunk[column].dtype):
                    values = chunk[column].dropna().to_numpy(dtype=np.float64)
                    mine = np.flatnonzero(np.isin(num_values, values))
                    for j in mine:
                        hits.setdefault((column, names[num_owner[j]]), set()).add(("n", int(j)))
        del arrays
        pa.default_memory_pool().release_unused()  # the chunk's buffers go back to the system, not the pool
    return {k: len(v) for k, v in hits.items()}, compared


def _digest_matches(
    probe: pd.DataFrame | None, personal: Sequence[str], output: pd.DataFrame, digest_rows: int
) -> dict[tuple[str, str, str], int]:
    """(source column, algorithm, output column) -> output values equal to an unkeyed digest of a source value."""
    import hashlib

    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    if probe is None or len(probe) == 0:
        return {}
    digest_like: dict[str, Any] = {}
    for column in output.columns:
        if not (
            pd.api.types.is_string_dtype(output[column].dtype) or pd.api.types.is_object_dtype(output[column].dtype)
        ):
            continue  # a digest is text
        arr = _arrow_strings(output[column]).drop_null()
        head = arr.slice(0, 1000)
        if (
            len(head)
            and pc.all(pc.match_substring_regex(head, r"^([0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$")).as_py()
        ):
            digest_like[str(column)] = pc.utf8_lower(pc.unique(arr))
    if not digest_like:
        return {}
    rows = probe if len(probe) <= digest_rows else probe.iloc[np.linspace(0, len(probe) - 1, digest_rows).astype(int)]

    def digests(frame: pd.DataFrame, column: str, algorithm: str) -> Any:
        values = as_strings(frame[column]).dropna().tolist()
        return pa.array([hashlib.new(algorithm, v.encode()).hexdigest() for v in values], type=pa.large_string())

    found: dict[tuple[str, str, str], int] = {}
    pairs = [(c, alg) for c in personal if c in probe.columns for alg in _DIGESTS]
    if not pairs:
        return found
    hashed = [digests(rows, c, alg) for c, alg in pairs]
    sample = pa.concat_arrays(hashed)
    owner = np.repeat(np.arange(len(pairs)), [len(h) for h in hashed])
    for out_column, values in digest_like.items():
        hit = pc.is_in(sample, value_set=values).to_numpy(zero_copy_only=False)  # one set of the output's values
        for p in sorted(set(owner[hit].tolist())):
            column, algorithm = pairs[p]
            full = digests(probe, column, algorithm)  # count over the whole frame
            found[(column, algorithm, out_column)] = int(pc.sum(pc.is_in(values, value_set=full)).as_py())
    return found


def _free_text(output: pd.DataFrame, columns: Sequence[str]) -> dict[str, dict[str, int]]:
    """Per free-text column, cells with an e-mail, a phone number, a (Luhn-valid) card number."""
    import pyarrow.compute as pc

    found: dict[str, dict[str, int]] = {}
    for column in columns:
        if column not in output.columns:
            continue
        arr = _arrow_strings(output[column])
        counts = {
            "email": int(pc.sum(pc.match_substring_regex(arr, EMAIL)).as_py() or 0),
            "phone": int(pc.sum(pc.match_substring_regex(arr, PHONE)).as_py() or 0),
        }
        candidates = arr.filter(pc.fill_null(pc.match_substring_regex(arr, CARD), False)).to_pylist()
        counts["card"] = sum(
            1
            for text in candidates
            if any(luhn_valid(re.sub(r"[ \-]", "", m.group())) for m in _CARD_RE.finditer(text))
        )
        found[str(column)] = counts
    return found


def _k_anonymity(output: pd.DataFrame, quasi_identifiers: Sequence[str]) -> dict[str, Any]:
    present = [q for q in quasi_identifiers if q in output.columns]
    if not present or len(output) == 0:
        return {"quasi_identifiers": present, "smallest_group": int(len(output)), "groups": 1 if len(output) else 0}
    sizes = output.groupby(present, dropna=False, observed=True, sort=False).size()
    return {"quasi_identifiers": present, "smallest_group": int(sizes.min()), "groups": int(len(sizes)), "sizes": sizes}


def leak_check(
    source_personal: pd.DataFrame | Iterable[pd.DataFrame],
    output: pd.DataFrame,
    *,
    personal_columns: Sequence[str],
    free_text_columns: Sequence[str] = (),
    quasi_identifiers: Sequence[str] = (),
    k: int = 5,
    digest_source: pd.DataFrame | None = None,
    digest_rows: int = 20_000,
) -> LeakReport:
    """Run the three leak checks (module docstring) of ``output`` against ``source_personal`` (a frame or an
    iterator of chunks holding at least the personal columns)."""
    import pandas as pd

    personal = list(dict.fromkeys(personal_columns))
    probe = (
        digest_source
        if digest_source is not None
        else (source_personal if isinstance(source_personal, pd.DataFrame) else None)
    )
    exact, compared = _exact_matches(source_personal, personal, output)
    digest = _digest_matches(probe, personal, output, digest_rows)
    leaked = sum(exact.values()) + sum(digest.values())
    where = [f"{n} value(s) of {src} in output column {out}" for (src, out), n in sorted(exact.items())]
    where += [
        f"{n} unkeyed {alg} digest(s) of {src} in output column {out}" for (src, alg, out), n in sorted(digest.items())
    ]
    personal_check = CheckRecord(
        name="leak_personal_values",
        status=(Status.FAIL if leaked else Status.PASS).value,
        observed=float(leaked),
        threshold=0.0,
        comparator="<=",
        message=(
            f"original personal values found in the output: {'; '.join(where)}"
            if leaked
            else f"no original value of {len(personal)} personal column(s) ({compared} source values) in the output"
        ),
    )

    text = _free_text(output, free_text_columns)
    cells = sum(sum(c.values()) for c in text.values())
    text_where = [
        f"{col}: " + ", ".join(f"{n} {kind}" for kind, n in c.items() if n)
        for col, c in text.items()
        if any(c.values())
    ]
    text_check = CheckRecord(
        name="leak_free_text",
        status=(Status.FAIL if cells else Status.PASS).value,
        observed=float(cells),
        threshold=0.0,
        comparator="<=",
        message=(
            f"personal patterns in free text: {'; '.join(text_where)}"
            if cells
            else f"no e-mail, phone or card pattern in {len(text)} free-text column(s)"
        ),
    )

    kanon = _k_anonymity(output, quasi_identifiers)
    sizes = kanon.pop("sizes", None)
    below = int((sizes < k).sum()) if sizes is not None else (1 if 0 < kanon["smallest_group"] < k else 0)
    kanon["groups_below_k"] = below
    kanon["k"] = int(k)
    smallest = kanon["smallest_group"]
    k_check = CheckRecord(
        name="k_anonymity",
        status=(Status.FAIL if below else Status.PASS).value,
        observed=float(smallest),
        threshold=float(k),
        comparator=">=",
        message=(
            f"smallest group over {', '.join(kanon['quasi_identifiers']) or 'no quasi-identifier'} has {smallest} "
            f"row(s) ({below} of {kanon['groups']} group(s) below k={k})"
        ),
    )
    figures = {
        "personal_values": {
            "compared": compared,
            "leaked": leaked,
            "exact": [{"source_column": s, "output_column": o, "values": n} for (s, o), n in sorted(exact.items())],
            "unkeyed_digests": [
                {"source_column": s, "algorithm": a, "output_column": o, "values": n}
                for (s, a, o), n in sorted(digest.items())
            ],
        },
        "free_text": text,
        "k_anonymity": kanon,
    }
    return LeakReport([personal_check, text_check, k_check], figures)
