"""In-process broker for the embedded default: the same semantics as RedisBroker, in memory.

It lives on one asyncio event loop (the API's); the embedded worker's async side runs on
that loop too, and its model compute runs in engine threads that never touch the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import OrderedDict, defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from attune.broker.base import AnyEvent, AnyJob, AnyResult, Delivery, ResultDelivery, event_id_key
from attune.contract import ControlCommand, WorkerInfo

EVENTS_TTL_S = 3600
T = TypeVar("T")


@dataclass
class _Pending:
    item: object
    consumer: str
    delivered_at: float
    attempts: int = 1


@dataclass
class _Log:
    """An append-only, replayable log with a wake-up for blocked readers."""

    entries: list[tuple[str, object]] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    touched_at: float = field(default_factory=time.monotonic)


class _LogSubscription:
    """Follows one job's log from a cursor; waiting costs nothing but a wait on the log's condition."""

    def __init__(self, logs: dict[str, _Log], job_id: str, after: str) -> None:
        self._logs, self._job_id, self._cursor = logs, job_id, after

    async def next(self, block_ms: int) -> list[tuple[str, AnyEvent]]:
        found = await _read_log(self._logs[self._job_id], self._cursor, block_ms)  # looked up each time: logs expire
        if found:
            self._cursor = found[-1][0]
        return found  # type: ignore[return-value]


class _Group:
    """A work queue with consumer-group semantics: deliver once, keep pending until acked."""

    def __init__(self) -> None:
        self.queue: OrderedDict[str, object] = OrderedDict()
        self.pending: dict[str, _Pending] = {}

    def take(self, consumer: str, count: int) -> list[tuple[str, object, int]]:
        taken = []
        while self.queue and len(taken) < count:
            entry_id, item = self.queue.popitem(last=False)
            self.pending[entry_id] = _Pending(item, consumer, time.monotonic())
            taken.append((entry_id, item, 1))
        return taken

    def steal_stale(self, consumer: str, min_idle_ms: int) -> list[tuple[str, object, int]]:
        now = time.monotonic()
        stolen = []
        for entry_id, pending in self.pending.items():
            if (now - pending.delivered_at) * 1000 >= min_idle_ms:
                pending.consumer, pending.delivered_at = consumer, now
                pending.attempts += 1
                stolen.append((entry_id, pending.item, pending.attempts))
        return stolen


class MemoryBroker:
    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._jobs: dict[str, _Group] = defaultdict(_Group)
        self._jobs_changed = asyncio.Condition()
        self._results = _Group()
        self._results_changed = asyncio.Condition()
        self._events: dict[str, _Log] = defaultdict(_Log)
        self._control = _Log()
        self._cancelled: dict[str, float] = {}
        self._workers: dict[str, tuple[WorkerInfo, float]] = {}
        self._leases: dict[int, float] = {}

    def _next_id(self) -> str:
        return f"{int(time.time() * 1000)}-{next(self._ids)}"

    async def ping(self) -> bool:
        return True

    async def enqueue(self, job: AnyJob) -> None:
        async with self._jobs_changed:
            self._jobs[job.model].queue[self._next_id()] = job
            self._jobs_changed.notify_all()

    async def claim(self, consumer: str, models: list[str], block_ms: int, count: int = 1) -> list[Delivery]:
        def take_any() -> list[Delivery]:
            out: list[Delivery] = []
            for model in models:
                for entry_id, job, attempts in self._jobs[model].take(consumer, count - len(out)):
                    out.append(Delivery(job=job, delivery_id=entry_id, stream=model, attempts=attempts))  # type: ignore[arg-type]
            return out

        return await _take_or_wait(self._jobs_changed, take_any, block_ms)

    async def reclaim_stale(self, consumer: str, models: list[str], min_idle_ms: int) -> list[Delivery]:
        return [
            Delivery(job=job, delivery_id=entry_id, stream=model, attempts=attempts)  # type: ignore[arg-type]
            for model in models
            for entry_id, job, attempts in self._jobs[model].steal_stale(consumer, min_idle_ms)
        ]

    async def keep_alive(self, consumer: str, deliveries: list[Delivery]) -> None:
        now = time.monotonic()
        for delivery in deliveries:
            pending = self._jobs[delivery.stream].pending.get(delivery.delivery_id)
            if pending is not None and pending.consumer == consumer:
                pending.delivered_at = now

    async def ack(self, delivery: Delivery) -> None:
        self._jobs[delivery.stream].pending.pop(delivery.delivery_id, None)

    async def queue_depth(self, model: str) -> int:
        group = self._jobs.get(model)
        return len(group.queue) + len(group.pending) if group else 0

    async def publish(self, job_id: str, event: AnyEvent) -> str:
        self._expire_old_logs()
        log = self._events[job_id]
        entry_id = self._next_id()
        async with log.changed:
            log.entries.append((entry_id, event))
            log.touched_at = time.monotonic()
            log.changed.notify_all()
        return entry_id

    async def read_events(self, job_id: str, after: str, block_ms: int) -> list[tuple[str, AnyEvent]]:
        return await _read_log(self._events[job_id], after, block_ms)  # type: ignore[return-value]

    @contextlib.asynccontextmanager
    async def subscribe_events(self, job_id: str, after: str) -> AsyncIterator[_LogSubscription]:
        yield _LogSubscription(self._events, job_id, after)

    def _expire_old_logs(self) -> None:
        horizon = time.monotonic() - EVENTS_TTL_S
        for job_id in [j for j, log in self._events.items() if log.touched_at < horizon]:
            del self._events[job_id]

    async def last_event(self, job_id: str) -> AnyEvent | None:
        log = self._events.get(job_id)
        return log.entries[-1][1] if log and log.entries else None  # type: ignore[return-value]

    async def queued_job_ids(self, model: str) -> set[str]:
        group = self._jobs.get(model)
        if group is None:
            return set()
        items = [*group.queue.values(), *(p.item for p in group.pending.values())]
        return {item.job_id for item in items}  # type: ignore[attr-defined]

    async def lease_turn(self, message_id: int, ttl_s: float) -> bool:
        now = time.monotonic()
        if self._leases.get(message_id, 0.0) > now:
            return False
        self._leases[message_id] = now + ttl_s
        return True

    async def release_turn(self, message_id: int) -> None:
        self._leases.pop(message_id, None)

    async def groups_present(self, models: list[str]) -> dict[str, bool]:
        return {"results": True, **{f"jobs:{m}": True for m in models}}  # in memory, groups cannot vanish

    async def post_result(self, result: AnyResult) -> None:
        async with self._results_changed:
            self._results.queue[self._next_id()] = result
            self._results_changed.notify_all()

    async def claim_results(self, consumer: str, block_ms: int, min_idle_ms: int) -> list[ResultDelivery]:
        def take_any() -> list[ResultDelivery]:
            taken = self._results.steal_stale(consumer, min_idle_ms) or self._results.take(consumer, 50)
            return [ResultDelivery(result=item, delivery_id=entry_id) for entry_id, item, _ in taken]  # type: ignore[arg-type]

        return await _take_or_wait(self._results_changed, take_any, block_ms)

    async def ack_result(self, delivery: ResultDelivery) -> None:
        self._results.pending.pop(delivery.delivery_id, None)

    async def cancel(self, job_id: str) -> None:
        self._cancelled[job_id] = time.monotonic()

    async def is_cancelled(self, job_id: str) -> bool:
        return job_id in self._cancelled

    async def heartbeat(self, info: WorkerInfo, ttl_s: int) -> None:
        info = info.model_copy(update={"heartbeat_at": time.time()})
        self._workers[info.worker_id] = (info, time.monotonic() + ttl_s)

    async def workers(self) -> list[WorkerInfo]:
        now = time.monotonic()
        return sorted((info for info, expires in self._workers.values() if expires > now), key=lambda w: w.worker_id)

    async def send_control(self, command: ControlCommand) -> None:
        async with self._control.changed:
            self._control.entries.append((self._next_id(), command))
            self._control.changed.notify_all()

    async def control_cursor(self) -> str:
        return self._control.entries[-1][0] if self._control.entries else "0"

    async def read_control(self, after: str, block_ms: int) -> list[tuple[str, ControlCommand]]:
        return await _read_log(self._control, after, block_ms)  # type: ignore[return-value]

    async def close(self) -> None:
        return None


def _after(entries: list[tuple[str, object]], after: str) -> list[tuple[str, object]]:
    if after == "0":
        return list(entries)
    key = event_id_key(after)
    return [(entry_id, item) for entry_id, item in entries if event_id_key(entry_id) > key]


async def _read_log(log: _Log, after: str, block_ms: int) -> list[tuple[str, object]]:
    found = _after(log.entries, after)
    if found or block_ms <= 0:
        return found
    async with log.changed:
        try:
            await asyncio.wait_for(log.changed.wait_for(lambda: bool(_after(log.entries, after))), block_ms / 1000)
        except TimeoutError:
            return []
    return _after(log.entries, after)


async def _take_or_wait(changed: asyncio.Condition, take: Callable[[], list[T]], block_ms: int) -> list[T]:
    """Take under the condition's lock, so a put between "found nothing" and "wait" is never missed."""
    async with changed:
        found = take()
        if found or block_ms <= 0:
            return found
        try:
            await asyncio.wait_for(changed.wait_for(lambda: bool(found.extend(take()) or found)), block_ms / 1000)
        except TimeoutError:
            pass
        return found
