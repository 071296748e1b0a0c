"""Mood statistics for the journal's charts."""

from __future__ import annotations

from datetime import UTC, date, datetime

from backend.journal.stats import mood_stats
from backend.models import JournalEntry


def _entry(day: int, mood: str, scores: dict[str, float] | None = None) -> JournalEntry:
    return JournalEntry(text="t", mood=mood, mood_scores=scores, created_at=datetime(2026, 11, day, 12, tzinfo=UTC))


def test_daily_and_weekly_buckets_count_moods_and_average_scores() -> None:
    entries = [
        _entry(16, "joy", {"joy": 0.9, "sadness": 0.1}),
        _entry(16, "sadness", {"joy": 0.1, "sadness": 0.9}),
        _entry(17, "joy", {"joy": 0.7, "sadness": 0.3}),
        _entry(17, "pending"),
    ]
    daily = mood_stats(entries, "day")
    assert [b.start for b in daily.buckets] == [date(2026, 11, 16), date(2026, 11, 17)]
    assert daily.buckets[0].counts["joy"] == 1 and daily.buckets[0].counts["sadness"] == 1
    assert daily.buckets[0].mean_scores["joy"] == 0.5
    assert daily.totals == {"joy": 2, "sadness": 1, "fear": 0, "anger": 0, "love": 0, "surprise": 0}

    weekly = mood_stats(entries, "week")  # 16 and 17 Nov 2026 are a Monday and a Tuesday
    assert [b.start for b in weekly.buckets] == [date(2026, 11, 16)]
    assert weekly.buckets[0].counts["joy"] == 2 and weekly.buckets[0].mean_scores["joy"] == round(
        (0.9 + 0.1 + 0.7) / 3, 4
    )
