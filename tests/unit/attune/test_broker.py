"""Both brokers keep the same promises: one delivery per job, re-claim after a worker dies,
replayable event logs, results consumed once, cancellation and heartbeats."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest
import redis

from attune import contract
from attune.broker.memory import MemoryBroker
from attune.broker.redis_streams import RedisBroker
from attune.contract import ChatTurn, DoneEvent, GenerateJob, TokenEvent, WorkerInfo

pytestmark = pytest.mark.asyncio(loop_scope="session")
REDIS_URL = (
    os.environ.get("ATTUNE_TEST_REDIS", "redis://127.0.0.1:6379")
    + "/"
    + os.environ.get("ATTUNE_TEST_BROKER_REDIS_DB", "12")
)


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL).ping())
    except redis.RedisError:
        return False


@pytest.fixture(params=["memory", "redis"])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[MemoryBroker | RedisBroker]:
    if request.param == "memory":
        yield MemoryBroker()
        return
    if not _redis_up():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    redis.Redis.from_url(REDIS_URL).flushdb()
    real = RedisBroker(REDIS_URL)
    yield real
    await real.close()


def _job(model: str = "m") -> GenerateJob:
    return GenerateJob(session_id="s", user_message_id=1, model=model, history=[ChatTurn(role="user", content="hi")])


def _done(job: GenerateJob) -> DoneEvent:
    return DoneEvent(
        job_id=job.job_id,
        session_id="s",
        user_message_id=1,
        content="hello",
        model=job.model,
        model_version="v",
        finish_reason="stop",
    )


async def test_a_job_is_delivered_to_one_consumer(broker) -> None:  # type: ignore[no-untyped-def]
    job = _job()
    await broker.enqueue(job)
    first = await broker.claim("a", ["m"], block_ms=500)
    second = await broker.claim("b", ["m"], block_ms=200)
    assert [d.job.job_id for d in first] == [job.job_id]
    assert second == []
    assert await broker.queue_depth("m") == 1  # pending until acked
    await broker.ack(first[0])
    assert await broker.queue_depth("m") == 0


async def test_claim_only_takes_the_models_a_worker_serves(broker) -> None:  # type: ignore[no-untyped-def]
    await broker.enqueue(_job("big"))
    assert await broker.claim("a", ["small"], block_ms=200) == []
    assert len(await broker.claim("a", ["small", "big"], block_ms=500)) == 1


async def test_a_blocked_claim_wakes_when_a_job_arrives(broker) -> None:  # type: ignore[no-untyped-def]
    job = _job()
    waiting = asyncio.create_task(broker.claim("a", ["m"], block_ms=3000))
    await asyncio.sleep(0.2)
    await broker.enqueue(job)
    delivered = await asyncio.wait_for(waiting, 2)
    assert delivered[0].job.job_id == job.job_id


async def test_a_dead_workers_job_is_reclaimed_unless_kept_alive(broker) -> None:  # type: ignore[no-untyped-def]
    await broker.enqueue(_job())
    (delivery,) = await broker.claim("dead", ["m"], block_ms=500)
    assert await broker.reclaim_stale("rescuer", ["m"], min_idle_ms=300) == []
    await asyncio.sleep(0.4)
    await broker.keep_alive("dead", [delivery])  # a live worker touches its jobs...
    assert await broker.reclaim_stale("rescuer", ["m"], min_idle_ms=300) == []
    await asyncio.sleep(0.4)  # ...a dead one does not
    rescued = await broker.reclaim_stale("rescuer", ["m"], min_idle_ms=300)
    assert [d.job.job_id for d in rescued] == [delivery.job.job_id]
    assert rescued[0].attempts > 1


async def test_event_logs_replay_from_any_point(broker) -> None:  # type: ignore[no-untyped-def]
    job_id = uuid.uuid4().hex
    ids = [await broker.publish(job_id, TokenEvent(index=i, text=f"t{i}")) for i in range(3)]
    everything = await broker.read_events(job_id, "0", block_ms=0)
    assert [e.text for _, e in everything] == ["t0", "t1", "t2"]
    rest = await broker.read_events(job_id, ids[0], block_ms=0)
    assert [e.text for _, e in rest] == ["t1", "t2"]
    assert await broker.read_events(job_id, ids[-1], block_ms=100) == []


async def test_results_are_consumed_once_and_rescued_from_a_dead_persister(broker) -> None:  # type: ignore[no-untyped-def]
    job = _job()
    await broker.post_result(_done(job))
    (taken,) = await broker.claim_results("replica-1", block_ms=500, min_idle_ms=60_000)
    assert await broker.claim_results("replica-2", block_ms=100, min_idle_ms=60_000) == []
    await asyncio.sleep(0.3)
    (rescued,) = await broker.claim_results("replica-2", block_ms=100, min_idle_ms=200)
    assert rescued.result.job_id == taken.result.job_id == job.job_id
    await broker.ack_result(rescued)
    assert await broker.claim_results("replica-3", block_ms=100, min_idle_ms=0) == []


async def test_cancel_and_heartbeats(broker) -> None:  # type: ignore[no-untyped-def]
    assert not await broker.is_cancelled("j1")
    await broker.cancel("j1")
    assert await broker.is_cancelled("j1")
    info = WorkerInfo(worker_id="w1", host="h", pid=1, models=["m"], started_at=0.0)
    await broker.heartbeat(info, ttl_s=5)
    assert [w.worker_id for w in await broker.workers()] == ["w1"]


async def test_a_subscription_gets_the_backlog_then_follows_live(broker) -> None:  # type: ignore[no-untyped-def]
    job_id = uuid.uuid4().hex
    ids = [await broker.publish(job_id, TokenEvent(index=i, text=f"t{i}")) for i in range(3)]
    async with broker.subscribe_events(job_id, ids[0]) as events:
        assert [e.text for _, e in await events.next(1000)] == ["t1", "t2"]
        assert await events.next(100) == []  # nothing new: an empty batch when the wait is over
        later = asyncio.create_task(events.next(3000))
        await asyncio.sleep(0.1)
        live_id = await broker.publish(job_id, TokenEvent(index=3, text="t3"))
        assert await asyncio.wait_for(later, 2) == [(live_id, TokenEvent(index=3, text="t3"))]


async def test_subscribers_of_one_job_each_keep_their_own_cursor(broker) -> None:  # type: ignore[no-untyped-def]
    job_id = uuid.uuid4().hex
    first = await broker.publish(job_id, TokenEvent(index=0, text="a"))
    async with broker.subscribe_events(job_id, "0") as everything, broker.subscribe_events(job_id, first) as rest:
        await broker.publish(job_id, TokenEvent(index=1, text="b"))
        seen_all: list[str] = []
        while len(seen_all) < 2:
            seen_all += [e.text for _, e in await everything.next(1000)]
        assert seen_all == ["a", "b"]
        assert [e.text for _, e in await rest.next(1000)] == ["b"]


async def test_redis_lists_workers_from_its_index_not_a_keyspace_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    if not _redis_up():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    broker = RedisBroker(REDIS_URL)

    def info(worker_id: str) -> WorkerInfo:
        return WorkerInfo(worker_id=worker_id, host="h", pid=1, models=["m"], started_at=0.0)

    try:
        # A worker of the release before the index: found by its key alone.
        client.set(contract.worker_key("old"), info("old").model_dump_json(), ex=30)
        assert [w.worker_id for w in await broker.workers()] == ["old"]
        client.delete(contract.worker_key("old"))
        for worker_id in ("w-b", "w-a", "w-c"):
            await broker.heartbeat(info(worker_id), ttl_s=30)
        for number in range(500):  # a keyspace full of job event logs
            client.set(f"attune:events:job-{number}", "x", ex=30)
        client.delete(contract.worker_key("w-c"))  # its heartbeat expired

        def no_scan(*args: object, **kwargs: object) -> None:
            raise AssertionError("workers() scanned the keyspace")

        monkeypatch.setattr(broker._redis, "scan_iter", no_scan)
        assert [w.worker_id for w in await broker.workers()] == ["w-a", "w-b"]
        await broker.heartbeat(info("w-a"), ttl_s=1)  # a worker shutting down retracts its heartbeat
        client.delete(contract.worker_key("w-a"))
        assert [w.worker_id for w in await broker.workers()] == ["w-b"]
    finally:
        await broker.close()
        client.flushdb()
