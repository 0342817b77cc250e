"""Server-side SVG charts for the Assay page: no JavaScript, no CDN, nothing to vendor.

Readable without colour: every series has its own marker shape and dash pattern and is labelled at its last
point; reference lines (SLO, baseline, threshold) are dashed and labelled in words; bars carry their value as
text and a hatch pattern per category. Every chart has a ``<title>`` and ``<desc>`` for screen readers and a
table of the same numbers next to it in the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from markupsafe import Markup

# (colour, marker, dash): colour is a help, never the only difference
STYLES = (
    ("#1f5fa8", "circle", ""),
    ("#b3541e", "square", "6 3"),
    ("#2b7a3d", "triangle", "2 3"),
    ("#6b3fa0", "diamond", "8 3 2 3"),
)
PATTERNS = ("solid", "diagonal", "dots", "cross", "horizontal", "none")


@dataclass
class Series:
    label: str
    values: Sequence[float | None]


@dataclass
class Reference:
    label: str
    value: float


@dataclass
class LineChart:
    title: str
    x_labels: Sequence[str]
    series: Sequence[Series]
    references: Sequence[Reference] = field(default_factory=list)
    unit: str = ""
    width: int = 560
    height: int = 220
    y_min: float | None = None
    y_max: float | None = None


def _marker(kind: str, x: float, y: float, colour: str) -> str:
    r = 4
    if kind == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{colour}"/>'
    if kind == "square":
        return f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r}" height="{2 * r}" fill="{colour}"/>'
    if kind == "triangle":
        pts = f"{x:.1f},{y - r - 1:.1f} {x - r - 1:.1f},{y + r:.1f} {x + r + 1:.1f},{y + r:.1f}"
        return f'<polygon points="{pts}" fill="{colour}"/>'
    pts = f"{x:.1f},{y - r - 1:.1f} {x + r + 1:.1f},{y:.1f} {x:.1f},{y + r + 1:.1f} {x - r - 1:.1f},{y:.1f}"
    return f'<polygon points="{pts}" fill="{colour}"/>'


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"


def line_chart(chart: LineChart, *, css_class: str = "chart") -> Markup:
    """A line chart of ``series`` over ``x_labels`` with labelled reference lines."""
    values = [v for s in chart.series for v in s.values if v is not None] + [r.value for r in chart.references]
    title = escape(chart.title)
    if not values or not chart.x_labels:
        return Markup(f'<p class="empty">{title}: no data yet</p>')
    lo = chart.y_min if chart.y_min is not None else min(values)
    hi = chart.y_max if chart.y_max is not None else max(values)
    if hi == lo:
        lo, hi = lo - 1, hi + 1
    pad = (hi - lo) * 0.08
    lo, hi = (lo if chart.y_min is not None else lo - pad), (hi if chart.y_max is not None else hi + pad)
    left, right, top, bottom = 52, 110, 24, 38
    w, h = chart.width - left - right, chart.height - top - bottom
    n = len(chart.x_labels)

    def x(i: int) -> float:
        return left + (w * i / (n - 1) if n > 1 else w / 2)

    def y(v: float) -> float:
        return top + h - (v - lo) / (hi - lo) * h

    parts = [
        f'<svg class="{css_class}" role="img" viewBox="0 0 {chart.width} {chart.height}" '
        f'width="{chart.width}" height="{chart.height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{title}</title>",
        "<desc>"
        + escape(
            "; ".join(f"{s.label}: " + ", ".join("–" if v is None else _fmt(v) for v in s.values) for s in chart.series)
        )
        + "</desc>",
        f'<text x="{left}" y="14" class="ct">{title}</text>',
    ]
    for k in range(5):  # horizontal grid with values
        v = lo + (hi - lo) * k / 4
        parts.append(
            f'<line x1="{left}" x2="{left + w}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>'
            f'<text x="{left - 4}" y="{y(v) + 4:.1f}" text-anchor="end" class="ax">{_fmt(v)}</text>'
        )
    step = max(1, n // 6)
    for i, lab in enumerate(chart.x_labels):
        if i % step == 0 or i == n - 1:
            parts.append(
                f'<text x="{x(i):.1f}" y="{top + h + 16}" text-anchor="middle" class="ax">{escape(lab)}</text>'
            )
    if chart.unit:
        parts.append(f'<text x="4" y="{top - 8}" class="ax">{escape(chart.unit)}</text>')
    for ref in chart.references:
        parts.append(
            f'<line x1="{left}" x2="{left + w}" y1="{y(ref.value):.1f}" y2="{y(ref.value):.1f}" '
            f'stroke="#222" stroke-dasharray="4 4"/>'
            f'<text x="{left + w + 6}" y="{y(ref.value) + 4:.1f}" class="ref">{escape(ref.label)} {_fmt(ref.value)}'
            "</text>"
        )
    for idx, s in enumerate(chart.series):
        colour, marker, dash = STYLES[idx % len(STYLES)]
        pts = [(x(i), y(v)) for i, v in enumerate(s.values) if v is not None]
        if len(pts) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in pts)
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash_attr}/>')
        parts.extend(_marker(marker, px, py, colour) for px, py in pts)
        if pts:
            lx, ly = pts[-1]
            parts.append(f'<text x="{lx + 8:.1f}" y="{ly - 6:.1f}" class="sl" fill="{colour}">{escape(s.label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _pattern_defs() -> str:
    return (
        "<defs>"
        '<pattern id="p-diagonal" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<rect width="6" height="6" fill="#fff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#444" stroke-width="3"/>'
        "</pattern>"
        '<pattern id="p-dots" width="5" height="5" patternUnits="userSpaceOnUse">'
        '<rect width="5" height="5" fill="#fff"/><circle cx="2.5" cy="2.5" r="1.3" fill="#444"/></pattern>'
        '<pattern id="p-cross" width="6" height="6" patternUnits="userSpaceOnUse">'
        '<rect width="6" height="6" fill="#fff"/><path d="M0 0L6 6M6 0L0 6" stroke="#444"/></pattern>'
        '<pattern id="p-horizontal" width="6" height="4" patternUnits="userSpaceOnUse">'
        '<rect width="6" height="4" fill="#fff"/><line x1="0" y1="2" x2="6" y2="2" stroke="#444"/></pattern>'
        "</defs>"
    )


def _fill(pattern: str) -> str:
    return {"solid": "#333", "none": "#fff"}.get(pattern, f"url(#p-{pattern})")


def bar_chart(
    title: str, bars: Sequence[tuple[str, float]], *, unit: str = "", max_value: float | None = None, width: int = 420
) -> Markup:
    """Horizontal bars, one per (label, value), each with its own hatch pattern and its value as text."""
    if not bars:
        return Markup(f'<p class="empty">{escape(title)}: no data yet</p>')
    top, row, left = 24, 22, 130
    height = top + row * len(bars) + 8
    hi = max_value or max((v for _, v in bars), default=0) or 1
    span = width - left - 70
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        "<desc>" + escape("; ".join(f"{lab}: {_fmt(v)}{unit}" for lab, v in bars)) + "</desc>",
        _pattern_defs(),
        f'<text x="4" y="14" class="ct">{escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(bars):
        yy = top + i * row
        bw = max(0.0, min(1.0, value / hi)) * span
        pattern = PATTERNS[i % len(PATTERNS)]
        parts.append(
            f'<text x="{left - 6}" y="{yy + 14}" text-anchor="end" class="ax">{escape(label)}</text>'
            f'<rect x="{left}" y="{yy + 3}" width="{bw:.1f}" height="{row - 8}" fill="{_fill(pattern)}" '
            'stroke="#333"/>'
            f'<text x="{left + bw + 6:.1f}" y="{yy + 14}" class="ax">{_fmt(value)}{escape(unit)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def status_badge(status: str | None) -> Markup:
    """A verdict as a word and a symbol, coloured as well: ✔ PASS, ✖ FAIL, ⚠ WARN, ! ERROR, – SKIP."""
    status = status or "NONE"
    symbol = {"PASS": "✔", "FAIL": "✖", "WARN": "⚠", "ERROR": "!", "SKIP": "–"}.get(status, "?")
    return Markup(f'<span class="badge s-{escape(status.lower())}">{symbol} {escape(status)}</span>')
