"""The dashboard's SVG chart geometry (web/charts.py): slots per minute, stacking, gaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from web.charts import bar_chart, line_chart

NOW = datetime(2026, 12, 6, 12, 30, 40, tzinfo=UTC)
MINUTE = NOW.replace(second=0)


def test_bars_stack_per_minute_and_old_minutes_are_left_out() -> None:
    rows = [
        {"minute": MINUTE, "stage": "detect", "finished": 3},
        {"minute": MINUTE, "stage": "download", "finished": 1},
        {"minute": MINUTE - timedelta(minutes=59), "stage": "detect", "finished": 2},
        {"minute": MINUTE - timedelta(minutes=60), "stage": "detect", "finished": 9},  # too old
    ]
    c = bar_chart(rows, now=NOW, title="t", unit="runs")
    left, top, right, bottom = c.plot
    assert [n for n, _ in c.legend] == ["detect", "download"] and not c.empty
    assert [y.label for y in c.yticks] == ["0", "1.25", "2.5", "3.75", "5"]  # 4 → 5
    first, last_a, last_b = sorted(c.bars, key=lambda b: (b.x, -b.y))
    assert first.x < left + 1 and first.h == (bottom - top) * 2 / 5
    assert last_a.x == last_b.x and last_a.x + last_a.w <= right
    assert last_a.h + last_b.h == (bottom - top) * 4 / 5  # stacked: 3 + 1 of 5
    bottom_bar = last_a  # sorted by -y: the lowest segment first, the first series (detect)
    assert (
        bottom_bar.title == "12:30 detect: 3 runs"
        and abs(bottom_bar.y + bottom_bar.h - bottom) < 1e-9
    )


def test_lines_break_where_a_minute_has_no_job() -> None:
    rows = [{"minute": MINUTE - timedelta(minutes=m), "p50": 1.0, "p95": 2.0} for m in (0, 1, 5)]
    c = line_chart(rows, now=NOW, title="t", unit="s")
    p50, p95 = c.lines
    assert [len(r.split()) for r in p50.runs] == [1, 2] and len(p95.dots) == 3
    assert line_chart([], now=NOW, title="t", unit="s").empty
