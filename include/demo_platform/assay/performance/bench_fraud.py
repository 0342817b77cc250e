"""Micro-benchmark subject for the demo platform: ``TrainingPipeline.predict_proba`` on seeded data.

``build()`` is the factory named by ``MicrobenchConfig(factory="bench_fraud:build", cwd=<this dir>)``:
it trains a small seeded pipeline once (the same recipe the serving API uses on start-up) and returns
``(predict, make_batch)``; ``make_batch(n)`` is ``n`` fresh synthetic transactions.
"""

from __future__ import annotations

import sys
from pathlib import Path

DEMO_PLATFORM = Path(__file__).resolve().parents[2]  # include/demo_platform


def build():
    if str(DEMO_PLATFORM) not in sys.path:
        sys.path.insert(0, str(DEMO_PLATFORM))
    import torch
    from fraud import TrainingPipeline, make_fraud_dataset

    torch.set_num_threads(1)  # one core per inference process, as a serving worker would be sized
    pipeline = TrainingPipeline(epochs=3, seed=0).fit(make_fraud_dataset(2000, seed=0))

    def make_batch(n: int):
        return make_fraud_dataset(n, seed=1)

    return pipeline.predict_proba, make_batch
