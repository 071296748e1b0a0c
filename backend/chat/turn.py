"""One chat turn, top to bottom (``run_turn``): persist the user message → look up the cache →
enqueue the job → relay the worker's events to the socket → persist the reply once → fill the cache.

The reply is persisted by whichever comes first: this relay, or the persister that every
backend replica runs over the results stream (for a client that went away, or a replica
that died). Both go through ``crud.store_reply``, which stores a reply exactly once.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from contextlib import aclosing

from sqlalchemy.ext.asyncio import AsyncSession

from attune.contract import DecodingParams, DoneEvent, GenerateJob, ImageAttachment, ModelStatus, Reply
from attune.observability import (
    CACHE_REQUESTS,
    CHAT_TURNS,
    REPLY_DURATION,
    TIME_TO_FIRST_TOKEN,
    bind_log_context,
    log_context,
)
from backend import crud, model_catalog
from backend.cache import cache_key
from backend.chat import repair
from backend.chat.events import Send, event_frame, job_events
from backend.chat.photos import checked_photo
from backend.deps import AppState
from backend.frames import AckFrame, DoneFrame, DoneTimings, EmotionFrame, ErrorFrame, TokenFrame
from backend.models import ChatSession, Message
from backend.schemas import MessageFrame

log = logging.getLogger(__name__)

BeginRelay = Callable[[str], bool]  # asked with the job id before the relay starts; False: don't
CACHED_CHUNK_WORDS = 3


def _relay_always(job_id: str) -> bool:
    return True


class TurnRejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


async def run_turn(
    state: AppState, chat: ChatSession, frame: MessageFrame, send: Send, begin_relay: BeginRelay = _relay_always
) -> None:
    """One chat turn: persist → cache → enqueue → relay → persist.

    The socket runs it as a task of its own and reads the next frames meanwhile; ``begin_relay`` is
    asked before the relay starts (the socket says no for a job it relays already).
    """
    content = frame.content.strip()
    if not content or len(content) > state.settings.max_message_chars:
        raise TurnRejected("bad_request", f"A message needs 1 to {state.settings.max_message_chars} characters.")
    image = _photo(frame, state.settings.max_image_bytes)
    statuses = await model_catalog.live_models(state.broker, state.settings)
    cached: Reply | None = None
    claimed: GenerateJob | None = None  # the job, once its lease is ours and its id on the message
    # One database session for the whole path to the ack: each session costs a pool check-out
    # with its ping, and each transaction a BEGIN, on every turn (docs/benchmarks.md).
    async with state.sessions() as db:
        model, status = await _chat_model(db, state, statuses, chat, frame)
        # 1. Persist the user message, once per client id: a resend replays what the first send got.
        message, created = await crud.store_user_message(db, chat.id, frame.client_id, content, model)
        if created:
            history, session_risk = await crud.turn_context(db, chat.id, message.id, state.settings.history_window)
            # 2. The cache. After a crisis the reply is generated under the safety prompt, and a
            # photo's turn is conditioned on the face too: neither is shared through the cache.
            params = frame.params or DecodingParams()
            version = status.version if status else None
            key = cache_key(model, version, params, history) if version and not session_risk and image is None else None
            cached = await _cached(state, key)
            if cached is None:
                # 3. The job for a worker, its id on the message before it is on the stream.
                job = GenerateJob(
                    session_id=chat.id,
                    user_message_id=message.id,
                    model=model,
                    history=history,
                    params=params,
                    session_risk=session_risk,
                    locale=frame.locale,
                    cache_key=key,
                    expected_version=version,
                    image=image,
                    request_id=log_context().get("request_id"),
                )
                claimed = job if await _claim_turn(state, db, message, job) else None
    if not created:
        job_id = await _answer_duplicate(state, message, send)
    elif cached is not None:
        await _answer_from_cache(state, message, cached, send)
        return
    elif claimed is None:
        job_id = await _taken(state, message, send)
    else:
        job_id = await _enqueue(state, message, claimed, send)
    # 4. Relay the worker's events to the socket, and 5. persist the reply once (relay_reply).
    if job_id is not None and begin_relay(job_id):
        await relay_reply(state, job_id, message.id, send)


async def _chat_model(
    db: AsyncSession, state: AppState, statuses: dict[str, ModelStatus], chat: ChatSession, frame: MessageFrame
) -> tuple[str, ModelStatus | None]:
    """The model that answers: the frame's, else the session's as stored now (a model picked in the
    chat after the socket opened counts), else the default; rejected if no worker can serve it."""
    current = await db.get(ChatSession, chat.id)
    chosen = current.model if current is not None else chat.model
    model = frame.model or chosen or await model_catalog.default_model(db, state.settings, statuses)
    return model, check_chat_model(statuses, model)


async def _cached(state: AppState, key: str | None) -> Reply | None:
    if key is None:
        return None
    cached = await state.cache.get(key)
    CACHE_REQUESTS.labels(result="hit" if cached else "miss").inc()
    return cached


async def _claim_turn(state: AppState, db: AsyncSession, message: Message, job: GenerateJob) -> bool:
    """Take the turn's lease and record the job id on the message; False: another holds the lease."""
    # The lease keeps a resend or the repairer (backend.chat.repair) from enqueueing it too.
    if not await state.broker.lease_turn(message.id, state.settings.repair_lease_s):
        await db.refresh(message, attribute_names=["job_id"])  # what the lease holder stored, if yet
        return False
    try:
        await crud.set_job_id(db, message, job.job_id)
    except BaseException:
        await _release(state, message.id)
        raise
    return True


async def _taken(state: AppState, message: Message, send: Send) -> str | None:
    """Another backend holds the turn's lease: acknowledge, and follow its job if it has one yet."""
    await send(_ack(message, message.job_id, duplicate=True))
    if message.job_id is None:
        await _not_enqueued_yet(message, send)
    return message.job_id


async def _enqueue(state: AppState, message: Message, job: GenerateJob, send: Send) -> str:
    """Put the claimed turn's job on the stream, release the lease and acknowledge the message."""
    try:
        await state.broker.enqueue(job)
    finally:
        await _release(state, message.id)
    with bind_log_context(job_id=job.job_id):
        log.info("enqueued a %s turn for message %s", job.model, message.id)
    await send(_ack(message, job.job_id, duplicate=False))
    return job.job_id


def _ack(message: Message, job_id: str | None, duplicate: bool) -> AckFrame:
    return AckFrame(client_id=message.client_id, message_id=message.id, job_id=job_id, duplicate=duplicate)


def _photo(frame: MessageFrame, max_bytes: int) -> ImageAttachment | None:
    if frame.image is None:
        return None
    problem = checked_photo(frame.image.media_type, frame.image.data, max_bytes)
    if problem is not None:
        raise TurnRejected(*problem)
    return ImageAttachment(media_type=frame.image.media_type, data=frame.image.data)


def check_chat_model(statuses: dict[str, ModelStatus], model: str) -> ModelStatus | None:
    """The live status of a model that can take a chat turn; rejects one no worker can serve."""
    status = statuses.get(model)
    if status is not None and (not status.usable or not status.chat):
        raise TurnRejected("model_unavailable", f"Model {model!r} cannot chat: {status.reason or 'not a chat model'}.")
    if status is None and statuses:
        raise TurnRejected("model_unavailable", f"No worker serves model {model!r}.")
    return status


async def _release(state: AppState, message_id: int) -> None:
    try:
        await state.broker.release_turn(message_id)
    except Exception:  # noqa: BLE001 - it expires on its own
        log.debug("could not release the lease of message %s", message_id)


async def _answer_duplicate(state: AppState, message: Message, send: Send) -> str | None:
    """A resent client id: acknowledge the stored message and replay its reply, never store twice.

    A message whose turn is stuck (no reply, no live job) is enqueued again here and now.
    """
    async with state.sessions() as db:
        reply = await crud.reply_to(db, message.id)
    job_id = message.job_id
    if reply is None:
        job_id = await repair.requeue_if_stuck(state, message) or job_id
        if job_id is None:  # being enqueued by someone else this instant: read what they stored
            async with state.sessions() as db:
                fresh = await db.get(Message, message.id)
            job_id = fresh.job_id if fresh else None
    await send(_ack(message, job_id, duplicate=True))
    if reply is not None:
        await send(done_frame(reply, cached=reply.cached, event_id=None))
        return None
    if job_id is None:
        await _not_enqueued_yet(message, send)
    return job_id


async def _not_enqueued_yet(message: Message, send: Send) -> None:
    """A resend whose turn another backend holds the lease on (one that died holds it for
    ``Settings.repair_lease_s``) has no job to follow yet: say so, rather than leave the client waiting."""
    await send(
        ErrorFrame(
            code="busy",
            client_id=message.client_id,
            message_id=message.id,
            message="This message is saved and being queued; resend it (same client id) in a few seconds.",
        )
    )


async def _answer_from_cache(state: AppState, message: Message, cached: Reply, send: Send) -> None:
    started = time.perf_counter()
    job_id = f"cache-{uuid.uuid4().hex}"
    await send(_ack(message, job_id, duplicate=False))
    if cached.user_emotion is not None:
        await send(EmotionFrame(job_id=job_id, message_id=message.id, emotion=cached.user_emotion, event_id=None))
    words = cached.content.split(" ")
    for index, start in enumerate(range(0, len(words), CACHED_CHUNK_WORDS)):
        piece = " ".join(words[start : start + CACHED_CHUNK_WORDS])
        text = piece if start == 0 else " " + piece
        await send(TokenFrame(job_id=job_id, index=index, text=text, event_id=None))
    elapsed_ms = (time.perf_counter() - started) * 1000
    done = DoneEvent.model_validate(
        {
            **cached.model_dump(),
            "job_id": job_id,
            "session_id": message.session_id,
            "user_message_id": message.id,
            "ttft_ms": elapsed_ms,
            "duration_ms": elapsed_ms,
        }
    )
    async with state.sessions() as db:
        reply = await crud.store_reply(db, done, cached=True)
    if reply is not None:
        CHAT_TURNS.labels(model=cached.model, outcome="cached").inc()
        await send(done_frame(reply, cached=True, event_id=None))


async def relay_reply(state: AppState, job_id: str, message_id: int, send: Send, after: str = "0") -> None:
    """Forward the events of a turn (the reply to user message ``message_id``) to the socket until
    its reply is finished and stored."""
    async with aclosing(job_events(state, job_id, after)) as events:
        async for event_id, event in events:
            if isinstance(event, DoneEvent):
                reply = await persist_done(state, event)
                if reply is not None:
                    await send(done_frame(reply, cached=False, event_id=event_id))
            else:
                await send(event_frame(job_id, message_id, event_id, event))


async def persist_done(state: AppState, done: DoneEvent) -> Message | None:
    """Store the reply (once) and fill the cache for a complete, safe, non-cached reply."""
    assert done.user_message_id is not None, "a comparison's reply is stored by backend.compare"
    async with state.sessions() as db:
        already = await crud.reply_to(db, done.user_message_id)
        reply = already or await crud.store_reply(db, done)
    if reply is not None and already is None:
        count_turn(done)
        with bind_log_context(job_id=done.job_id, session_id=done.session_id):
            log.info(
                "stored reply %s (%s, %s, %d tokens)", reply.id, done.model, done.finish_reason, done.completion_tokens
            )
    cacheable = done.finish_reason in ("stop", "length") and not (done.safety.crisis or done.safety.toxic)
    if reply is not None and done.cache_key and cacheable:
        await state.cache.put(done.cache_key, done.reply(), state.settings.cache_ttl_s)
    return reply


def count_turn(done: DoneEvent) -> None:
    outcome = (
        "safety"
        if done.safety.crisis or done.finish_reason == "safety"
        else ("cancelled" if done.finish_reason == "cancelled" else "complete")
    )
    CHAT_TURNS.labels(model=done.model, outcome=outcome).inc()
    if done.ttft_ms is not None:
        TIME_TO_FIRST_TOKEN.labels(model=done.model).observe(done.ttft_ms / 1000)
    REPLY_DURATION.labels(model=done.model).observe(done.duration_ms / 1000)


def done_frame(reply: Message, cached: bool, event_id: str | None) -> DoneFrame:
    """The ``done`` frame of a stored reply; ``event_id`` None when it is not relayed from the job's stream."""
    public = crud.message_public(reply)
    return DoneFrame(
        job_id=reply.job_id,
        message=public,
        cached=cached,
        timings=DoneTimings(ttft_ms=reply.ttft_ms, duration_ms=reply.latency_ms),
        safety=public.safety,
        alignment=reply.alignment,
        # stop | length (cut at the token limit, ended at its last sentence) | cancelled | safety
        finish_reason=(reply.extras or {}).get("finish_reason", "stop"),
        event_id=event_id,
    )
