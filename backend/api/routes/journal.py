"""The mood journal: private entries, tagged by the worker's journal-mood classifier."""

import csv
import io
import json
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import Select, func, select

from backend.deps import CurrentUser, OwnedEntry, PageLimit, PageOffset, SessionDep, StateDep
from backend.journal.service import request_tags
from backend.journal.stats import MoodStats, mood_stats
from backend.models import JournalEntry, utcnow
from backend.schemas import MOODS, JournalEntryCreate, JournalEntryList, JournalEntryPublic, JournalEntryUpdate

router = APIRouter(prefix="/api/journal", tags=["journal"])
EXPORT_FIELDS = ["id", "created_at", "updated_at", "mood", *[f"score_{m}" for m in MOODS], "classifier_version", "text"]


def _filtered(
    user_id: int, mood: str | None, since: date | None, until: date | None, q: str | None
) -> Select[tuple[JournalEntry]]:
    query = select(JournalEntry).where(JournalEntry.user_id == user_id)
    if mood:
        query = query.where(JournalEntry.mood == mood)
    if since:
        query = query.where(JournalEntry.created_at >= datetime.combine(since, time.min))
    if until:
        query = query.where(JournalEntry.created_at < datetime.combine(until + timedelta(days=1), time.min))
    if q:
        query = query.where(JournalEntry.text.ilike(f"%{q}%"))
    return query


MoodFilter = Annotated[Literal["joy", "sadness", "fear", "anger", "love", "surprise", "pending"] | None, Query()]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=JournalEntryPublic)
async def create_entry(body: JournalEntryCreate, user: CurrentUser, state: StateDep, db: SessionDep) -> JournalEntry:
    entry = JournalEntry(user_id=user.id, text=body.text.strip() or body.text)
    db.add(entry)
    await db.commit()
    await request_tags(state, db, [entry])
    return entry


@router.get("", response_model=JournalEntryList)
async def list_entries(
    user: CurrentUser,
    db: SessionDep,
    mood: MoodFilter = None,
    since: date | None = None,
    until: date | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> JournalEntryList:
    query = _filtered(user.id, mood, since, until, q)
    total = await db.scalar(select(func.count()).select_from(query.subquery()))
    rows = await db.scalars(
        query.order_by(JournalEntry.created_at.desc(), JournalEntry.id.desc()).limit(limit).offset(offset)
    )
    return JournalEntryList(items=[JournalEntryPublic.model_validate(e) for e in rows], total=int(total or 0))


@router.get("/stats", response_model=MoodStats)
async def read_stats(
    user: CurrentUser,
    db: SessionDep,
    bucket: Literal["day", "week"] = "day",
    since: date | None = None,
    until: date | None = None,
) -> MoodStats:
    rows = await db.scalars(_filtered(user.id, None, since, until, None).order_by(JournalEntry.created_at))
    return mood_stats(list(rows), bucket)


@router.get(
    "/export",
    response_class=Response,
    responses={
        200: {
            "content": {"text/csv": {}, "application/json": {}},
            "description": "every entry, oldest first, as an attachment (csv by default)",
        }
    },
)
async def export_entries(user: CurrentUser, db: SessionDep, format: Literal["csv", "json"] = "csv") -> Response:  # noqa: A002
    rows = list(await db.scalars(_filtered(user.id, None, None, None, None).order_by(JournalEntry.created_at)))
    stamp = utcnow().strftime("%Y%m%d")
    if format == "json":
        body = json.dumps([JournalEntryPublic.model_validate(e).model_dump(mode="json") for e in rows], indent=2)
        return Response(
            body,
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="journal-{stamp}.json"'},
        )
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    for e in rows:
        scores = e.mood_scores or {}
        writer.writerow(
            {
                "id": e.id,
                "created_at": e.created_at.isoformat(),
                "updated_at": e.updated_at.isoformat(),
                "mood": e.mood,
                **{f"score_{m}": scores.get(m, "") for m in MOODS},
                "classifier_version": e.classifier_version or "",
                "text": e.text,
            }
        )
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="journal-{stamp}.csv"'},
    )


@router.get("/{entry_id}", response_model=JournalEntryPublic)
async def read_entry(entry: OwnedEntry) -> JournalEntry:
    return entry


@router.patch("/{entry_id}", response_model=JournalEntryPublic)
async def update_entry(body: JournalEntryUpdate, entry: OwnedEntry, state: StateDep, db: SessionDep) -> JournalEntry:
    if body.text != entry.text:
        entry.text, entry.mood, entry.mood_scores, entry.classifier_version = body.text, "pending", None, None
        entry.updated_at = utcnow()
        await db.commit()
        await request_tags(state, db, [entry])
    return entry


@router.delete("/{entry_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_entry(entry: OwnedEntry, db: SessionDep) -> Response:
    await db.delete(entry)
    await db.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
