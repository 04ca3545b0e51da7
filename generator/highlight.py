"""Rust → highlighted HTML, one string per source line; each distinct text is highlighted once."""

from __future__ import annotations

import html
import re
from functools import lru_cache
from pathlib import Path

from markupsafe import Markup, escape
from pygments import highlight as _pyg
from pygments.formatters import HtmlFormatter
from pygments.lexers import RustLexer

from . import state
from .hidden import mark_html, visible

_FORMATTER = HtmlFormatter(nowrap=True)
_LEXER = RustLexer(stripnl=False, ensurenl=False)


def mark_invisible(escaped_html: str) -> str:
    """Replace invisible/control characters in already-escaped HTML with visible markers
    (hidden.py decides which characters those are)."""
    return mark_html(escaped_html)


def text_html(text: str) -> Markup:
    """Record text → safe HTML: escaped, never interpreted, invisible characters made visible."""
    return Markup(mark_invisible(str(escape(text))))


def title_html(text: str) -> str:
    """Text for a place that takes HTML but no markup of ours (nav entries, <title>, the
    header): escaped, hidden characters written as ⟨U+XXXX⟩."""
    return html.escape(visible(str(text)), quote=True)


# Token classes the theme gives no colour of their own (whitespace, plain names): unwrapped.
_PLAIN_SPAN = re.compile(r'<span class="(?:w|n)">([^<]*)</span>')
# Two neighbouring spans of one class become one.
_SAME_CLASS = re.compile(r'<span class="([a-z0-9]+)">([^<]*)</span><span class="\1">')


def _compact(line: str) -> str:
    line = _PLAIN_SPAN.sub(r"\1", line)
    while True:
        merged = _SAME_CLASS.sub(r'<span class="\1">\2', line)
        if merged == line:
            return line
        line = merged


_KEPT: dict[str, tuple[str, ...]] = {}  # code → lines, from keep_between_builds


def keep_between_builds(codes: list[str], work: Path, salt: str) -> None:
    """Highlight these (large) texts once across builds: their lines are kept in the work
    folder (state.py), by a digest of `salt` (the generator's version) and the text. The
    source files' pages need this: Pygments takes ~0.15 s for them, every build otherwise."""
    _KEPT.clear()
    _KEPT.update(state.kept_highlights(work, salt, codes, rust_lines))


@lru_cache(maxsize=4096)
def rust_lines(code: str) -> tuple[str, ...]:
    """Highlighted HTML per line of `code` (balanced spans on every line)."""
    kept = _KEPT.get(code)
    if kept is not None:
        return kept
    if not code:
        return ("",)
    if "\r" in code or "\ufeff" in code:
        # The lexer would turn a lone CR into a line break and drop a BOM: show these lines
        # as plain text instead, so every character stays visible (as a marker).
        return tuple(str(text_html(line)) for line in code.split("\n"))
    out = _pyg(code, _LEXER, _FORMATTER)
    lines = out.split("\n")
    want = code.count("\n") + 1
    if len(lines) > want:  # Pygments may add a final newline
        lines = lines[:want]
    while len(lines) < want:
        lines.append("")
    return tuple(mark_invisible(_compact(line)) for line in lines)


@lru_cache(maxsize=4096)
def code_block_html(code: str, first_line: int | None) -> Markup:
    """A code block as one `<span class="cl">` per line, with the upstream line number in the
    gutter when the block is located (first_line), blank gutters when it is not."""
    parts = []
    for k, line in enumerate(rust_lines(code)):
        n = "" if first_line is None else str(first_line + k)
        parts.append(f'<span class="cl"><span class="ln">{n}</span><span class="lc">{line}</span></span>')
    return Markup("".join(parts))


def textarea_text(text: str | bytes) -> Markup:
    """Text for a <textarea>: only & and < need escaping there (quotes stay readable)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    # A CR as a character reference: the HTML parser turns a raw CR into LF.
    return Markup(text.replace("&", "&amp;").replace("<", "&lt;").replace("\r", "&#13;"))
