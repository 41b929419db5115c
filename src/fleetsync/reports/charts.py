"""Charts as inline SVG: stacked bars with their axis, legend and totals, readable on screen and on
paper, and described for screen readers (``<title>``/``<desc>``, a title on every bar)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["PALETTE", "Series", "stacked_bars"]

#: Okabe and Ito's palette: told apart whatever one's colour vision.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
)

_WIDTH = 760
_HEIGHT = 320
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 12, 44, 56


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    colour: str
    values: tuple[int, ...]


def _step(top: int) -> int:
    """A round tick step (1, 2 or 5 times a power of ten) giving at most five ticks up to
    ``top``."""
    if top <= 5:
        return 1
    magnitude: int = 10 ** int(math.log10(top / 5))
    for factor in (1, 2, 5):
        if top <= 5 * factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def stacked_bars(
    *,
    ident: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    unit: str,
) -> str:
    """A vertical bar per category, stacked by series (bottom up, in legend order), its total
    above it. ``unit`` names what is counted ("loans started")."""
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    step = _step(max(totals, default=0))
    top = max(step, math.ceil(max(totals, default=0) / step) * step)
    plot_w = _WIDTH - _LEFT - _RIGHT
    plot_h = _HEIGHT - _TOP - _BOTTOM
    slot = plot_w / max(len(categories), 1)
    bar = min(slot * 0.7, 64)

    def y(value: float) -> float:
        return _TOP + plot_h - value / top * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {_HEIGHT}" '
        f'role="img" aria-labelledby="{ident}-title {ident}-desc" class="chart" id="{ident}">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
    ]
    # Axis with round ticks and light grid lines.
    for tick in range(0, top + 1, step):
        ty = y(tick)
        parts.append(
            f'<line class="grid" x1="{_LEFT}" x2="{_WIDTH - _RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}"/>'
            f'<text class="tick" x="{_LEFT - 6}" y="{ty + 4:.1f}" text-anchor="end">{tick}</text>'
        )
    parts.append(
        f'<text class="axis-label" x="14" y="{_TOP + plot_h / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {_TOP + plot_h / 2:.1f})">{escape(unit)}</text>'
    )
    rotate = len(categories) > 8
    for i, category in enumerate(categories):
        x = _LEFT + slot * i + (slot - bar) / 2
        base = 0
        for s in series:
            value = s.values[i]
            if value:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y(base + value):.1f}" width="{bar:.1f}" '
                    f'height="{y(base) - y(base + value):.1f}" fill="{s.colour}">'
                    f"<title>{escape(category)}, {escape(s.name)}, {escape(unit)}: {value}</title>"
                    "</rect>"
                )
            base += value
        cx = x + bar / 2
        parts.append(
            f'<text class="total" x="{cx:.1f}" y="{y(base) - 4:.1f}" text-anchor="middle">'
            f"{totals[i]}</text>"
        )
        label_y = _TOP + plot_h + 16
        transform = f' transform="rotate(-35 {cx:.1f} {label_y})"' if rotate else ""
        anchor = "end" if rotate else "middle"
        parts.append(
            f'<text class="category" x="{cx:.1f}" y="{label_y}" text-anchor="{anchor}"'
            f"{transform}>{escape(category)}</text>"
        )
    parts.append(
        f'<line class="axis" x1="{_LEFT}" x2="{_WIDTH - _RIGHT}" y1="{y(0):.1f}" y2="{y(0):.1f}"/>'
    )
    # Legend across the top, in stacking order.
    lx = _LEFT
    for s in series:
        parts.append(
            f'<g class="legend"><rect x="{lx}" y="12" width="12" height="12" fill="{s.colour}"/>'
            f'<text x="{lx + 17}" y="22">{escape(s.name)}</text></g>'
        )
        lx += 28 + 7 * len(s.name)
    parts.append("</svg>")
    return "\n".join(parts)
