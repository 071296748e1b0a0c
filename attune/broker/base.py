"""The job broker: how generation and tagging jobs reach workers and how their events return.

Two implementations share this interface: ``RedisBroker`` (Redis Streams with consumer
groups, for production) and ``MemoryBroker`` (one process, for the embedded default).
Semantics both honour:

* a job is delivered to one consumer of the ``workers`` group; it stays pending until
  acked, and a pending job idle for longer than ``min_idle_ms`` can be re-claimed by
  another worker (the first one died);
* a job's events form an ordered, replayable log: any reader, on any backend replica,
  can read it from the start or resume after the last id it saw; a socket follows it with
  ``subscribe_events``, which costs no pooled connection while it waits (RedisBroker reads
  every subscribed stream with one ``XREAD`` per process: ``attune/broker/redis_events.py``);
* finished results go to one results log consumed by the backends' ``persisters`` group,
  so a reply is persisted even when no client is listening any more.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from attune.contract import (
    ClassifyJob,
    ClassifyResult,
    ControlCommand,
    DoneEvent,
    EmotionEvent,
    ErrorEvent,
    GenerateJob,
    TokenEvent,
    WorkerInfo,
)

AnyJob = GenerateJob | ClassifyJob
AnyEvent = EmotionEvent | TokenEvent | DoneEvent | ErrorEvent
AnyResult = DoneEvent | ErrorEvent | ClassifyResult

# Event ids are opaque, ordered strings ("0" means "from the start").
START = "0"


@dataclass(frozen=True)
class Delivery:
    """A job handed to one consumer; ``ack`` it when its result is published."""

    job: AnyJob
    delivery_id: str
    stream: str
    attempts: int = 1


@dataclass(frozen=True)
class ResultDelivery:
    result: AnyResult
    delivery_id: str


def event_id_key(entry_id: str) -> tuple[int, int]:
    """The order of event ids ("<ms>-<seq>", or "0"): compare these, never the strings."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


class BrokerError(RuntimeError):
    """The broker could not be reached or refused an operation."""


class EventSubscription(Protocol):
    """A job's event log followed from a cursor; each batch continues where the last one ended."""

    async def next(self, block_ms: int) -> list[tuple[str, AnyEvent]]:
        """The events after those already returned, waiting up to ``block_ms`` for one ([] if none came)."""
        ...


class Broker(Protocol):
    async def ping(self) -> bool: ...

    # jobs (backend -> worker)
    async def enqueue(self, job: AnyJob) -> None: ...

    async def claim(self, consumer: str, models: list[str], block_ms: int, count: int = 1) -> list[Delivery]: ...

    async def reclaim_stale(self, consumer: str, models: list[str], min_idle_ms: int) -> list[Delivery]: ...

    async def keep_alive(self, consumer: str, deliveries: list[Delivery]) -> None:
        """Reset the idle time of jobs still being worked on, so no one re-claims them."""
        ...

    async def ack(self, delivery: Delivery) -> None: ...

    async def queue_depth(self, model: str) -> int: ...

    # per-job event log (worker -> any backend replica)
    async def publish(self, job_id: str, event: AnyEvent) -> str: ...

    async def read_events(self, job_id: str, after: str, block_ms: int) -> list[tuple[str, AnyEvent]]:
        """One read of a job's log after ``after``; to follow a job as it runs, subscribe instead."""
        ...

    def subscribe_events(self, job_id: str, after: str) -> AbstractAsyncContextManager[EventSubscription]:
        """Follow a job's events after ``after`` ("0": from the start) for as long as the block lasts."""
        ...

    async def last_event(self, job_id: str) -> AnyEvent | None:
        """The newest event of a job (None: it has none, or its log expired)."""
        ...

    async def queued_job_ids(self, model: str) -> set[str]:
        """Ids of the jobs for ``model`` not yet acked: waiting, or claimed by a worker."""
        ...

    # (re-)enqueueing a chat turn: one backend at a time per user message
    async def lease_turn(self, message_id: int, ttl_s: float) -> bool: ...

    async def release_turn(self, message_id: int) -> None: ...

    async def groups_present(self, models: list[str]) -> dict[str, bool]:
        """For the results stream and each model's jobs stream: does its consumer group exist?"""
        ...

    # finished results (worker -> backend persisters)
    async def post_result(self, result: AnyResult) -> None: ...

    async def claim_results(self, consumer: str, block_ms: int, min_idle_ms: int) -> list[ResultDelivery]: ...

    async def ack_result(self, delivery: ResultDelivery) -> None: ...

    # cancellation
    async def cancel(self, job_id: str) -> None: ...

    async def is_cancelled(self, job_id: str) -> bool: ...

    # worker liveness and control
    async def heartbeat(self, info: WorkerInfo, ttl_s: int) -> None: ...

    async def workers(self) -> list[WorkerInfo]: ...

    async def send_control(self, command: ControlCommand) -> None: ...

    async def control_cursor(self) -> str:
        """The id after which commands sent from now on will appear."""
        ...

    async def read_control(self, after: str, block_ms: int) -> list[tuple[str, ControlCommand]]: ...

    async def close(self) -> None: ...
