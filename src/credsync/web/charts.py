"""Charts drawn on the server as inline SVG: no script, nothing from another host, so they
live under the dashboard's Content-Security-Policy as they are. Colours come from the
stylesheet by class (``chart-<series>``); each bar carries a ``<title>`` (its day and
figures) and each chart a text summary for screen readers; the figures are also on the page
as a table.

Only numbers and text escaped here go into the markup, so the result is safe to mark up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = ["Series", "stacked_bars"]

WIDTH = 640
HEIGHT = 180
LEFT = 40  # room for the y axis labels
BOTTOM = 22  # room for the x axis labels
TOP = 8


@dataclass(frozen=True)
class Series:
    key: str  # the CSS class suffix and the counts' key
    label: str


def _nice_max(value: int) -> int:
    """A round top for the y axis, at least ``value`` (1, 2, 5 x 10^n)."""
    if value <= 4:
        return 4
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step * 4 >= value:
                return m * step * 4
        step *= 10


def stacked_bars(
    title: str,
    days: Sequence[dt.date],
    counts: Sequence[dict[str, int]],
    series: Sequence[Series],
    *,
    line: Series | None = None,
) -> Markup:
    """One bar a day, stacked by ``series`` (bottom first), with ``line`` (e.g. the open
    flags at each day's end) drawn over the bars when given."""
    if len(days) != len(counts):
        raise ValueError("one count a day")
    keys = [s.key for s in series]
    totals = [sum(c.get(k, 0) for k in keys) for c in counts]
    line_values = [c.get(line.key, 0) for c in counts] if line else []
    top = _nice_max(max([*totals, *line_values, 0]))
    plot_w, plot_h = WIDTH - LEFT - 4, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    bar_w = max(slot * 0.7, 1.0)

    def y(value: float) -> float:
        return TOP + plot_h - plot_h * value / top

    parts: list[str] = []
    for tick in range(5):  # grid lines and labels at 0, 1/4, ..., top
        value = top * tick // 4
        parts.append(
            f'<line class="chart-grid" x1="{LEFT}" x2="{WIDTH - 4}" '
            f'y1="{y(value):.1f}" y2="{y(value):.1f}"/>'
            f'<text class="chart-axis" x="{LEFT - 6}" y="{y(value) + 4:.1f}" '
            f'text-anchor="end">{value}</text>'
        )
    for i, (day, c) in enumerate(zip(days, counts, strict=True)):
        x = LEFT + i * slot + (slot - bar_w) / 2
        base = 0
        described = ", ".join(f"{s.label} {c.get(s.key, 0)}" for s in series)
        if line:
            described += f", {line.label} {c.get(line.key, 0)}"
        bar = [f"<g><title>{escape(day.isoformat())}: {escape(described)}</title>"]
        for s in series:
            n = c.get(s.key, 0)
            if n:
                bar.append(
                    f'<rect class="chart-{escape(s.key)}" x="{x:.1f}" y="{y(base + n):.1f}" '
                    f'width="{bar_w:.1f}" height="{y(base) - y(base + n):.1f}"/>'
                )
                base += n
        if not base:  # a hover target for empty days too
            bar.append(
                f'<rect class="chart-empty" x="{x:.1f}" y="{TOP}" width="{bar_w:.1f}" '
                f'height="{plot_h}"/>'
            )
        bar.append("</g>")
        parts.append("".join(bar))
        if i % 7 == 0 or i == len(days) - 1:
            parts.append(
                f'<text class="chart-axis" x="{x + bar_w / 2:.1f}" y="{HEIGHT - 6}" '
                f'text-anchor="middle">{escape(day.strftime("%d %b"))}</text>'
            )
    if line and days:
        points = " ".join(
            f"{LEFT + i * slot + slot / 2:.1f},{y(v):.1f}" for i, v in enumerate(line_values)
        )
        parts.append(f'<polyline class="chart-line chart-{escape(line.key)}" points="{points}"/>')
    summary = _summary(title, days, counts, series, line)
    legend = "".join(
        f'<span class="legend-item"><span class="swatch chart-{escape(s.key)}"></span>'
        f"{escape(s.label)}</span>"
        for s in [*series, *([line] if line else [])]
    )
    svg = (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(summary)}" preserveAspectRatio="xMinYMin meet">'
        f"<title>{escape(title)}</title>{''.join(parts)}</svg>"
    )
    # every value in svg and legend is a number or went through escape() above
    figure = f'<figure class="chart-figure">{svg}<figcaption>{legend}</figcaption></figure>'
    return Markup(figure)  # noqa: S704


def _summary(
    title: str,
    days: Sequence[dt.date],
    counts: Sequence[dict[str, int]],
    series: Sequence[Series],
    line: Series | None,
) -> str:
    if not days:
        return f"{title}: no days"
    sums = ", ".join(f"{s.label} {sum(c.get(s.key, 0) for c in counts)}" for s in series)
    text = f"{title}, {days[0].isoformat()} to {days[-1].isoformat()}: {sums}"
    if line:
        text += f"; {line.label} now {counts[-1].get(line.key, 0)}"
    return text
