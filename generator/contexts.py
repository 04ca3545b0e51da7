"""What each template receives: a frozen dataclass per template, every field with its help.

views.py and diffview.py fill them; render.py hands their fields to the template as variables.
Values are plain data (str, numbers, lists and dicts of them) or Markup, safe HTML built from
escaped pieces; the template escapes every plain string. An example page's key is a digest of
its context (`digest`), so whatever the page shows is in its key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from functools import cached_property

import orjson
from markupsafe import Markup

from .load import line_digest


@dataclass(frozen=True)
class Context:
    """Base of the template contexts: the fields are the template's variables."""

    def variables(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Page:
    path: str  # docs path: of the generated Markdown, or of an example page (rendered outside mkdocs)
    template: str
    view: Context
    title: str = ""
    standalone: bool = False  # rendered to HTML outside mkdocs, inside the dataset's shell page

    @property
    def context(self) -> dict:
        """The template's variables (the view's fields by name)."""
        return self.view.variables()


def digest(value, salt: bytes = b"") -> bytes:
    """A digest of `salt` and every value in a context (or any value it holds): equal contexts
    render equal pages. Markup (safe HTML) and bytes are told apart from plain text, which the
    template escapes."""
    data = orjson.dumps(value, default=_tagged, option=orjson.OPT_PASSTHROUGH_SUBCLASS)
    return hashlib.sha256(salt + data).digest()[:16]  # sha256: hardware-accelerated on most CPUs


class Shared(tuple):
    """A tuple that many contexts hold (the segments of a code block that many examples
    quote): digested once, however many contexts' digests take it in."""

    @cached_property
    def digest(self) -> bytes:
        return digest(tuple(self))


class Digested(bytes):
    """Bytes whose digest is known already: a record's line, digested when it was loaded
    (load.line_digest), so that keying its page need not hash it again."""

    def __new__(cls, value: bytes, digest: bytes):
        made = super().__new__(cls, value)
        made.digest = digest or line_digest(value)
        return made


def _tagged(value):
    if isinstance(value, Shared):
        return {"shared": value.digest.hex()}
    if isinstance(value, Digested):
        return {"bytes": value.digest.hex()}
    if isinstance(value, Markup):
        return {"markup": str(value)}
    if isinstance(value, bytes):
        return {"bytes": hashlib.sha256(value).hexdigest()}
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):  # subclasses (a Counter, say): orjson passes them through
        return dict(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, int):
        return int(value)
    raise TypeError(type(value).__name__)


@dataclass(frozen=True)
class HomeContext(Context):
    datasets: list = field(
        metadata={"help": "one summary per dataset (stem, title, links, totals, coverage bar, provenance)"}
    )


@dataclass(frozen=True)
class DatasetContext(Context):
    stem: str = field(metadata={"help": "the dataset's file stem, for the search index"})
    title: str = field(metadata={"help": "the dataset's title (config), the page heading"})
    description: str = field(metadata={"help": "the config's description, shown under the heading when set"})
    totals: dict = field(metadata={"help": "counts: examples, unreadable lines, items and lines covered, findings"})
    bar: Markup = field(metadata={"help": "SVG bar of the in-scope lines covered"})
    repository: str = field(metadata={"help": "URL of the pinned source repository"})
    commit: str = field(metadata={"help": "the pinned commit"})
    license: str = field(metadata={"help": "license of the quoted code"})
    copyright: str = field(metadata={"help": "copyright notice of the quoted code"})
    files: list = field(metadata={"help": "the files in scope, each with a link to its source page or upstream"})
    rules: list = field(
        metadata={"help": "finding counts by severity and rule, with links to the table and the reference"}
    )
    hists: list = field(metadata={"help": "the length histograms: caption and link to the SVG data file"})
    examples_href: str = field(metadata={"help": "link to the examples table"})
    coverage_href: str = field(metadata={"help": "link to the coverage page"})
    findings_href: str = field(metadata={"help": "link to the findings table"})
    severity_hrefs: dict = field(metadata={"help": "severity → link to the findings table filtered to it"})
    card_href: str | None = field(metadata={"help": "link to the dataset card page, None without a card"})
    download_href: str = field(metadata={"help": "link to the JSONL download"})
    card_name: str = field(metadata={"help": "path of the dataset card file (README.md beside the dataset)"})
    first_href: str | None = field(metadata={"help": "link to the first example page, None without examples"})
    jsonl_name: str = field(metadata={"help": "file name of the dataset"})
    from_lock: bool = field(metadata={"help": "linked against the committed lock (no source checkout)"})
    lock_present: bool = field(metadata={"help": "the dataset has a committed lock file"})


@dataclass(frozen=True)
class TableContext(Context):
    title: str = field(metadata={"help": "the table's name: Examples or Findings"})
    dataset_title: str = field(metadata={"help": "the dataset's title, in the page title and count line"})
    kind: str = field(metadata={"help": "examples or findings: which table site.js loads from the database"})
    count: int = field(metadata={"help": "rows in the whole table"})
    stem: str = field(metadata={"help": "the dataset's stem, naming its rows in the database"})
    db_href: str = field(metadata={"help": "link to the search and table database"})
    examples_url: str = field(
        metadata={"help": "site URL of the dataset's examples folder (site.js links rows to example pages)"}
    )
    id_range: str = field(
        metadata={"help": "first and last row id of the dataset's examples in the database; empty for findings"}
    )
    options: str = field(metadata={"help": "JSON of the select filters' values"})
    rules: list = field(
        metadata={"help": "the rule reference (rule, anchor, severity, meaning), on the findings table only"}
    )


@dataclass(frozen=True)
class CoverageContext(Context):
    stem: str = field(metadata={"help": "the dataset's stem"})
    dataset_title: str = field(metadata={"help": "the dataset's title, in the page title"})
    totals: dict = field(metadata={"help": "the dataset's counts (see DatasetContext.totals)"})
    total_bar: Markup = field(metadata={"help": "SVG bar of the in-scope lines covered"})
    files: list = field(metadata={"help": "per file in scope: item and line counts, link, coverage bar"})
    items: list = field(metadata={"help": "the in-scope items, uncovered first, with the examples covering them"})
    missing: list = field(
        metadata={"help": "names the scope expects that are not defined upstream (message, detail, where)"}
    )
    unmatched: list = field(metadata={"help": "messages of scope entries that matched nothing"})
    out_items: list = field(metadata={"help": "items another dataset owns"})
    from_lock: bool = field(metadata={"help": "linked against the committed lock (no source checkout)"})


@dataclass(frozen=True)
class SourceContext(Context):
    path: str = field(metadata={"help": "the file's path in the repository, the page heading"})
    stem: str = field(metadata={"help": "the dataset's stem"})
    dataset_title: str = field(metadata={"help": "the dataset's title, in the page title"})
    lines: list = field(
        metadata={"help": "the lines shown: anchor, HTML (highlighted where targeted or quoted) and coverage state"}
    )
    lines_cut: int = field(metadata={"help": "lines left out by the page's size limit"})
    items_cut: int = field(metadata={"help": "items left out of the items table by its size limit"})
    items: list = field(metadata={"help": "the file's items with status, line links and the examples quoting them"})
    strip: Markup = field(metadata={"help": "SVG strip of line coverage, one link per run of lines"})
    file_permalink: str = field(metadata={"help": "upstream URL of the file at the pinned commit"})
    commit: str = field(metadata={"help": "the pinned commit"})
    sha256: str = field(metadata={"help": "SHA-256 of the file's bytes"})
    coverage_href: str = field(metadata={"help": "link to the coverage page"})
    lookup_href: str = field(metadata={"help": "link to the line lookup data file (which examples quote which lines)"})


@dataclass(frozen=True)
class CardContext(Context):
    title: str = field(metadata={"help": "the card's first heading"})
    body: Markup = field(metadata={"help": "the card's Markdown as sanitised HTML"})
    dataset_title: str = field(metadata={"help": "the dataset's title, in the page title"})


@dataclass(frozen=True)
class ShellContext(Context):
    """The shell page has only slots (filled when example pages are framed), no variables."""


@dataclass(frozen=True)
class ChangesContext(Context):
    stem: str = field(metadata={"help": "the dataset's stem"})
    dataset_title: str = field(metadata={"help": "the dataset's title, in the page title"})
    against: Markup = field(metadata={"help": "what the dataset is compared with (git ref or file), escaped"})
    old_records: int = field(metadata={"help": "records in the compared version"})
    new_records: int = field(metadata={"help": "records in this version"})
    counts: list = field(metadata={"help": "changed examples by status (added, removed, modified, moved)"})
    rows: list = field(metadata={"help": "one row per changed example: status, lines, title, changed fields, link"})
    details: list = field(metadata={"help": "the diffs of the first changed examples (MAX_DETAILS)"})
    more: int = field(metadata={"help": "changed examples whose diff is only on their own page"})
    new_findings: list = field(metadata={"help": "findings this change brings, with links to example pages"})
    new_errors: int = field(metadata={"help": "errors among the new findings"})
    fixed: list = field(metadata={"help": "findings this change removes"})
    coverage: list = field(metadata={"help": "items whose coverage changed: before, after, example counts"})


@dataclass(frozen=True)
class ExampleContext(Context):
    stem: str = field(metadata={"help": "the dataset's stem, for site.js"})
    dataset_title: str = field(metadata={"help": "the dataset's title"})
    number: int = field(metadata={"help": "the example's number in the dataset (1-based, in line order)"})
    total: int = field(metadata={"help": "examples in the dataset"})
    line: int = field(metadata={"help": "the record's line in the JSONL file"})
    jsonl_name: str = field(metadata={"help": "file name of the dataset"})
    status: str = field(metadata={"help": "the example's status (ok, or its worst finding)"})
    system: str = field(metadata={"help": "the record's system prompt (clipped at MAX_TEXT_CHARS)"})
    system_matches: bool = field(metadata={"help": "the system prompt is the config's"})
    user: str = field(metadata={"help": "the request (clipped)"})
    think: str = field(metadata={"help": "the reasoning (clipped)"})
    segments: tuple = field(metadata={"help": "the code segments: status, where found, text, links, diff rows"})
    covered: tuple = field(metadata={"help": "items the example covers whole, with links"})
    heading: str = field(metadata={"help": "number and what the example covers: the page heading and title"})
    lede: str = field(metadata={"help": "the request's first line"})
    findings: list = field(metadata={"help": "the example's findings, worst first, for their boxes"})
    rules_href: str = field(metadata={"help": "link to the findings page (its rule reference)"})
    raw: bytes = field(metadata={"help": "the record's exact line, shown in the copyable text area"})
    prev_href: str | None = field(metadata={"help": "link to the previous example, None on the first"})
    prev_number: int | None = field(metadata={"help": "number of the previous example"})
    next_href: str | None = field(metadata={"help": "link to the next example, None on the last"})
    next_number: int | None = field(metadata={"help": "number of the next example"})
    index_href: str = field(metadata={"help": "link to the examples table"})
    dataset_href: str = field(metadata={"help": "link to the dataset's overview"})
    download_href: str = field(metadata={"help": "link to the JSONL download"})
    change: dict | None = field(
        metadata={"help": "the 'changed in this comparison' box (build --compare), None without one"}
    )
