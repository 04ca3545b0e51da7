"""Small inline SVG pictures: coverage bars, a line-level coverage strip, histograms.

Pure functions from numbers to SVG strings; no external assets, colours from CSS classes.
"""

from __future__ import annotations

import html

from markupsafe import Markup


def bar(fraction: float, label: str, width: int = 160, height: int = 12) -> Markup:
    fraction = min(max(fraction, 0.0), 1.0)
    label = html.escape(label)
    filled = round(width * fraction, 1)
    return Markup(
        f'<svg class="cov-bar" role="img" aria-label="{label}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">'
        f'<title>{label}</title><rect class="cov-bar-bg" width="{width}" height="{height}" rx="2"/>'
        f'<rect class="cov-bar-fill" width="{filled}" height="{height}" rx="2"/></svg>'
    )


def line_strip(states: list[str], height: int = 14, href_for_line=None) -> Markup:
    """One cell per source line, runs merged: 'covered', 'uncovered' (in scope), 'other'."""
    n = len(states)
    if n == 0:
        return Markup("")
    # Not role="img": it holds links. Each link is named by its run of lines.
    parts = [
        '<svg class="cov-strip" role="group" aria-label="Line coverage: one link per run of lines" '
        f'viewBox="0 0 {n} 1" preserveAspectRatio="none" width="100%" height="{height}">'
    ]
    start = 0
    for i in range(1, n + 1):
        if i == n or states[i] != states[start]:
            link = href_for_line(start + 1) if href_for_line else None
            rect = (
                f'<rect class="strip-{states[start]}" x="{start}" width="{i - start}" height="1">'
                f"<title>lines {start + 1}-{i}: {states[start]}</title></rect>"
            )
            parts.append(
                f'<a href="{link}" aria-label="lines {start + 1}–{i}: {states[start]}">{rect}</a>' if link else rect
            )
            start = i
    parts.append("</svg>")
    return Markup("".join(parts))


def _nice_width(span: int, bins: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50… that fits `span` into at most `bins` bins."""
    w = 1
    while True:
        for m in (1, 2, 5):
            if (span // (w * m)) + 1 <= bins:
                return w * m
        w *= 10


def histogram_svg(
    values: list[int], label: str, unit: str = "", href_for=None, bins: int = 16, width: int = 360, height: int = 110
) -> bytes:
    """A histogram as an SVG file: integer bins of a round width, a y-axis with counts, x labels
    spaced so they never overlap, a tooltip per bar and, with `href_for(lo, hi)`, a link per bar
    (to the examples of that length). It is data beside the page: site.js puts it inline (so
    tooltips and links work and colours follow the scheme); without JavaScript it is an image.
    Editing one record changes the file, never the page, so mkdocs need not run again."""
    label_e = html.escape(label)
    left, bottom, top_pad = 34, 34, 8
    total_w, total_h = width + left + 8, height + bottom + top_pad
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="hist-svg" role="group" aria-label="Histogram: {label_e}" '
        f'width="{total_w}" height="{total_h}" viewBox="0 0 {total_w} {total_h}" font-family="sans-serif" '
        'font-size="11">'
    )
    ink = 'class="hist-ink" fill="#616161"'
    if not values:
        return (head + f'<text x="0" y="14" {ink}>{label_e}: no data</text></svg>\n').encode()
    lo, hi = min(values), max(values)
    w = _nice_width(hi - lo, bins)
    start = lo // w * w
    n = (hi - start) // w + 1
    counts = [0] * n
    for v in values:
        counts[(v - start) // w] += 1
    top = max(counts)
    bw = width / n
    y0 = top_pad + height
    parts = [head]
    # y-axis: 0, the maximum and a middle tick when there is room, with light grid lines
    ticks = sorted({0, top} | ({top // 2} if top >= 4 else set()))
    for t in ticks:
        y = y0 - t / top * height
        parts.append(
            f'<line class="hist-grid" x1="{left}" x2="{left + width}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#9e9e9e" stroke-width="0.5"/>'
        )
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" {ink}>{t}</text>')
    parts.append(
        f'<text x="10" y="{top_pad + height / 2:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 10 {top_pad + height / 2:.0f})" {ink}>examples</text>'
    )
    for i, c in enumerate(counts):
        a, b = start + i * w, start + (i + 1) * w - 1
        rng = f"{a}" if a == b else f"{a}–{b}"
        h = round(c / top * height, 1)
        tip = f"{rng}{' ' + unit if unit else ''}: {c} example{'' if c == 1 else 's'}"
        rect = (
            f'<rect class="hist-bar" x="{left + i * bw + 1:.1f}" y="{y0 - h:.1f}" width="{max(bw - 2, 1):.1f}" '
            f'height="{h}" fill="#5c6bc0"><title>{html.escape(tip)}</title></rect>'
        )
        if href_for is not None and c:
            # a transparent full-height target, so that short bars are easy to hit
            hit = (
                f'<rect x="{left + i * bw:.1f}" y="{top_pad}" width="{bw:.1f}" height="{height}" '
                f'fill="transparent"><title>{html.escape(tip)}</title></rect>'
            )
            parts.append(
                f'<a href="{html.escape(href_for(a, b))}" aria-label="{html.escape(tip)}: show them">{hit}{rect}</a>'
            )
        else:
            parts.append(rect)
    # x labels at bin edges, at least 44 px apart
    step = max(1, -(-44 // max(int(bw), 1)))
    for i in range(0, n + 1, step):
        parts.append(f'<text x="{left + i * bw:.1f}" y="{y0 + 14}" text-anchor="middle" {ink}>{start + i * w}</text>')
    median = sorted(values)[len(values) // 2]
    parts.append(
        f'<text x="{left + width / 2:.0f}" y="{y0 + 30}" text-anchor="middle" {ink}>n={len(values)}, median '
        f"{median}{' ' + unit if unit else ''}</text>"
    )
    parts.append("</svg>\n")
    return "".join(parts).encode()
