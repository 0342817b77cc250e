"""The weekly synthetic refresh: a seeded generator of realistic rows, written as a snapshot.

Each column of ``test_data.datasets.<name>.synthetic.columns`` is made one way (:class:`SyntheticColumn`):

* ``faker``: a pool of :attr:`SyntheticConfig.pool_size` values from the Faker provider (seeded, the
  config's locale), sampled per row with numpy (Faker is far too slow row by row); ``unique`` adds the row
  number to each value (``-<row>``, or ``.<row>`` before the ``@`` of an e-mail);
* ``learn``: the reference data's own distributions and correlations, through a Gaussian copula. Each learnt
  column keeps its empirical marginal (a quantile function: interpolated for a continuous column, a step
  function over the observed values for an integer, date or categorical one), its missing share and dtype;
  a latent normal correlation across all learnt columns (categoricals through their category order) ties
  them together. That latent correlation is calibrated so the output has the reference's rank (Spearman)
  correlations: a discrete marginal (a 5% flag) weakens a latent correlation, so it is divided by each
  column's attenuation and corrected by simulation. The reference is read with
  :class:`assay.sources.DataSource`; a continuous column's synthetic values stay within its observed range;
* ``distribution`` + ``params``: a scipy.stats distribution (``lognorm``, ``poisson``...) or a numpy
  Generator method (``normal``, ``exponential``...); ``values`` + ``weights``: a categorical;
* ``format``: a formatted id per row (``CUST{row:08d}``), unique by construction.

Every column draws from its own random stream (the seed and the column's name), so adding a column changes
no other one, and the same config and reference give the same Parquet bytes.

Checks: the learnt columns' fidelity to the reference (KS statistic per numeric column, largest category
share difference per categorical one, largest rank-correlation difference over all pairs; each against its
configured tolerance, or the sampling-noise floor of the compared rows when that is larger) and, when
``quality_suite`` is set, the dataset's own Great Expectations suite. The snapshot is written into a staging
directory and published (:mod:`.snapshots`) only when every check passed: a failing check publishes
nothing.
"""

from __future__ import annotations

import re
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from assay.engines.test_data.config import SyntheticColumn, SyntheticConfig
from assay.engines.test_data.snapshots import DATA_FILE, discard, publish, staging_dir
from assay.errors import ConfigError
from assay.results import Result
from assay.sources import DataSource, DataSourceError
from assay.status import Status, worst
from assay.store.records import CheckRecord, MetricRecord

__all__ = [
    "CopulaModel",
    "KIND",
    "STEP",
    "fidelity",
    "fit_copula",
    "generate",
    "run_synthetic",
]

KIND = "test_data"
STEP = "synthetic"
#: reference rows used to estimate the copula's correlation
FIT_ROWS = 200_000
#: rows of each side compared for fidelity (a seeded sample of a larger side)
FIDELITY_ROWS = 100_000
#: quantile knots kept per continuous learnt column (min and max included)
KNOTS = 10_001
#: rows simulated, and fixed-point steps, to calibrate the copula's latent correlation
CALIBRATION_ROWS = 100_000
CALIBRATION_STEPS = 3
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SIMPLE_FORMAT = re.compile(r"^([^{}]*)\{row(?::(0?)(\d*)d)?\}([^{}]*)$")


# -- random streams -------------------------------------------------------------------------------------------


def _rng(seed: int, name: str) -> np.random.Generator:
    """The column's own stream: the same (seed, name) always draws the same values."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(zlib.crc32(name.encode("utf-8")),)))


# -- the learnt model -------------------------------------------------------------------------------------------


@dataclass
class LearntColumn:
    """One learnt column's marginal: quantile knots (continuous), or values with cumulative shares (discrete)."""

    name: str
    kind: str  # "continuous" | "discrete" | "categorical"
    dtype: str
    missing: float
    probs: np.ndarray  # continuous: knot probabilities; discrete/categorical: cumulative shares
    values: Any  # continuous: knot values; discrete: sorted distinct values; categorical: categories (sorted)

    def spec(self) -> dict[str, Any]:
        n = len(self.values)
        return {"kind": self.kind, "dtype": self.dtype, "missing": round(self.missing, 6), "support": int(n)}

    def sample(self, u: np.ndarray) -> np.ndarray:
        """Values at uniform scores ``u`` (the quantile function)."""
        if self.kind == "continuous":  # knots at evenly spaced probabilities: index arithmetic, no search
            k = len(self.values)
            if k == 1:
                return np.full(len(u), float(self.values[0]))
            pos = np.clip(u, 0.0, 1.0) * (k - 1)
            i = np.minimum(pos.astype(np.int64), k - 2)
            lo = self.values[i]
            return lo + (pos - i) * (self.values[i + 1] - lo)
        index = np.minimum(np.searchsorted(self.probs, u, side="right"), len(self.probs) - 1)
        return index if self.kind == "categorical" else self.values[index]


@dataclass
class CopulaModel:
    """A Gaussian copula over the learnt columns: their marginals and the correlation of their normal scores."""

    columns: list[LearntColumn]
    correlation: np.ndarray
    reference_rows: int
    fit_rows: int
    reference_name: str = ""

    def spec(self) -> dict[str, Any]:
        names = [c.name for c in self.columns]
        return {
            "method": "gaussian_copula",
            "reference": self.reference_name,
            "reference_rows": self.reference_rows,
            "fit_rows": self.fit_rows,
            "columns": {c.name: c.spec() for c in self.columns},
            "correlation": {
                a: dict(zip(names, np.round(row, 4).tolist(), strict=True))
                for a, row in zip(names, self.correlation, strict=True)
            },
        }


def _is_numeric(s: pd.Series) -> bool:
    return (
        pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)
    ) or pd.api.types.is_datetime64_any_dtype(s.dtype)


def _numeric_values(s: pd.Series) -> np.ndarray:
    """Non-null values as float64 (a datetime as its int64 ticks)."""
    s = s.dropna()
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        if getattr(s.dtype, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        return s.to_numpy().view("int64").astype(np.float64)
    return s.to_numpy(dtype=np.float64)


def _learn_column(name: str, s: pd.Series) -> LearntColumn:
    missing = float(s.isna().mean()) if len(s) else 0.0
    dtype = str(s.dtype)
    present = s.dropna()
    if present.empty:
        raise ConfigError(f"learnt column {name!r}: the reference has no values in it (all {len(s)} rows are null)")
    if _is_numeric(s):
        x = np.sort(_numeric_values(present))
        integral = pd.api.types.is_integer_dtype(s.dtype) or pd.api.types.is_datetime64_any_dtype(s.dtype)
        integral = integral or bool(np.all(np.mod(x, 1.0) == 0.0))
        distinct, counts = np.unique(x, return_counts=True)
        if integral and len(distinct) <= KNOTS:
            return LearntColumn(name, "discrete", dtype, missing, np.cumsum(counts) / len(x), distinct)
        k = min(len(x), KNOTS)
        probs = np.linspace(0.0, 1.0, k)
        knots = np.quantile(x, probs) if k < len(x) else x
        return LearntColumn(name, "continuous", dtype, missing, probs, knots)
    counts = present.value_counts(sort=False)
    try:
        counts = counts.sort_index()
    except TypeError:  # mixed types: order by their text
        counts = counts.iloc[np.argsort([str(v) for v in counts.index], kind="stable")]
    return LearntColumn(
        name, "categorical", dtype, missing, np.cumsum(counts.to_numpy()) / counts.sum(), list(counts.index)
    )


def _codes(col: LearntColumn, s: pd.Series) -> np.ndarray:
    """Each value as a float in the column's order (NaN for null): the copula's view of a column."""
    if col.kind != "categorical":
        out = np.full(len(s), np.nan)
        mask = s.notna().to_numpy()
        out[mask] = _numeric_values(s)
        return out
    codes = pd.Categorical(s, categories=col.values).codes.astype(np.float64)
    codes[codes < 0] = np.nan
    return codes


def _nearest_correlation(c: np.ndarray) -> np.ndarray:
    """A valid correlation matrix close to ``c`` (pairwise estimates need not be positive definite)."""
    c = np.nan_to_num((c + c.T) / 2.0, nan=0.0)
    np.fill_diagonal(c, 1.0)
    w, v = np.linalg.eigh(c)
    if w.min() > 1e-8:
        return c
    c = (v * np.maximum(w, 1e-8)) @ v.T
    d = np.sqrt(np.diag(c))
    return c / np.outer(d, d)


def fit_copula(reference: pd.DataFrame, columns: list[str], seed: int = 0, reference_name: str = "") -> CopulaModel:
    """Learn ``columns`` of ``reference``: each one's marginal and the normal-score correlation of all."""
    missing = [c for c in columns if c not in reference.columns]
    if missing:
        raise ConfigError(
            f"learnt column(s) {missing} are not in the reference data {reference_name or ''} "
            f"(it has {list(map(str, reference.columns))[:20]})"
        )
    if reference.empty:
        raise DataSourceError(f"the reference data {reference_name} has no rows: nothing to learn from")
    learnt = [_learn_column(c, reference[c]) for c in columns]
    rng = _rng(seed, "\0copula-fit")
    fit = reference
    if len(reference) > FIT_ROWS:
        fit = reference.iloc[np.sort(rng.choice(len(reference), FIT_ROWS, replace=False))]
    corr = np.ones((1, 1))
    if len(learnt) > 1:
        target = _rank_corr(np.column_stack([_codes(col, fit[col.name]) for col in learnt]))
        corr = _calibrate(learnt, target, rng)
    return CopulaModel(learnt, corr, len(reference), len(fit), reference_name)


def _calibrate(learnt: list[LearntColumn], target: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The latent normal correlation whose output has the reference's rank correlations.

    A discrete or categorical marginal weakens a latent correlation (a 5% binary column keeps a fraction of
    it), so the latent one is the target divided by each column's attenuation (the correlation of a normal
    score with the rank of its sampled value), then corrected by simulation (common random numbers, a few
    fixed-point steps)."""
    from scipy.special import ndtr

    k = len(learnt)
    target = np.nan_to_num(target, nan=0.0)
    np.fill_diagonal(target, 1.0)
    base = rng.standard_normal((k, CALIBRATION_ROWS))
    atten = np.ones(k)
    for j, col in enumerate(learnt):
        ranks = pd.Series(col.sample(ndtr(base[j]))).rank().to_numpy()
        a = np.corrcoef(base[j], ranks)[0, 1] if np.ptp(ranks) > 0 else np.nan
        if not np.isfinite(a) or a < 1e-3:  # a constant column: correlated with nothing
            target[j, :] = target[:, j] = 0.0
            target[j, j] = 1.0
            a = 1.0
        atten[j] = a
    scale = np.outer(atten, atten)
    rho = _nearest_correlation(np.clip(target / scale, -0.999, 0.999))
    for _ in range(CALIBRATION_STEPS):
        z = np.linalg.cholesky(rho) @ base
        got = _rank_corr(np.column_stack([col.sample(ndtr(z[j])) for j, col in enumerate(learnt)]))
        rho = _nearest_correlation(np.clip(rho + (target - np.nan_to_num(got, nan=0.0)) / scale, -0.999, 0.999))
    return rho


def _restore(col: LearntColumn, raw: Any, n: int, rng: np.random.Generator) -> pd.Series:
    """Sampled values back in the reference's dtype, with its missing share."""
    mask = rng.random(n) < col.missing if col.missing > 0 else None
    if col.kind == "categorical":
        cats = col.values
        if all(isinstance(v, bool | np.bool_) for v in cats):
            s = pd.Series(np.asarray(cats, dtype=bool)[raw])
            if mask is not None or col.dtype == "boolean":
                s = s.astype("boolean")
            if mask is not None:
                s[mask] = pd.NA
            return s
        if all(isinstance(v, str) for v in cats):
            taken = pc.take(pa.array(cats, type=pa.string()), pa.array(raw))
            if mask is not None:
                taken = pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), taken)
            text = pd.Series(taken, dtype="str")
            return text.astype(object) if col.dtype == "object" else text
        arr = np.empty(len(cats), dtype=object)
        arr[:] = cats
        s = pd.Series(arr[raw], dtype=object)
        if mask is not None:
            s[mask] = None
        return s.astype(col.dtype) if col.dtype not in ("object", "str") else s
    values = np.asarray(raw, dtype=np.float64)
    dtype = pd.api.types.pandas_dtype(col.dtype)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        unit = getattr(dtype, "unit", None) or np.datetime_data(dtype)[0]
        s = pd.Series(np.round(values).astype(np.int64).view(f"datetime64[{unit}]"))
        if getattr(dtype, "tz", None) is not None:
            s = s.dt.tz_localize("UTC").dt.tz_convert(dtype.tz)
        if mask is not None:
            s[mask] = pd.NaT
        return s
    if pd.api.types.is_integer_dtype(dtype):
        ints = np.round(values).astype(np.int64)
        if mask is None:
            return pd.Series(ints, dtype=dtype if isinstance(dtype, np.dtype) else dtype)
        s = pd.Series(ints).astype("Int64" if isinstance(dtype, np.dtype) else dtype)
        s[mask] = pd.NA
        return s
    if mask is not None:
        values = values.copy()
        values[mask] = np.nan
    return pd.Series(values).astype(dtype)


def sample_copula(model: CopulaModel, n: int, seed: int) -> dict[str, pd.Series]:
    """``n`` rows of the learnt columns."""
    from scipy.special import ndtr

    rng = _rng(seed, "\0copula-sample")
    k = len(model.columns)
    chol = np.linalg.cholesky(model.correlation)
    u = ndtr(chol @ rng.standard_normal((k, n)))  # one contiguous row of scores per column
    out = {}
    for j, col in enumerate(model.columns):
        out[col.name] = _restore(col, col.sample(u[j]), n, _rng(seed, f"\0missing:{col.name}"))
    return out


# -- faker, declared and formatted columns ------------------------------------------------------------------


def _faker_args(args: dict[str, Any]) -> dict[str, Any]:
    """Config args for a Faker provider: an ISO date string is a date (fixed dates keep output reproducible)."""
    return {k: date.fromisoformat(v) if isinstance(v, str) and _ISO_DATE.match(v) else v for k, v in args.items()}


def _faker_pool(name: str, col: SyntheticColumn, cfg: SyntheticConfig, size: int) -> pa.Array:
    from faker import Faker

    fake = Faker(cfg.locale)
    fake.seed_instance(int(_rng(cfg.seed, f"\0faker:{name}").integers(0, 2**63 - 1)))
    provider = getattr(fake, str(col.faker), None)
    if provider is None or not callable(provider):
        raise ConfigError(f"synthetic column {name!r}: Faker has no provider {col.faker!r} (locale {cfg.locale})")
    args = _faker_args(col.args)
    try:
        pool = [provider(**args) for _ in range(size)]
    except (TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"synthetic column {name!r}: faker {col.faker}({col.args}) failed: {exc}") from exc
    arr = pa.array(pool)
    if pa.types.is_date(arr.type):
        arr = pc.cast(pc.cast(arr, pa.date64()), pa.timestamp("ms"))
    return arr


def _with_row_suffix(name: str, pool: pa.Array, index: pa.Array | None) -> pa.Array:
    """``unique``: the values ``pool.take(index)`` (``pool`` itself when ``index`` is None) with the row number
    added (``-<row>``; ``.<row>`` before the ``@`` when every value is an e-mail). Unique whatever the pool
    holds: the separator never occurs in a row number, so the row can be read back from the last separator.
    An e-mail pool is split once, not per row."""
    if not pa.types.is_string(pool.type) and not pa.types.is_large_string(pool.type):
        raise ConfigError(f"synthetic column {name!r}: unique needs a text provider, {pool.type} values are not")
    n = len(pool) if index is None else len(index)
    suffix = pc.cast(pa.array(np.arange(n)), pa.string())

    def take(values: pa.Array) -> pa.Array:
        return values if index is None else pc.take(values, index)

    if len(pool) and pc.all(pc.greater_equal(pc.find_substring(pool, "@"), 0)).as_py():
        parts = pc.split_pattern(pool, "@", max_splits=1)
        local, domain = pc.list_element(parts, 0), pc.list_element(parts, 1)
        return pc.binary_join_element_wise(take(local), ".", suffix, "@", take(domain), "")
    return pc.binary_join_element_wise(take(pool), "-", suffix, "")


_PATTERN_PROVIDERS = {"numerify": "#%", "lexify": "?", "bothify": "#%?"}
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)


def _pattern_column(name: str, col: SyntheticColumn, seed: int, n: int) -> pa.Array | None:
    """Faker's ``numerify`` / ``lexify`` / ``bothify`` drawn per row with numpy (``#`` a digit, ``%`` 1-9, ``?``
    a letter of ``letters``): every row its own value, as fast as a pool. None for a pattern Faker must do
    itself (``!`` / ``@`` optional digits, non-ASCII text)."""
    args = dict(col.args)
    text = str(args.pop("text", {"numerify": "###", "lexify": "????", "bothify": "## ??"}[str(col.faker)]))
    letters = str(args.pop("letters", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    if args or not text or not text.isascii() or not letters.isascii() or not letters or "!" in text:
        return None
    if col.faker != "lexify" and "@" in text:
        return None
    special = _PATTERN_PROVIDERS[str(col.faker)]
    rng = _rng(seed, name)
    alphabet = np.frombuffer(letters.encode("ascii"), dtype=np.uint8)
    out = np.empty((n, len(text)), dtype=np.uint8)
    for i, ch in enumerate(text):
        if ch == "#" and "#" in special:
            out[:, i] = _DIGITS[rng.integers(0, 10, n)]
        elif ch == "%" and "%" in special:
            out[:, i] = _DIGITS[rng.integers(1, 10, n)]
        elif ch == "?" and "?" in special:
            out[:, i] = alphabet[rng.integers(0, len(alphabet), n)]
        else:
            out[:, i] = ord(ch)
    return pc.cast(pa.array(out.view(f"S{len(text)}").ravel(), type=pa.binary()), pa.string())


def _date_column(name: str, col: SyntheticColumn, seed: int, n: int) -> pa.Array | None:
    """Faker's ``date_between`` with two fixed dates (uniform over the days, both included) drawn per row with
    numpy; None for relative dates (``-30y``: Faker's, from today)."""
    args = _faker_args(col.args)
    start, end = args.get("start_date"), args.get("end_date")
    if set(args) - {"start_date", "end_date"} or not isinstance(start, date) or not isinstance(end, date):
        return None
    first, last = np.datetime64(start, "D").astype(np.int64), np.datetime64(end, "D").astype(np.int64)
    if last < first:
        raise ConfigError(f"synthetic column {name!r}: date_between end_date {end} is before start_date {start}")
    days = _rng(seed, name).integers(first, last + 1, n)
    return pa.array((days * 86_400_000).astype("datetime64[ms]"))


def _faker_column(name: str, col: SyntheticColumn, cfg: SyntheticConfig, n: int) -> pa.Array:
    if col.faker == "date_between" and not col.unique:
        drawn = _date_column(name, col, cfg.seed, n)
        if drawn is not None:
            return drawn
    if col.faker in _PATTERN_PROVIDERS:
        drawn = _pattern_column(name, col, cfg.seed, n)
        if drawn is not None:
            return _with_row_suffix(name, drawn, None) if col.unique else drawn
    pool = _faker_pool(name, col, cfg, min(cfg.pool_size, n))
    index = pa.array(_rng(cfg.seed, name).integers(0, len(pool), n))
    return _with_row_suffix(name, pool, index) if col.unique else pc.take(pool, index)


def _format_column(name: str, col: SyntheticColumn, n: int) -> pa.Array:
    start = int(col.params.get("start", 0))
    rows = np.arange(start, start + n, dtype=np.int64)
    m = _SIMPLE_FORMAT.match(str(col.format))
    if m:
        prefix, zero, width, suffix = m.groups()
        text = pc.cast(pa.array(rows), pa.string())
        if width:
            text = pc.utf8_lpad(text, int(width), "0" if zero else " ")
        return pc.binary_join_element_wise(prefix, text, suffix, "")
    try:
        return pa.array([str(col.format).format(row=int(r)) for r in rows], type=pa.string())
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(f"synthetic column {name!r}: bad format {col.format!r} (use {{row}}): {exc}") from exc


def _distribution_column(name: str, col: SyntheticColumn, seed: int, n: int) -> np.ndarray:
    import scipy.stats as st

    rng = _rng(seed, name)
    dist = getattr(st, str(col.distribution), None)
    try:
        if isinstance(dist, st.rv_continuous | st.rv_discrete):
            return np.asarray(dist(**col.params).rvs(size=n, random_state=rng))
        method = getattr(rng, str(col.distribution), None)
        if method is None or str(col.distribution).startswith("_"):
            raise ConfigError(
                f"synthetic column {name!r}: unknown distribution {col.distribution!r}: name a scipy.stats "
                "distribution (norm, lognorm, poisson...) or a numpy Generator method (normal, exponential...)"
            )
        return np.asarray(method(**col.params, size=n))
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"synthetic column {name!r}: {col.distribution}({col.params}) failed: {exc}") from exc


def _values_column(name: str, col: SyntheticColumn, seed: int, n: int) -> Any:
    rng = _rng(seed, name)
    values = list(col.values or [])
    p = None
    if col.weights is not None:
        w = np.asarray(col.weights, dtype=np.float64)
        p = w / w.sum()
    idx = rng.choice(len(values), size=n, p=p)
    if all(isinstance(v, str) for v in values):
        return pc.take(pa.array(values, type=pa.string()), pa.array(idx))
    if all(isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=bool)[idx]
    return pa.array(values).take(pa.array(idx)).to_numpy(zero_copy_only=False)


def _as_series(name: str, col: SyntheticColumn, data: Any, seed: int, n: int) -> pd.Series:
    if isinstance(data, pa.Array | pa.ChunkedArray):
        if pa.types.is_string(data.type) or pa.types.is_large_string(data.type):
            s = pd.Series(data, dtype="str")
        else:
            s = pd.Series(data.to_numpy(zero_copy_only=False))
    else:
        s = pd.Series(data)
    if col.missing:
        mask = _rng(seed, f"\0missing:{name}").random(n) < col.missing
        if pd.api.types.is_integer_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
            s = s.astype("Int64" if pd.api.types.is_integer_dtype(s.dtype) else "boolean")
        s = s.mask(mask)
    if col.dtype:
        try:
            s = s.astype(col.dtype)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"synthetic column {name!r}: cannot make it {col.dtype}: {exc}") from exc
    return s


def _check_config(cfg: SyntheticConfig, *, reference: bool = True) -> list[str]:
    """The learnt columns; a ConfigError for what cannot work before anything is read or drawn."""
    if not cfg.columns:
        raise ConfigError("synthetic: no columns configured (synthetic.columns)")
    learnt = [name for name, col in cfg.columns.items() if col.learn]
    if learnt and reference and cfg.reference is None:
        raise ConfigError(
            f"synthetic column(s) {learnt} have learn: true but synthetic.reference is not set: give the reference "
            "data to learn from (an assay.sources spec), or declare them (distribution / values)"
        )
    return learnt


def read_reference(cfg: SyntheticConfig, columns: list[str]) -> tuple[pd.DataFrame, str]:
    """The learnt columns of the reference data (DataSourceError when it cannot be read)."""
    source = DataSource.from_dict(cfg.reference)
    frame = source.read(columns=columns)
    return frame, source.data_name


def generate(
    cfg: SyntheticConfig, reference: pd.DataFrame | None = None, *, reference_name: str = ""
) -> tuple[pd.DataFrame, CopulaModel | None]:
    """The synthetic frame of ``cfg`` (columns in config order) and the learnt model (None without learnt
    columns). ``reference``: the data learnt columns come from (required when there are any)."""
    learnt = _check_config(cfg, reference=False)
    n = int(cfg.rows)
    model = None
    columns: dict[str, pd.Series] = {}
    if learnt:
        if reference is None:
            raise ConfigError(f"synthetic column(s) {learnt} have learn: true but no reference data was given")
        model = fit_copula(reference, learnt, cfg.seed, reference_name)
        columns |= sample_copula(model, n, cfg.seed)
    for name, col in cfg.columns.items():
        source = col.source
        if source == "learn":
            continue
        if source == "faker":
            data: Any = _faker_column(name, col, cfg, n)
        elif source == "format":
            data = _format_column(name, col, n)
        elif source == "distribution":
            data = _distribution_column(name, col, cfg.seed, n)
        else:
            data = _values_column(name, col, cfg.seed, n)
        columns[name] = _as_series(name, col, data, cfg.seed, n)
    frame = pd.DataFrame({name: columns[name] for name in cfg.columns})
    return frame, model


# -- fidelity ---------------------------------------------------------------------------------------------------


def _sample_rows(frame: pd.DataFrame, rows: int, seed: int, tag: str) -> pd.DataFrame:
    if len(frame) <= rows:
        return frame
    idx = np.sort(_rng(seed, tag).choice(len(frame), rows, replace=False))
    return frame.iloc[idx]


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """The two-sample Kolmogorov-Smirnov statistic (scipy's ``ks_2samp(a, b).statistic``), without importing
    scipy.stats (a second of import on a cold worker)."""
    if not len(a) or not len(b):
        return float("nan")
    a, b = np.sort(a), np.sort(b)
    points = np.concatenate([a, b])
    fa = np.searchsorted(a, points, side="right") / len(a)
    fb = np.searchsorted(b, points, side="right") / len(b)
    return float(np.max(np.abs(fa - fb)))


def _rank_corr(codes: np.ndarray) -> np.ndarray:
    """Spearman correlation of the columns (average ranks; pairwise complete where values are missing)."""
    if np.isnan(codes).any():
        return pd.DataFrame(codes).corr(method="spearman", min_periods=2).to_numpy()
    ranks = np.column_stack([pd.Series(codes[:, j]).rank().to_numpy() for j in range(codes.shape[1])])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.corrcoef(ranks, rowvar=False)


def fidelity(model: CopulaModel, reference: pd.DataFrame, synthetic: pd.DataFrame, seed: int = 0) -> dict[str, Any]:
    """How closely the synthetic learnt columns follow the reference: per column the KS statistic (numeric)
    or the largest category share difference (categorical), and the largest difference of rank (Spearman)
    correlation over every pair of learnt columns (categoricals by their category order)."""
    names = [c.name for c in model.columns]
    ref = _sample_rows(reference[names], FIDELITY_ROWS, seed, "\0fidelity-ref")
    syn = _sample_rows(synthetic[names], FIDELITY_ROWS, seed, "\0fidelity-syn")
    marginals: dict[str, dict[str, Any]] = {}
    for col in model.columns:
        r, s = ref[col.name], syn[col.name]
        entry: dict[str, Any] = {
            "missing_reference": float(r.isna().mean()),
            "missing_synthetic": float(s.isna().mean()),
        }
        if col.kind == "categorical":
            pr = r.value_counts(normalize=True, dropna=True)
            ps = s.value_counts(normalize=True, dropna=True)
            diff = pr.subtract(ps, fill_value=0.0).abs()
            entry |= {"measure": "max_share_delta", "value": float(diff.max()) if len(diff) else 0.0}
        else:
            entry |= {
                "measure": "ks",
                "value": ks_statistic(_numeric_values(r), _numeric_values(s)),
            }
        marginals[col.name] = entry
    out: dict[str, Any] = {"marginals": marginals, "compared_rows": {"reference": len(ref), "synthetic": len(syn)}}
    if len(model.columns) > 1:
        cr = _rank_corr(np.column_stack([_codes(c, ref[c.name]) for c in model.columns]))
        cs = _rank_corr(np.column_stack([_codes(c, syn[c.name]) for c in model.columns]))
        delta = np.abs(np.nan_to_num(cr - cs, nan=0.0))
        i, j = np.unravel_index(int(np.argmax(delta)), delta.shape)
        out["correlation"] = {
            "measure": "spearman",
            "max_delta": float(delta[i, j]),
            "pair": [names[i], names[j]],
            "reference": float(cr[i, j]),
            "synthetic": float(cs[i, j]),
        }
    return out


def noise_floor(measure: str, n_reference: int, n_synthetic: int) -> float:
    """What sampling alone can show between two samples of one distribution, at these sizes: the KS critical
    value at alpha 0.001 (1.95 sqrt((n+m)/nm)), or four standard errors of a rank-correlation difference
    (4 sqrt(1/n + 1/m)). A tolerance below it would fail faithful data by chance (small ``rows``)."""
    if n_reference < 1 or n_synthetic < 1:
        return float("inf")
    spread = np.sqrt(1.0 / n_reference + 1.0 / n_synthetic)
    return float((1.95 if measure in ("ks", "max_share_delta") else 4.0) * spread)


def _fidelity_checks(fid: dict[str, Any], cfg: SyntheticConfig) -> list[CheckRecord]:
    """One check per learnt column and one for the correlations: observed <= the configured tolerance, raised
    to the sampling-noise floor of the compared row counts when that is larger (the message says so)."""
    n_ref, n_syn = fid["compared_rows"]["reference"], fid["compared_rows"]["synthetic"]

    def threshold(tolerance: float, measure: str) -> tuple[float, str]:
        floor = noise_floor(measure, n_ref, n_syn)
        if floor > tolerance:
            return round(floor, 6), f"tolerance {floor:.4f}: the sampling-noise floor of {n_ref:,} vs {n_syn:,} rows"
        return tolerance, f"tolerance {tolerance}"

    checks = []
    for name, m in fid["marginals"].items():
        limit, why = threshold(cfg.marginal_tolerance, m["measure"])
        what = "KS statistic" if m["measure"] == "ks" else "largest category share difference"
        checks.append(
            CheckRecord(
                name=f"marginal:{name}",
                status=Status.PASS if m["value"] <= limit else Status.FAIL,
                observed=round(m["value"], 6),
                threshold=limit,
                comparator="<=",
                message=f"{name}: {what} vs the reference {m['value']:.4f} ({why})",
            )
        )
    corr = fid.get("correlation")
    if corr:
        limit, why = threshold(cfg.correlation_tolerance, "spearman")
        a, b = corr["pair"]
        checks.append(
            CheckRecord(
                name="correlation",
                status=Status.PASS if corr["max_delta"] <= limit else Status.FAIL,
                observed=round(corr["max_delta"], 6),
                threshold=limit,
                comparator="<=",
                message=(
                    f"largest rank-correlation difference {corr['max_delta']:.4f} ({a} ~ {b}: reference "
                    f"{corr['reference']:.3f}, synthetic {corr['synthetic']:.3f}; {why})"
                ),
            )
        )
    return checks


# -- the engine ---------------------------------------------------------------------------------------------------


def _suite_check(dq: Any) -> tuple[CheckRecord, dict[str, Any]]:
    failing = [o for o in dq.outcomes if Status(o.status) != Status.PASS]
    status = Status.PASS if dq.status == Status.PASS else (Status.ERROR if dq.status == Status.ERROR else Status.FAIL)
    check = CheckRecord(
        name=f"quality_suite:{dq.suite_name}",
        status=status,
        observed=float(len(failing)),
        threshold=0.0,
        comparator="<=",
        message=dq.message,
    )
    detail = {
        "suite": dq.suite_name,
        "status": Status(dq.status).value,
        "failing": [
            {
                "expectation": o.expectation_type,
                "column": (o.kwargs or {}).get("column"),
                "status": Status(o.status).value,
                "message": o.message,
            }
            for o in failing
        ],
    }
    return check, detail


def run_synthetic(
    dataset: str,
    cfg: SyntheticConfig,
    snapshot_root: Path,
    *,
    suites_dir: Path | None = None,
    now: datetime | None = None,
) -> Result:
    """Generate ``cfg.rows`` rows for ``dataset``, check them, and publish them as a ``synthetic`` snapshot.

    Raises ConfigError for a config that cannot work (a learnt column without reference, an unknown Faker
    provider or distribution, an unknown suite) and DataSourceError when the reference cannot be read; a
    failing fidelity check or quality suite is a FAIL result and publishes nothing."""
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    name = f"{dataset}:{STEP}"
    learnt = _check_config(cfg)
    spec = None
    timings: dict[str, float] = {}
    if cfg.quality_suite:
        from assay.engines.data_quality.suites import load_suite

        t = time.perf_counter()
        spec = load_suite(cfg.quality_suite, suites_dir)  # a bad suite fails before anything is generated
        timings["load_suite_s"] = time.perf_counter() - t  # Great Expectations' import, once per process
    reference, ref_name = (None, "")
    if learnt:
        t = time.perf_counter()
        reference, ref_name = read_reference(cfg, learnt)
        timings["read_reference_s"] = time.perf_counter() - t
    t = time.perf_counter()
    frame, model = generate(cfg, reference, reference_name=ref_name)
    timings["generate_s"] = time.perf_counter() - t

    checks: list[CheckRecord] = []
    summary: dict[str, Any] = {"dataset": dataset, "seed": cfg.seed, "rows": len(frame)}
    if model is not None and reference is not None:
        t = time.perf_counter()
        fid = fidelity(model, reference, frame, cfg.seed)
        timings["fidelity_s"] = time.perf_counter() - t
        checks += _fidelity_checks(fid, cfg)
        summary["fidelity"] = fid
    del reference

    staging, snap_id, created = staging_dir(Path(snapshot_root), dataset, STEP, now)
    published = None
    try:
        import pyarrow.parquet as pq

        t = time.perf_counter()
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), staging / DATA_FILE)
        size = (staging / DATA_FILE).stat().st_size
        timings["write_s"] = time.perf_counter() - t
        if spec is not None:
            t = time.perf_counter()
            from assay.engines.data_quality.runner import validate_dataframe

            dq = validate_dataframe(frame, spec, data_name=f"{dataset}@{snap_id}", name=f"{name}:quality")
            check, detail = _suite_check(dq)
            checks.append(check)
            summary["quality_suite"] = detail
            timings["quality_suite_s"] = time.perf_counter() - t
        status = worst([Status.PASS, *(c.status for c in checks)])
        if status == Status.PASS:
            detail = {
                "seed": cfg.seed,
                "locale": cfg.locale,
                "columns": {c: col.model_dump(exclude_defaults=True) for c, col in cfg.columns.items()},
                "dtypes": {str(c): str(t) for c, t in frame.dtypes.items()},
                "generator": {"learnt": model.spec() if model else None, "faker_pool": cfg.pool_size},
                "reference_rows": model.reference_rows if model else 0,
                "quality_suite": cfg.quality_suite,
            }
            published = publish(
                staging, dataset=dataset, step=STEP, snap_id=snap_id, created_at=created, rows=len(frame), detail=detail
            )
    finally:
        if published is None:
            discard(staging)

    duration = time.perf_counter() - t0
    metrics = [
        MetricRecord("rows", float(len(frame)), "rows"),
        MetricRecord("bytes", float(size), "bytes"),
        MetricRecord("duration_s", round(duration, 3), "s"),
        MetricRecord("generate_s", round(timings["generate_s"], 3), "s"),
        MetricRecord("columns", float(frame.shape[1]), "columns"),
    ]
    if published is not None:
        summary |= {"snapshot": published.id, "path": str(published.path), "bytes": size}
        message = f"published {dataset}/{STEP}/{published.id}: {len(frame):,} rows, {frame.shape[1]} columns"
        if checks:
            message += f", {len(checks)} checks passed"
    else:
        bad = [c.name for c in checks if c.status != Status.PASS]
        message = f"not published: {', '.join(bad)} did not pass ({len(frame):,} rows generated)"
    summary["published"] = published is not None
    summary["timings"] = {k: round(v, 3) for k, v in timings.items()}
    return Result(
        name=name,
        kind=KIND,
        status=status,
        message=message,
        started_at=started,
        finished_at=datetime.now(UTC),
        checks=checks,
        metrics=metrics,
        summary=summary,
    )
