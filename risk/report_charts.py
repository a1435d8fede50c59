"""Charts for the reports as inline SVG, written out here as plain SVG text.

Why server-rendered SVG, and why not matplotlib or a JavaScript chart library:

- no JavaScript: the page works in whatever old browser an intranet office has, under a
  Content-Security-Policy that forbids inline scripts (the console), and prints as vectors;
  a JavaScript library would have to be vendored and shipped with every page;
- text stays text: labels are ``<text>`` elements that inherit the page's CJK font stack, so no
  font is embedded in the chart and none is needed where it is drawn (matplotlib must measure
  every label with a font that has the glyphs, warns or guesses when the server has no CJK font,
  and writes ``style="..."`` attributes that a strict ``style-src`` blocks);
- colours are presentation attributes (``fill="#c00000"``), which no CSP rule governs;
- the output is small and deterministic: no font cache, no ids that collide when several charts
  share a page, nothing that differs between two runs.

Every chart is an inline ``<svg class="chart">`` (no ``xmlns``: the HTML parser puts it in the SVG
namespace, and the page then holds no URL at all) with a ``viewBox`` (the page scales it to its
width), a ``<title>`` for screen readers, and a ``<title>`` per mark for the value on hover.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Final

from risk.levels import BLUE, NONE, ORANGE, RED, YELLOW

WIDTH: Final = 720  # px of the viewBox: the text width of an A4 page at 96 dpi, so print scale ~1
FONT: Final = (
    '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", "SimHei", sans-serif'
)
BAND_COLORS: Final[dict[str, str]] = {
    RED: "#c00000",
    ORANGE: "#e46c0a",
    YELLOW: "#d9a400",
    BLUE: "#2f6db5",
    NONE: "#a6a6a6",
}
# Okabe-Ito: told apart by colour-blind readers too.
SERIES_COLORS: Final = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")
_GRID: Final = "#d9d9d9"
_INK: Final = "#262626"


@dataclass(frozen=True)
class Series:
    """One line of a line chart: a value per x position (NaN leaves a gap)."""

    name: str
    values: Sequence[float]
    dashed: bool = False


@dataclass(frozen=True)
class Tile:
    name: str
    band: str
    value: float
    note: str = ""  # shown on hover


@dataclass(frozen=True)
class TileGroup:
    name: str
    band: str
    tiles: Sequence[Tile] = field(default_factory=tuple)


def band_color(band: str) -> str:
    """The fill of a band (grey for anything unknown).

    >>> band_color("红"), band_color("?")
    ('#c00000', '#a6a6a6')
    """
    return BAND_COLORS.get(band, BAND_COLORS[NONE])


def text_width(text: str, size: float) -> float:
    """Estimated width in px: a CJK character is one em, anything else about 0.6 em.

    >>> text_width("曲塘镇 12", 10)
    48.0
    """
    return sum(size if ord(ch) > 0x2E80 else 0.6 * size for ch in text)


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``top``.

    >>> nice_ticks(7.3), nice_ticks(0)
    ([0.0, 2.0, 4.0, 6.0, 8.0], [0.0, 1.0])
    """
    if not top > 0:
        return [0.0, 1.0]
    raw = top / count
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if m * step >= raw)
    return [float(i * step) for i in range(math.ceil(top / step - 1e-9) + 1)]


def ranking_chart(
    names: Sequence[str],
    values: Sequence[float],
    lower: Sequence[float],
    upper: Sequence[float],
    bands: Sequence[str],
    *,
    title: str,
    top: float = 100.0,
) -> str:
    """Horizontal bars (coloured by band) with the uncertainty interval as a whisker, best first."""
    row, left = 22, min(max((text_width(n, 12) for n in names), default=40) + 12, 220)
    plot = WIDTH - left - 48
    height = 30 + row * len(names) + 8

    def x(v: float) -> float:
        return left + plot * max(0.0, min(v, top)) / top

    ticks = nice_ticks(top)
    parts = _axis_x(ticks, [x(t) for t in ticks], 24, height - 6)
    for i, (name, v, lo, hi, band) in enumerate(zip(names, values, lower, upper, bands, strict=True)):
        y = 30 + i * row
        mid = y + row / 2 - 2
        parts.append(
            f"<g><title>{escape(name)}：指数 {v:.1f}（区间 {lo:.1f}–{hi:.1f}，{escape(band)}）</title>"
            f'<text x="{left - 8}" y="{mid + 4}" text-anchor="end" font-size="12">{escape(name)}</text>'
            f'<rect x="{left}" y="{y + 2}" width="{x(v) - left:.1f}" height="{row - 8}" fill="{band_color(band)}"/>'
            f'<path d="M{x(lo):.1f} {mid}H{x(hi):.1f}M{x(lo):.1f} {mid - 5}v10M{x(hi):.1f} {mid - 5}v10" '
            f'stroke="{_INK}" stroke-width="1.2" fill="none"/>'
            f'<text x="{x(max(v, hi)) + 4:.1f}" y="{mid + 4}" font-size="11">{v:.1f}</text></g>'
        )
    return _svg(height, title, parts)


def line_chart(
    xs: Sequence[str], series: Sequence[Series], *, title: str, top: float | None = None, unit: str = ""
) -> str:
    """Lines over categorical x positions (weeks), labelled at their right end."""
    finite = [v for s in series for v in s.values if _finite(v)]
    ticks = nice_ticks(top if top is not None else max(finite, default=0.0))
    labels = [s.name for s in series]
    left, right = 40, min(max((text_width(n, 11) for n in labels), default=0) + 18, 180)
    plot_w, y0, y1 = WIDTH - left - right, 250, 16
    height = y0 + 34
    step = plot_w / max(len(xs) - 1, 1)

    def y(v: float) -> float:
        return y0 - (y0 - y1) * v / ticks[-1]

    parts = [
        f'<line x1="{left}" x2="{left + plot_w}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="{_GRID}"/>'
        f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end" font-size="10">{t:g}{escape(unit)}</text>'
        for t in ticks
    ]
    every = max(1, math.ceil(len(xs) / 8))
    parts += [
        f'<text x="{left + i * step:.1f}" y="{y0 + 18}" text-anchor="middle" font-size="10">{escape(label)}</text>'
        for i, label in enumerate(xs)
        if (len(xs) - 1 - i) % every == 0
    ]
    ends: list[tuple[float, str, str]] = []
    for k, s in enumerate(series):
        color = SERIES_COLORS[k % len(SERIES_COLORS)]
        dash = ' stroke-dasharray="5 3"' if s.dashed else ""
        points = [(left + i * step, y(v)) for i, v in enumerate(s.values) if _finite(v)]
        for run in _runs([(i, v) for i, v in enumerate(s.values)]):
            d = " ".join(
                f"{'M' if j == 0 else 'L'}{left + i * step:.1f} {y(v):.1f}" for j, (i, v) in enumerate(run)
            )
            parts.append(f'<path d="{d}" stroke="{color}" stroke-width="2" fill="none"{dash}/>')
        parts += [
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.5" fill="{color}"><title>{escape(s.name)}</title></circle>'
            for px, py in points
        ]
        if points:
            ends.append((points[-1][1], s.name, color))
    for py, name, color in _spread(sorted(ends), 13):
        parts.append(
            f'<text x="{left + plot_w + 8}" y="{py + 4:.1f}" font-size="11" fill="{color}">{escape(name)}</text>'
        )
    return _svg(height, title, parts)


def paired_bar_chart(
    labels: Sequence[str],
    current: Sequence[float],
    baseline: Sequence[float],
    *,
    title: str,
    legend: tuple[str, str],
    highlight: Sequence[bool] = (),
    percent: bool = True,
) -> str:
    """Two horizontal bars per label: this week (dark) over the baseline (light)."""
    row, left = 30, min(max((text_width(n, 12) for n in labels), default=40) + 24, 200)
    top = max([*current, *baseline, 1e-9])
    ticks = nice_ticks(top * 100 if percent else top)
    plot = WIDTH - left - 60
    height = 44 + row * len(labels)

    def x(v: float) -> float:
        return left + plot * (v * 100 if percent else v) / ticks[-1]

    parts = _axis_x(
        ticks, [left + plot * t / ticks[-1] for t in ticks], 36, height - 4, "%" if percent else ""
    )
    parts.append(
        f'<rect x="{left}" y="4" width="10" height="10" fill="{SERIES_COLORS[0]}"/>'
        f'<text x="{left + 14}" y="13" font-size="11">{escape(legend[0])}</text>'
        f'<rect x="{left + 120}" y="4" width="10" height="10" fill="#a9c6e0"/>'
        f'<text x="{left + 134}" y="13" font-size="11">{escape(legend[1])}</text>'
    )
    for i, (label, now, base) in enumerate(zip(labels, current, baseline, strict=True)):
        y, hot = 40 + i * row, i < len(highlight) and highlight[i]
        shown = f"{now * 100:.1f}%" if percent else f"{now:.2f}"
        weight = ' font-weight="bold"' if hot else ""
        parts.append(
            f"<g><title>{escape(label)}：{escape(legend[0])} {shown}</title>"
            f'<text x="{left - 8}" y="{y + 14}" text-anchor="end" font-size="12"'
            f"{weight}>{'▲ ' if hot else ''}{escape(label)}</text>"
            f'<rect x="{left}" y="{y}" width="{x(now) - left:.1f}" height="11" fill="{SERIES_COLORS[0]}"/>'
            f'<rect x="{left}" y="{y + 12}" width="{x(base) - left:.1f}" height="8" fill="#a9c6e0"/>'
            f'<text x="{x(max(now, base)) + 4:.1f}" y="{y + 11}" font-size="10">{shown}</text></g>'
        )
    return _svg(height, title, parts)


def tile_map(groups: Sequence[TileGroup], *, title: str, columns: int = 7) -> str:
    """A tile grid of the hierarchy: one row block per group (a town, coloured by its band) holding
    a tile per child area (a village) coloured by its band, with its name and index."""
    left, tile_w, tile_h, gap = 124, 80, 40, 4
    parts, y = [], 4
    for group in groups:
        rows = max(1, math.ceil(len(group.tiles) / columns))
        block = rows * (tile_h + gap) - gap
        parts.append(
            f"<g><title>{escape(group.name)}（{escape(group.band)}）</title>"
            f'<rect x="0" y="{y}" width="{left - 8}" height="{block}" fill="{band_color(group.band)}"/>'
            f'<text x="{(left - 8) / 2}" y="{y + block / 2 + 5}" text-anchor="middle" font-size="13" '
            f'fill="{_on(group.band)}">{escape(_short(group.name, 7))}</text></g>'
        )
        for k, tile in enumerate(group.tiles):
            tx, ty = left + (k % columns) * (tile_w + gap), y + (k // columns) * (tile_h + gap)
            note = f"：{escape(tile.note)}" if tile.note else ""
            parts.append(
                f"<g><title>{escape(tile.name)}{note}</title>"
                f'<rect x="{tx}" y="{ty}" width="{tile_w}" height="{tile_h}" fill="{band_color(tile.band)}"/>'
                f'<text x="{tx + tile_w / 2}" y="{ty + 16}" text-anchor="middle" font-size="11" '
                f'fill="{_on(tile.band)}">{escape(_short(tile.name, 6))}</text>'
                f'<text x="{tx + tile_w / 2}" y="{ty + 32}" text-anchor="middle" font-size="11" '
                f'fill="{_on(tile.band)}">{tile.value:.1f}</text></g>'
            )
        y += block + 10
    return _svg(max(y, 20), title, parts)


def _svg(height: float, title: str, parts: Sequence[str]) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'width="{WIDTH}" height="{height:.0f}" role="img" font-family="{escape(FONT)}" fill="{_INK}">'
        f"<title>{escape(title)}</title>{''.join(parts)}</svg>"
    )


def _axis_x(
    ticks: Sequence[float], xs: Sequence[float], top: float, bottom: float, unit: str = ""
) -> list[str]:
    """Vertical grid lines at ``xs`` with the tick values above them."""
    return [
        f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{top}" y2="{bottom}" stroke="{_GRID}"/>'
        f'<text x="{px:.1f}" y="{top - 6}" text-anchor="middle" font-size="10">{t:g}{unit}</text>'
        for t, px in zip(ticks, xs, strict=True)
    ]


def _finite(value: float) -> bool:
    return value is not None and math.isfinite(value)


def _runs(points: Sequence[tuple[int, float]]) -> list[list[tuple[int, float]]]:
    """Consecutive finite points, split at gaps."""
    runs: list[list[tuple[int, float]]] = [[]]
    for i, v in points:
        if _finite(v):
            runs[-1].append((i, v))
        elif runs[-1]:
            runs.append([])
    return [r for r in runs if r]


def _spread(ends: list[tuple[float, str, str]], gap: float) -> list[tuple[float, str, str]]:
    """End labels moved apart vertically so that none overlaps the one above it."""
    out: list[tuple[float, str, str]] = []
    for y, name, color in ends:
        if out and y < out[-1][0] + gap:
            y = out[-1][0] + gap
        out.append((y, name, color))
    return out


def _on(band: str) -> str:
    """Text colour readable on a band's fill."""
    return "#000000" if band in (YELLOW, NONE) else "#ffffff"


def _short(name: str, chars: int) -> str:
    return name if len(name) <= chars else name[: chars - 1] + "…"
