"""Journal tagging: entries go to the worker's mood classifier as jobs, and results come back.

An entry is saved at once with mood ``pending``; the tag arrives through the results
stream. If the worker is down or the job is lost, the pending tagger asks again, so an
entry is never left untagged for good.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from attune.contract import ClassifyJob, ClassifyResult
from backend.deps import AppState
from backend.models import JournalEntry, utcnow
from backend.schemas import MOODS

log = logging.getLogger(__name__)

MOOD_MODEL = "journal-mood"
BATCH = 64
SWEEP_EVERY_S = 30.0


async def request_tags(state: AppState, db: AsyncSession, entries: list[JournalEntry]) -> None:
    """Queue the entries for tagging (in batches); they stay ``pending`` until the result lands."""
    for start in range(0, len(entries), BATCH):
        batch = entries[start : start + BATCH]
        job = ClassifyJob(model=MOOD_MODEL, items=[(e.id, e.text) for e in batch])
        for entry in batch:
            entry.tag_job_id, entry.tag_requested_at = job.job_id, utcnow()
        await db.commit()
        await state.broker.enqueue(job)


async def apply_tags(db: AsyncSession, result: ClassifyResult) -> int:
    """Write the moods; an entry edited since the job was queued waits for its newer job."""
    if result.model != MOOD_MODEL:
        return 0
    updated = 0
    for item in result.items:
        entry = await db.get(JournalEntry, item.item_id)
        if entry is None or entry.tag_job_id != result.job_id or item.reading.label not in MOODS:
            continue
        entry.mood = item.reading.label
        entry.mood_scores = {mood: round(item.reading.scores.get(mood, 0.0), 4) for mood in MOODS}
        entry.classifier_version = result.model_version
        updated += 1
    await db.commit()
    return updated


async def run_pending_tagger(state: AppState, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            async with state.sessions() as db:
                horizon = utcnow() - timedelta(seconds=state.settings.pending_tag_retry_s)
                stale = list(
                    await db.scalars(
                        select(JournalEntry)
                        .where(
                            JournalEntry.mood == "pending",
                            or_(JournalEntry.tag_requested_at.is_(None), JournalEntry.tag_requested_at < horizon),
                        )
                        .limit(BATCH * 8)
                    )
                )
                if stale:
                    log.info("re-queueing %d journal entries still pending", len(stale))
                    await request_tags(state, db, stale)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("pending tagger failed; retrying")
        try:
            await asyncio.wait_for(stop.wait(), SWEEP_EVERY_S)
        except TimeoutError:
            pass
