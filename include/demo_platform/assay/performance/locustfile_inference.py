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
* ``ASSAY_PAYLOADS_PATH``: the golden dataset of feature records (a CSV, one record a row) that Assay's
  load-test engine verified as the configured version (``performance.load_test.payloads`` in assay.yaml:
  ``inference_payloads_256`` version 1); ``ASSAY_PAYLOADS_SHA256`` is what its bytes must hash to
  (checked here too: a file changed after Assay verified it stops the run before any request), and
  ``ASSAY_PAYLOADS_NAME`` / ``ASSAY_PAYLOADS_VERSION`` name it;
* ``ASSAY_PAYLOADS_FILE``: without ``ASSAY_PAYLOADS_PATH``, a JSON file ``{"records": [...]}`` of feature
  records (default: ``data/inference_transactions.json`` beside this file, the same 256 records).

Nine in ten requests are predictions, one in ten a health probe. A prediction counts as failed unless
the answer is HTTP 200 with a JSON body whose ``count`` equals the number of records sent.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import os
import random
import re
from pathlib import Path

from locust import FastHttpUser, constant_pacing, task

_INT = re.compile(r"-?\d+")


def _value(text: str) -> int | float | str | None:
    if text == "":
        return None
    if _INT.fullmatch(text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


def golden_records(path: Path, sha256: str | None, version: str | None = None) -> list[dict]:
    """The rows of a golden CSV as JSON records, refusing bytes that are not the verified version."""
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if sha256 and digest != sha256:
        raise RuntimeError(
            f"payloads {path} are not version {version!r} as verified (sha256 {digest}, expected {sha256}): "
            "the file changed after Assay checked it"
        )
    return [{k: _value(v) for k, v in row.items()} for row in csv.DictReader(io.StringIO(data.decode("utf-8")))]


if os.environ.get("ASSAY_PAYLOADS_PATH"):
    PAYLOADS = Path(os.environ["ASSAY_PAYLOADS_PATH"])
    RECORDS = golden_records(
        PAYLOADS, os.environ.get("ASSAY_PAYLOADS_SHA256"), os.environ.get("ASSAY_PAYLOADS_VERSION")
    )
else:
    PAYLOADS = Path(
        os.environ.get("ASSAY_PAYLOADS_FILE") or Path(__file__).with_name("data") / "inference_transactions.json"
    )
    RECORDS = json.loads(PAYLOADS.read_text(encoding="utf-8"))["records"]
if not RECORDS:
    raise RuntimeError(f"payloads {PAYLOADS} hold no records")
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
