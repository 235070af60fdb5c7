"""Charts drawn at build time as inline SVG: no script, no request, no library.

Each chart is drawn twice, wide (shown on screens of 600 px and more) and narrow (a
phone, shown below that; labels on their own line above each bar, the legend in two
columns), so its text is drawn at about its nominal size (11-13 px) on both: an SVG
scales its text with its width, and a 720-unit chart on a 360 px phone would halve it.
"""

from __future__ import annotations

import html

from kbgen.trace.exports import Coverage
from kbgen.trace.status import STATUSES

#: The Okabe-Ito palette: eight colours told apart with every common colour-vision
#: deficiency (the two oranges of before, "untested" and "accepted risk", were not).
COLORS = {
    "verified": "#009E73",
    "failing": "#D55E00",
    "stale": "#E69F00",
    "test-written": "#56B4E9",
    "implemented": "#F0E442",
    "unmapped": "#CC79A7",
    "accepted-risk": "#0072B2",
    "policy": "#999999",
}
#: Width of each drawing in SVG units (about CSS pixels where it is shown).
WIDE, NARROW = 720, 340
FONT = 12


def _legend(
    top: float, width: int, counts: dict[str, int] | None = None
) -> tuple[list[str], float]:
    """The statuses in rows of four (wide) or two (narrow), with their counts when given;
    returns the items and the height they take."""
    columns = 4 if width >= 600 else 2
    step = width / columns
    items = []
    for i, status in enumerate(STATUSES):
        x = (i % columns) * step
        y = top + (i // columns) * 18
        label = f"{status} ({counts.get(status, 0)})" if counts is not None else status
        items.append(
            f'<rect x="{x:.0f}" y="{y}" width="11" height="11" fill="{COLORS[status]}"/>'
            f'<text x="{x + 15:.0f}" y="{y + 10}" font-size="{FONT}">{label}</text>'
        )
    rows = -(-len(STATUSES) // columns)
    return items, rows * 18


def _svg(label: str, width: int, height: float, parts: list[str], css: str) -> str:
    return (
        f'<svg class="kb-chart {css}" role="img" aria-label="{label}" '
        f'viewBox="0 0 {width} {height:.0f}" width="100%" '
        f'style="max-width:{width}px">' + "".join(parts) + "</svg>"
    )


def _segments(
    by_status: dict[str, int], x: float, y: float, width: float, height: int, name: str = ""
) -> list[str]:
    total = sum(by_status.values()) or 1
    parts = []
    for status in STATUSES:
        count = by_status.get(status, 0)
        w = width * count / total
        if count:
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{height}" '
                f'fill="{COLORS[status]}"><title>{name}{status}: {count}</title></rect>'
            )
        x += w
    return parts


def status_bar(by_status: dict[str, int]) -> str:
    """One stacked bar of a framework's control statuses, with a legend."""
    drawings = []
    for width, css in ((WIDE, "kb-chart-wide"), (NARROW, "kb-chart-narrow")):
        legend, height = _legend(32, width, by_status)
        drawings.append(
            _svg(
                "control status",
                width,
                32 + height,
                _segments(by_status, 0, 0, width, 22) + legend,
                css,
            )
        )
    return "".join(drawings)


def coverage_chart(figures: list[Coverage]) -> str:
    """A horizontal stacked bar per framework: label beside the bar (wide) or above it
    (narrow)."""
    return _coverage(figures, WIDE, "kb-chart-wide") + _coverage(figures, NARROW, "kb-chart-narrow")


def _coverage(figures: list[Coverage], width: int, css: str) -> str:
    wide = width >= 600
    row = 26 if wide else 40
    label_width = 250 if wide else 0
    bars = []
    for i, figure in enumerate(figures):
        y = i * row
        limit = 36 if wide else 44
        name = figure.name if len(figure.name) <= limit else figure.name[: limit - 1] + "…"
        bars.append(
            f'<text x="0" y="{y + 15 if wide else y + 12}" font-size="{FONT}">'
            f"{html.escape(name)}<title>{html.escape(figure.name)}</title></text>"
        )
        bar_y = y + 3 if wide else y + 17
        bars += _segments(
            figure.by_status,
            label_width,
            bar_y,
            width - label_width - 50,
            16,
            html.escape(figure.name) + " ",
        )
        bars.append(
            f'<text x="{width - 45}" y="{bar_y + 12}" font-size="{FONT}">'
            f"{figure.verified_percent:.0f}%<title>verified share of host and hybrid "
            "controls</title></text>"
        )
    legend, height = _legend(row * len(figures) + 12, width)
    return _svg(
        "coverage by framework", width, row * len(figures) + 12 + height, bars + legend, css
    )
