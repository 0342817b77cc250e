"""Seeded synthetic reference/current data for the drift engine's tests and benchmark.

Numeric columns mix shapes (normal, log-normal, heavy ties from rounding, a zero-inflated one);
categorical columns are strings with ``levels`` levels. The current data is drawn from the same
distributions except for the shifted columns: numeric ones move by ``shift`` reference standard
deviations, categorical ones move mass onto the first levels. Everything is a function of the seed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def _numeric(rng: np.random.Generator, i: int, rows: int, shift: float) -> np.ndarray:
    shape = i % 4
    if shape == 0:
        values = rng.normal(10.0 * i, 1.0 + i, rows)
        std = 1.0 + i
    elif shape == 1:
        values = rng.lognormal(0.0, 0.5, rows)
        std = float(np.sqrt((np.exp(0.25) - 1) * np.exp(0.25)))
    elif shape == 2:
        values = np.round(rng.normal(0.0, 3.0, rows))  # heavy ties
        std = 3.0
    else:
        values = np.where(rng.random(rows) < 0.3, 0.0, rng.exponential(2.0, rows))  # zero-inflated
        std = 2.0
    return values + shift * std


def _categorical(rng: np.random.Generator, rows: int, levels: int, shifted: bool) -> np.ndarray:
    weights = np.linspace(1.0, 2.0, levels)
    if shifted:
        weights = weights.copy()
        weights[: max(1, levels // 5)] *= 8.0
    names = np.array([f"level_{k}" for k in range(levels)], dtype=object)
    return names[rng.choice(levels, size=rows, p=weights / weights.sum())]


def make_frame(
    rows: int,
    *,
    seed: int,
    numeric: int = 20,
    categorical: int = 5,
    levels: int = 10,
    shifted_numeric: Sequence[int] = (),
    shifted_categorical: Sequence[int] = (),
    shift: float = 0.5,
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, np.ndarray] = {}
    for i in range(numeric):
        data[f"num_{i:02d}"] = _numeric(rng, i, rows, shift if i in shifted_numeric else 0.0)
    for j in range(categorical):
        data[f"cat_{j}"] = _categorical(rng, rows, levels, j in shifted_categorical)
    frame = pd.DataFrame(data)
    for j in range(categorical):
        frame[f"cat_{j}"] = frame[f"cat_{j}"].astype("str")
    return frame


def make_pair(
    rows: int,
    *,
    seed: int = 7,
    numeric: int = 20,
    categorical: int = 5,
    levels: int = 10,
    shifted_numeric: Sequence[int] = (0, 5, 10),
    shifted_categorical: Sequence[int] = (1,),
    shift: float = 0.5,
    current_rows: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A reference frame and a current frame (other seed) with the given columns shifted."""
    common = {"numeric": numeric, "categorical": categorical, "levels": levels}
    reference = make_frame(rows, seed=seed, **common)
    current = make_frame(
        current_rows or rows,
        seed=seed + 1000,
        shifted_numeric=shifted_numeric,
        shifted_categorical=shifted_categorical,
        shift=shift,
        **common,
    )
    return reference, current
