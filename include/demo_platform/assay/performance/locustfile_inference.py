"""Locust load profile for a model-inference API (``POST /models/predict``, ``GET /health``).

Run by Assay's load-test engine as a subprocess, with Assay's plugin (``assay_locust.py``) loaded beside
it: the plugin replaces ``wait_time`` below with the profile's arrival shape (open-loop Poisson by
default, every user from a random phase, so users never fire in lockstep). Run on its own, each user is
paced with ``constant_pacing``. The environment configures it:

* ``ASSAY_TARGET_RPS_PER_USER``: each user's request rate, so ``users × rate`` is the target request
  rate (default 1);
* ``ASSAY_API_TOKEN``: bearer token sent with every request (none when unset);
* ``ASSAY_LOAD_SEED``: seeds each user's choice of payloads, so a run is repeatable (default 0);
* ``ASSAY_PREDICT_BATCH``: records per prediction request (default 1; a list is sent when > 1);
* ``ASSAY_PAYLOADS_FILE``: JSON file ``{"records": [...]}`` of feature records (default: the golden
  ``data/inference_transactions.json`` beside this file, from the demo platform's seeded data).

Nine in ten requests are predictions, one in ten a health probe. A prediction counts as failed unless
the answer is HTTP 200 with a JSON body whose ``count`` equals the number of records sent.
"""

from __future__ import annotations

import itertools
import json
import os
import random
from pathlib import Path

from locust import FastHttpUser, constant_pacing, task

PAYLOADS = Path(
    os.environ.get("ASSAY_PAYLOADS_FILE") or Path(__file__).with_name("data") / "inference_transactions.json"
)
RECORDS = json.loads(PAYLOADS.read_text(encoding="utf-8"))["records"]
RPS_PER_USER = float(os.environ.get("ASSAY_TARGET_RPS_PER_USER") or 1.0)
TOKEN = os.environ.get("ASSAY_API_TOKEN")
SEED = int(os.environ.get("ASSAY_LOAD_SEED") or 0)
BATCH = int(os.environ.get("ASSAY_PREDICT_BATCH") or 1)
_user_numbers = itertools.count()


class InferenceUser(FastHttpUser):
    wait_time = constant_pacing(1.0 / RPS_PER_USER)  # Assay's plugin sets its arrival shape instead
    default_headers = {"Authorization": f"Bearer {TOKEN}"} if TOKEN else None

    def on_start(self) -> None:
        self.rng = random.Random(SEED * 1_000_003 + next(_user_numbers))

    @task(9)
    def predict(self) -> None:
        body = self.rng.choice(RECORDS) if BATCH == 1 else self.rng.choices(RECORDS, k=BATCH)
        with self.client.post("/models/predict", json=body, name="/models/predict", catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"HTTP {resp.status_code}")
                return
            try:
                answer = resp.json()
            except ValueError:
                resp.failure("response body is not JSON")
                return
            count = answer.get("count") if isinstance(answer, dict) else None
            if count != BATCH:
                resp.failure(f"answered {count!r} predictions for {BATCH} record(s)")
            else:
                resp.success()

    @task(1)
    def health(self) -> None:
        self.client.get("/health", name="/health")
