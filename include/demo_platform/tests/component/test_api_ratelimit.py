"""Per-caller token-bucket rate limiting: 429 with Retry-After, independent buckets, refill."""

from __future__ import annotations

import time

import pytest
from api_helpers import Api
from serving.ratelimit import RateLimiter, retry_after_header

pytestmark = pytest.mark.component


def test_burst_then_429_with_retry_after(start_api) -> None:
    api: Api = start_api(rate_limit_per_s=0.5, rate_limit_burst=3)
    reader = api.client("reader")
    statuses = [reader.get("/models").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = reader.get("/models")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) == 2  # one token per 2 s at 0.5/s
    assert "rate limit of 0.5 requests/s (burst 3) exceeded" in refused.json()["detail"]


def test_each_caller_has_its_own_bucket(start_api) -> None:
    api: Api = start_api(rate_limit_per_s=0.5, rate_limit_burst=2)
    reader, engineer = api.client("reader"), api.client("ml-engineer")
    assert [reader.get("/models").status_code for _ in range(3)] == [200, 200, 429]
    assert engineer.get("/models").status_code == 200


def test_anonymous_and_bad_token_callers_are_limited_by_client_address(start_api) -> None:
    api: Api = start_api(rate_limit_per_s=0.5, rate_limit_burst=2)
    statuses = [api.client().get("/models").status_code, api.client(token="guess-000001").get("/models").status_code]
    assert statuses == [401, 403]
    assert api.client(token="guess-000002").get("/models").status_code == 429  # token guessing is throttled
    assert api.client("reader").get("/models").status_code == 200  # a valid token has its own bucket


def test_bucket_refills_over_time(start_api) -> None:
    api: Api = start_api(rate_limit_per_s=20, rate_limit_burst=1)
    reader = api.client("reader")
    assert [reader.get("/models").status_code for _ in range(2)] == [200, 429]
    time.sleep(0.12)  # > 1/20 s: one token back
    assert reader.get("/models").status_code == 200


def test_limiter_arithmetic_with_a_fake_clock() -> None:
    now = [100.0]
    limiter = RateLimiter(2.0, 2, clock=lambda: now[0], max_keys=2)
    assert [limiter.acquire("a") for _ in range(2)] == [0.0, 0.0]
    assert limiter.acquire("a") == pytest.approx(0.5)
    now[0] += 0.25
    assert limiter.acquire("a") == pytest.approx(0.25)  # half a token has come back
    now[0] += 0.25
    assert limiter.acquire("a") == 0.0
    limiter.acquire("b")
    limiter.acquire("c")  # evicts "a", the least recently used key
    assert limiter.acquire("a") == 0.0  # a fresh, full bucket
    assert retry_after_header(0.01) == "1" and retry_after_header(2.2) == "3"


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (1, 0)])
def test_limiter_rejects_nonsense_settings(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="rate_per_s must be > 0 and burst >= 1"):
        RateLimiter(rate, burst)
