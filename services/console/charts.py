"""Server-rendered SVG bar charts for the dashboard (no script, no front-end build)."""

from __future__ import annotations

from decimal import Decimal
from typing import Iterable

from markupsafe import Markup, escape


def bars(title: str, items: Iterable[tuple[str, float | int | str | Decimal]], *, unit: str = "") -> Markup:
    """A horizontal bar chart of (label, value); values may be yuan strings."""
    rows = [(str(label), Decimal(str(value or 0))) for label, value in items]
    if not rows:
        return Markup(f'<p class="empty">{escape(title)}：暂无数据</p>')
    top = max((value for _, value in rows), default=Decimal(0)) or Decimal(1)
    height, label_w, bar_w = 22, 170, 300
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{label_w + bar_w + 150}" '
             f'height="{height * len(rows) + 28}" xmlns="http://www.w3.org/2000/svg">',
             f'<text x="0" y="16" class="chart-title">{escape(title)}</text>']
    for i, (label, value) in enumerate(rows):
        y = 26 + i * height
        width = int(bar_w * (value / top)) if value > 0 else 0
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{escape(label)}</text>'
                     f'<rect x="{label_w}" y="{y + 3}" width="{width}" height="{height - 6}" fill="#b22222">'
                     f'<title>{escape(label)}: {value}{escape(unit)}</title></rect>'
                     f'<text x="{label_w + width + 6}" y="{y + 14}">{value}{escape(unit)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
