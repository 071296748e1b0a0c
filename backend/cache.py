"""The response cache: a finished reply keyed on everything that shaped it.

An entry is the contract's ``Reply`` record. The key covers the model, its version (new weights
never serve old replies), the decoding parameters and the exact history window the model saw. Hit/miss counters are kept beside
the entries so every backend replica reports the same ratio.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from typing import Protocol

from pydantic import BaseModel

from attune.broker.redis_streams import DEFAULT_MAX_CONNECTIONS, redis_client
from attune.contract import ChatTurn, DecodingParams, Reply

PREFIX = "attune:cache:"
STATS_KEY = "attune:cache-stats"


class CacheStats(BaseModel):
    hits: int
    misses: int
    hit_ratio: float
    entries: int


def cache_key(model: str, model_version: str, params: DecodingParams, history: list[ChatTurn]) -> str:
    material = json.dumps(
        {
            "model": model,
            "version": model_version,
            "params": params.model_dump(mode="json"),
            "history": [turn.model_dump(mode="json") for turn in history],
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(material.encode()).hexdigest()


class ResponseCache(Protocol):
    async def get(self, key: str) -> Reply | None: ...

    async def put(self, key: str, reply: Reply, ttl_s: int) -> None: ...

    async def stats(self) -> CacheStats: ...

    async def flush(self) -> int: ...

    async def close(self) -> None: ...


def _stats(hits: int, misses: int, entries: int) -> CacheStats:
    total = hits + misses
    return CacheStats(hits=hits, misses=misses, hit_ratio=hits / total if total else 0.0, entries=entries)


class RedisCache:
    def __init__(self, url: str) -> None:
        self._redis = redis_client(url, DEFAULT_MAX_CONNECTIONS)

    async def get(self, key: str) -> Reply | None:
        raw = await self._redis.get(PREFIX + key)
        await self._redis.hincrby(STATS_KEY, "hits" if raw else "misses", 1)
        return Reply.model_validate_json(raw) if raw else None

    async def put(self, key: str, reply: Reply, ttl_s: int) -> None:
        await self._redis.set(PREFIX + key, reply.model_dump_json(), ex=ttl_s)

    async def stats(self) -> CacheStats:
        counters = await self._redis.hgetall(STATS_KEY)
        entries = 0
        async for _ in self._redis.scan_iter(match=PREFIX + "*", count=500):
            entries += 1
        return _stats(int(counters.get("hits", 0)), int(counters.get("misses", 0)), entries)

    async def flush(self) -> int:
        keys = [key async for key in self._redis.scan_iter(match=PREFIX + "*", count=500)]
        if keys:
            await self._redis.delete(*keys)
        return len(keys)

    async def close(self) -> None:
        await self._redis.aclose()


class MemoryCache:
    """Bounded LRU with expiry, for the embedded default."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: OrderedDict[str, tuple[float, Reply]] = OrderedDict()
        self._max_entries = max_entries
        self._hits = 0
        self._misses = 0

    async def get(self, key: str) -> Reply | None:
        found = self._entries.get(key)
        if found is None or found[0] < time.monotonic():
            self._entries.pop(key, None)
            self._misses += 1
            return None
        self._entries.move_to_end(key)
        self._hits += 1
        return found[1]

    async def put(self, key: str, reply: Reply, ttl_s: int) -> None:
        self._entries[key] = (time.monotonic() + ttl_s, reply)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def stats(self) -> CacheStats:
        return _stats(self._hits, self._misses, len(self._entries))

    async def flush(self) -> int:
        count = len(self._entries)
        self._entries.clear()
        return count

    async def close(self) -> None:
        return None
