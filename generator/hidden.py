"""The one place that decides which characters are invisible, and how they are shown.

Invisible: controls (Cc, except tab and line feed), format characters (Cf: bidi controls,
zero-width characters, TAG characters U+E0000–E007F…), line and paragraph separators (Zl, Zp),
lone surrogates (Cs), every Default_Ignorable_Code_Point (variation selectors, U+00AD, U+034F,
U+115F, U+17B4, U+3164, U+FFA0…), plus blanks that are none of these but render as nothing
(U+2800 BRAILLE PATTERN BLANK). Python's unicodedata has no Default_Ignorable property, so the
table below is precomputed (Unicode 14, DerivedCoreProperties.txt and General_Category);
tests/test_hostile_inputs.py checks it against the running Python's data
(and against the `regex` module's Default_Ignorable_Code_Point, when installed).
"""

from __future__ import annotations

import html
import re
import unicodedata

# (first, last) code points, inclusive.
_DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
_FORMAT_AND_SEPARATORS = (  # Cf, Zl, Zp
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x2028, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x13438),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
)
_CONTROLS = ((0x00, 0x08), (0x0B, 0x1F), (0x7F, 0x9F))  # Cc without \t and \n
_SURROGATES = ((0xD800, 0xDFFF),)
_BLANKS = ((0x2800, 0x2800),)  # renders as nothing, yet is a "symbol"

RANGES = tuple(sorted(set(_DEFAULT_IGNORABLE + _FORMAT_AND_SEPARATORS + _CONTROLS + _SURROGATES + _BLANKS)))


def _char_class(ranges) -> str:
    parts = []
    for a, b in ranges:
        parts.append(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}")
    return "[" + "".join(parts) + "]"


HIDDEN = re.compile(_char_class(RANGES))  # exact; the scans below use a faster superset
# The regex engine tests a class of BMP characters with a bitmap but astral ranges one by one:
# scanning for BMP hidden characters or any astral character, then checking astral hits
# against the table, is several times faster on ordinary text.
_BMP = tuple((a, b) for a, b in RANGES if b <= 0xFFFF)
_ASTRAL = tuple((a, b) for a, b in RANGES if b > 0xFFFF)
_CANDIDATE = re.compile(_char_class(_BMP)[:-1] + "\U00010000-\U0010ffff]")


def is_hidden(ch: str) -> bool:
    cp = ord(ch)
    if cp <= 0xFFFF:
        return any(a <= cp <= b for a, b in _BMP)
    return any(a <= cp <= b for a, b in _ASTRAL)


def find_hidden(text: str) -> list[str]:
    """The hidden characters of `text`, in order (repeats included)."""
    return [c for c in _CANDIDATE.findall(text) if ord(c) <= 0xFFFF or is_hidden(c)]


def code_point(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def char_name(ch: str) -> str:
    return unicodedata.name(ch, "CONTROL CHARACTER" if ord(ch) < 0xA0 else "UNNAMED CHARACTER")


def _html_marker(m: re.Match) -> str:
    ch = m.group(0)
    if ord(ch) > 0xFFFF and not is_hidden(ch):
        return ch
    return f'<span class="cc" title="{code_point(ch)} {html.escape(char_name(ch))}">{code_point(ch)}</span>'


def mark_html(escaped_html: str) -> str:
    """Already-escaped HTML with every hidden character replaced by a visible marker."""
    return _CANDIDATE.sub(_html_marker, escaped_html)


def visible(text: str) -> str:
    """Plain text with every hidden character written as ⟨U+XXXX⟩ (titles, table data, terminals)."""
    return _CANDIDATE.sub(
        lambda m: f"⟨{code_point(m.group(0))}⟩" if ord(m.group(0)) <= 0xFFFF or is_hidden(m.group(0)) else m.group(0),
        text,
    )
