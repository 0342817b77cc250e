"""Seeded synthetic transaction data with a learnable fraud label.

One model of a transaction for the whole platform: :func:`draw_features` draws the feature columns,
:func:`fraud_score` turns them into fraud log-odds and :func:`intercept_for_rate` centres them on a fraud
rate. :func:`make_fraud_dataset` (training and evaluation data) and ``fraud.customers`` (customers with
personal fields, millions of rows) both build on them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

FEATURE_COLUMNS: tuple[str, ...] = (
    "amount",
    "hour",
    "merchant_risk",
    "distance_km",
    "account_age_days",
    "n_tx_24h",
)
LABEL_COLUMN = "is_fraud"
PERSONAL_COLUMNS: tuple[str, ...] = ("customer_id", "name", "email")

_FIRST = ("Ada", "Ben", "Chloe", "Dev", "Ema", "Farid", "Greta", "Hugo")
_LAST = ("Khan", "Lopez", "Meyer", "Novak", "Okafor", "Park", "Rossi", "Smith")


def draw_features(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """``n`` values of every feature column, drawn from ``rng`` in :data:`FEATURE_COLUMNS` order."""
    return {
        "amount": rng.lognormal(mean=3.5, sigma=1.0, size=n).round(2),
        "hour": rng.integers(0, 24, size=n),
        "merchant_risk": rng.beta(2.0, 5.0, size=n),
        "distance_km": rng.exponential(20.0, size=n),
        "account_age_days": rng.integers(1, 3650, size=n),
        "n_tx_24h": rng.poisson(3.0, size=n),
    }


def fraud_score(features: Mapping[str, object]) -> np.ndarray:
    """Return the (un-centred) fraud log-odds implied by the feature columns (a frame or arrays)."""
    hour = np.asarray(features["hour"])
    night = ((hour < 6) | (hour >= 23)).astype(float)
    return (
        1.6 * np.log1p(np.asarray(features["amount"]))
        + 15.0 * np.asarray(features["merchant_risk"])
        + 4.2 * np.log1p(np.asarray(features["distance_km"]))
        - 1.8 * np.log1p(np.asarray(features["account_age_days"]))
        + 1.0 * np.asarray(features["n_tx_24h"])
        + 4.5 * night
    )


def intercept_for_rate(score: np.ndarray, rate: float) -> float:
    """Bisect the intercept so that the mean fraud probability equals rate."""
    lo, hi = -60.0, 60.0
    for _ in range(80):
        mid = (lo + hi) / 2.0
        if np.mean(1.0 / (1.0 + np.exp(-(score + mid)))) < rate:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2.0


def make_fraud_dataset(n_rows: int, seed: int = 0, fraud_rate: float = 0.05) -> pd.DataFrame:
    """Generate n_rows transactions; the same seed gives an identical frame."""
    if n_rows < 1:
        raise ValueError(f"n_rows must be >= 1, got {n_rows}")
    if not 0.0 < fraud_rate < 1.0:
        raise ValueError(f"fraud_rate must be in (0, 1), got {fraud_rate}")
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(draw_features(rng, n_rows))
    score = fraud_score(df)
    logits = score + intercept_for_rate(score, fraud_rate)
    prob = 1.0 / (1.0 + np.exp(-logits))
    df[LABEL_COLUMN] = (rng.random(n_rows) < prob).astype(np.int64)

    first = rng.choice(_FIRST, size=n_rows)
    last = rng.choice(_LAST, size=n_rows)
    ids = [f"C{i:07d}" for i in rng.permutation(n_rows)]
    df.insert(0, "customer_id", ids)
    df.insert(1, "name", [f"{f} {s}" for f, s in zip(first, last, strict=False)])
    df.insert(
        2,
        "email",
        [f"{f.lower()}.{s.lower()}{i[-4:]}@example.com" for f, s, i in zip(first, last, ids, strict=False)],
    )
    return df


def add_demographics(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Append protected attributes for fairness audits: ``age_band`` and ``region``.

    Both are drawn independently of the features and the label (seeded), so a model that only sees
    ``FEATURE_COLUMNS`` has no route to them; the model never uses them.
    """
    rng = np.random.default_rng(seed + 7919)
    out = df.copy()
    out["age_band"] = rng.choice(["18-34", "35-54", "55+"], size=len(df), p=[0.4, 0.4, 0.2])
    out["region"] = rng.choice(["north", "south", "east", "west"], size=len(df))
    return out


def make_evaluation_set(n_rows: int = 4000, seed: int = 101, fraud_rate: float = 0.3) -> pd.DataFrame:
    """A held-out evaluation frame with protected attributes (for Assay's model validation)."""
    return add_demographics(make_fraud_dataset(n_rows, seed=seed, fraud_rate=fraud_rate), seed=seed)
