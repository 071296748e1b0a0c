"""Mood counts and mean scores per day or week, for the journal's charts."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel

from backend.models import JournalEntry
from backend.schemas import MOODS


class MoodBucket(BaseModel):
    start: date
    counts: dict[str, int]
    mean_scores: dict[str, float]


class MoodStats(BaseModel):
    buckets: list[MoodBucket]
    totals: dict[str, int]


def bucket_start(moment: datetime, bucket: Literal["day", "week"]) -> date:
    day = moment.date()
    return day - timedelta(days=day.weekday()) if bucket == "week" else day


def mood_stats(entries: list[JournalEntry], bucket: Literal["day", "week"]) -> MoodStats:
    counts: dict[date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(MOODS, 0))
    sums: dict[date, dict[str, float]] = defaultdict(lambda: dict.fromkeys(MOODS, 0.0))
    scored: dict[date, int] = defaultdict(int)
    totals = dict.fromkeys(MOODS, 0)
    for entry in entries:
        if entry.mood not in MOODS:
            continue
        start = bucket_start(entry.created_at, bucket)
        counts[start][entry.mood] += 1
        totals[entry.mood] += 1
        if entry.mood_scores:
            scored[start] += 1
            for mood in MOODS:
                sums[start][mood] += float(entry.mood_scores.get(mood, 0.0))
    buckets = [
        MoodBucket(
            start=start,
            counts=counts[start],
            mean_scores={m: round(sums[start][m] / scored[start], 4) if scored[start] else 0.0 for m in MOODS},
        )
        for start in sorted(counts)
    ]
    return MoodStats(buckets=buckets, totals=totals)
