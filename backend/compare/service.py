"""One comparison, top to bottom: pick the two models → store the comparison → enqueue one job
per side → relay both sides' events, tagged with their slot → store each side's reply once.

A comparison lives beside the chat, not in it: the message and the preferred reply join the
chat only when the person picks one (``store.prefer``). Each side is an ordinary generation
job, so emotion, safety, cancel and worker fail-over work as for a chat turn; the persister
stores a side whose client went away (``persist_side``).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import aclosing

from attune.contract import (
    ChatTurn,
    DecodingParams,
    DoneEvent,
    EmotionEvent,
    ErrorEvent,
    GenerateJob,
    ModelStatus,
    Slot,
)
from attune.observability import bind_log_context, log_context
from backend import crud, model_catalog
from backend.chat.events import Send, job_events
from backend.chat.turn import TurnRejected, check_chat_model, count_turn
from backend.compare import store
from backend.deps import AppState
from backend.frames import (
    CompareAckFrame,
    CompareDoneFrame,
    CompareEmotionFrame,
    CompareErrorFrame,
    CompareReplyFrame,
    CompareSide,
    CompareTokenFrame,
)
from backend.models import ChatSession, Comparison
from backend.schemas import ComparisonReplyPublic

log = logging.getLogger(__name__)


async def start(
    state: AppState,
    user_id: int,
    chat: ChatSession,
    client_id: str,
    content: str,
    model_a: str | None,
    model_b: str | None,
    params: DecodingParams | None,
) -> tuple[Comparison, bool]:
    """The stored comparison and whether it is new; a new one has both sides enqueued."""
    content = content.strip()
    if not content or len(content) > state.settings.max_message_chars:
        raise TurnRejected("bad_request", f"A message needs 1 to {state.settings.max_message_chars} characters.")
    async with state.sessions() as db:
        existing = await store.by_client_id(db, user_id, client_id)
    if existing is not None:
        if existing.session_id != chat.id:
            raise TurnRejected("bad_request", "That client id belongs to a comparison in another chat.")
        return existing, False

    statuses = await model_catalog.live_models(state.broker, state.settings)
    async with state.sessions() as db:
        first = model_a or chat.model or await model_catalog.default_model(db, state.settings, statuses)
        history = await crud.history_window(db, chat.id, None, state.settings.history_window - 1)
    second = model_b or state.settings.compare_model or _other_chat_model(statuses, first)
    if second is None:
        raise TurnRejected("model_unavailable", "No second chat model is available to compare with; name one.")
    check_chat_model(statuses, first)
    check_chat_model(statuses, second)

    history.append(ChatTurn(role="user", content=content))
    comparison_id = str(uuid.uuid4())
    jobs = {
        slot: GenerateJob(
            session_id=chat.id,
            comparison_id=comparison_id,
            slot=slot,  # type: ignore[arg-type]
            model=model,
            history=history,
            params=params or DecodingParams(),
            request_id=log_context().get("request_id"),
        )
        for slot, model in (("a", first), ("b", second))
    }
    async with state.sessions() as db:
        comparison, created = await store.create(
            db,
            comparison_id,
            user_id,
            chat.id,
            client_id,
            content,
            history,
            {s: (j.model, j.job_id) for s, j in jobs.items()},
        )
    if created:
        for job in jobs.values():
            await state.broker.enqueue(job)
            with bind_log_context(job_id=job.job_id):
                log.info("enqueued side %s of comparison %s on %s", job.slot, comparison.id, job.model)
    return comparison, created


async def acknowledge(state: AppState, comparison: Comparison, client_id: str, created: bool) -> CompareAckFrame:
    """The ``compare_ack`` frame: the comparison is stored and names each side's model and job."""
    async with state.sessions() as db:
        sides = await store.replies(db, comparison.id)
    return CompareAckFrame(
        client_id=client_id,
        comparison_id=comparison.id,
        duplicate=not created,
        sides=[CompareSide(slot=s.slot, model=s.model, job_id=s.job_id) for s in sides],  # type: ignore[arg-type]
    )


def _other_chat_model(statuses: dict[str, ModelStatus], first: str) -> str | None:
    usable = [s for s in statuses.values() if s.chat and s.usable and s.name != first]
    usable.sort(key=lambda s: (not s.default, s.state != "loaded", s.name))
    return usable[0].name if usable else None


async def follow(state: AppState, comparison: Comparison, send: Send) -> None:
    """Relay both sides (replaying what already happened), then send the stored comparison."""
    async with state.sessions() as db:
        sides = await store.replies(db, comparison.id)
    tasks = []
    for side in sides:
        slot: Slot = side.slot  # type: ignore[assignment]
        if side.status == "pending":
            tasks.append(_relay_side(state, comparison.id, slot, side.job_id, send))
        else:
            reply = store.reply_public(side)
            frame = CompareReplyFrame(
                comparison_id=comparison.id, slot=slot, job_id=side.job_id, reply=reply, event_id=None
            )
            tasks.append(send(frame))
    await asyncio.gather(*tasks)
    async with state.sessions() as db:
        fresh = await store.get_owned(db, comparison.user_id, comparison.id)
        if fresh is not None:
            await send(CompareDoneFrame(comparison=await store.public(db, fresh)))


async def _relay_side(state: AppState, comparison_id: str, slot: Slot, job_id: str, send: Send) -> None:
    """Forward one side's events until its reply (or its failure) is stored with the comparison.

    A side's frames have types of their own (``compare_token``, ...) so a client's chat handling
    never mistakes them for the chat's."""
    ids = {"comparison_id": comparison_id, "job_id": job_id}
    async with aclosing(job_events(state, job_id)) as events:
        async for event_id, event in events:
            if isinstance(event, DoneEvent):
                reply = await persist_side(state, event)
                if reply is not None:
                    await send(CompareReplyFrame(**ids, slot=slot, reply=reply, event_id=event_id))
            elif isinstance(event, ErrorEvent):
                await record_failure(state, event)
                await send(
                    CompareErrorFrame(**ids, slot=slot, code=event.code, message=event.message, event_id=event_id)
                )
            elif isinstance(event, EmotionEvent):
                await send(CompareEmotionFrame(**ids, slot=slot, emotion=event.emotion, event_id=event_id))
            else:
                await send(CompareTokenFrame(**ids, slot=slot, index=event.index, text=event.text, event_id=event_id))


async def persist_side(state: AppState, done: DoneEvent) -> ComparisonReplyPublic | None:
    """Store a finished side once (from the relay or the persister); the stored reply."""
    async with state.sessions() as db:
        stored = await store.finish_side(db, done)
        if stored is None:
            stored = await store.reply_by_job(db, done.job_id)
        else:
            count_turn(done)
    if stored is None:
        return None
    return store.reply_public(stored)


async def record_failure(state: AppState, error: ErrorEvent) -> None:
    async with state.sessions() as db:
        await store.fail_side(db, error)
