"""Clients that flood the chat socket or the sign-up/login endpoints are slowed down."""

from __future__ import annotations

import time

import pytest
from fastapi import HTTPException
from starlette.requests import Request

from backend.api.routes.chat_ws import TokenBucket
from backend.rate_limit import limit_by_client


def test_the_bucket_allows_a_burst_then_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate=10.0, burst=3)
    assert [bucket.allow() for _ in range(4)] == [True, True, True, False]
    assert bucket.strikes == 1
    time.sleep(0.15)
    assert bucket.allow() is True


def _request(address: str) -> Request:
    return Request({"type": "http", "headers": [], "client": (address, 5000)})


def test_sign_ups_beyond_the_limit_get_429_with_retry_after_per_address() -> None:
    for _ in range(3):
        limit_by_client(_request("10.0.0.1"), "test-signup", per_minute=3)
    with pytest.raises(HTTPException) as refused:
        limit_by_client(_request("10.0.0.1"), "test-signup", per_minute=3)
    assert refused.value.status_code == 429 and int(refused.value.headers["Retry-After"]) > 0
    limit_by_client(_request("10.0.0.2"), "test-signup", per_minute=3)  # another address is unaffected
