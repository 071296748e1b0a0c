"""Redis Streams broker: consumer groups spread jobs, XAUTOCLAIM rescues a dead worker's jobs."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import TypeVar

from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from attune import contract
from attune.broker.base import AnyEvent, AnyJob, AnyResult, Delivery, ResultDelivery
from attune.broker.redis_events import BLOCK_MS as EVENTS_BLOCK_MS
from attune.broker.redis_events import EventHub, EventSubscription
from attune.contract import ControlCommand, WorkerInfo

# Per-job event logs are short-lived: long enough for a client to reconnect and replay.
EVENTS_TTL_S = 3600
EVENTS_MAXLEN = 20_000
RESULTS_MAXLEN = 100_000
CONTROL_MAXLEN = 1_000
CANCEL_TTL_S = 3600
TURN_LEASE_PREFIX = f"{contract.KEY_PREFIX}:turn-lease:"
# Every worker that heartbeats, scored by when its heartbeat key expires: ``workers()`` reads
# these ids instead of SCANning the whole keyspace (every job's event log lives there for an
# hour, so a SCAN per chat turn cost more round trips the more turns the last hour had).
WORKERS_INDEX = f"{contract.KEY_PREFIX}:workers"
WORKERS_INDEX_GRACE_S = 60  # an id whose key expired this long ago is dropped from the index
# Reconnecting: each command retries a lost connection this many times, backing off from
# 50 ms to 2 s (with jitter) before its caller sees the error and retries in its own loop.
RECONNECT_RETRIES = 6
RECONNECT_BACKOFF_BASE_S = 0.05
RECONNECT_BACKOFF_CAP_S = 2.0
HEALTH_CHECK_INTERVAL_S = 15
# The pool is for short commands (and each worker's or persister's one blocking claim): sockets
# follow jobs through the EventHub's own connection. A burst beyond it waits for a free
# connection, up to POOL_TIMEOUT_S, rather than failing with "Too many connections".
DEFAULT_MAX_CONNECTIONS = 64
POOL_TIMEOUT_S = 10.0

log = logging.getLogger(__name__)
T = TypeVar("T")


class RedisBroker:
    """Survives a Redis restart with no process restarted: redis-py reconnects (with backoff),
    and a consumer group that vanished with the data (``NOGROUP``) is created again on the
    spot, so workers and persisters go on consuming and new turns are answered.

    Commands share a pool of ``max_connections``; job events are followed through one
    ``EventHub`` per broker, on one more connection of its own (``subscribe_events``)."""

    def __init__(self, url: str, max_connections: int = DEFAULT_MAX_CONNECTIONS) -> None:
        self._redis = redis_client(url, max_connections)
        # The reader's socket timeout outlasts its XREAD's block (redis-py's default, 5 s, would not).
        self._events = EventHub(
            redis_client(url, 1, socket_timeout_s=EVENTS_BLOCK_MS / 1000 + 5), self._redis, _backoff()
        )
        self._groups_ready: set[tuple[str, str]] = set()

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except RedisError:
            return False

    async def _ensure_group(self, stream: str, group: str) -> None:
        if (stream, group) in self._groups_ready:
            return
        try:
            await self._redis.xgroup_create(stream, group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups_ready.add((stream, group))

    async def _grouped(self, stream: str, group: str, operation: Callable[[], Awaitable[T]]) -> T:
        """Run a consumer-group command, re-creating the group if Redis lost it (restart, flush)."""
        await self._ensure_group(stream, group)
        try:
            return await operation()
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            log.warning("consumer group %s of %s is gone (Redis restarted?); creating it again", group, stream)
        except (RedisConnectionError, RedisTimeoutError):
            self._groups_ready.clear()  # a new server may be behind the same address: check again
            raise
        self._groups_ready.discard((stream, group))
        await self._ensure_group(stream, group)
        return await operation()

    async def groups_present(self, models: list[str]) -> dict[str, bool]:
        """Whether each stream that must be consumed has its group: the results stream and each model's jobs."""
        wanted = {contract.RESULTS_STREAM: contract.PERSISTER_GROUP}
        wanted.update({contract.jobs_stream(m): contract.WORKER_GROUP for m in models})
        present: dict[str, bool] = {}
        for stream, group in wanted.items():
            try:
                groups = await self._redis.xinfo_groups(stream)
            except ResponseError:  # no such stream
                groups = []
            present[stream] = any(g.get("name") == group for g in groups)
        return present

    # jobs ---------------------------------------------------------------------------
    async def enqueue(self, job: AnyJob) -> None:
        stream = contract.jobs_stream(job.model)
        try:
            await self._ensure_group(stream, contract.WORKER_GROUP)
            await self._redis.xadd(stream, {"job": job.model_dump_json()})
        except (RedisConnectionError, RedisTimeoutError):
            self._groups_ready.clear()
            raise

    async def claim(self, consumer: str, models: list[str], block_ms: int, count: int = 1) -> list[Delivery]:
        streams = {contract.jobs_stream(m): ">" for m in models}
        for stream in streams:
            await self._ensure_group(stream, contract.WORKER_GROUP)
        try:
            reply = await self._redis.xreadgroup(
                contract.WORKER_GROUP, consumer, streams, count=count, block=block_ms or None
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            log.warning("a jobs consumer group is gone (Redis restarted?); creating them again")
            self._groups_ready.clear()
            return []
        except (RedisConnectionError, RedisTimeoutError):
            self._groups_ready.clear()
            raise
        return [
            self._delivery(stream, entry_id, fields) for stream, entries in reply or [] for entry_id, fields in entries
        ]

    async def reclaim_stale(self, consumer: str, models: list[str], min_idle_ms: int) -> list[Delivery]:
        deliveries: list[Delivery] = []
        for model in models:
            stream = contract.jobs_stream(model)
            _, claimed, _deleted = await self._grouped(
                stream,
                contract.WORKER_GROUP,
                partial(
                    self._redis.xautoclaim,
                    stream,
                    contract.WORKER_GROUP,
                    consumer,
                    min_idle_time=min_idle_ms,
                    start_id="0-0",
                    count=10,
                ),
            )
            for entry_id, fields in claimed:
                if fields:
                    deliveries.append(self._delivery(stream, entry_id, fields, attempts=2))
        return deliveries

    @staticmethod
    def _delivery(stream: str, entry_id: str, fields: dict[str, str], attempts: int = 1) -> Delivery:
        return Delivery(
            job=contract.job_adapter.validate_json(fields["job"]),
            delivery_id=entry_id,
            stream=stream,
            attempts=attempts,
        )

    async def keep_alive(self, consumer: str, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            await self._grouped(
                delivery.stream,
                contract.WORKER_GROUP,
                partial(
                    self._redis.xclaim,
                    delivery.stream,
                    contract.WORKER_GROUP,
                    consumer,
                    min_idle_time=0,
                    message_ids=[delivery.delivery_id],
                    justid=True,
                ),
            )

    async def ack(self, delivery: Delivery) -> None:
        await self._ack(delivery.stream, contract.WORKER_GROUP, delivery.delivery_id)

    async def _ack(self, stream: str, group: str, entry_id: str) -> None:
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.xack(stream, group, entry_id)
                pipe.xdel(stream, entry_id)
                await pipe.execute()
        except ResponseError as exc:  # the group went with a restart: nothing is pending any more
            if "NOGROUP" not in str(exc):
                raise
            self._groups_ready.discard((stream, group))
            await self._redis.xdel(stream, entry_id)

    async def queued_job_ids(self, model: str) -> set[str]:
        """The ids of the jobs for ``model`` that are waiting or being worked on (not yet acked)."""
        ids: set[str] = set()
        start = "-"
        while True:
            entries = await self._redis.xrange(contract.jobs_stream(model), min=start, count=500)
            for _entry_id, fields in entries:
                try:
                    ids.add(contract.job_adapter.validate_json(fields["job"]).job_id)
                except (KeyError, ValueError):
                    continue
            if len(entries) < 500:
                return ids
            start = "(" + entries[-1][0]

    async def queue_depth(self, model: str) -> int:
        try:
            return int(await self._redis.xlen(contract.jobs_stream(model)))
        except ResponseError:
            return 0

    # per-job events -----------------------------------------------------------------
    async def publish(self, job_id: str, event: AnyEvent) -> str:
        stream = contract.events_stream(job_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(stream, {"event": event.model_dump_json()}, maxlen=EVENTS_MAXLEN, approximate=True)
            pipe.expire(stream, EVENTS_TTL_S)
            entry_id, _ = await pipe.execute()
        return str(entry_id)

    async def read_events(self, job_id: str, after: str, block_ms: int) -> list[tuple[str, AnyEvent]]:
        reply = await self._redis.xread({contract.events_stream(job_id): after}, block=block_ms or None, count=512)
        return [
            (entry_id, contract.event_adapter.validate_json(fields["event"]))
            for _stream, entries in reply or []
            for entry_id, fields in entries
        ]

    def subscribe_events(self, job_id: str, after: str) -> AbstractAsyncContextManager[EventSubscription]:
        return self._events.subscribe(job_id, after)

    async def last_event(self, job_id: str) -> AnyEvent | None:
        entries = await self._redis.xrevrange(contract.events_stream(job_id), count=1)
        return contract.event_adapter.validate_json(entries[0][1]["event"]) if entries else None

    # turn leases ----------------------------------------------------------------------
    async def lease_turn(self, message_id: int, ttl_s: float) -> bool:
        """Take the right to (re-)enqueue this message's job for ``ttl_s``; False if someone holds it."""
        return bool(await self._redis.set(f"{TURN_LEASE_PREFIX}{message_id}", "1", nx=True, px=int(ttl_s * 1000)))

    async def release_turn(self, message_id: int) -> None:
        await self._redis.delete(f"{TURN_LEASE_PREFIX}{message_id}")

    # results ------------------------------------------------------------------------
    async def post_result(self, result: AnyResult) -> None:
        await self._ensure_group(contract.RESULTS_STREAM, contract.PERSISTER_GROUP)
        await self._redis.xadd(
            contract.RESULTS_STREAM, {"result": result.model_dump_json()}, maxlen=RESULTS_MAXLEN, approximate=True
        )

    async def claim_results(self, consumer: str, block_ms: int, min_idle_ms: int) -> list[ResultDelivery]:
        stream = contract.RESULTS_STREAM
        # A replica that died with results in hand leaves them pending; take those over first.
        _, stale, _ = await self._grouped(
            stream,
            contract.PERSISTER_GROUP,
            partial(
                self._redis.xautoclaim,
                stream,
                contract.PERSISTER_GROUP,
                consumer,
                min_idle_time=min_idle_ms,
                start_id="0-0",
                count=50,
            ),
        )
        entries = [(entry_id, fields) for entry_id, fields in stale if fields]
        if not entries:
            reply = await self._grouped(
                stream,
                contract.PERSISTER_GROUP,
                partial(
                    self._redis.xreadgroup,
                    contract.PERSISTER_GROUP,
                    consumer,
                    {stream: ">"},
                    count=50,
                    block=block_ms or None,
                ),
            )
            entries = [item for _s, batch in reply or [] for item in batch]
        return [
            ResultDelivery(result=contract.result_adapter.validate_json(fields["result"]), delivery_id=entry_id)
            for entry_id, fields in entries
        ]

    async def ack_result(self, delivery: ResultDelivery) -> None:
        await self._ack(contract.RESULTS_STREAM, contract.PERSISTER_GROUP, delivery.delivery_id)

    # cancellation -------------------------------------------------------------------
    async def cancel(self, job_id: str) -> None:
        await self._redis.set(contract.cancel_key(job_id), "1", ex=CANCEL_TTL_S)

    async def is_cancelled(self, job_id: str) -> bool:
        return bool(await self._redis.exists(contract.cancel_key(job_id)))

    # workers ------------------------------------------------------------------------
    async def heartbeat(self, info: WorkerInfo, ttl_s: int) -> None:
        info = info.model_copy(update={"heartbeat_at": time.time()})
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(contract.worker_key(info.worker_id), info.model_dump_json(), ex=ttl_s)
            pipe.zadd(WORKERS_INDEX, {info.worker_id: info.heartbeat_at + ttl_s})
            await pipe.execute()

    async def workers(self) -> list[WorkerInfo]:
        """Every worker whose heartbeat key is alive: two round trips, however big the keyspace."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zremrangebyscore(WORKERS_INDEX, "-inf", time.time() - WORKERS_INDEX_GRACE_S)
            pipe.zrange(WORKERS_INDEX, 0, -1)
            _, ids = await pipe.execute()
        if ids:
            keys = [contract.worker_key(worker_id) for worker_id in ids]
        else:  # workers of a release before the index heartbeat only their keys
            keys = [key async for key in self._redis.scan_iter(match=contract.worker_key("*"), count=200)]
        if not keys:
            return []
        values = await self._redis.mget(keys)
        return sorted((WorkerInfo.model_validate_json(v) for v in values if v), key=lambda w: w.worker_id)

    async def send_control(self, command: ControlCommand) -> None:
        await self._redis.xadd(
            contract.CONTROL_STREAM, {"command": command.model_dump_json()}, maxlen=CONTROL_MAXLEN, approximate=True
        )

    async def control_cursor(self) -> str:
        last = await self._redis.xrevrange(contract.CONTROL_STREAM, count=1)
        return last[0][0] if last else "0"

    async def read_control(self, after: str, block_ms: int) -> list[tuple[str, ControlCommand]]:
        reply = await self._redis.xread({contract.CONTROL_STREAM: after}, block=block_ms or None, count=100)
        return [
            (entry_id, ControlCommand.model_validate_json(fields["command"]))
            for _s, entries in reply or []
            for entry_id, fields in entries
        ]

    async def close(self) -> None:
        await self._events.close()
        await self._redis.aclose()


def _backoff() -> ExponentialBackoff:
    return ExponentialBackoff(cap=RECONNECT_BACKOFF_CAP_S, base=RECONNECT_BACKOFF_BASE_S)


def redis_client(url: str, max_connections: int, socket_timeout_s: float | None = None) -> aioredis.Redis:
    """A client that rides out lost connections: every Redis client of a process should be one.

    redis-py's own default retries a command on a dead connection 0 times, so after a blip
    (every client killed, a Redis-side timeout) each pooled connection fails its next command."""
    timeouts = {} if socket_timeout_s is None else {"socket_timeout": socket_timeout_s}
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=POOL_TIMEOUT_S,
        decode_responses=True,
        **timeouts,
        retry=Retry(_backoff(), RECONNECT_RETRIES),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=HEALTH_CHECK_INTERVAL_S,
    )
    return aioredis.Redis.from_pool(pool)
