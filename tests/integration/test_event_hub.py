"""One reader per process follows every socket's job (attune/broker/redis_events.py), on the real Redis:
hundreds of subscribers on a small pool, a newcomer served at once, a killed connection and a
restarted Redis survived, a slow subscriber bounded."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis import asyncio as aioredis
from redis.backoff import ExponentialBackoff

from attune.broker.base import BrokerError
from attune.broker.redis_events import EventHub, EventSubscription
from attune.broker.redis_streams import RedisBroker
from attune.contract import TokenEvent
from tests.integration.test_redis_restart import PrivateRedis

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

SUBSCRIBERS = 300
POOL = 20


@pytest.fixture
async def broker(redis_url: str) -> AsyncIterator[RedisBroker]:
    real = RedisBroker(redis_url, max_connections=POOL)
    yield real
    await real.close()


async def _collect(events: EventSubscription, count: int, timeout_s: float) -> list[tuple[str, TokenEvent]]:
    got: list = []  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout_s
    while len(got) < count and time.monotonic() < deadline:
        got += await events.next(200)
    return got


async def _follow(broker: RedisBroker, job_id: str, count: int, subscribed: asyncio.Event | None = None) -> list[str]:
    async with broker.subscribe_events(job_id, "0") as events:
        if subscribed is not None:
            subscribed.set()
        return [event.text for _, event in await _collect(events, count, 60)]


async def _following(stack: contextlib.AsyncExitStack, broker: RedisBroker, jobs: list[str]) -> list[EventSubscription]:
    """Subscribed to each job, its first event ("before") received."""
    subscriptions = [await stack.enter_async_context(broker.subscribe_events(job, "0")) for job in jobs]
    for job in jobs:
        await broker.publish(job, TokenEvent(index=0, text="before"))
    for events in subscriptions:
        assert [e.text for _, e in await _collect(events, 1, 10)] == ["before"]
    return subscriptions


async def test_hundreds_of_subscribers_share_one_reader_on_a_small_pool(tmp_path: Path) -> None:
    # A Redis of its own: the shared one also serves the session's API server, whose reader blocks too.
    server = PrivateRedis(tmp_path)
    server.start()
    broker = RedisBroker(server.url, max_connections=POOL)
    try:
        jobs = [uuid.uuid4().hex for _ in range(SUBSCRIBERS)]
        ready = [asyncio.Event() for _ in jobs]
        followers = [asyncio.create_task(_follow(broker, job, 5, flag)) for job, flag in zip(jobs, ready, strict=True)]
        await asyncio.gather(*(flag.wait() for flag in ready))
        for index in range(5):  # every job streams at once, as a busy worker pool would
            await asyncio.gather(*(broker.publish(job, TokenEvent(index=index, text=f"{job}:{index}")) for job in jobs))
        async with aioredis.from_url(server.url) as admin:
            connected = await admin.client_list()
        commands = [c["cmd"] for c in connected]
        assert commands.count("xread") == 1  # the reader, the only one blocked; besides it the pool's 20 at most
        assert len(connected) <= POOL + 2, commands  # ... and this look
        received = await asyncio.wait_for(asyncio.gather(*followers), 60)
        assert received == [[f"{job}:{i}" for i in range(5)] for job in jobs]
    finally:
        await broker.close()
        server.stop()


async def test_a_new_subscriber_does_not_wait_for_the_block_in_flight(redis_url: str) -> None:
    broker = RedisBroker(redis_url, max_connections=POOL)
    try:
        idle = uuid.uuid4().hex
        async with broker.subscribe_events(idle, "0"):
            await asyncio.sleep(0.3)  # the reader is now blocked in an XREAD (10 s) that knows only `idle`
            backlog = uuid.uuid4().hex
            await broker.publish(backlog, TokenEvent(index=0, text="already there"))
            started = time.monotonic()
            async with broker.subscribe_events(backlog, "0") as events:
                first = await events.next(5000)
            assert [e.text for _, e in first] == ["already there"]
            assert time.monotonic() - started < 5  # not the 10 s block in flight

            live = uuid.uuid4().hex
            async with broker.subscribe_events(live, "0") as events:
                await asyncio.sleep(0.1)
                started = time.monotonic()
                await broker.publish(live, TokenEvent(index=0, text="new"))
                assert [e.text for _, e in await events.next(5000)] == ["new"]
            assert time.monotonic() - started < 5  # not the 10 s block in flight
    finally:
        await broker.close()


async def test_subscribers_survive_a_killed_connection_and_continue_from_their_cursor(tmp_path: Path) -> None:
    # A Redis of its own: killing every client of the shared test Redis also cuts the session's API
    # server and workers (see issue 15's note: they did not all answer the next test's turn in time).
    server = PrivateRedis(tmp_path)
    server.start()
    broker = RedisBroker(server.url, max_connections=POOL)
    admin = aioredis.from_url(server.url, decode_responses=True)
    try:
        jobs = [uuid.uuid4().hex for _ in range(20)]
        async with contextlib.AsyncExitStack() as stack:
            subscriptions = await _following(stack, broker, jobs)

            mine = [c for c in await admin.client_list() if c["cmd"] != "client|list"]
            assert "xread" in [c["cmd"] for c in mine]  # the reader, blocked in its XREAD, among them
            for client in mine:
                await admin.client_kill_filter(_id=client["id"])
            for job in jobs:
                for index in (1, 2):
                    await broker.publish(job, TokenEvent(index=index, text=f"after {index}"))
            for events in subscriptions:
                assert [e.text for _, e in await _collect(events, 2, 20)] == ["after 1", "after 2"]
    finally:
        await admin.aclose()
        await broker.close()
        server.stop()


async def test_subscribers_survive_a_redis_restart(tmp_path: Path) -> None:
    server = PrivateRedis(tmp_path)
    server.start()
    broker = RedisBroker(server.url, max_connections=POOL)
    try:
        jobs = [uuid.uuid4().hex for _ in range(5)]
        async with contextlib.AsyncExitStack() as stack:
            subscriptions = await _following(stack, broker, jobs)

            server.shutdown_nosave()
            await asyncio.sleep(8)  # longer than redis-py's own retries: the reader backs off and tries again
            server.start()
            for job in jobs:
                await broker.publish(job, TokenEvent(index=1, text="after"))
            for events in subscriptions:
                assert [e.text for _, e in await _collect(events, 1, 20)] == ["after"]
    finally:
        await broker.close()
        server.stop()


async def test_a_slow_subscriber_holds_a_bounded_buffer_and_misses_nothing(redis_url: str) -> None:
    commands = aioredis.from_url(redis_url, decode_responses=True)
    hub = EventHub(
        aioredis.from_url(redis_url, decode_responses=True),
        commands,
        ExponentialBackoff(),
        block_ms=2000,
        buffer_size=8,
    )
    broker = RedisBroker(redis_url, max_connections=POOL)
    job = uuid.uuid4().hex
    try:
        for index in range(50):
            await broker.publish(job, TokenEvent(index=index, text=str(index)))
        async with hub.subscribe(job, "0") as events:
            await asyncio.sleep(0.3)  # the reader had time to fill the buffer, and no more
            texts: list[str] = []
            while len(texts) < 50:
                batch = await events.next(2000)
                assert 0 < len(batch) <= 8
                texts += [e.text for _, e in batch]
            assert texts == [str(i) for i in range(50)]
    finally:
        await hub.close()
        await commands.aclose()
        await broker.close()


async def test_a_malformed_cursor_is_refused_alone(broker: RedisBroker) -> None:
    job = uuid.uuid4().hex
    async with broker.subscribe_events(job, "0") as events:
        with pytest.raises(BrokerError, match="not an event id"):
            async with broker.subscribe_events(uuid.uuid4().hex, "1-x"):
                pass
        await broker.publish(job, TokenEvent(index=0, text="still read"))
        assert [e.text for _, e in await events.next(2000)] == ["still read"]


async def test_the_reader_stops_without_subscribers_and_close_ends_subscriptions(redis_url: str) -> None:
    commands = aioredis.from_url(redis_url, decode_responses=True)
    hub = EventHub(aioredis.from_url(redis_url, decode_responses=True), commands, ExponentialBackoff(), block_ms=200)
    try:
        async with hub.subscribe(uuid.uuid4().hex, "0"):
            await asyncio.sleep(0.1)
            assert hub.running
        await asyncio.sleep(0.6)  # its block ends, it sees no one and stops
        assert not hub.running
        async with hub.subscribe(uuid.uuid4().hex, "0") as events:
            assert hub.running
            waiting = asyncio.create_task(events.next(5000))
            await asyncio.sleep(0.1)
            await hub.close()
            with pytest.raises(BrokerError, match="closed"):
                await asyncio.wait_for(waiting, 2)
    finally:
        await commands.aclose()
