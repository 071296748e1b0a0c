"""Redis Streams broker: consumer groups spread jobs, XAUTOCLAIM rescues a dead worker's jobs."""

from __future__ import annotations

import time

from redis import asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from attune import contract
from attune.broker.base import AnyEvent, AnyJob, AnyResult, Delivery, ResultDelivery
from attune.contract import ControlCommand, WorkerInfo

# Per-job event logs are short-lived: long enough for a client to reconnect and replay.
EVENTS_TTL_S = 3600
EVENTS_MAXLEN = 20_000
RESULTS_MAXLEN = 100_000
CONTROL_MAXLEN = 1_000
CANCEL_TTL_S = 3600


class RedisBroker:
    def __init__(self, url: str) -> None:
        self._redis = aioredis.from_url(url, decode_responses=True)
        self._groups_ready: set[str] = set()

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except RedisError:
            return False

    async def _ensure_group(self, stream: str, group: str) -> None:
        if (stream, group) in self._groups_ready:  # type: ignore[comparison-overlap]
            return
        try:
            await self._redis.xgroup_create(stream, group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups_ready.add((stream, group))  # type: ignore[arg-type]

    # jobs ---------------------------------------------------------------------------
    async def enqueue(self, job: AnyJob) -> None:
        stream = contract.jobs_stream(job.model)
        await self._ensure_group(stream, contract.WORKER_GROUP)
        await self._redis.xadd(stream, {"job": job.model_dump_json()})

    async def claim(self, consumer: str, models: list[str], block_ms: int, count: int = 1) -> list[Delivery]:
        streams = {contract.jobs_stream(m): ">" for m in models}
        for stream in streams:
            await self._ensure_group(stream, contract.WORKER_GROUP)
        reply = await self._redis.xreadgroup(
            contract.WORKER_GROUP, consumer, streams, count=count, block=block_ms or None
        )
        return [self._delivery(stream, entry_id, fields) for stream, entries in reply or [] for entry_id, fields in entries]

    async def reclaim_stale(self, consumer: str, models: list[str], min_idle_ms: int) -> list[Delivery]:
        deliveries: list[Delivery] = []
        for model in models:
            stream = contract.jobs_stream(model)
            await self._ensure_group(stream, contract.WORKER_GROUP)
            _, claimed, _deleted = await self._redis.xautoclaim(
                stream, contract.WORKER_GROUP, consumer, min_idle_time=min_idle_ms, start_id="0-0", count=10
            )
            for entry_id, fields in claimed:
                if fields:
                    deliveries.append(self._delivery(stream, entry_id, fields, attempts=2))
        return deliveries

    @staticmethod
    def _delivery(stream: str, entry_id: str, fields: dict[str, str], attempts: int = 1) -> Delivery:
        return Delivery(job=contract.job_adapter.validate_json(fields["job"]), delivery_id=entry_id, stream=stream, attempts=attempts)

    async def keep_alive(self, consumer: str, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            await self._redis.xclaim(
                delivery.stream, contract.WORKER_GROUP, consumer, min_idle_time=0,
                message_ids=[delivery.delivery_id], justid=True,
            )

    async def ack(self, delivery: Delivery) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(delivery.stream, contract.WORKER_GROUP, delivery.delivery_id)
            pipe.xdel(delivery.stream, delivery.delivery_id)
            await pipe.execute()

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

    # results ------------------------------------------------------------------------
    async def post_result(self, result: AnyResult) -> None:
        await self._ensure_group(contract.RESULTS_STREAM, contract.PERSISTER_GROUP)
        await self._redis.xadd(
            contract.RESULTS_STREAM, {"result": result.model_dump_json()}, maxlen=RESULTS_MAXLEN, approximate=True
        )

    async def claim_results(self, consumer: str, block_ms: int, min_idle_ms: int) -> list[ResultDelivery]:
        stream = contract.RESULTS_STREAM
        await self._ensure_group(stream, contract.PERSISTER_GROUP)
        # A replica that died with results in hand leaves them pending; take those over first.
        _, stale, _ = await self._redis.xautoclaim(
            stream, contract.PERSISTER_GROUP, consumer, min_idle_time=min_idle_ms, start_id="0-0", count=50
        )
        entries = [(entry_id, fields) for entry_id, fields in stale if fields]
        if not entries:
            reply = await self._redis.xreadgroup(
                contract.PERSISTER_GROUP, consumer, {stream: ">"}, count=50, block=block_ms or None
            )
            entries = [item for _s, batch in reply or [] for item in batch]
        return [
            ResultDelivery(result=contract.result_adapter.validate_json(fields["result"]), delivery_id=entry_id)
            for entry_id, fields in entries
        ]

    async def ack_result(self, delivery: ResultDelivery) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(contract.RESULTS_STREAM, contract.PERSISTER_GROUP, delivery.delivery_id)
            pipe.xdel(contract.RESULTS_STREAM, delivery.delivery_id)
            await pipe.execute()

    # cancellation -------------------------------------------------------------------
    async def cancel(self, job_id: str) -> None:
        await self._redis.set(contract.cancel_key(job_id), "1", ex=CANCEL_TTL_S)

    async def is_cancelled(self, job_id: str) -> bool:
        return bool(await self._redis.exists(contract.cancel_key(job_id)))

    # workers ------------------------------------------------------------------------
    async def heartbeat(self, info: WorkerInfo, ttl_s: int) -> None:
        info = info.model_copy(update={"heartbeat_at": time.time()})
        await self._redis.set(contract.worker_key(info.worker_id), info.model_dump_json(), ex=ttl_s)

    async def workers(self) -> list[WorkerInfo]:
        keys = [key async for key in self._redis.scan_iter(match=contract.worker_key("*"), count=200)]
        if not keys:
            return []
        values = await self._redis.mget(keys)
        return sorted(
            (WorkerInfo.model_validate_json(v) for v in values if v), key=lambda w: w.worker_id
        )

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
        await self._redis.aclose()

