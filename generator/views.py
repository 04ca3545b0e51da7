"""Linked results → per-page view data: template contexts (contexts.py) holding finished URLs
and safe HTML pieces.

No I/O and no templates here. Every list that reaches a page is sorted.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cached_property

import orjson
from markupsafe import Markup, escape

from . import charts, diffview, model, urls
from .card import card_html
from .checks import RULES
from .contexts import (
    CardContext,
    CoverageContext,
    DatasetContext,
    Digested,
    ExampleContext,
    HomeContext,
    Page,
    Shared,
    ShellContext,
    SourceContext,
    TableContext,
)
from .hidden import visible
from .highlight import rust_lines, text_html, title_html
from .load import SKIPPING_RULES
from .model import DatasetResult, Example, Item, Severity
from .searchdb import SITE_PATH as SEARCH_DB
from .searchdb import example_id

# Output caps: what one page shows of a huge record or file (the rest: a note and the download).
MAX_TEXT_CHARS = 50_000  # of a request, reasoning or system prompt on an example page
MAX_CODE_LINES = 3_000  # code lines per example page (all segments together)
MAX_CODE_CHARS = 100_000
MAX_SOURCE_LINES = 20_000  # lines on a source page
MAX_SOURCE_HTML = 2_000_000  # bytes of highlighted lines on a source page
MAX_SOURCE_ITEMS = 5_000  # rows of a source page's item table
MAX_NAME_CHARS = 300  # of an item name in a table (nested items' names grow with the depth)
MAX_LOOKUP_EXAMPLES = 2_000  # examples named by one source page's line lookup (counts are exact)
MAX_LINKS_PER_ITEM = 12  # a coverage row lists this many examples, then links to the filtered index


@dataclass
class SiteViews:
    pages: list[Page] = field(default_factory=list)
    data: dict[str, bytes | dict] = field(default_factory=dict)  # docs path → JSON-able data or raw bytes
    copies: dict[str, tuple] = field(
        default_factory=dict
    )  # docs path → (file to copy, digest of its bytes or "", its (size, mtime) or None)
    nav: list = field(default_factory=list)
    shells: dict[str, str] = field(default_factory=dict)  # dataset stem → docs path of its shell page
    slots: dict[str, dict[str, str]] = field(default_factory=dict)  # site file → {slot: HTML} filled after mkdocs
    datasets: list = field(default_factory=list)  # DatasetViews: their example pages are made one at a time (plan.py)


def first_line(text: str, limit: int = 120) -> str:
    for line in text.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return "(empty)"


def target_items(r: DatasetResult) -> list[Item]:
    """Items the dataset means to cover (coverage counts these)."""
    return model.target_items(r.config, r.index)


def short_paths(paths: list[str]) -> dict[str, str]:
    """Each path's shortest tail of folders that no other path ends with: `queue/mod.rs` and
    `cache/mod.rs` for two `mod.rs`, `retry.rs` alone where it is the only one."""
    paths = sorted(set(paths))
    tails = Counter()
    for p in paths:
        parts = p.split("/")
        for k in range(1, len(parts) + 1):
            tails["/".join(parts[-k:])] += 1
    out = {}
    for p in paths:
        parts = p.split("/")
        out[p] = next(("/".join(parts[-k:]) for k in range(1, len(parts) + 1) if tails["/".join(parts[-k:])] == 1), p)
    return out


def item_status(r: DatasetResult, item: Item) -> str:
    if r.covered.get(item.ident):
        return "covered"
    if r.partly.get(item.ident):
        return "partial"
    return "uncovered"


def source_pages_available(r: DatasetResult) -> set[str]:
    return {p for p in r.config.scope_files if r.text_for(p) is not None}


class DatasetViews:
    """Everything about one dataset that its pages need, computed once."""

    diff = None  # a diff.DatasetDiff under build --compare
    diff_by_line: dict = {}

    def __init__(self, r: DatasetResult, diff=None):
        self.r = r
        if diff is not None:
            self.diff, self.diff_by_line = diff, diff.by_new_line()
        self.stem = r.config.stem
        self.examples = sorted(r.examples, key=lambda e: e.record.line)
        self.by_key = {e.record.key: e for e in self.examples}
        self.line_of = {k: e.record.line for k, e in self.by_key.items()}
        self.targets = target_items(r)
        self.with_source = source_pages_available(r)
        self.items_by_ident = {i.ident: i for i in r.index.items()}
        self._rel: dict[tuple[str, str], str] = {}
        self._segments: dict[tuple[int, ...], tuple] = {}  # see segment_views
        self._coverage: dict[int, tuple] = {}  # see coverage_view
        self.card = card_html(r.card) if r.card is not None else None  # (title, safe HTML)
        self.short = short_paths(list(r.config.scope_files) + sorted(r.index.files))
        self.file_stats = self._file_stats()
        self.totals = self._totals()

    # --- example pages -------------------------------------------------------------------
    def neighbours(self, i: int) -> tuple[Example | None, Example | None]:
        """The examples before and after example i (in line order), None at either end."""
        exs = self.examples
        return (exs[i - 1] if i > 0 else None, exs[i + 1] if i + 1 < len(exs) else None)

    @cached_property
    def example_common(self) -> ExampleCommon:
        page = urls.example(self.stem, 1)  # any example page: they share a folder
        cfg = self.r.config
        return ExampleCommon(
            stem=self.stem,
            dataset_title=cfg.title,
            jsonl_name=cfg.jsonl.name,
            total=len(self.examples),
            system_prompt=cfg.system_prompt,
            rules_href=self.rel(page, urls.findings(self.stem)),
            index_href=self.rel(page, urls.examples_index(self.stem)),
            dataset_href=self.rel(page, urls.dataset_home(self.stem)),
            download_href=self.rel(page, urls.data_file(self.stem, self.r.config.jsonl.name)),
            examples_href=urls.examples_href(page, self.stem),
        )

    def segment_views(self, ex: Example, path: str):
        """segment_views, made once for the examples that share their Segments (one block
        quoted by many examples); the cache holds the Segments, so their ids stay theirs."""
        key = tuple(map(id, ex.segments))
        hit = self._segments.get(key)
        if hit is None:
            hit = self._segments[key] = (segment_views(self, ex, path), ex.segments)
        return hit[0]

    @cached_property
    def quoted_blocks(self) -> dict[str, dict[int, list]]:
        """Per source file, per shared Coverage (one code block): [its line ranges in the file,
        its first MAX_LINKS_PER_ITEM examples, how many examples quote it]; one pass over the
        examples for every source page (line_lookup)."""
        by_path: dict[str, dict[int, list]] = defaultdict(dict)
        for ex in self.examples:
            cov = ex.coverage
            if not cov.lines:
                continue
            ranges: dict[str, list] = {}
            for p, s, e in cov.lines:
                ranges.setdefault(p, []).append([s, e])
            for p, rs in ranges.items():
                b = by_path[p].get(id(cov))
                if b is None:
                    b = by_path[p][id(cov)] = [rs, [], 0]
                if len(b[1]) < MAX_LINKS_PER_ITEM:
                    b[1].append(ex)
                b[2] += 1
        return by_path

    def coverage_view(self, ex: Example, path: str):
        """coverage_view, made once for the examples that share their Coverage."""
        hit = self._coverage.get(id(ex.coverage))
        if hit is None:
            hit = self._coverage[id(ex.coverage)] = (coverage_view(self, ex, path), ex.coverage)
        return hit[0]

    # --- links -----------------------------------------------------------------------------
    def source_href(self, from_page: str, path: str, start: int, end: int | None = None) -> str | None:
        if path not in self.with_source:
            return None
        return self.rel(from_page, urls.source(self.stem, path)) + "#" + urls.range_anchor(start, end or start)

    def rel(self, from_page: str, to: str) -> str:
        """urls.href without anchor, memoised per folder of from_page: every example page sits
        one level below the same folder, so their links to other pages are all the same."""
        base = urls.page_url(from_page)
        if urls.page_url(to).startswith(base):  # below the page itself: not shared
            return urls.href(from_page, to)
        folder = base.rsplit("/", 2)[0]
        key = (folder, to)
        hit = self._rel.get(key)
        if hit is None:
            hit = self._rel[key] = urls.href(from_page, to)
        return hit

    def item_href(self, from_page: str, item: Item) -> str:
        return self.source_href(from_page, item.path, item.start_line, item.end_line) or self.r.config.permalink(
            item.path, item.start_line, item.end_line
        )

    # --- coverage numbers --------------------------------------------------------------------
    def _file_stats(self) -> list[dict]:
        by_file: dict[str, list[Item]] = defaultdict(list)
        for i in self.targets:
            by_file[i.path].append(i)
        rows = []
        for path in self.r.config.scope_files:
            items = by_file.get(path, [])
            scope_lines = {n for i in items for n in range(i.start_line, i.end_line + 1)}
            covered_lines = scope_lines & self.r.lines_covered.get(path, set())
            statuses = Counter(item_status(self.r, i) for i in items)
            rows.append(
                {
                    "path": path,
                    "item_count": len(items),
                    "covered": statuses["covered"],
                    "partial": statuses["partial"],
                    "uncovered": statuses["uncovered"],
                    "scope_lines": len(scope_lines),
                    "covered_lines": len(covered_lines),
                    "pct": (100.0 * len(covered_lines) / len(scope_lines)) if scope_lines else 0.0,
                }
            )
        return rows

    def _totals(self) -> dict:
        items = sum(f["item_count"] for f in self.file_stats)
        covered = sum(f["covered"] for f in self.file_stats)
        lines = sum(f["scope_lines"] for f in self.file_stats)
        cov_lines = sum(f["covered_lines"] for f in self.file_stats)
        sev = Counter(f.severity for f in self.r.findings)
        return {
            "examples": len(self.examples),
            "invalid_lines": len(
                {
                    f.line
                    for f in self.r.findings
                    if f.on_dataset and f.rule in SKIPPING_RULES and f.rule != "schema.blank-line"
                }
            ),
            "item_count": items,
            "covered_items": covered,
            "item_pct": 100.0 * covered / items if items else 0.0,
            "scope_lines": lines,
            "covered_lines": cov_lines,
            "line_pct": 100.0 * cov_lines / lines if lines else 0.0,
            "errors": sev["error"],
            "warnings": sev["warning"],
            "infos": sev["info"],
            "ok_examples": sum(1 for e in self.examples if e.status == "ok"),
        }


def _findings_view(findings, diffs: dict[str, int] | None = None) -> list[dict]:
    """Findings for a page's boxes. A detail that is a segment's diff is not repeated: the box
    points to the segment, where the diff is shown with source line numbers."""
    diffs = diffs or {}
    return [
        {
            "severity": f.severity,
            "admonition": Severity(f.severity).admonition,
            "rule": f.rule,
            "rule_anchor": urls.rule_anchor(f.rule),
            "rule_help": RULES.get(f.rule, ("", ""))[1],
            "message": f.message,
            "detail": "" if f.detail in diffs else f.detail,
            "segment": diffs.get(f.detail) if f.detail else None,
            "segment_anchor": urls.segment_anchor(diffs[f.detail]) if f.detail in diffs else None,
        }
        for f in sorted(findings, key=lambda f: (Severity(f.severity).rank, f.rule, f.message))
    ]


def example_page(dv: DatasetViews, i: int) -> Page:
    """Example page i of the dataset (in line order): rendered to HTML outside mkdocs and framed
    by the dataset's shell page. Built for every example on every build, as its key is a digest
    of its context (plan.py): the parts examples share are made once (DatasetViews); code is
    highlighted by the template, only for pages that are written."""
    ex, record = dv.examples[i], dv.examples[i].record
    prev, nxt = dv.neighbours(i)
    common = dv.example_common
    path = urls.example(common.stem, record.line)
    segments, diffs = dv.segment_views(ex, path)
    covered, what = dv.coverage_view(ex, path)
    ctx = ExampleContext(
        stem=common.stem,
        dataset_title=common.dataset_title,
        number=ex.number,
        total=common.total,
        line=record.line,
        jsonl_name=common.jsonl_name,
        status=str(ex.status),  # a plain str: orjson (the page key) serialises an enum slowly
        system=clip_text(record.system),
        system_matches=record.system == common.system_prompt,
        user=clip_text(record.user),
        think=clip_text(ex.think),
        segments=segments,
        covered=covered,
        heading=f"#{ex.number} · {what}",
        lede=first_line(record.user, 200),
        findings=_findings_view(ex.findings, diffs) if ex.findings else [],
        rules_href=common.rules_href,
        raw=Digested(record.raw, record.digest),  # bytes: decoded by the template
        prev_href=common.example_href(prev.record.line) if prev else None,
        prev_number=prev.number if prev else None,
        next_href=common.example_href(nxt.record.line) if nxt else None,
        next_number=nxt.number if nxt else None,
        index_href=common.index_href,
        dataset_href=common.dataset_href,
        download_href=common.download_href,
        change=diffview.example_box(dv, ex, path) if dv.diff is not None else None,
    )
    return Page(path, "example.html.j2", ctx, f"{ctx.heading} · {common.dataset_title}", standalone=True)


@dataclass(frozen=True)
class ExampleCommon:
    """What every example page of a dataset shows alike, links included (the pages sit in one
    folder): made once per dataset."""

    stem: str
    dataset_title: str
    jsonl_name: str
    total: int
    system_prompt: str
    rules_href: str
    index_href: str
    dataset_href: str
    download_href: str
    examples_href: str  # the examples folder, relative to an example page

    def example_href(self, line: int) -> str:
        return self.examples_href + urls.example_folder_name(line)


def segment_views(dv: DatasetViews, ex: Example, path: str) -> tuple[tuple[dict, ...], dict[str, int]]:
    """An example's code segments as its page shows them (within the page's caps), and which
    segment shows each diff."""
    cfg = dv.r.config
    segments = []
    lines_left, chars_left = MAX_CODE_LINES, MAX_CODE_CHARS
    for seg in ex.segments:
        base = dv.source_href(path, seg.path, seg.start_line) if seg.status == "verbatim" else None
        text, cut = clip_lines(seg.text, lines_left, chars_left)
        lines_left -= text.count("\n") + 1
        chars_left -= len(text)
        diff = clip_text(seg.diff)
        segments.append(
            {
                "index": seg.index + 1,
                "anchor": urls.segment_anchor(seg.index + 1),
                "status": seg.status,
                "path": seg.path,
                "start": seg.start_line,
                "end": seg.end_line,
                "text": text,
                "cut": cut,  # lines of the segment not shown (output cap)
                "first_line": seg.start_line if seg.status == "verbatim" else None,
                "line_base": urls.line_anchor_base(base) if base else None,
                "source_href": dv.source_href(path, seg.path, seg.start_line, seg.end_line) if seg.path else None,
                "permalink": cfg.permalink(seg.path, seg.start_line, seg.end_line) if seg.path else None,
                "diff": diff,
                "diff_rows": diff_rows(diff, seg.start_line) if diff else [],
            }
        )
    return Shared(segments), {s["diff"]: s["index"] for s in segments if s["diff"]}


def coverage_view(dv: DatasetViews, ex: Example, path: str) -> tuple[tuple[dict, ...], str]:
    """The items an example covers whole (with links), and what its heading says it covers."""
    covered = []
    for ident in ex.coverage.full:
        item = dv.items_by_ident.get(ident)
        if item is not None and item.kind != "use":
            covered.append({"name": short_name(item.name), "kind": item.kind, "href": dv.item_href(path, item)})
    return Shared(covered), covers_what(ex, dv)


def covers_what(ex: Example, dv: DatasetViews) -> str:
    """ "handle_failed_dispatch": what an example covers (two names at most), for its heading."""
    names = []
    for ident in ex.coverage.full:
        item = dv.items_by_ident.get(ident)
        if (
            item is not None
            and item.kind != "use"
            and not any(ident.startswith(o + "::") for o in ex.coverage.full if o != ident)
        ):
            names.append(short_name(item.name))
    if not names:
        files = sorted({p.rsplit("/", 1)[-1] for p, _, _ in ex.coverage.lines})
        return "part of " + ", ".join(files) if files else "code not found in the source"
    return " + ".join(names[:2]) + (f" + {len(names) - 2} more" if len(names) > 2 else "")


_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


def diff_rows(diff: str, source_start: int) -> list[dict]:
    """A unified diff (link._diff: the pinned lines from `source_start` against the example's)
    as rows with source and example line numbers: the source's own, not the diff's."""
    rows = []
    old = new = 0
    for line in diff.split("\n"):
        if line.startswith(("--- ", "+++ ")):
            continue
        m = _HUNK.match(line)
        if m:
            old, new = source_start + int(m.group(1)) - 1, int(m.group(2))
            rows.append({"kind": "hunk", "old": "", "new": "", "sign": "", "text": "⋯"})
        elif line.startswith("-"):
            rows.append({"kind": "del", "old": old, "new": "", "sign": "−", "text": line[1:]})
            old += 1
        elif line.startswith("+"):
            rows.append({"kind": "add", "old": "", "new": new, "sign": "+", "text": line[1:]})
            new += 1
        else:
            rows.append({"kind": "ctx", "old": old, "new": new, "sign": " ", "text": line[1:]})
            old += 1
            new += 1
    return rows


def short_name(name: str) -> str:
    return name if len(name) <= MAX_NAME_CHARS else name[: MAX_NAME_CHARS // 2] + " … " + name[-MAX_NAME_CHARS // 2 :]


def clip_text(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """At most `limit` characters of a text, with a note saying how much was left out."""
    if len(text) <= limit:
        return text
    return (
        text[:limit]
        + f"\n[… {len(text) - limit:,} more characters not shown: the full record is in the JSONL download]"
    )


def clip_lines(text: str, max_lines: int, max_chars: int) -> tuple[str, int]:
    """The first lines of `text` within both limits (at least one line, itself clipped), and
    how many lines were left out."""
    total = text.count("\n") + 1
    keep = max(1, max_lines)
    head = text[: max(max_chars, 1)]
    lines = head.split("\n")[:keep]
    if len(lines) == total and len(head) == len(text):
        return text, 0
    if len(lines) > 1 and len(head) < len(text) and not text[len(head) :].startswith("\n"):
        lines.pop()  # a line the character cap cut in two
    return "\n".join(lines), max(total - len(lines), 1)  # 1: the one line shown was shortened


def source_body(text: str) -> str:
    """A source file's text as its page shows it: the final newline ends the last line."""
    return text[:-1] if text.endswith("\n") else text


def example_link(dv: DatasetViews, page: str, key: str, item_name: str, part: bool = False) -> dict:
    """A link to an example from a row about an item: short text, a name with context."""
    ex = dv.by_key[key]
    return {
        "label": f"#{ex.number}",
        "href": urls.href(page, urls.example(dv.stem, ex.record.line)),
        "aria": f"Example {ex.number}: {'part of ' if part else ''}{item_name}",
    }


def line_lookup(dv: DatasetViews, path_in_repo: str, page: str) -> dict:
    """Which examples quote which lines of one source file: one lookup per source page (a data
    file fetched on first hover or focus), never per-line lists in the HTML. Examples quoting
    one code block share an entry; an entry lists at most MAX_LINKS_PER_ITEM of them."""
    blocks = dv.quoted_blocks.get(path_in_repo, {})
    listed: dict[str, int] = {}
    examples = []
    out_blocks = []
    for ranges, exs, count in blocks.values():
        idx = []
        for ex in exs:
            if ex.record.key not in listed and len(examples) >= MAX_LOOKUP_EXAMPLES:
                continue  # the count still says how many quote these lines
            if ex.record.key not in listed:
                listed[ex.record.key] = len(examples)
                examples.append([ex.number, ex.record.line, visible(first_line(ex.record.user, 90))])
            idx.append(listed[ex.record.key])
        out_blocks.append([ranges, idx, count])
    f = dv.r.index.files[path_in_repo]
    return {
        "examples_url": urls.examples_href(page, dv.stem),
        "examples": examples,
        "blocks": out_blocks,
        "items": [[visible(short_name(i.name)), i.start_line, i.end_line] for i in f.items if i.kind != "use"],
    }


def source_page(dv: DatasetViews, path_in_repo: str) -> Page:
    r, stem = dv.r, dv.stem
    page = urls.source(stem, path_in_repo)
    text = r.text_for(path_in_repo)
    f = r.index.files[path_in_repo]
    body = source_body(text)
    lines_html = rust_lines(body)
    covered = r.lines_covered.get(path_in_repo, set())
    targets = [i for i in dv.targets if i.path == path_in_repo]
    in_scope = {n for i in targets for n in range(i.start_line, i.end_line + 1)}
    states = [
        "covered" if n in covered else "uncovered" if n in in_scope else "other" for n in range(1, len(lines_html) + 1)
    ]
    items = []
    target_idents = {i.ident for i in targets}
    for item in f.items:
        if item.kind == "use" and not r.covered.get(item.ident):
            continue
        keys = sorted(set(r.covered.get(item.ident, [])), key=dv.line_of.__getitem__)
        part = sorted(set(r.partly.get(item.ident, [])) - set(keys), key=dv.line_of.__getitem__)
        anchor = urls.item_anchor(item.name, item.start_line)
        row = {
            "anchor": anchor,
            "kind": item.kind,
            "name": short_name(item.name),
            "start": item.start_line,
            "end": item.end_line,
            "line_href": urls.href(page, page, urls.range_anchor(item.start_line, item.end_line)),
            "permalink": r.config.permalink(item.path, item.start_line, item.end_line),
            "in_scope": item.ident in target_idents,
            "status": item_status(r, item) if item.ident in target_idents else ("covered" if keys else "not targeted"),
            "examples": [example_link(dv, page, k, item.name) for k in keys[:MAX_LINKS_PER_ITEM]],
            "more": max(len(keys) - MAX_LINKS_PER_ITEM, 0),
            "count": len(keys),
            # the examples table filters by the items searchdb lists: not by `use` items
            "more_href": urls.href(page, urls.examples_index(stem), urls.item_filter(item))
            if item.kind != "use"
            else "",
            "partial_examples": [example_link(dv, page, k, item.name, part=True) for k in part[:MAX_LINKS_PER_ITEM]],
            "partial": len(part),
        }
        if len(items) < MAX_SOURCE_ITEMS:
            items.append(row)
    # Only lines the dataset targets or quotes are highlighted; the rest is plain text, which
    # keeps a 1,300-line file's page well under 200 KB. A huge file's page stops at the caps.
    lines = []
    size = 0
    for n, (h, raw) in enumerate(zip(lines_html, body.split("\n"), strict=True), start=1):
        html_line = Markup(h) if states[n - 1] != "other" else text_html(raw)
        size += len(html_line) + 40
        if n > MAX_SOURCE_LINES or size > MAX_SOURCE_HTML:
            break
        lines.append({"anchor": urls.line_anchor(n), "html": html_line, "state": states[n - 1]})
    ctx = SourceContext(
        path=path_in_repo,
        stem=stem,
        dataset_title=r.config.title,
        lines=lines,
        lines_cut=len(lines_html) - len(lines),
        items_cut=sum(1 for i in f.items if i.kind != "use" or r.covered.get(i.ident)) - len(items),
        items=items,
        strip=charts.line_strip(states, href_for_line=lambda n: "#" + urls.line_anchor(n)),
        file_permalink=r.config.file_url(path_in_repo),
        commit=r.config.commit,
        sha256=f.sha256,
        coverage_href=urls.href(page, urls.coverage(stem)),
        lookup_href=urls.href(page, urls.line_lookup(stem, path_in_repo)),
    )
    return Page(page, "source.md.j2", ctx, path_in_repo.rsplit("/", 1)[-1])


def coverage_page(dv: DatasetViews) -> Page:
    r, stem = dv.r, dv.stem
    page = urls.coverage(stem)
    files = []
    for fs in dv.file_stats:
        files.append(
            {
                **fs,
                "href": urls.href(page, urls.source(stem, fs["path"]))
                if fs["path"] in dv.with_source
                else r.config.file_url(fs["path"]),
                "bar": charts.bar(fs["pct"] / 100, f"{fs['pct']:.0f}% of in-scope lines covered"),
            }
        )
    order = {"uncovered": 0, "partial": 1, "covered": 2}
    rows = []
    for item in sorted(dv.targets, key=lambda i: (order[item_status(r, i)], i.path, i.start_line)):
        keys = sorted(set(r.covered.get(item.ident, [])), key=dv.line_of.__getitem__)
        rows.append(
            {
                "status": item_status(r, item),
                "kind": item.kind,
                "name": short_name(item.name),
                "path": item.path,
                "file": dv.short.get(item.path, item.path),
                "key": urls.item_key(item),
                "start": item.start_line,
                "end": item.end_line,
                "href": dv.item_href(page, item),
                "count": len(keys),
                "partial": len(set(r.partly.get(item.ident, [])) - set(keys)),
                "partial_examples": [
                    example_link(dv, page, k, item.name, part=True)
                    for k in sorted(set(r.partly.get(item.ident, [])) - set(keys), key=dv.line_of.__getitem__)[
                        :MAX_LINKS_PER_ITEM
                    ]
                ],
                "examples": [example_link(dv, page, k, item.name) for k in keys[:MAX_LINKS_PER_ITEM]],
                "more": max(len(keys) - MAX_LINKS_PER_ITEM, 0),
                "filter_href": urls.href(page, urls.examples_index(stem), urls.item_filter(item)),
            }
        )
    missing = [
        {"message": f.message, "detail": f.detail, "where": f.location()}
        for f in sorted(r.findings, key=lambda f: f.message)
        if f.rule == "coverage.missing-name"
    ]
    unmatched = [f.message for f in r.findings if f.rule == "coverage.scope-unmatched"]
    ctx = CoverageContext(
        stem=stem,
        dataset_title=r.config.title,
        totals=dv.totals,
        total_bar=charts.bar(dv.totals["line_pct"] / 100, "in-scope lines covered", width=320, height=16),
        files=files,
        items=rows,
        missing=missing,
        unmatched=sorted(unmatched),
        out_items=list(r.config.out_items),
        from_lock=r.index.from_lock,
    )
    return Page(page, "coverage.md.j2", ctx, "Coverage")


TABLE_PAGE = 50  # rows of a table's first page, written into the page itself
# In table.md.j2 (escaped text cannot make it); filled after mkdocs (plan.py), so row edits never
# rerun mkdocs.
SLOT_TABLE = "<!--slot:table-->"

EXAMPLE_COLUMNS = [
    # key (a column of the `ex` table in searchdb), label, type
    ("number", "#", "number"),
    ("line", "Line", "number"),
    ("request", "Request", "text"),
    ("items", "Items covered", "text"),
    ("files", "Files", "text"),
    ("lines", "Lines", "number"),
    ("status", "Status", "text"),
    ("findings", "Findings", "number"),
    ("request_words", "User words", "number"),
    ("reasoning_words", "Think words", "number"),
    ("code_lines", "Code length", "number"),
]
FINDING_COLUMNS = [
    ("severity", "Severity", "text"),
    ("rule", "Rule", "text"),
    ("location", "Where", "text"),
    ("message", "Finding", "text"),
]
LINK_COLUMN = {"examples": "request", "findings": "location"}


def example_rows(dv: DatasetViews, from_page: str, limit: int | None = TABLE_PAGE) -> list[dict]:
    """The examples table's rows in number order (the first `limit`), as the page shows them."""
    rows = []
    example_href = urls.example_hrefs(from_page, dv.stem)
    for ex in dv.examples[:limit]:
        cov = ex.coverage
        items = [dv.items_by_ident[i] for i in cov.full if i in dv.items_by_ident]
        rows.append(
            {
                "number": ex.number,
                "line": ex.record.line,
                "request": visible(first_line(ex.record.user)),
                "items": visible("; ".join(short_name(i.name) for i in items if i.kind != "use")),
                "files": visible(", ".join(sorted({dv.short.get(p, p) for p, _, _ in cov.lines}))),
                "lines": sum(e - s + 1 for _, s, e in cov.lines),
                "status": ex.status,
                "findings": len(ex.findings),
                "request_words": ex.sizes[0],
                "reasoning_words": ex.sizes[1],
                "code_lines": ex.sizes[2],
                "href": example_href(ex.record.line),
            }
        )
    return rows


def finding_rows(dv: DatasetViews, from_page: str, limit: int | None = TABLE_PAGE) -> list[dict]:
    rows = []
    line_to_key = {ex.record.line: ex for ex in dv.examples}
    for f in dv.r.findings:
        href = ""
        if f.on_dataset and f.line in line_to_key:
            href = urls.href(from_page, urls.example(dv.stem, f.line))
        elif f.path in dv.with_source and f.line:
            href = urls.href(from_page, urls.source(dv.stem, f.path), urls.line_anchor(f.line))
        rows.append(
            {
                "severity": f.severity,
                "rule": f.rule,
                "location": visible(f.location()),
                "message": visible(f.message),
                "detail": visible(f.detail),
                "href": href,
            }
        )
    rows.sort(key=lambda r: (Severity(r["severity"]).rank, r["rule"], r["location"]))
    return rows[:limit]


def table_html(kind: str, columns, rows: list[dict], total: int) -> str:
    """A table's first page as plain HTML (it reads and links without JavaScript); site.js
    takes it over for sorting, filtering and paging against the search database."""
    link = LINK_COLUMN[kind]
    head = "".join(
        f'<th scope="col" data-key="{k}" data-type="{t}" class="col-{k}">{escape(label)}</th>'
        for k, label, t in columns
    )
    body = []
    for r in rows:
        cells = []
        for k, _, t in columns:
            cls = (
                f' class="col-{k} status-cell status-{escape(r[k])}"'
                if k in ("status", "severity")
                else f' class="col-{k}{" num" if t == "number" else ""}"'
            )
            value = escape(str(r[k]))
            if k == "message" and r.get("detail"):  # how to fix, or the diff: under the message
                value += (
                    Markup('<details class="finding-more"><summary>Details</summary><pre>')
                    + escape(r["detail"])
                    + Markup("</pre></details>")
                )
            if k == "rule":  # to the rule's row in the reference above the table
                value = Markup(f'<a href="#{urls.rule_anchor(r[k])}">') + value + Markup("</a>")
            cells.append(
                f'<td{cls}><a href="{escape(r["href"])}">{value}</a></td>'
                if k == link and r["href"]
                else f"<td{cls}>{value}</td>"
            )
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = (
        f'<p class="table-more">The first {len(rows)} of {total} rows; sorting, filtering and the other pages '
        "need JavaScript and the site served over HTTP.</p>"
        if total > len(rows)
        else ""
    )
    return (
        '<div class="table-scroll"><table class="datatable-rows">'
        f"<thead><tr>{head}</tr></thead><tbody>\n" + "\n".join(body) + "\n</tbody></table></div>" + more
    )


def table_options(dv: DatasetViews, kind: str) -> dict:
    """Values of the table's select filters (small: bounded by the scope and the rules)."""
    if kind == "examples":
        paths = sorted({p for ex in dv.examples for p, _, _ in ex.coverage.lines})
        return {
            "files": [[p, dv.short.get(p, p)] for p in paths],
            "status": [[s, s] for s in sorted({ex.status for ex in dv.examples})],
        }
    return {
        "severity": [[s, s] for s in sorted({f.severity for f in dv.r.findings}, key=lambda s: Severity(s).rank)],
        "rule": [[r, r] for r in sorted({f.rule for f in dv.r.findings})],
    }


def rule_reference(config) -> list[dict]:
    """Every rule with the severity it has for this dataset (config overrides applied)."""
    return [
        {
            "rule": rule,
            "anchor": urls.rule_anchor(rule),
            "severity": config.severity.get(rule, default),
            "meaning": meaning,
        }
        for rule, (default, meaning) in sorted(RULES.items())
    ]


# (file, caption, unit, the examples table's length column)
HISTOGRAMS = (
    ("lengths-request.svg", "request length (words)", "words", "request_words"),
    ("lengths-reasoning.svg", "reasoning length (words)", "words", "reasoning_words"),
    ("lengths-code.svg", "code length (lines)", "lines", "code_lines"),
)


def histogram_files(dv: DatasetViews) -> dict[str, bytes]:
    """The dataset page's histograms, as data files (see charts.histogram_svg). A bar links to
    the examples table filtered to its range (the links are relative to the dataset page)."""
    page = urls.dataset_home(dv.stem)
    table = urls.href(page, urls.examples_index(dv.stem))
    return {
        urls.data_file(dv.stem, name): charts.histogram_svg(
            [e.sizes[k] for e in dv.examples],
            label,
            unit,
            href_for=lambda a, b, col=col: f"{table}#{urls.length_filter(col, a, b)}",
        )
        for k, (name, label, unit, col) in enumerate(HISTOGRAMS)
    }


def severity_hrefs(page: str, stem: str) -> dict[str, str]:
    """Links to the findings table filtered to one severity."""
    return {
        sev: urls.href(page, urls.findings(stem), urls.findings_filter("severity", sev)) for sev in map(str, Severity)
    }


def dataset_home_page(dv: DatasetViews) -> Page:
    r, stem, cfg = dv.r, dv.stem, dv.r.config
    page = urls.dataset_home(stem)
    totals = dv.totals
    rules = Counter((f.severity, f.rule) for f in r.findings)
    ctx = DatasetContext(
        stem=stem,
        title=cfg.title,
        description=cfg.description,
        totals=totals,
        bar=charts.bar(
            totals["line_pct"] / 100, f"{totals['line_pct']:.0f}% of in-scope lines covered", width=320, height=16
        ),
        repository=cfg.repository,
        commit=cfg.commit,
        license=cfg.license,
        copyright=cfg.copyright,
        files=[
            {"path": p, "href": urls.href(page, urls.source(stem, p)) if p in dv.with_source else cfg.file_url(p)}
            for p in cfg.scope_files
        ],
        rules=[
            {
                "severity": s,
                "rule": rule,
                "count": n,
                "href": urls.href(page, urls.findings(stem), urls.findings_filter("rule", rule)),
                "ref_href": urls.href(page, urls.findings(stem), urls.rule_anchor(rule)),
            }
            for (s, rule), n in sorted(rules.items(), key=lambda kv: (Severity(kv[0][0]).rank, kv[0][1]))
        ],
        hists=[
            {"label": label, "src": urls.href(page, urls.data_file(stem, name))} for name, label, _, _ in HISTOGRAMS
        ],
        examples_href=urls.href(page, urls.examples_index(stem)),
        coverage_href=urls.href(page, urls.coverage(stem)),
        findings_href=urls.href(page, urls.findings(stem)),
        severity_hrefs=severity_hrefs(page, stem),
        card_href=urls.href(page, urls.card(stem)) if dv.card is not None else None,
        download_href=urls.href(page, urls.data_file(stem, cfg.jsonl.name)),
        card_name=str(cfg.jsonl.parent / "README.md"),
        first_href=urls.href(page, urls.example(stem, dv.examples[0].record.line)) if dv.examples else None,
        jsonl_name=cfg.jsonl.name,
        from_lock=r.index.from_lock,
        lock_present=r.lock_present,
    )
    return Page(page, "dataset.md.j2", ctx, cfg.title)


def build_views(results: list[DatasetResult], diffs: dict | None = None) -> SiteViews:
    """`diffs` (dataset stem → diff.DatasetDiff, build --compare) adds a Changes page each."""
    site = SiteViews()
    summaries = []
    nav = [{"Home": urls.home()}]
    for r in sorted(results, key=lambda r: r.config.stem):
        dv = DatasetViews(r, (diffs or {}).get(r.config.stem))
        stem = dv.stem
        site.pages.append(dataset_home_page(dv))
        site.data.update(histogram_files(dv))
        ex_page = urls.examples_index(stem)
        f_page = urls.findings(stem)
        for kind, page, cols, rows, total, title, rules in (
            ("examples", ex_page, EXAMPLE_COLUMNS, example_rows(dv, ex_page), len(dv.examples), "Examples", []),
            (
                "findings",
                f_page,
                FINDING_COLUMNS,
                finding_rows(dv, f_page),
                len(r.findings),
                "Findings",
                rule_reference(r.config),
            ),
        ):
            ids = (
                f"{example_id(len(site.datasets), 0)} {example_id(len(site.datasets) + 1, 0) - 1}"
                if kind == "examples"
                else ""
            )
            ctx = TableContext(
                title=title,
                dataset_title=r.config.title,
                kind=kind,
                count=total,
                stem=stem,
                db_href=urls.href(page, SEARCH_DB),
                examples_url=urls.examples_folder(stem),
                id_range=ids,
                options=orjson.dumps(table_options(dv, kind)).decode(),
                rules=rules,
            )
            site.pages.append(Page(page, "table.md.j2", ctx, title))
            site.slots[urls.site_file(page)] = {SLOT_TABLE: table_html(kind, cols, rows, total)}
        site.pages.append(coverage_page(dv))
        site.copies[urls.data_file(stem, r.config.jsonl.name)] = (r.config.jsonl, r.file_digest, r.file_stat)
        sources = []
        for p in sorted(dv.with_source):
            sp = source_page(dv, p)
            site.pages.append(sp)
            site.data[urls.line_lookup(stem, p)] = line_lookup(dv, p, sp.path)
            sources.append({title_html(p): sp.path})
        site.datasets.append(dv)
        if dv.card is not None:
            title, body = dv.card
            card = CardContext(title=title, body=Markup(body), dataset_title=r.config.title)
            site.pages.append(Page(urls.card(stem), "card.md.j2", card, "Dataset card"))
        shell = urls.example_shell(stem)
        site.pages.append(Page(shell, "shell.md.j2", ShellContext(), "shell"))
        site.shells[stem] = shell
        section = [
            {"Overview": urls.dataset_home(stem)},
            {"Examples": ex_page},
            {"Coverage": urls.coverage(stem)},
            {"Findings": f_page},
        ]
        if dv.diff is not None:
            site.pages.append(diffview.changes_page(dv))
            section.append({"Changes": urls.changes(stem)})
        if dv.card is not None:
            section.append({"Dataset card": urls.card(stem)})
        if sources:
            section.append({"Source": sources})
        nav.append({title_html(r.config.title): section})  # the theme shows nav titles as HTML
        t = dv.totals
        summaries.append(
            {
                "stem": stem,
                "title": r.config.title,
                "href": urls.href(urls.home(), urls.dataset_home(stem)),
                "examples_href": urls.href(urls.home(), ex_page),
                "coverage_href": urls.href(urls.home(), urls.coverage(stem)),
                "findings_href": urls.href(urls.home(), f_page),
                "severity_hrefs": severity_hrefs(urls.home(), stem),
                "totals": t,
                "bar": charts.bar(
                    t["line_pct"] / 100, f"{t['line_pct']:.0f}% of in-scope lines covered", width=240, height=14
                ),
                "repository": r.config.repository,
                "commit": r.config.commit,
                "license": r.config.license,
                "copyright": r.config.copyright,
            }
        )
    site.pages.insert(0, Page(urls.home(), "home.md.j2", HomeContext(datasets=summaries), "Home"))
    site.nav = nav
    return site
