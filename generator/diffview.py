"""A dataset's DatasetDiff → view data for the "Changes" page and the "changed in this
comparison" box of example pages (build --compare). No I/O, no templates.

Diff HTML is built here from escaped pieces: removed text is <del>, added text <ins>, each
with visually hidden "removed:"/"added:" (and struck through / underlined), so the marking
never rests on colour alone. No raw newline reaches the HTML (`&#10;` instead): the Changes
page is Markdown, where a blank line would end an HTML block.
"""

from __future__ import annotations

from markupsafe import Markup

from . import urls
from .contexts import ChangesContext, Page
from .diff import DatasetDiff, ExampleChange
from .highlight import text_html

MAX_DETAILS = 300  # changed examples whose diffs the Changes page shows inline (all are in its table)
CONTEXT = 2  # unchanged code lines kept around each changed one
CSS = """/* build --compare only: diff marks (never colour alone: struck / underlined, and labelled) */
.md-typeset .diff-sr { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; \
overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.md-typeset del.diff-del { background: #c6282833; text-decoration: line-through; }
.md-typeset ins.diff-ins { background: #2e7d3233; text-decoration: underline; }
.md-typeset .diff-text { white-space: pre-wrap; overflow-wrap: anywhere; font-size: .78rem; \
padding: .4em .8em; background: var(--md-code-bg-color); }
.md-typeset pre.diff-code { font-size: .72rem; overflow-x: auto; padding: .4em .8em; }
.md-typeset .diff-line-del { background: #c6282822; display: block; }
.md-typeset .diff-line-add { background: #2e7d3222; display: block; }
.md-typeset .diff-line-same, .md-typeset .diff-gap { display: block; }
.md-typeset .diff-mark { user-select: none; font-weight: 700; }
.md-typeset .change-box { border: 2px dashed var(--md-accent-fg-color, #888); padding: .4em .9em; margin: 1em 0; }
.md-typeset .change-box h2 { margin-top: .4em; }
.md-typeset .change-field { font-weight: 700; margin: .6em 0 .2em; }
.md-typeset .change-row .status, .md-typeset .change-head .status { white-space: nowrap; }
.md-typeset .status-added { background: #2e7d3233; }
.md-typeset .status-removed { background: #c6282844; }
.md-typeset .status-moved { background: #1565c033; }
"""


def _text(text: str) -> str:
    return str(text_html(text)).replace("\r", "&#13;").replace("\n", "&#10;")


def _safe(text: str) -> Markup:
    """Any text from a record, a file name or a message: escaped, on one line."""
    return Markup(_text(text))


def ops_html(ops) -> Markup:
    """Word ops → inline HTML: <del>/<ins> with a hidden label each."""
    out = []
    for op, text in ops:
        t = _text(text)
        if op == "=":
            out.append(t)
        elif op == "-":
            out.append(
                f'<del class="diff-del"><span class="diff-sr">[removed: </span>{t}<span class="diff-sr">]</span></del>'
            )
        else:
            out.append(
                f'<ins class="diff-ins"><span class="diff-sr">[added: </span>{t}<span class="diff-sr">]</span></ins>'
            )
    return Markup("".join(out))


def code_html(ops) -> Markup:
    """Line ops → the lines of a <pre>: changed lines with a visible +/- mark and a hidden
    label, CONTEXT unchanged lines around them, "…" for the rest."""
    keep = set()
    for k, (op, _) in enumerate(ops):
        if op != " ":
            keep.update(range(k - CONTEXT, k + CONTEXT + 1))
    out, gap = [], False
    for k, (op, line) in enumerate(ops):
        if k not in keep:
            gap = True
            continue
        if gap and out:
            out.append('<span class="diff-gap">…</span>')
        gap = False
        t = _text(line)
        if op == "-":
            out.append(
                '<del class="diff-line-del"><span class="diff-mark" aria-hidden="true">- </span>'
                f'<span class="diff-sr">removed: </span>{t}</del>'
            )
        elif op == "+":
            out.append(
                '<ins class="diff-line-add"><span class="diff-mark" aria-hidden="true">+ </span>'
                f'<span class="diff-sr">added: </span>{t}</ins>'
            )
        else:
            out.append(f'<span class="diff-line-same">  {t}</span>')
    return Markup("".join(out))


def _where(c: ExampleChange) -> list[dict]:
    return [
        {"segment": w.index + 1, "status": w.status, "path": w.path, "start": w.start, "end": w.end} for w in c.where
    ]


def _status_text(c: ExampleChange, against: str) -> str:
    if c.status == "added":
        return f"added (not in {against})" + (f", identical to line {c.duplicate_of}" if c.duplicate_of else "")
    if c.status == "moved":
        return f"moved from line {c.old_line}"
    if c.status == "modified":
        return f"modified ({', '.join(c.fields)}), line {c.old_line} in {against}" + (", moved" if c.moved else "")
    return c.status


def change_view(c: ExampleChange, against: str) -> dict:
    """What the box and the Changes page show of one changed example."""
    return {
        "status": c.status,
        "summary": _safe(_status_text(c, against)),
        "old_line": c.old_line,
        "new_line": c.new_line,
        "title": _safe(c.title),
        "fields": ", ".join(c.fields),
        "system": ops_html(c.system) if c.system else None,
        "request": ops_html(c.request) if c.request else None,
        "reasoning": ops_html(c.reasoning) if c.reasoning else None,
        "code": code_html(c.code) if c.code else None,
        "verbatim_before": c.verbatim_before,
        "verbatim_after": c.verbatim_after,
        "where": _where(c),
    }


def example_box(dv, ex, page: str) -> dict | None:
    """The "changed in this comparison" box of an example page, or None. It links the
    example's row of the Changes table (every changed example has one)."""
    d: DatasetDiff | None = dv.diff
    c = dv.diff_by_line.get(ex.record.line) if d is not None else None
    if c is None:
        return None
    return dict(
        change_view(c, d.against),
        against=_safe(d.against),
        changes_href=dv.rel(page, urls.changes(dv.stem)) + "#" + urls.change_anchor(c.new_line),
    )


def changes_page(dv):
    """The Changes page of a dataset (a Markdown page mkdocs renders)."""
    d: DatasetDiff = dv.diff
    stem = dv.stem
    page = urls.changes(stem)
    example_href = urls.example_hrefs(page, stem)
    rows, details = [], []
    for c in d.changed():
        anchor = urls.change_anchor(c.new_line) if c.new_line is not None else urls.removed_anchor(c.old_line)
        rows.append(
            {
                "anchor": anchor,
                "diff_anchor": urls.diff_anchor(anchor),
                "status": c.status,
                "new_line": c.new_line,
                "old_line": c.old_line,
                "title": _safe(c.title),
                "fields": ", ".join(c.fields) + (" (moved)" if c.moved else ""),
                "href": example_href(c.new_line) if c.new_line is not None else None,
                "verbatim": "" if c.verbatim_after is None else ("yes" if c.verbatim_after else "no"),
                "has_detail": len(details) < MAX_DETAILS,
            }
        )
        if len(details) < MAX_DETAILS:
            details.append(dict(change_view(c, d.against), diff_anchor=urls.diff_anchor(anchor), href=rows[-1]["href"]))
    pages = {e.record.line for e in dv.examples}
    new_findings = []
    for fc in d.new_findings:
        f = fc.finding
        href = example_href(f.line) if f.on_dataset and f.line in pages else None
        new_findings.append(
            {
                "severity": f.severity,
                "rule": f.rule,
                "where": _safe(f.location()),
                "message": _safe(f.message),
                "href": href,
            }
        )
    fixed = [
        {"severity": f.severity, "rule": f.rule, "where": _safe(f.location()), "message": _safe(f.message)}
        for f in d.fixed_findings
    ]
    coverage = []
    for cc in d.coverage:
        item = dv.items_by_ident.get(cc.ident)
        coverage.append(
            {
                "name": cc.name,
                "kind": cc.kind,
                "path": cc.path,
                "before": cc.before,
                "after": cc.after,
                "count_before": cc.count_before,
                "count_after": cc.count_after,
                "delta": cc.count_after - cc.count_before,
                "href": dv.item_href(page, item) if item is not None else None,
            }
        )
    counts = d.counts()
    ctx = ChangesContext(
        stem=stem,
        dataset_title=dv.r.config.title,
        against=_safe(d.against),
        old_records=d.old_records,
        new_records=d.new_records,
        counts=[{"status": s, "count": n} for s, n in counts.items()],
        rows=rows,
        details=details,
        more=max(len(rows) - MAX_DETAILS, 0),
        new_findings=new_findings,
        new_errors=d.new_errors(),
        fixed=fixed,
        coverage=coverage,
    )
    return Page(page, "changes.md.j2", ctx, "Changes")
