"""How job events reach sockets with Redis: one reader per process, not one blocked connection per socket.

A socket that follows a job subscribes here. One background task holds one dedicated
connection and runs ``XREAD BLOCK`` over every subscribed job's event stream, each from
its subscribers' cursor, and hands the entries to per-subscriber buffers. Open sockets cost
the connection pool nothing, however many follow a job at once; the pool is left to
ordinary, short commands.

* A new subscription must not wait for the block in flight to time out: every XREAD also
  reads this process's small "wake" stream, and a subscription added (or a full buffer
  drained) during a read appends to it, which ends that read at once. The next XREAD
  includes the newcomer from its own cursor, so it first gets what its stream already holds.
* Memory is bounded: a subscriber buffers at most ``buffer_size`` events. A full one is
  left out of the XREAD, its cursor where its buffer ends, until its reader takes the
  batch; then it is read from Redis again from there. A slow socket slows only itself.
* A lost connection (Redis restarting, a killed client) is retried with the broker's
  backoff, for as long as it takes; subscribers keep their cursors and continue where they were.
* The task runs while anyone subscribes; once no one does, it ends after its current block.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator

from redis import asyncio as aioredis
from redis.backoff import AbstractBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from attune import contract
from attune.broker.base import AnyEvent, BrokerError, event_id_key

BLOCK_MS = 10_000  # how long one XREAD waits when nothing happens; changes end it early
SUBSCRIBER_BUFFER = 1024
READ_COUNT = 512  # per stream and XREAD
WAKE_TTL_S = 600  # a dead process's wake stream goes by itself
CLOSE_WAIT_S = 2.0

log = logging.getLogger(__name__)
Entries = list[tuple[str, AnyEvent]]


class EventSubscription:
    """One follower of one job's events; ``next`` hands over what arrived since the last batch."""

    def __init__(self, hub: EventHub, stream: str, after: str) -> None:
        self._hub, self.stream, self.cursor = hub, stream, after  # cursor: the newest id buffered
        self._buffer: Entries = []
        self._ready = asyncio.Event()
        self.full = False
        self.error: BrokerError | None = None

    @property
    def reading(self) -> bool:
        return not self.full and self.error is None

    def offer(self, entries: Entries) -> None:
        newest = event_id_key(self.cursor)
        fresh = [entry for entry in entries if event_id_key(entry[0]) > newest]
        fresh = fresh[: self._hub.buffer_size - len(self._buffer)]  # the rest is read again later
        if fresh:
            self._buffer.extend(fresh)
            self.cursor = fresh[-1][0]
            self._ready.set()
        self.full = len(self._buffer) >= self._hub.buffer_size

    def fail(self, error: BrokerError) -> None:
        self.error = error
        self._ready.set()

    async def next(self, block_ms: int) -> Entries:
        if not self._buffer and self.error is None and block_ms > 0:
            self._ready.clear()
            try:
                await asyncio.wait_for(self._ready.wait(), block_ms / 1000)
            except TimeoutError:
                return []
        if self.error is not None:
            raise self.error
        batch, self._buffer = self._buffer, []
        if self.full:
            self.full = False
            await self._hub.changed()
        return batch


class EventHub:
    """The per-process reader of job event streams (see the module docstring).

    ``reader`` is a client for it alone, whose socket timeout outlasts ``block_ms``;
    ``commands`` (the broker's pool) sends the wake-ups.
    """

    def __init__(
        self,
        reader: aioredis.Redis,
        commands: aioredis.Redis,
        backoff: AbstractBackoff,
        *,
        block_ms: int = BLOCK_MS,
        buffer_size: int = SUBSCRIBER_BUFFER,
    ) -> None:
        self._reader, self._commands = reader, commands
        self._backoff = backoff
        self._block_ms, self.buffer_size = block_ms, buffer_size
        self._wake_stream = f"{contract.KEY_PREFIX}:events-wake:{uuid.uuid4().hex}"
        self._wake_cursor = "0"
        self._subscribers: dict[str, set[EventSubscription]] = {}
        self._task: asyncio.Task[None] | None = None
        self._reading = False  # an XREAD is in flight
        self._woken = False  # ... and a wake-up for it was sent
        self._closed = False

    @property
    def running(self) -> bool:
        return self._task is not None

    def subscriber_count(self) -> int:
        return sum(len(peers) for peers in self._subscribers.values())

    @contextlib.asynccontextmanager
    async def subscribe(self, job_id: str, after: str) -> AsyncIterator[EventSubscription]:
        if self._closed:
            raise BrokerError("the broker is closed")
        if not _is_event_id(after):  # Redis would refuse the whole XREAD, and every subscriber with it
            raise BrokerError(f"not an event id: {after!r}")
        subscription = EventSubscription(self, contract.events_stream(job_id), after)
        self._subscribers.setdefault(subscription.stream, set()).add(subscription)
        try:
            if self._task is None:
                self._task = asyncio.create_task(self._run(), name="attune-event-hub")
            else:
                await self.changed()
            yield subscription
        finally:
            peers = self._subscribers.get(subscription.stream)
            if peers is not None:
                peers.discard(subscription)
                if not peers:
                    del self._subscribers[subscription.stream]

    async def changed(self) -> None:
        """What to read changed: end the XREAD in flight now rather than at its block timeout."""
        if not self._reading or self._woken:
            return  # the next XREAD, not yet sent, reads the new state anyway
        self._woken = True
        try:
            async with self._commands.pipeline(transaction=False) as pipe:
                pipe.xadd(self._wake_stream, {"wake": "1"}, maxlen=1, approximate=False)
                pipe.expire(self._wake_stream, WAKE_TTL_S)
                await pipe.execute()
        except RedisError as exc:
            log.warning(
                "could not wake the event reader (%s); it picks the change up within %d ms", exc, self._block_ms
            )

    async def close(self) -> None:
        self._closed = True
        self._fail_all(BrokerError("the broker was closed"))
        self._subscribers.clear()
        task, self._task = self._task, None
        if task is not None:
            # Woken, the reader sees no one left and ends; the cancel is for a reader backing off
            # (redis-py can lose a cancellation that lands while a command takes its connection).
            await self.changed()
            task.cancel()
            await asyncio.wait({task}, timeout=CLOSE_WAIT_S)
        await self._reader.aclose()

    async def _run(self) -> None:
        failures = 0
        while self._subscribers and not self._closed:
            try:
                reply = await self._read(self._read_plan())
            except (RedisConnectionError, RedisTimeoutError) as exc:
                failures += 1
                log.warning(
                    "the event reader lost Redis (%s); retrying, %d subscribers keep their place",
                    exc,
                    self.subscriber_count(),
                )
            except Exception as exc:  # one reader serves every socket: it must not die
                failures += 1
                log.exception("the event reader failed; its subscribers are told")
                self._fail_all(BrokerError(f"reading job events failed: {exc}"))
            else:
                failures = 0
                self._dispatch(reply)
                continue
            await asyncio.sleep(self._backoff.compute(failures))
        self._task = None

    def _read_plan(self) -> dict[str, str]:
        """Each stream from the oldest cursor of its reading subscribers, and the wake stream."""
        plan = {}
        for stream, peers in self._subscribers.items():
            cursors = [peer.cursor for peer in peers if peer.reading]
            if cursors:
                plan[stream] = min(cursors, key=event_id_key)
        plan[self._wake_stream] = self._wake_cursor
        return plan

    async def _read(self, plan: dict[str, str]) -> list:  # type: ignore[type-arg]
        self._reading, self._woken = True, False
        try:
            return await self._reader.xread(plan, block=self._block_ms, count=READ_COUNT) or []
        finally:
            self._reading = False

    def _dispatch(self, reply: list) -> None:  # type: ignore[type-arg]
        for stream, entries in reply:
            if stream == self._wake_stream:
                self._wake_cursor = entries[-1][0]
                continue
            peers = self._subscribers.get(stream)
            if not peers or not entries:
                continue
            try:
                events = [
                    (entry_id, contract.event_adapter.validate_json(fields["event"])) for entry_id, fields in entries
                ]
            except (KeyError, ValueError) as exc:
                log.error("a malformed event in %s: %s", stream, exc)
                for peer in peers:
                    peer.fail(BrokerError(f"a malformed event in {stream}"))
                continue
            for peer in peers:
                if peer.error is None:
                    peer.offer(events)

    def _fail_all(self, error: BrokerError) -> None:
        for peers in self._subscribers.values():
            for peer in peers:
                peer.fail(error)


def _is_event_id(text: str) -> bool:
    ms, dash, seq = text.partition("-")
    return all(part.isascii() and part.isdigit() and int(part) < 2**64 for part in ([ms, seq] if dash else [ms]))
