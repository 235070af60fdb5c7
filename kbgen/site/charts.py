"""Charts drawn at build time as inline SVG: no script, no request, no library."""

from __future__ import annotations

import html

from kbgen.trace.exports import Coverage
from kbgen.trace.status import STATUSES

#: The Okabe-Ito palette: eight colours told apart with every common colour-vision
#: deficiency (the two oranges of before, "untested" and "accepted risk", were not).
COLORS = {"verified": "#009E73", "failing": "#D55E00", "stale": "#E69F00",
          "test-written": "#56B4E9", "implemented": "#F0E442", "unmapped": "#CC79A7",
          "accepted-risk": "#0072B2", "policy": "#999999"}
LEGEND_COLUMNS, LEGEND_STEP = 4, 170


def _legend(top: float, counts: dict[str, int] | None = None) -> list[str]:
    """The statuses in two rows of four, with their counts when given."""
    items = []
    for i, status in enumerate(STATUSES):
        x = (i % LEGEND_COLUMNS) * LEGEND_STEP
        y = top + (i // LEGEND_COLUMNS) * 16
        label = f"{status} ({counts.get(status, 0)})" if counts is not None else status
        items.append(f'<rect x="{x}" y="{y}" width="10" height="10" fill="{COLORS[status]}"/>'
                     f'<text x="{x + 14}" y="{y + 9}" font-size="11">{label}</text>')
    return items


def status_bar(by_status: dict[str, int], width: int = 640) -> str:
    """One stacked bar of a framework's control statuses, with a legend."""
    total = sum(by_status.values()) or 1
    x, parts = 0.0, []
    for status in STATUSES:
        count = by_status.get(status, 0)
        w = width * count / total
        if count:
            parts.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="22" '
                         f'fill="{COLORS[status]}"><title>{status}: {count}</title></rect>')
        x += w
    legend = _legend(32, by_status)
    return (f'<svg class="kb-chart" role="img" aria-label="control status" '
            f'viewBox="0 0 {width} 64" width="100%">' + "".join(parts + legend) + "</svg>")


def coverage_chart(figures: list[Coverage], width: int = 720) -> str:
    """A horizontal stacked bar per framework."""
    row, label_width = 26, 250
    height = row * len(figures) + 46
    bars = []
    for i, figure in enumerate(figures):
        y = i * row
        name = figure.name if len(figure.name) <= 36 else figure.name[:35] + "…"
        bars.append(f'<text x="0" y="{y + 15}" font-size="12">{html.escape(name)}'
                    f"<title>{html.escape(figure.name)}</title></text>")
        x = float(label_width)
        total = figure.total or 1
        for status in STATUSES:
            count = figure.by_status.get(status, 0)
            w = (width - label_width - 50) * count / total
            if count:
                bars.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="16" '
                            f'fill="{COLORS[status]}"><title>{html.escape(figure.name)} '
                            f'{status}: {count}</title></rect>')
            x += w
        bars.append(f'<text x="{width - 45}" y="{y + 15}" font-size="12">'
                    f'{figure.verified_percent:.0f}%<title>verified share of host and hybrid '
                    "controls</title></text>")
    bars += _legend(row * len(figures) + 12)
    return (f'<svg class="kb-chart" role="img" aria-label="coverage by framework" '
            f'viewBox="0 0 {width} {height}" width="100%">' + "".join(bars) + "</svg>")
