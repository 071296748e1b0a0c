"""The pure pieces of scripts/bench_stack.py: percentiles, the table, the per-step breakdown."""

from __future__ import annotations

import math

import pytest

from scripts.bench_stack import Row, assign_marks, breakdown, percentile, render_table, segments, summary, ttft_rows


def test_percentile_interpolates_like_numpy() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(values, 50) == pytest.approx(2.5)
    assert percentile(values, 99) == pytest.approx(3.97)
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))
    assert summary(list(map(float, range(101))), (50, 95)) == {"p50": 50.0, "p95": 95.0}


def test_rows_compare_against_the_baseline() -> None:
    p50, p99 = ttft_rows("TTFT", 200, [10.0, 20.0, 30.0], [1.0, 2.0, 3.0])
    assert (p50.what, p50.n, p50.samples, p50.stack, p50.baseline) == ("TTFT p50", 200, 3, 20.0, 2.0)
    assert p50.difference == 18.0 and p50.ratio == 10.0
    assert p99.stack == pytest.approx(29.8)
    alone = Row("send → ack p50", 1, 5, 4.0)
    assert alone.difference is None and alone.ratio is None


def test_table_has_one_line_per_row() -> None:
    table = render_table(
        [Row("TTFT p50", 1, 100, 12.5, 2.0), Row("turns per second", 200, 600, 150.0, 1500.0, "turns/s")]
    ).splitlines()
    assert len(table) == 4
    assert table[2] == "| TTFT p50 (ms) | 1 | 100 | 12.50 | 2.00 | 10.50 | 6.25x |"
    assert table[3] == "| turns per second (turns/s) | 200 | 600 | 150.00 | 1,500.00 | -1,350.0 | 0.10x |"


def test_probe_marks_go_to_the_turn_sent_before_them() -> None:
    sends = [10.0, 20.0]
    events = [(9.0, "early"), (10.001, "a"), (10.004, "b"), (10.009, "b"), (20.002, "a"), (20.010, "b")]
    turns = assign_marks(sends, events)
    assert turns == [{"a": 10.001, "b": 10.004}, {"a": 20.002, "b": 20.010}]
    order = [("a → b", "a", "b"), ("b → c", "b", "c")]
    assert segments(turns[0], order) == {"a → b": pytest.approx(3.0)}
    (only,) = breakdown(turns, order)
    assert only[0] == "a → b" and only[1] == pytest.approx(5.5)
