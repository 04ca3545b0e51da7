"""Reasoning rules of one record: required terms, and identifiers that exist nowhere."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..model import Example, Finding, SourceIndex
from .common import record_finding

if TYPE_CHECKING:
    from ..config import DatasetConfig

_RUST_KEYWORDS = frozenset(
    "as async await break const continue crate dyn else enum extern false fn for if impl in let loop match mod "
    "move mut "
    "pub ref return self Self static struct super trait true type unsafe use where while bool u8 u16 u32 u64 "
    "usize i32 i64 f32 f64 str char".split()
)
_BACKTICK = re.compile(r"`([^`\n]+)`")
# `\bX…` written as `X(?<!\wX)…`: same matches, but a pattern that starts with a character
# class lets the regex engine skip ahead to candidates (three times faster on prose).
_PATH = re.compile(r"[A-Za-z_](?<!\w[A-Za-z_])[A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)+!?")
_CAMEL = re.compile(r"[A-Z](?<!\w[A-Z])[a-z0-9]+(?:[A-Z][a-z0-9]*)+\b")
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*!?")
_QUOTE_OR_BACKSLASH = re.compile(r'["\\]')


def required_terms_missing(think: str, terms) -> list[str]:
    return [t for t in terms if not re.search(rf"(?<![A-Za-z0-9_]){re.escape(t)}(?![A-Za-z0-9_])", think, re.I)]


def string_literals(text: str, steps: list[int] | None = None) -> list[tuple[int, int]]:
    """The spans (start, end exclusive) of what the regex `"(?:[^"\\]|\\.)*"` finds, in one
    linear pass: that regex retries from every quote, so 80 KB of `\\"` took 42 s.

    Only quotes and backslashes matter. Right to left, each of them gets the quote where a
    string scan reaching it would close (a backslash skips the next character; one before a
    line feed or at the end stops the scan: `.` matches no line feed). Left to right, each
    quote then opens a literal when the scan from the character after it closes. `steps`, when
    given, counts the loop iterations (tests bound them)."""
    marks = [m.start() for m in _QUOTE_OR_BACKSLASH.finditer(text)]
    n, count = len(text), len(marks)
    close = [-1] * (count + 1)  # mark index → index of the closing quote's mark, or -1
    for k in range(count - 1, -1, -1):
        p = marks[k]
        if text[p] == '"':
            close[k] = k
        elif p + 1 < n and text[p + 1] != "\n":
            nxt = k + 2 if k + 1 < count and marks[k + 1] == p + 1 else k + 1
            close[k] = close[nxt]
    spans = []
    k = 0
    while k < count:
        p = marks[k]
        end = close[k + 1] if text[p] == '"' else -1
        if end >= 0:
            spans.append((p, marks[end] + 1))
            k = end + 1
        else:
            k += 1
    if steps is not None:
        steps[0] += 2 * count
    return spans


def without_strings(text: str) -> str:
    """`text` with every string literal's content dropped (`"…"` → `""`)."""
    spans = string_literals(text)
    if not spans:
        return text
    out, last = [], 0
    for start, end in spans:
        out.append(text[last:start])
        out.append('""')
        last = end
    out.append(text[last:])
    return "".join(out)


def code_names(code: str) -> tuple[set[str], set[str]]:
    """Identifiers a code block defines or uses (string literals excluded), and their parts."""
    names = set(_TOKEN.findall(without_strings(code)))
    return names, {p for n in names for p in n.rstrip("!").split("::")}


def check_reasoning(ex: Example, config: DatasetConfig, known: KnownNames, cache: dict | None = None) -> list[Finding]:
    out = []
    for term in required_terms_missing(ex.think, config.required_terms):
        out.append(record_finding(ex, "reasoning.required-term", f"the think block never mentions {term}"))
    if cache is not None:
        if ex.code not in cache:
            cache[ex.code] = code_names(ex.code)
        names_in_code, code_parts = cache[ex.code]
    else:
        names_in_code, code_parts = code_names(ex.code)
    seen: set[str] = set()
    for role, text in (("request", ex.record.user), ("reasoning", ex.think)):
        for name in sorted(set(mentioned_identifiers(text))):
            if name in seen:
                continue
            if not known.exists(name, names_in_code, code_parts):
                seen.add(name)
                out.append(
                    record_finding(
                        ex,
                        "reasoning.unknown-identifier",
                        f"`{name}` in the {role} exists nowhere in the source, the quoted code or the allowlist",
                    )
                )
    return out


def mentioned_identifiers(text: str) -> list[str]:
    """Identifiers written as code: backticked tokens, Type::method paths, CamelCase types."""
    names: list[str] = []
    rest = []
    last = 0
    for m in _BACKTICK.finditer(text):
        rest.append(text[last : m.start()])
        last = m.end()
        inner = without_strings(m.group(1))
        for tok in _TOKEN.findall(inner):
            if len(tok) >= 2 and tok not in _RUST_KEYWORDS and not tok[0].isdigit():
                names.append(tok)
    rest.append(text[last:])
    prose = " ".join(rest)
    if "::" in prose:
        names += _PATH.findall(prose)
    names += _CAMEL.findall(prose)
    return names


class KnownNames:
    """Everything an identifier may legitimately refer to, for one dataset."""

    def __init__(self, index: SourceIndex, config: DatasetConfig):
        self.idents: set[str] = set()
        self.qualified: set[str] = set()
        for f in index.files.values():
            self.idents |= f.identifiers
            for item in f.items:
                if item.kind not in ("use", "impl"):
                    self.qualified.add(item.name)
                    self.idents.update(item.name.split("::"))
        self.allow = set(config.allow)
        self.allow_parts = {p for a in config.allow for p in a.rstrip("!").split("::")}
        self.roots = {"std", "core", "crate", "self", "super", "alloc"}

    def exists(self, name: str, code_names: set[str], code_parts: set[str]) -> bool:
        if name in self.allow or name in self.qualified or name in code_names:
            return True
        bare = name.rstrip("!")
        if bare in self.allow or bare in self.qualified:
            return True
        parts = bare.split("::")
        return all(p in self.idents or p in self.allow_parts or p in code_parts or p in self.roots for p in parts)
