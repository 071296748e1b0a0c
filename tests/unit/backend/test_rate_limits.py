"""A chat socket that floods frames is slowed down, then disconnected."""

from __future__ import annotations

import time

from backend.api.routes.chat_ws import TokenBucket


def test_the_bucket_allows_a_burst_then_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate=10.0, burst=3)
    assert [bucket.allow() for _ in range(4)] == [True, True, True, False]
    assert bucket.strikes == 1
    time.sleep(0.15)
    assert bucket.allow() is True
