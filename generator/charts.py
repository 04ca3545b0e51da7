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
        f'<svg class="cov-bar" role="img" aria-label="{label}" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f'<title>{label}</title><rect class="cov-bar-bg" width="{width}" height="{height}" rx="2"/>'
        f'<rect class="cov-bar-fill" width="{filled}" height="{height}" rx="2"/></svg>'
    )


def line_strip(states: list[str], height: int = 14, href_for_line=None) -> Markup:
    """One cell per source line, runs merged: 'covered', 'uncovered' (in scope), 'other'."""
    n = len(states)
    if n == 0:
        return Markup("")
    # Not role="img": it holds links. Each link is named by its run of lines.
    parts = [f'<svg class="cov-strip" role="group" aria-label="Line coverage: one link per run of lines" viewBox="0 0 {n} 1" preserveAspectRatio="none" width="100%" height="{height}">']
    start = 0
    for i in range(1, n + 1):
        if i == n or states[i] != states[start]:
            link = href_for_line(start + 1) if href_for_line else None
            rect = f'<rect class="strip-{states[start]}" x="{start}" width="{i - start}" height="1"><title>lines {start + 1}-{i}: {states[start]}</title></rect>'
            parts.append(f'<a href="{link}" aria-label="lines {start + 1}–{i}: {states[start]}">{rect}</a>' if link else rect)
            start = i
    parts.append("</svg>")
    return Markup("".join(parts))


def histogram_svg(values: list[int], label: str, bins: int = 20, width: int = 320, height: int = 90) -> bytes:
    """A histogram as a standalone SVG file. It is data beside the page (an <img>), not part of
    the page: editing one record changes the file, never the page, so mkdocs need not run again.
    Colours suit both the light and the dark scheme (an image cannot see the page's scheme)."""
    label = html.escape(label)
    total_h = height + 30
    head = f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{label}" width="{width}" height="{total_h}" viewBox="0 0 {width} {total_h}" font-family="sans-serif">'
    if not values:
        return (head + f'<text x="0" y="14" font-size="11" fill="#888">{label}: no data</text></svg>\n').encode()
    lo, hi = min(values), max(values)
    span = max(hi - lo, 1)
    counts = [0] * bins
    for v in values:
        counts[min(int((v - lo) / span * bins), bins - 1)] += 1
    top = max(counts)
    bw = width / bins
    parts = [head]
    for i, c in enumerate(counts):
        h = round(c / top * height, 1) if top else 0
        a = lo + span * i / bins
        b = lo + span * (i + 1) / bins
        parts.append(f'<rect x="{i * bw + 1:.1f}" y="{height - h}" width="{bw - 2:.1f}" height="{h}" fill="#6f7fd1"><title>{a:.0f}–{b:.0f}: {c}</title></rect>')
    median = sorted(values)[len(values) // 2]
    parts.append(f'<text x="0" y="{height + 12}" font-size="10" fill="#888">{lo}</text><text x="{width}" y="{height + 12}" text-anchor="end" font-size="10" fill="#888">{hi}</text>')
    parts.append(f'<text x="{width / 2:.0f}" y="{height + 26}" text-anchor="middle" font-size="11" fill="#888">n={len(values)}, median {median}</text>')
    parts.append("</svg>\n")
    return "".join(parts).encode()
