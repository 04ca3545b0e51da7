"""DatasetDiff → text for people, JSON for machines, GitHub workflow annotations."""

from __future__ import annotations

import orjson

from .diff import DatasetDiff, ExampleChange
from .hidden import visible
from .model import Severity
from .report import _esc_gh, _one_line

MAX_TEXT_DIFF = 4000  # characters of one word diff printed in text form

# Hidden and control characters from a record, config, lock or file name never reach a terminal
# or an annotation as such: every line out goes through hidden.visible() (what `check` uses).


def _ops_text(ops) -> str:
    """Word ops as one readable line: [-removed-]{+added+} (wdiff's notation)."""
    out = []
    for op, text in ops:
        text = text.replace("\n", "⏎")
        out.append(text if op == "=" else f"[-{text}-]" if op == "-" else f"{{+{text}+}}")
    line = "".join(out)
    return line if len(line) <= MAX_TEXT_DIFF else line[: MAX_TEXT_DIFF - 1] + "…"


def _place(c: ExampleChange) -> str:
    if c.status == "added":
        return f"line {c.new_line}"
    if c.status == "removed":
        return f"old line {c.old_line}"
    return f"line {c.new_line} (was {c.old_line})"


def _where(c: ExampleChange) -> str:
    parts = []
    for w in c.where:
        parts.append(f"segment {w.index + 1} {w.status}" + (f" at {w.path}:{w.start}-{w.end}" if w.path else ""))
    return "; ".join(parts)


def summary_line(c: ExampleChange) -> str:
    what = c.status
    if c.status == "modified":
        what += f" ({', '.join(c.fields)}{', moved' if c.moved else ''})"
    if c.duplicate_of:
        what += f" (identical to line {c.duplicate_of})"
    return what


def as_text(diffs: list[DatasetDiff]) -> str:
    out: list[str] = []
    for d in diffs:
        counts = d.counts()
        out.append(
            f"{d.path} against {d.against}: {d.old_records} → {d.new_records} records; "
            + ", ".join(f"{n} {s}" for s, n in counts.items())
        )
        for c in d.changed():
            out.append("")
            out.append(f"{d.path}:{c.new_line or c.old_line} {summary_line(c)} · {_place(c)} · {_one_line(c.title)}")
            if c.system:
                out.append(f"  system: {_ops_text(c.system)}")
            if c.request:
                out.append(f"  request: {_ops_text(c.request)}")
            if c.reasoning:
                out.append(f"  reasoning: {_ops_text(c.reasoning)}")
            if c.code:
                out.append("  code:")
                out += [f"    {op}{line}" for op, line in c.code if op != " "]
            if c.status in ("added", "modified") and c.where:
                verb = "verbatim" if c.verbatim_after else "NOT verbatim"
                out.append(f"  code is {verb}: {_where(c)}")
        out.append("")
        out.append(f"findings new in this change: {len(d.new_findings)}")
        for fc in d.new_findings:
            f = fc.finding
            out.append(f"  + {f.location()} {f.rule} {f.severity}: {_one_line(f.message)}")
        out.append(f"findings fixed: {len(d.fixed_findings)}")
        for f in d.fixed_findings:
            out.append(f"  - {f.location()} {f.rule} {f.severity}: {_one_line(f.message)}")
        out.append(f"coverage changes: {len(d.coverage)}")
        for cc in d.coverage:
            out.append(
                f"  {cc.path}::{cc.name} ({cc.kind}): {cc.before} ({cc.count_before}) → {cc.after} ({cc.count_after})"
            )
        out.append("")
    return "\n".join(visible(line) for line in out)


def change_json(c: ExampleChange) -> dict:
    return {
        "status": c.status,
        "old_line": c.old_line,
        "new_line": c.new_line,
        "moved": c.moved,
        "similarity": round(c.score, 3),
        "fields": list(c.fields),
        "title": c.title,
        "duplicate_of": c.duplicate_of,
        "system": [list(o) for o in c.system],
        "request": [list(o) for o in c.request],
        "reasoning": [list(o) for o in c.reasoning],
        "code": [list(o) for o in c.code],
        "verbatim_before": c.verbatim_before,
        "verbatim_after": c.verbatim_after,
        "where": [
            {"segment": w.index + 1, "status": w.status, "path": w.path, "start": w.start, "end": w.end}
            for w in c.where
        ],
    }


def _finding_json(f) -> dict:
    return {"rule": f.rule, "severity": f.severity, "file": f.path, "line": f.line, "message": f.message}


def as_json(diffs: list[DatasetDiff]) -> bytes:
    data = {
        "datasets": [
            {
                "dataset": d.stem,
                "file": d.path,
                "against": d.against,
                "records": {"old": d.old_records, "new": d.new_records},
                "counts": d.counts(),
                "changes": [change_json(c) for c in d.changed()],
                "new_findings": [
                    dict(_finding_json(fc.finding), on_changed_line=fc.line_changed) for fc in d.new_findings
                ],
                "fixed_findings": [_finding_json(f) for f in d.fixed_findings],
                "coverage": [
                    {
                        "item": cc.ident,
                        "kind": cc.kind,
                        "before": cc.before,
                        "after": cc.after,
                        "examples_before": cc.count_before,
                        "examples_after": cc.count_after,
                    }
                    for cc in d.coverage
                ],
            }
            for d in diffs
        ]
    }
    return orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"


def as_github(diffs: list[DatasetDiff]) -> str:
    """Workflow annotations on the changed lines of the new file only: one notice per added,
    modified or moved record, each new finding on such a line, and new findings on lines that
    are no record (a broken line)."""
    lines = []
    for d in diffs:
        file_prop = _esc_gh(d.path, True)
        at: dict[int, list[str]] = {}
        for c in d.changed():
            if c.new_line is None:
                continue
            detail = summary_line(c)
            if c.status in ("added", "modified") and c.verbatim_after is False:
                detail += "; code is not verbatim"
            if c.status != "added":
                detail += f"; was line {c.old_line} at {d.against}"
            at.setdefault(c.new_line, []).append(
                visible(
                    "::notice "
                    f"file={file_prop},line={c.new_line},"
                    f"title={_esc_gh('dataset diff: ' + c.status, True)}::{_esc_gh(detail)}"
                )
            )
        for fc in d.new_findings:
            f = fc.finding
            if fc.line_changed:
                props = f"file={file_prop},line={f.line},title={_esc_gh(f.rule, True)}"
                at.setdefault(f.line, []).append(
                    visible(f"::{Severity(f.severity).github_level} {props}::{_esc_gh(f.message)}")
                )
        for line in sorted(at):
            lines += at[line]
    return "\n".join(lines) + ("\n" if lines else "")
