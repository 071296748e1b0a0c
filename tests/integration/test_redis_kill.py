"""Every client connection of Redis killed (``CLIENT KILL``, as a network blip or a Redis-side
timeout would do) under a running API and worker: the next turn is answered within seconds and
stored once, and a turn streaming while it happens ends with exactly one reply or one error.

The Redis is private to the test: killing the shared one's clients would cut other test runs."""

from __future__ import annotations

import time

import pytest

from attune.contract import Reply
from backend.cache import RedisCache
from tests.integration.test_redis_restart import PrivateRedis, answered_turn, first_turn, private_redis, start_stack  # noqa: F401
from tests.support.chat_client import ChatSocket, history, new_session

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

ANSWER_WITHIN_S = 15  # well under the repairer's grace (30 s): the live path must answer, not the repair pass


def _answered_once(stored: list[dict]) -> None:  # type: ignore[type-arg]
    users = [m["id"] for m in stored if m["role"] == "user"]
    replies = [m["reply_to_id"] for m in stored if m["role"] == "assistant"]
    assert sorted(replies) == sorted(users), f"every message answered exactly once: {users} vs {replies}"


async def test_the_response_cache_rides_out_killed_connections(private_redis: PrivateRedis) -> None:  # noqa: F811
    # It had redis-py's default client, which retries a dead connection 0 times: the first lookup
    # after the kill failed the turn (acknowledged, then `internal`, the job never enqueued).
    cache = RedisCache(private_redis.url)
    try:
        await cache.put("k", Reply(content="hi", model="tiny", model_version="1"), ttl_s=60)
        assert private_redis.kill_clients() >= 1
        hit = await cache.get("k")
        assert hit is not None and hit.content == "hi"
    finally:
        await cache.close()


async def test_killed_redis_connections_are_healed_without_restarting_anything(
    stack_env: dict[str, str],
    private_redis: PrivateRedis,  # noqa: F811
) -> None:
    base_url, api, worker = start_stack({**stack_env, "REDIS_URL": private_redis.url}, "redis-kill")
    try:
        account, session_id = await first_turn(base_url, api)

        # 1. Every connection cut between turns: the same processes answer the next turn at once.
        assert private_redis.kill_clients() >= 3  # at least the API's and the worker's
        killed_at = time.monotonic()
        await answered_turn(account, session_id, ANSWER_WITHIN_S)
        assert time.monotonic() - killed_at < ANSWER_WITHIN_S
        _answered_once(await history(account, session_id))
        assert api.alive() and worker.alive()

        # 2. Cut again in the middle of a streaming reply: one reply or one clear error, never two or none.
        slow = await new_session(account, model="slow")
        chat = await ChatSocket.open(account, slow)
        await chat.say("Please keep talking for a while.", params={"max_new_tokens": 60})
        turn = await chat.until({"token"})
        private_redis.kill_clients()
        turn = await chat.until({"done", "error"}, turn, timeout_s=90)
        await chat.close()
        ends = turn.of("done") + turn.of("error")
        assert len(ends) == 1 and all(end.get("code") for end in turn.of("error")), ends
        replies = [m for m in await history(account, slow) if m["role"] == "assistant"]
        assert len(replies) == 1 or (turn.of("error") and not replies), replies

        # ... and the service still answers afterwards.
        await answered_turn(account, session_id, ANSWER_WITHIN_S)
        _answered_once(await history(account, session_id))
    finally:
        worker.stop()
        api.stop()
