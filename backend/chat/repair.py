"""No acknowledged message is left unanswered: find stuck turns and enqueue them again.

A turn is stuck when its user message is stored but has no reply, and its job is not live:
not waiting or claimed in its model's jobs stream, and its event log holds no final event
(``done``: the persister stores it; ``error``: the client was told). That happens when the
backend crashed between storing the message and enqueueing its job, or when Redis lost the
job (a restart without persistence). Every replica runs ``run_repairer``; a per-message lease
in the broker makes sure one backend at a time (re-)enqueues a message, and the exactly-once
reply storage (unique ``reply_to_id``) keeps even a duplicate job from storing twice.

A resent ``client_id`` whose message is stuck is repaired at once (``requeue_if_stuck``).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from attune.contract import DoneEvent, ErrorEvent, GenerateJob, new_job_id
from attune.observability import bind_log_context
from backend import crud
from backend.deps import AppState
from backend.models import Message, utcnow

log = logging.getLogger(__name__)

BATCH = 100


async def requeue_if_stuck(state: AppState, message: Message, why: str = "resent") -> str | None:
    """Enqueue ``message``'s turn again if it is stuck; the job id it was enqueued under, else None."""
    if not await state.broker.lease_turn(message.id, state.settings.repair_lease_s):
        return None  # another backend is enqueueing it right now
    try:
        async with state.sessions() as db:
            fresh = await db.get(Message, message.id)
            if fresh is None or await crud.reply_to(db, fresh.id) is not None:
                return None
            model = fresh.model or state.settings.default_model
            job_id = fresh.job_id
            if job_id is not None and not await _needs_new_job(state, model, job_id):
                return None
            if job_id is None or await state.broker.last_event(job_id) is not None:
                # A fresh id when the old one left partial events behind, so no reply mixes two runs.
                job_id = new_job_id()
            history, session_risk = await crud.turn_context(
                db, fresh.session_id, fresh.id, state.settings.history_window
            )
            job = GenerateJob(
                job_id=job_id,
                session_id=fresh.session_id,
                user_message_id=fresh.id,
                model=model,
                history=history,
                session_risk=session_risk,
            )
            if fresh.job_id != job_id:
                await crud.set_job_id(db, fresh, job_id)
        await state.broker.enqueue(job)
        with bind_log_context(job_id=job_id, session_id=job.session_id):
            log.warning("re-enqueued the stuck turn of message %s (%s, %s)", message.id, job.model, why)
        return job_id
    finally:
        try:
            await state.broker.release_turn(message.id)
        except Exception:  # noqa: BLE001 - the lease expires on its own
            log.debug("could not release the lease of message %s", message.id)


async def _needs_new_job(state: AppState, model: str, job_id: str) -> bool:
    """Whether the job is dead: not in its jobs stream and with no final event."""
    if job_id in await state.broker.queued_job_ids(model):
        return False
    return not isinstance(await state.broker.last_event(job_id), DoneEvent | ErrorEvent)


async def repair_pass(state: AppState) -> int:
    """One pass over recent unanswered messages; how many turns it enqueued again."""
    now = utcnow()
    async with state.sessions() as db:
        candidates = await crud.unanswered(
            db,
            older_than=now - timedelta(seconds=state.settings.repair_grace_s),
            newer_than=now - timedelta(seconds=state.settings.repair_window_s),
            limit=BATCH,
        )
    repaired = 0
    for message in candidates:
        if await requeue_if_stuck(state, message, why="repair pass") is not None:
            repaired += 1
    return repaired


async def run_repairer(state: AppState, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), state.settings.repair_interval_s)
            return
        except TimeoutError:
            pass
        try:
            await repair_pass(state)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the stuck-turn repair pass failed; trying again next interval")
