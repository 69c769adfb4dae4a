"""Server-rendered SVG charts: data in, escaped markup out (no script, no style attribute: the CSP stays strict)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from dpa_tracker.dashboard.scores import Score

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 120, 16, 40
LABEL_GAP = 13  # px between the baselines of two line labels (the labels' font is 11 px)


@dataclass(frozen=True)
class Series:
    key: str  # a CSS class suffix: the colour and the dash pattern come from static/app.css
    label: str
    values: Sequence[int | None]  # None: no figure for that point (a gap in the line)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def line_chart(
    chart_id: str, title: str, description: str, x_labels: Sequence[str], series: Sequence[Series]
) -> Markup:
    """A line chart with a title, a description, labelled axes and each line named at its end."""
    top = max([v for s in series for v in s.values if v is not None] or [0])
    top = max(top, 1)
    steps = len(x_labels) - 1 or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + plot_w * i / steps

    def y(v: int) -> float:
        return TOP + plot_h * (1 - v / top)

    parts = [
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}"/>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}"/>',
    ]
    for tick in (0, top // 2, top) if top > 1 else (0, top):
        parts.append(
            f'<text class="tick" x="{LEFT - 6}" y="{_num(y(tick) + 4)}" text-anchor="end">{tick}</text>'
            f'<line class="grid" x1="{LEFT}" y1="{_num(y(tick))}" x2="{LEFT + plot_w}" y2="{_num(y(tick))}"/>'
        )
    for i, label in enumerate(x_labels):
        if i % 2 == 0 or i == len(x_labels) - 1:
            parts.append(
                f'<text class="tick" x="{_num(x(i))}" y="{TOP + plot_h + 16}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    labels: list[tuple[float, float, Series, int]] = []
    for s in series:
        runs: list[list[str]] = [[]]
        for i, v in enumerate(s.values):
            if v is None:
                runs.append([])
            else:
                runs[-1].append(f"{_num(x(i))},{_num(y(v))}")
        for run in runs:
            if len(run) > 1:
                parts.append(f'<polyline class="series series-{escape(s.key)}" points="{" ".join(run)}"/>')
            for point in run:
                cx, cy = point.split(",")
                parts.append(f'<circle class="dot series-{escape(s.key)}" cx="{cx}" cy="{cy}" r="3"/>')
        last = next(((i, v) for i, v in reversed(list(enumerate(s.values))) if v is not None), None)
        if last is not None:
            labels.append((y(last[1]) + 4, x(last[0]) + 6, s, last[1]))
    for label_y, label_x, s, value in _spread(labels):
        parts.append(
            f'<text class="series-label series-{escape(s.key)}" x="{_num(label_x)}" '
            f'y="{_num(label_y)}">{escape(s.label)} {value}</text>'
        )
    parts.append("</svg>")
    # Every text value above went through escape(); the rest are numbers and fixed class names.
    return Markup("".join(parts))  # noqa: S704


def _spread(
    labels: list[tuple[float, float, Series, int]], gap: float = LABEL_GAP
) -> list[tuple[float, float, Series, int]]:
    """The lines' end labels moved apart vertically (at least ``gap`` between baselines, top to bottom), so that
    lines ending on close values (every line at 0 on a new installation) keep readable labels."""
    placed: list[tuple[float, float, Series, int]] = []
    for label_y, label_x, s, value in sorted(labels, key=lambda label: label[0]):
        if placed and label_y < placed[-1][0] + gap:
            label_y = placed[-1][0] + gap
        placed.append((label_y, label_x, s, value))
    overflow = (placed[-1][0] - (HEIGHT - 4)) if placed else 0
    if overflow > 0:  # pushed below the chart: move the whole stack up, keeping the gaps
        placed = [(label_y - overflow, label_x, s, value) for label_y, label_x, s, value in placed]
    return placed


def heat_cells(client_id: int, cells: Mapping[str, Score], columns: Sequence[str], here: str) -> Markup:
    """One heat-map row's cells: the symbol and "met/applicable" as text (never colour alone), a link to the list
    of that client and clause family, and the late/overdue counts for screen readers. Built here rather than in
    the template: 50 clients × 15 families is ~750 cells, each ~15 template expressions (measured: ~10 ms)."""
    parts = []
    for family in columns:
        f = escape(family)
        cell = cells.get(family)
        if cell is None:
            parts.append(f'<td data-label="Clause {f}" class="heat heat-none">–</td>')
            continue
        extra = (f", {cell.overdue} overdue" if cell.overdue else "") + (f", {cell.late} late" if cell.late else "")
        parts.append(
            f'<td data-label="Clause {f}" class="heat heat-{cell.band}" data-cell="{client_id}-{f}">'
            f'<a href="{escape(here)}?client={client_id}&amp;family={f}&amp;status=all#list" '
            f'title="Clause {f}: {escape(cell.label)}{extra}"><span aria-hidden="true">{cell.symbol}</span> '
            f'{cell.met}/{cell.applicable}<span class="visually-hidden"> met{extra}</span></a></td>'
        )
    # Text went through escape(); the rest are integers and fixed words (band, symbol: from Score).
    return Markup("\n      ".join(parts))  # noqa: S704
