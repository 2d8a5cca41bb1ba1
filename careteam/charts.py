"""Small server-rendered SVG line charts, readable without JavaScript."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from markupsafe import Markup, escape

WIDTH, HEIGHT = 560, 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 52, 16, 16, 36


@dataclass(frozen=True)
class Line:
    """A horizontal reference line such as a baseline or a target."""

    label: str
    value: float
    css: str  # class name: "baseline" or "target"


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def line_chart(
    points: Sequence[tuple[date, Decimal | float]],
    *,
    title: str,
    unit: str = "",
    lines: Sequence[Line] = (),
) -> Markup:
    """An SVG chart of values over dates with optional reference lines.

    The SVG carries a title and a description; pages also show the values as a table.
    """
    values = [float(v) for _, v in points] + [line.value for line in lines]
    if not values:
        return Markup("")
    low, high = min(values), max(values)
    if high == low:
        high, low = high + 1, low - 1
    margin = (high - low) * 0.1
    low, high = low - margin, high + margin
    dates = [d for d, _ in points]
    first, last = (min(dates), max(dates)) if dates else (date.today(), date.today())
    span = max((last - first).days, 1)
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM

    def x(d: date) -> float:
        if len(dates) <= 1:
            return PAD_LEFT + inner_w / 2
        return PAD_LEFT + inner_w * (d - first).days / span

    def y(v: float) -> float:
        return PAD_TOP + inner_h * (high - v) / (high - low)

    suffix = f" {unit}" if unit else ""
    desc = "; ".join(f"{d.isoformat()}: {_fmt(float(v))}{suffix}" for d, v in points)
    refs = "; ".join(f"{line.label} {_fmt(line.value)}{suffix}" for line in lines)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{{id}}-t {{id}}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{{id}}-t">{escape(title)}</title>',
        f'<desc id="{{id}}-d">{escape(desc or "No measurements yet")}. {escape(refs)}</desc>',
        f'<line class="axis" x1="{PAD_LEFT}" y1="{PAD_TOP}" x2="{PAD_LEFT}" '
        f'y2="{HEIGHT - PAD_BOTTOM}"/>',
        f'<line class="axis" x1="{PAD_LEFT}" y1="{HEIGHT - PAD_BOTTOM}" '
        f'x2="{WIDTH - PAD_RIGHT}" y2="{HEIGHT - PAD_BOTTOM}"/>',
    ]
    for tick in (low + margin, (low + high) / 2, high - margin):
        parts.append(
            f'<text class="tick" x="{PAD_LEFT - 6}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end">{_fmt(tick)}</text>'
        )
    for line in lines:
        yy = y(line.value)
        parts.append(
            f'<line class="ref {escape(line.css)}" x1="{PAD_LEFT}" y1="{yy:.1f}" '
            f'x2="{WIDTH - PAD_RIGHT}" y2="{yy:.1f}"/>'
            f'<text class="ref-label {escape(line.css)}" x="{WIDTH - PAD_RIGHT}" '
            f'y="{yy - 4:.1f}" text-anchor="end">{escape(line.label)}</text>'
        )
    if points:
        coords = " ".join(f"{x(d):.1f},{y(float(v)):.1f}" for d, v in points)
        parts.append(f'<polyline class="series" points="{coords}"/>')
        for d, v in points:
            parts.append(
                f'<circle class="point" cx="{x(d):.1f}" cy="{y(float(v)):.1f}" r="4">'
                f"<title>{d.isoformat()}: {_fmt(float(v))}{escape(suffix)}</title></circle>"
            )
        parts.append(
            f'<text class="tick" x="{PAD_LEFT}" y="{HEIGHT - 12}">{first.isoformat()}</text>'
        )
        if len(dates) > 1:
            parts.append(
                f'<text class="tick" x="{WIDTH - PAD_RIGHT}" y="{HEIGHT - 12}" '
                f'text-anchor="end">{last.isoformat()}</text>'
            )
    parts.append("</svg>")
    chart_id = f"chart-{zlib.crc32((title + desc).encode()):08x}"
    return Markup("".join(parts).replace("{id}", chart_id))  # noqa: S704 - every text is escaped  # nosec B704
