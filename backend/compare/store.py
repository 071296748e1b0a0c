"""Reads and writes of comparisons: create, finish each side exactly once, prefer, adopt, export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from attune.contract import REPLY_FIELDS, ChatTurn, DoneEvent, ErrorEvent, Reply
from backend import crud
from backend.models import Comparison, ComparisonReply, utcnow
from backend.schemas import ComparisonPublic, ComparisonReplyPublic

SLOTS = ("a", "b")


class NotAdoptable(Exception):
    """The chosen reply is not finished, so it cannot join the chat."""


async def create(
    db: AsyncSession,
    comparison_id: str,
    user_id: int,
    session_id: str,
    client_id: str,
    content: str,
    history: list[ChatTurn],
    sides: dict[str, tuple[str, str]],  # slot -> (model, job id)
) -> tuple[Comparison, bool]:
    """The comparison for this client id, and whether this call created it.

    The caller looks the client id up first; this only settles the race of the same id arriving
    twice at once (perhaps on two replicas), through the unique ``(user_id, client_id)``.
    """
    comparison = Comparison(
        id=comparison_id,
        user_id=user_id,
        session_id=session_id,
        client_id=client_id,
        content=content,
        history=[turn.model_dump() for turn in history],
    )
    db.add(comparison)
    try:
        await db.flush()
        for slot, (model, job_id) in sides.items():
            db.add(ComparisonReply(comparison_id=comparison.id, slot=slot, model=model, job_id=job_id))
        await db.commit()
    except IntegrityError:  # the same client id at once on two replicas
        await db.rollback()
        existing = await by_client_id(db, user_id, client_id)
        assert existing is not None
        return existing, False
    return comparison, True


async def by_client_id(db: AsyncSession, user_id: int, client_id: str) -> Comparison | None:
    return await db.scalar(select(Comparison).where(Comparison.user_id == user_id, Comparison.client_id == client_id))


async def get_owned(db: AsyncSession, user_id: int, comparison_id: str) -> Comparison | None:
    return await db.scalar(select(Comparison).where(Comparison.id == comparison_id, Comparison.user_id == user_id))


async def replies(db: AsyncSession, comparison_id: str) -> list[ComparisonReply]:
    rows = await db.scalars(
        select(ComparisonReply).where(ComparisonReply.comparison_id == comparison_id).order_by(ComparisonReply.slot)
    )
    return list(rows)


async def finish_side(db: AsyncSession, done: DoneEvent) -> ComparisonReply | None:
    """Store one side's finished reply, once; None if it was already stored (or the comparison is gone)."""
    result = await db.execute(
        update(ComparisonReply)
        .where(ComparisonReply.job_id == done.job_id, ComparisonReply.status == "pending")
        .values(
            status="cancelled" if done.finish_reason == "cancelled" else "complete",
            **done.model_dump(include=REPLY_FIELDS - {"model"}),  # a side's columns are the Reply record's
            finished_at=utcnow(),
        )
    )
    await db.commit()
    if result.rowcount == 0:  # type: ignore[attr-defined]
        return None
    return await db.scalar(select(ComparisonReply).where(ComparisonReply.job_id == done.job_id))


async def fail_side(db: AsyncSession, error: ErrorEvent) -> bool:
    """Record why one side produced no reply; False if that side had already finished."""
    result = await db.execute(
        update(ComparisonReply)
        .where(ComparisonReply.job_id == error.job_id, ComparisonReply.status == "pending")
        .values(status="error", error_code=error.code, error_message=error.message, finished_at=utcnow())
    )
    await db.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def reply_by_job(db: AsyncSession, job_id: str) -> ComparisonReply | None:
    return await db.scalar(select(ComparisonReply).where(ComparisonReply.job_id == job_id))


async def list_owned(db: AsyncSession, user_id: int, session_id: str | None, limit: int) -> list[Comparison]:
    query = select(Comparison).where(Comparison.user_id == user_id)
    if session_id is not None:
        query = query.where(Comparison.session_id == session_id)
    return list(await db.scalars(query.order_by(Comparison.created_at.desc()).limit(limit)))


async def prefer(db: AsyncSession, comparison: Comparison, choice: str, adopt: bool) -> Comparison:
    """Record the preferred side; with ``adopt``, the message and that reply join the chat (once)."""
    comparison.preferred, comparison.preferred_at = choice, utcnow()
    await db.commit()
    if not adopt or choice not in SLOTS or comparison.adopted_message_id is not None:
        return comparison
    chosen = next(r for r in await replies(db, comparison.id) if r.slot == choice)
    if chosen.status != "complete" or chosen.content is None:
        raise NotAdoptable(f"reply {choice} is {chosen.status}; only a complete reply can join the chat")
    message, _ = await crud.store_user_message(
        db, comparison.session_id, f"compare:{comparison.id}", comparison.content, chosen.model
    )
    reply = await crud.store_reply(db, _as_done(chosen, comparison, message.id))
    if reply is not None:
        comparison.adopted_message_id = reply.id
        await db.commit()
    return comparison


def _as_done(reply: ComparisonReply, comparison: Comparison, user_message_id: int) -> DoneEvent:
    record = Reply.model_validate(reply, from_attributes=True)
    return DoneEvent.model_validate(
        {
            **record.model_dump(),
            "job_id": reply.job_id,
            "session_id": comparison.session_id,
            "user_message_id": user_message_id,
            "extras": {**record.extras, "comparison_id": comparison.id},
        }
    )


def reply_public(reply: ComparisonReply) -> ComparisonReplyPublic:
    return ComparisonReplyPublic.model_validate(reply, from_attributes=True)


async def public(db: AsyncSession, comparison: Comparison) -> ComparisonPublic:
    return ComparisonPublic(
        id=comparison.id,
        session_id=comparison.session_id,
        content=comparison.content,
        created_at=comparison.created_at,
        preferred=comparison.preferred,  # type: ignore[arg-type]
        adopted_message_id=comparison.adopted_message_id,
        replies=[reply_public(r) for r in await replies(db, comparison.id)],
    )


async def export_rows(db: AsyncSession, user_id: int | None, batch: int = 200) -> AsyncIterator[dict[str, Any]]:
    """Every comparison (of one user, or of all when ``user_id`` is None) as one JSON-able row, oldest first."""
    after = None
    while True:
        query = select(Comparison).order_by(Comparison.created_at, Comparison.id).limit(batch)
        if user_id is not None:
            query = query.where(Comparison.user_id == user_id)
        if after is not None:
            query = query.where(
                (Comparison.created_at > after[0]) | ((Comparison.created_at == after[0]) & (Comparison.id > after[1]))
            )
        rows = list(await db.scalars(query))
        if not rows:
            return
        for comparison in rows:
            sides = {r.slot: reply_public(r).model_dump(mode="json") for r in await replies(db, comparison.id)}
            yield {
                "id": comparison.id,
                "user_id": comparison.user_id,
                "session_id": comparison.session_id,
                "created_at": comparison.created_at.isoformat(),
                "history": comparison.history,
                "prompt": comparison.content,
                "preferred": comparison.preferred,
                "a": sides.get("a"),
                "b": sides.get("b"),
            }
        after = (rows[-1].created_at, rows[-1].id)
