"""Per-caller token-bucket rate limiting: 429 with Retry-After, independent buckets, refill.

The API's rate limiter runs on a ``ManualClock`` here: the buckets see exactly the time the test says
has passed, so a slow machine between two requests cannot refill a bucket behind the test's back.
"""

from __future__ import annotations

import pytest
from api_helpers import Api, ManualClock
from serving.ratelimit import RateLimiter, retry_after_header

pytestmark = pytest.mark.component


def test_burst_then_429_with_retry_after(start_api) -> None:
    api: Api = start_api(rate_limit_per_s=0.5, rate_limit_burst=3, clock=ManualClock())
    reader = api.client("reader")
    statuses = [reader.get("/models").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = reader.get("/models")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) == 2  # one token per 2 s at 0.5/s
    assert "rate limit of 0.5 requests/s (burst 3) exceeded" in refused.json()["detail"]


def test_each_caller_has_its_own_bucket(start_api) -> None:
    api: Api = start_api(rate_limit_per_s=0.5, rate_limit_burst=2, clock=ManualClock())
    reader, engineer = api.client("reader"), api.client("ml-engineer")
    assert [reader.get("/models").status_code for _ in range(3)] == [200, 200, 429]
    assert engineer.get("/models").status_code == 200


def test_anonymous_and_bad_token_callers_are_limited_by_client_address(start_api) -> None:
    api: Api = start_api(rate_limit_per_s=0.5, rate_limit_burst=2, clock=ManualClock())
    statuses = [api.client().get("/models").status_code, api.client(token="guess-000001").get("/models").status_code]
    assert statuses == [401, 403]
    assert api.client(token="guess-000002").get("/models").status_code == 429  # token guessing is throttled
    assert api.client("reader").get("/models").status_code == 200  # a valid token has its own bucket


def test_bucket_refills_over_time(start_api) -> None:
    clock = ManualClock()
    api: Api = start_api(rate_limit_per_s=20, rate_limit_burst=1, clock=clock)
    reader = api.client("reader")
    assert [reader.get("/models").status_code for _ in range(2)] == [200, 429]
    clock.advance(0.04)  # less than 1/20 s: not yet a whole token
    assert reader.get("/models").status_code == 429
    clock.advance(0.05)  # past 1/20 s since the last grant: one token back
    assert [reader.get("/models").status_code for _ in range(2)] == [200, 429]


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
