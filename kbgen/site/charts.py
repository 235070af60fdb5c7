"""Charts drawn at build time as inline SVG: no script, no request, no library."""

from __future__ import annotations

import html

from kbgen.trace.exports import Coverage
from kbgen.trace.model import STATUSES

COLORS = {"tested": "#2e7d32", "policy": "#1565c0", "accepted-risk": "#ef6c00",
          "untested": "#f9a825", "unmapped": "#c62828"}


def status_bar(by_status: dict[str, int], width: int = 640) -> str:
    """One stacked bar of a framework's control statuses, with a legend."""
    total = sum(by_status.values()) or 1
    x, parts, legend = 0.0, [], []
    for status in STATUSES:
        count = by_status.get(status, 0)
        w = width * count / total
        if count:
            parts.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="22" '
                         f'fill="{COLORS[status]}"><title>{status}: {count}</title></rect>')
        x += w
    for i, status in enumerate(STATUSES):
        legend.append(f'<rect x="{i * 128}" y="32" width="10" height="10" '
                      f'fill="{COLORS[status]}"/><text x="{i * 128 + 14}" y="41" '
                      f'font-size="11">{status} ({by_status.get(status, 0)})</text>')
    return (f'<svg class="kb-chart" role="img" aria-label="control status" '
            f'viewBox="0 0 {width} 48" width="100%">' + "".join(parts + legend) + "</svg>")


def coverage_chart(figures: list[Coverage], width: int = 720) -> str:
    """A horizontal stacked bar per framework."""
    row, label_width = 26, 250
    height = row * len(figures) + 30
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
                    f'{figure.percent_covered:.0f}%</text>')
    legend_y = row * len(figures) + 12
    for i, status in enumerate(STATUSES):
        bars.append(f'<rect x="{i * 128}" y="{legend_y}" width="10" height="10" '
                    f'fill="{COLORS[status]}"/><text x="{i * 128 + 14}" y="{legend_y + 9}" '
                    f'font-size="11">{status}</text>')
    return (f'<svg class="kb-chart" role="img" aria-label="coverage by framework" '
            f'viewBox="0 0 {width} {height}" width="100%">' + "".join(bars) + "</svg>")
