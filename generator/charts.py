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
    parts = [f'<svg class="cov-strip" role="img" aria-label="line coverage" viewBox="0 0 {n} 1" preserveAspectRatio="none" width="100%" height="{height}">']
    start = 0
    for i in range(1, n + 1):
        if i == n or states[i] != states[start]:
            link = href_for_line(start + 1) if href_for_line else None
            rect = f'<rect class="strip-{states[start]}" x="{start}" width="{i - start}" height="1"><title>lines {start + 1}-{i}: {states[start]}</title></rect>'
            parts.append(f'<a href="{link}">{rect}</a>' if link else rect)
            start = i
    parts.append("</svg>")
    return Markup("".join(parts))


def histogram(values: list[int], label: str, bins: int = 20, width: int = 320, height: int = 90) -> Markup:
    label = html.escape(label)
    if not values:
        return Markup(f'<p class="hist-empty">{label}: no data</p>')
    lo, hi = min(values), max(values)
    span = max(hi - lo, 1)
    counts = [0] * bins
    for v in values:
        counts[min(int((v - lo) / span * bins), bins - 1)] += 1
    top = max(counts)
    bw = width / bins
    parts = [f'<figure class="hist"><svg role="img" aria-label="{label}" width="{width}" height="{height + 16}" viewBox="0 0 {width} {height + 16}">']
    for i, c in enumerate(counts):
        h = round(c / top * height, 1) if top else 0
        a = lo + span * i / bins
        b = lo + span * (i + 1) / bins
        parts.append(f'<rect class="hist-bar" x="{i * bw + 1:.1f}" y="{height - h}" width="{bw - 2:.1f}" height="{h}"><title>{a:.0f}–{b:.0f}: {c}</title></rect>')
    parts.append(f'<text x="0" y="{height + 13}" class="hist-axis">{lo}</text><text x="{width}" y="{height + 13}" text-anchor="end" class="hist-axis">{hi}</text>')
    parts.append(f"</svg><figcaption>{label} (n={len(values)}, median {sorted(values)[len(values) // 2]})</figcaption></figure>")
    return Markup("".join(parts))
