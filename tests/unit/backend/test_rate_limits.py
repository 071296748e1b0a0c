"""Clients that flood the chat socket or the sign-up/login endpoints are slowed down."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import HTTPException
from starlette.requests import Request

from backend.rate_limit import FrameLimiter, limit_by_client


@pytest.mark.asyncio
async def test_frames_beyond_the_burst_are_refused_then_allowed_again_after_the_window() -> None:
    limiter = FrameLimiter(rate=3.0, burst=3)  # 3 frames in any 1 s
    assert [await limiter.allow(7) for _ in range(4)] == [True, True, True, False]
    assert await limiter.allow(8) is True  # another user has their own budget
    await asyncio.sleep(1.1)
    assert await limiter.allow(7) is True


def _request(address: str) -> Request:
    return Request({"type": "http", "headers": [], "client": (address, 5000)})


def test_sign_ups_beyond_the_limit_get_429_with_retry_after_per_address() -> None:
    for _ in range(3):
        limit_by_client(_request("10.0.0.1"), "test-signup", per_minute=3)
    with pytest.raises(HTTPException) as refused:
        limit_by_client(_request("10.0.0.1"), "test-signup", per_minute=3)
    assert refused.value.status_code == 429 and int(refused.value.headers["Retry-After"]) > 0
    limit_by_client(_request("10.0.0.2"), "test-signup", per_minute=3)  # another address is unaffected
