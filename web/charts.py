"""Server-rendered SVG charts of the dashboard: the geometry, computed here, drawn by
``templates/_dashboard_charts.html`` (no JavaScript, no chart library).

Both charts span the last ``minutes`` minutes ending at ``now``, one slot per minute: a
stacked bar chart (stage runs finished per minute, by stage) and a line chart (p50 / p95
seconds per minute; a minute with no job has no point, and the line breaks there).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

WIDTH, HEIGHT = 640, 180
"""The drawing's size in SVG units (it scales to its box)."""
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 8, 22
"""Margins in SVG units: the y axis labels on the left, the time labels below."""

PALETTE = ("#4e9af1", "#f1a94e", "#5cc98a", "#e0605e", "#b38cf1", "#d6c65a", "#5ad6d0",
           "#f17ec1", "#9aa3ad", "#c9844e", "#7ea35a", "#6a78d6")  # fmt: skip


@dataclass(frozen=True)
class Rect:
    """One bar segment: ``x, y, w, h`` in SVG units, its series and a tooltip."""

    x: float
    y: float
    w: float
    h: float
    colour: str
    title: str


@dataclass(frozen=True)
class Line:
    """One series of a line chart: its runs of points (``"x,y x,y …"``; a gap breaks it)."""

    name: str
    colour: str
    runs: list[str]
    dots: list[tuple[float, float, str]]


@dataclass(frozen=True)
class Tick:
    """An axis label at ``pos`` (x for the time axis, y for the value axis)."""

    pos: float
    label: str
    anchor: str = "middle"


@dataclass
class Chart:
    """What the template draws: bars or lines, the axes' ticks, the legend."""

    title: str
    unit: str
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[Rect] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    xticks: list[Tick] = field(default_factory=list)
    yticks: list[Tick] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    empty: bool = True

    @property
    def plot(self) -> tuple[float, float, float, float]:
        """The plot area: ``(left, top, right, bottom)`` in SVG units."""
        return LEFT, TOP, self.width - RIGHT, self.height - BOTTOM


def _nice_max(value: float) -> float:
    """The smallest 1, 2 or 5 × 10^k at or above ``value`` (1 for nothing)."""
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * exp:
            return float(step * exp)
    return float(10 * exp)  # pragma: no cover


def _label(value: float) -> str:
    return f"{value:g}" if value >= 1 or value == 0 else f"{value:.2g}"


def _frame(chart: Chart, start: datetime, minutes: int, top_value: float) -> None:
    left, top, right, bottom = chart.plot
    for i in range(5):
        v = top_value * i / 4
        chart.yticks.append(Tick(bottom - (bottom - top) * i / 4, _label(v)))
    step = max(1, minutes // 6)
    for m in range(0, minutes + 1, step):
        when = start + timedelta(minutes=m)
        anchor = "start" if m == 0 else "end" if m == minutes else "middle"
        x = left + (right - left) * m / minutes
        chart.xticks.append(Tick(x, when.strftime("%H:%M"), anchor))


def _slot(start: datetime, minute: datetime) -> int:
    return int((minute - start).total_seconds() // 60)


def bar_chart(
    rows: Iterable[Any],
    *,
    now: datetime,
    minutes: int = 60,
    title: str,
    unit: str,
    series_key: str = "stage",
    value_key: str = "finished",
) -> Chart:
    """Stacked bars per minute: ``rows`` (mappings, e.g. asyncpg records) of ``{"minute":
    datetime (truncated to the minute, aware), series_key: str, value_key: number}``; the
    slots run from ``now - minutes`` (truncated) to now. Series are coloured in name order."""
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=minutes - 1)
    per_slot: dict[int, list[tuple[str, float]]] = {}
    names: set[str] = set()
    for r in rows:
        slot = _slot(start, r["minute"])
        if 0 <= slot < minutes:
            name = str(r[series_key])
            per_slot.setdefault(slot, []).append((name, float(r[value_key])))
            names.add(name)
    colours = {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(sorted(names))}
    chart = Chart(title=title, unit=unit, legend=[(n, colours[n]) for n in sorted(names)])
    top_value = _nice_max(max((sum(v for _, v in s) for s in per_slot.values()), default=0))
    _frame(chart, start, minutes, top_value)
    left, top, right, bottom = chart.plot
    slot_w = (right - left) / minutes
    for slot, values in sorted(per_slot.items()):
        y = float(bottom)
        when = (start + timedelta(minutes=slot)).strftime("%H:%M")
        for name, v in sorted(values):
            h = (bottom - top) * v / top_value
            y -= h
            chart.bars.append(Rect(left + slot * slot_w + 0.5, y, max(1.0, slot_w - 1), h,
                                   colours[name], f"{when} {name}: {v:g} {unit}"))  # fmt: skip
    chart.empty = not per_slot
    return chart


def line_chart(
    rows: Iterable[Any],
    *,
    now: datetime,
    minutes: int = 60,
    title: str,
    unit: str,
    keys: Sequence[str] = ("p50", "p95"),
) -> Chart:
    """One line per key of ``rows`` (``{"minute": datetime, key: number | None, …}``) over
    the last ``minutes`` minutes; a missing minute breaks the line."""
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=minutes - 1)
    points: dict[str, dict[int, float]] = {k: {} for k in keys}
    for r in rows:
        slot = _slot(start, r["minute"])
        if 0 <= slot < minutes:
            for k in keys:
                if r[k] is not None:
                    points[k][slot] = float(r[k])
    colours = {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(keys)}
    chart = Chart(title=title, unit=unit, legend=[(k, colours[k]) for k in keys])
    top_value = _nice_max(max((v for p in points.values() for v in p.values()), default=0))
    _frame(chart, start, minutes, top_value)
    left, top, right, bottom = chart.plot
    slot_w = (right - left) / minutes
    for k in keys:
        runs: list[list[str]] = []
        dots: list[tuple[float, float, str]] = []
        previous = -2
        for slot, v in sorted(points[k].items()):
            x = left + (slot + 0.5) * slot_w
            y = bottom - (bottom - top) * v / top_value
            if slot != previous + 1:
                runs.append([])
            runs[-1].append(f"{x:.1f},{y:.1f}")
            when = (start + timedelta(minutes=slot)).strftime("%H:%M")
            dots.append((round(x, 1), round(y, 1), f"{when} {k}: {v:.3g} {unit}"))
            previous = slot
        chart.lines.append(Line(k, colours[k], [" ".join(r) for r in runs], dots))
    chart.empty = not any(points.values())
    return chart
