"""Findings → text for people, JSON for machines, GitHub workflow annotations."""

from __future__ import annotations

from collections import Counter

import orjson

from .hidden import visible
from .model import Finding, Severity


def _esc_gh(value: str, prop: bool = False) -> str:
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        value = value.replace(":", "%3A").replace(",", "%2C")
    return value


def as_text(findings: list[Finding]) -> str:
    """Grouped by record (file:line), one line per finding: `file:line rule-id message`.
    Control and invisible characters (CR, ANSI escapes, bidi controls) from configs, locks and
    sources never reach the terminal: they are written as ⟨U+XXXX⟩."""
    out: list[str] = []
    current = None
    for f in findings:
        group = f.location() if f.on_dataset else f.path  # a dataset line per record, a whole other file
        if group != current:
            current = group
            out.append("")
        out.append(visible(f"{f.location()} {f.rule} {f.severity}: {_one_line(f.message)}"))
    counts = Counter(f.severity for f in findings)
    out.append("")
    out.append(f"{counts[Severity.ERROR]} errors, {counts[Severity.WARNING]} warnings, {counts[Severity.INFO]} info")
    return "\n".join(out).lstrip("\n") + "\n"


def as_json(findings: list[Finding]) -> bytes:
    counts = Counter(f.severity for f in findings)
    data = {
        "summary": {s.value: counts.get(s, 0) for s in Severity},
        "findings": [
            {
                "rule": f.rule,
                "severity": f.severity,
                "file": f.path,
                "line": f.line,
                "message": f.message,
                "dataset": f.dataset,
                "detail": f.detail,
            }
            for f in findings
        ],
    }
    return orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"


def as_github(findings: list[Finding]) -> str:
    lines = []
    for f in findings:
        props = f"file={_esc_gh(f.path, True)}"
        if f.line:
            props += f",line={f.line}"
        props += f",title={_esc_gh(f.rule, True)}"
        lines.append(visible(f"::{Severity(f.severity).github_level} {props}::{_esc_gh(f.message)}"))
    return "\n".join(lines) + ("\n" if lines else "")


def _one_line(text: str) -> str:
    return " ".join(text.split("\n"))
