"""Small server-rendered SVG line charts, readable without JavaScript.

Readable at the size shown, on a laptop and on a phone: the SVG scales with its box, so its
text does too. The drawing is 400 units wide and its labels 16 units high; the stylesheet
keeps a chart between 20rem and 34rem wide, so a label shows at 12.8 px or more (at 320 px)
and at most about 22 px (tests/e2e/test_charts.py measures it). A chart has a y axis with
its unit, gridlines at round values, dated ticks on the x axis, and the target band (where
the goal is met) when there is a target.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from markupsafe import Markup, escape

from careteam.timefmt import format_date
from careteam.wording import unit_for

WIDTH, HEIGHT = 400, 250
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 52, 14, 30, 34
FONT = 16  # user units: 12.8 px at the narrowest width the stylesheet allows (320 px)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Line:
    """A horizontal reference line such as a baseline or a target."""

    label: str
    value: float
    css: str  # class name: "baseline" or "target"


@dataclass(frozen=True)
class Band:
    """The range where a goal is met: from the target to the top (higher is better) or to
    the bottom (lower is better) of the chart."""

    value: float
    above: bool
    label: str = "Target zone"


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _with_unit(value: float, unit: str) -> str:
    return f"{_fmt(value)} {unit_for(Decimal(_fmt(value)), unit)}".strip()


def nice_ticks(low: float, high: float, most: int = 5) -> list[float]:
    """Round values for gridlines enclosing low..high (1, 2, 2.5 or 5 times a power of ten)."""
    span = high - low
    if span <= 0:
        return [low]
    raw = span / max(most - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    # From the round value at or below `low` to the one at or above `high`.
    first = math.floor(low / step + 1e-9) * step
    last = math.ceil(high / step - 1e-9) * step
    ticks = []
    value = first
    while value <= last + 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def date_ticks(first: date, last: date, most: int = 4) -> list[date]:
    """Up to `most` dates from first to last, evenly spread, both ends included."""
    span = (last - first).days
    if span <= 0:
        return [first]
    count = min(most, span + 1)
    return sorted({first + timedelta(days=round(span * i / (count - 1))) for i in range(count)})


def _short_date(value: date, with_year: bool) -> str:
    text = f"{value.day} {MONTHS[value.month - 1]}"
    return f"{text} {value.year}" if with_year else text


def line_chart(
    points: Sequence[tuple[date, Decimal | float]],
    *,
    title: str,
    unit: str = "",
    lines: Sequence[Line] = (),
    band: Band | None = None,
) -> Markup:
    """An SVG chart of values over dates with optional reference lines and target band.

    The SVG carries a title and a description; pages also show the values as a table.
    """
    values = [float(v) for _, v in points] + [line.value for line in lines]
    if not values:
        return Markup("")
    low, high = min(values), max(values)
    if high == low:
        high, low = high + 1, low - 1
    margin = (high - low) * 0.08
    low, high = low - margin, high + margin
    if min(values) >= 0 and (low < 0 or min(values) <= max(values) - min(values)):
        low = 0.0  # a count or a time starts at zero (a weight's range stays close)
    ticks = nice_ticks(low, high)
    low, high = ticks[0], ticks[-1]
    dates = [d for d, _ in points]
    first, last = (min(dates), max(dates)) if dates else (date.today(), date.today())
    span = max((last - first).days, 1)
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    left, right, top, bottom = PAD_LEFT, WIDTH - PAD_RIGHT, PAD_TOP, HEIGHT - PAD_BOTTOM

    def x(d: date) -> float:
        if len(set(dates)) <= 1:
            return left + inner_w / 2
        return left + inner_w * (d - first).days / span

    def y(v: float) -> float:
        return top + inner_h * (high - v) / (high - low)

    desc = "; ".join(f"{format_date(d)}: {_with_unit(float(v), unit)}" for d, v in points)
    refs = "; ".join(f"{line.label} {_with_unit(line.value, unit)}" for line in lines)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{{id}}-t {{id}}-d" xmlns="http://www.w3.org/2000/svg" '
        f'font-size="{FONT}">',
        f'<title id="{{id}}-t">{escape(title)}</title>',
        f'<desc id="{{id}}-d">{escape(desc or "No measurements yet")}. {escape(refs)}</desc>',
    ]
    if band is not None:
        edge = top if band.above else bottom
        yy = min(max(y(band.value), top), bottom)
        if abs(yy - edge) > 0:
            parts.append(
                f'<rect class="band" x="{left}" y="{min(edge, yy):.1f}" width="{inner_w}" '
                f'height="{abs(yy - edge):.1f}"><title>{escape(band.label)}</title></rect>'
            )
    # Gridlines and the y axis's round values; its unit above it.
    for tick in ticks:
        yy = y(tick)
        parts.append(
            f'<line class="grid" x1="{left}" y1="{yy:.1f}" x2="{right}" y2="{yy:.1f}"/>'
            f'<text class="tick" x="{left - 6}" y="{yy + FONT * 0.35:.1f}" '
            f'text-anchor="end">{_fmt(tick)}</text>'
        )
    if unit:
        parts.append(
            f'<text class="axis-label" x="{left - 6}" y="{top - 12}" '
            f'text-anchor="start">{escape(unit)}</text>'
        )
    parts += [
        f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{bottom}"/>',
        f'<line class="axis" x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}"/>',
    ]
    for line in lines:
        yy = y(line.value)
        # The series starts near the baseline and ends near the target: each label sits
        # at the other end, clear of the points.
        start = line.css == "target"
        lx, anchor = (left + 4, "start") if start else (right - 4, "end")
        parts.append(
            f'<line class="ref {escape(line.css)}" x1="{left}" y1="{yy:.1f}" '
            f'x2="{right}" y2="{yy:.1f}"/>'
            f'<text class="ref-label {escape(line.css)}" x="{lx}" '
            f'y="{yy - 5:.1f}" text-anchor="{anchor}">{escape(line.label)}</text>'
        )
    if points:
        coords = " ".join(f"{x(d):.1f},{y(float(v)):.1f}" for d, v in points)
        parts.append(f'<polyline class="series" points="{coords}"/>')
        for d, v in points:
            parts.append(
                f'<circle class="point" cx="{x(d):.1f}" cy="{y(float(v)):.1f}" r="4.5">'
                f"<title>{format_date(d)}: {escape(_with_unit(float(v), unit))}</title></circle>"
            )
        with_year = first.year != last.year
        shown = date_ticks(first, last, 3 if with_year else 4) if len(set(dates)) > 1 else [first]
        for i, tick in enumerate(shown):
            anchor = "middle"
            if len(shown) > 1 and i == 0:
                anchor = "start"
            elif len(shown) > 1 and i == len(shown) - 1:
                anchor = "end"
            xx = x(tick)
            parts.append(
                f'<line class="grid date" x1="{xx:.1f}" y1="{top}" x2="{xx:.1f}" y2="{bottom}"/>'
                f'<line class="axis" x1="{xx:.1f}" y1="{bottom}" x2="{xx:.1f}" y2="{bottom + 5}"/>'
                f'<text class="tick date" x="{xx:.1f}" y="{bottom + FONT + 6}" '
                f'text-anchor="{anchor}"><tspan>{_short_date(tick, with_year)}</tspan>'
                f"<title>{format_date(tick)}</title></text>"
            )
    parts.append("</svg>")
    chart_id = f"chart-{zlib.crc32((title + desc).encode()):08x}"
    return Markup("".join(parts).replace("{id}", chart_id))  # noqa: S704 - every text is escaped  # nosec B704
