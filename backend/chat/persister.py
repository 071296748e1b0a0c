"""Stores what workers finish, whether or not a client is still listening.

Every backend replica runs one persister in the ``persisters`` consumer group of the results
stream; a result that a dead replica had claimed is taken over after ``persister_idle_ms``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket

from attune.contract import ClassifyResult, DoneEvent, ErrorEvent
from attune.observability import CHAT_TURNS
from backend.chat.turn import persist_done
from backend.compare.service import persist_side, record_failure
from backend.deps import AppState
from backend.journal.service import apply_tags

log = logging.getLogger(__name__)


async def run_persister(state: AppState, stop: asyncio.Event) -> None:
    consumer = f"{socket.gethostname()}-{os.getpid()}"
    while not stop.is_set():
        try:
            deliveries = await state.broker.claim_results(
                consumer, block_ms=1000, min_idle_ms=state.settings.persister_idle_ms
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not read results; retrying")
            await asyncio.sleep(1)
            continue
        for delivery in deliveries:
            result = delivery.result
            try:
                if isinstance(result, DoneEvent) and result.comparison_id is not None:
                    await persist_side(state, result)
                elif isinstance(result, DoneEvent):
                    await persist_done(state, result)
                elif isinstance(result, ClassifyResult):
                    async with state.sessions() as db:
                        await apply_tags(db, result)
                elif isinstance(result, ErrorEvent):
                    if result.comparison_id is not None:
                        await record_failure(state, result)
                    if result.session_id is not None:
                        CHAT_TURNS.labels(model=await _model_of(state, result), outcome="error").inc()
                    log.warning("job %s failed: %s %s", result.job_id, result.code, result.message)
            except Exception:
                # Left pending: another replica (or this one, after the idle time) retries it.
                log.exception("could not persist result of job %s", getattr(result, "job_id", "?"))
                continue
            await state.broker.ack_result(delivery)


async def _model_of(state: AppState, error: ErrorEvent) -> str:
    """The failed job's model: named by newer workers, else read from the user message it answers."""
    from backend.models import Message

    if error.model:
        return error.model
    async with state.sessions() as db:
        message = await db.get(Message, error.user_message_id) if error.user_message_id else None
    return (message.model if message else None) or "unknown"
