"""The response cache: keyed on everything that shaped a reply, bounded, and honest about hits."""

from __future__ import annotations

import asyncio

import pytest

from attune.contract import ChatTurn, DecodingParams, Reply
from backend.cache import MemoryCache, cache_key

pytestmark = pytest.mark.asyncio(loop_scope="session")
HISTORY = [ChatTurn(role="user", content="hello")]


def test_the_key_changes_with_model_version_params_and_history() -> None:
    base = cache_key("m", "v1", DecodingParams(), HISTORY)
    assert base == cache_key("m", "v1", DecodingParams(), list(HISTORY))
    assert base != cache_key("m", "v2", DecodingParams(), HISTORY), "new weights never serve old replies"
    assert base != cache_key("other", "v1", DecodingParams(), HISTORY)
    assert base != cache_key("m", "v1", DecodingParams(temperature=0.1), HISTORY)
    assert base != cache_key("m", "v1", DecodingParams(), [*HISTORY, ChatTurn(role="assistant", content="hi")])


async def test_memory_cache_counts_hits_expires_and_evicts() -> None:
    cache = MemoryCache(max_entries=2)
    reply = Reply(content="hi", model="m", model_version="v")
    assert await cache.get("a") is None
    await cache.put("a", reply, ttl_s=60)
    assert (await cache.get("a")).content == "hi"
    await cache.put("short", reply, ttl_s=0)
    await asyncio.sleep(0.01)
    assert await cache.get("short") is None
    await cache.put("b", reply, ttl_s=60)
    await cache.put("c", reply, ttl_s=60)  # over the bound: the least recently used goes
    assert await cache.get("a") is None and await cache.get("c") is not None
    stats = await cache.stats()
    assert (stats.hits, stats.misses, stats.entries) == (2, 3, 2)
    assert stats.hit_ratio == pytest.approx(0.4)
    assert await cache.flush() == 2 and (await cache.stats()).entries == 0
