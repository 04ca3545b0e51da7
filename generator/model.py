"""Plain data passed between the stages: frozen dataclasses (a stage makes new values instead of
changing what it was given) and string enums (written exactly as their values)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import DatasetConfig
    from .memo import Memo


class Severity(StrEnum):
    """How much a finding matters, most first. A StrEnum: it prints, compares and serialises as
    its value, so text, JSON and pages spell it as before."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def github_level(self) -> str:
        """The GitHub workflow command that annotates at this level."""
        return "notice" if self == Severity.INFO else self.value

    @property
    def rank(self) -> int:
        """0 for the most severe: the order of findings in every list and table."""
        return _SEVERITY_RANK[self]

    @property
    def admonition(self) -> str:
        """The mkdocs-material admonition a finding of this severity is shown in."""
        return "failure" if self == Severity.ERROR else self.value


_SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}


OFF = "off"  # a config's [severity] may also turn a rule off


class Status(StrEnum):
    """An example's state: that of its worst finding."""

    ERROR = "error"
    WARNING = "warning"
    OK = "ok"


class Match(StrEnum):
    """How a code segment was found in the source."""

    VERBATIM = "verbatim"  # byte for byte
    MODIFIED = "modified"  # at the closest span, with changes
    NOT_FOUND = "not-found"


class Place(StrEnum):
    """What a finding's path names."""

    DATASET = "dataset"  # the dataset's JSONL (line 0: the whole file)
    SOURCE = "source"  # a source file: relative to the source root, or joined to it when unusable
    CONFIG = "config"  # the dataset's TOML config
    LOCK = "lock"  # the dataset's lock


@dataclass(frozen=True)
class Record:
    """One valid ChatML line of a dataset."""

    dataset: str  # dataset stem, e.g. "retry_state_machine"
    path: Path  # the JSONL file
    line: int  # 1-based line number in the file
    raw: bytes  # the exact bytes of the line, without its line ending
    system: str
    user: str
    assistant: str
    extra_keys: tuple[str, ...] = ()  # keys beyond the schema, reported as info
    digest: bytes = b""  # load.line_digest(raw): how later builds recognise the line

    @property
    def key(self) -> str:
        return f"{self.dataset}:{self.line}"


@dataclass(frozen=True)
class Location:
    """Where a finding points: a file of some Place, as named in messages, and a line in it."""

    place: Place
    path: str
    line: int = 0  # 1-based; 0 when the finding is about the whole file

    @classmethod
    def dataset(cls, path: Path | str, line: int = 0) -> Location:
        return cls(Place.DATASET, str(path), line)

    @classmethod
    def source(cls, path: str, line: int = 0) -> Location:
        return cls(Place.SOURCE, path, line)

    @classmethod
    def config(cls, path: Path | str, line: int = 0) -> Location:
        return cls(Place.CONFIG, str(path), line)

    @classmethod
    def lock(cls, path: Path | str) -> Location:
        return cls(Place.LOCK, str(path))


@dataclass(frozen=True)
class Finding:
    """One thing a rule reports, at its (possibly overridden) severity."""

    rule: str  # stable rule id, e.g. "schema.system-prompt"
    severity: Severity
    at: Location
    message: str
    dataset: str = ""
    detail: str = ""  # optional multi-line detail (a diff)

    @property
    def path(self) -> str:
        return self.at.path

    @property
    def line(self) -> int:
        return self.at.line

    @property
    def on_dataset(self) -> bool:
        return self.at.place == _DATASET

    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True)
class Item:
    """One Rust item of a source file, with its doc comments and attributes attached."""

    path: str  # source path relative to the source root, "/"-separated
    kind: str  # use, fn, struct, enum, trait, impl, const, static, type, macro, mod
    name: str  # qualified name: "Retry::run", "impl<'a, Re> Retry<'a, Re>", "use tracing::warn"
    start_line: int  # first line, doc comments and attributes included
    decl_line: int  # line of the item keyword itself
    end_line: int
    start_byte: int
    end_byte: int
    sha256: str  # of the item's whole lines
    in_test: bool = False  # inside (or itself) a #[cfg(test)] item
    parent: str = ""  # qualified name of the enclosing item, "" at file level
    lead_line: int = 0  # first line of plain // comments directly above (== start_line if none)

    @property
    def ident(self) -> str:
        return f"{self.path}::{self.name}"

    @property
    def line_count(self) -> int:
        return self.end_line - self.start_line + 1


@dataclass(frozen=True)
class SourceFile:
    path: str
    sha256: str
    line_count: int
    items: tuple[Item, ...]
    line_hashes: tuple[str, ...]  # short hash per line, exact bytes
    norm_hashes: tuple[str, ...]  # short hash per line, whitespace-normalised
    identifiers: frozenset[str] = frozenset()
    text: str | None = None  # None when loaded from the lock (no checkout)

    def lines(self) -> list[str]:
        return self.text.split("\n") if self.text is not None else []


@dataclass(frozen=True)
class SourceIndex:
    files: dict[str, SourceFile]  # by path
    from_lock: bool = False

    def items(self):
        for path in sorted(self.files):
            yield from self.files[path].items


@dataclass(frozen=True)
class Segment:
    """A run of code lines from an example located in the source."""

    index: int  # 0-based position within the example's code
    text: str
    code_start: int  # 0-based line offset of the segment within the code block
    status: Match
    path: str = ""
    start_line: int = 0
    end_line: int = 0
    diff: str = ""  # unified diff against the closest source span, for Match.MODIFIED


@dataclass(frozen=True)
class Coverage:
    """What one example covers."""

    full: tuple[str, ...]  # item idents wholly inside a located segment
    partial: tuple[str, ...]  # item idents cut by a segment boundary
    lines: tuple[tuple[str, int, int], ...]  # (path, start, end) per located segment


@dataclass(frozen=True)
class Example:
    record: Record
    number: int  # 1-based position among the dataset's valid records
    think: str = ""
    code: str = ""
    segments: tuple[Segment, ...] = ()
    coverage: Coverage = Coverage((), (), ())
    findings: tuple[Finding, ...] = ()
    sizes: tuple[int, int, int] = (0, 0, 0)  # words in the request, words in the reasoning, code lines

    @property
    def status(self) -> Status:
        if not self.findings:
            return _OK  # (module constants: an enum member's lookup is slow, and this runs per page)
        sevs = {f.severity for f in self.findings}
        if _ERROR in sevs:
            return _STATUS_ERROR
        if _WARNING in sevs:
            return _STATUS_WARNING
        return _OK


_OK, _STATUS_ERROR, _STATUS_WARNING = Status.OK, Status.ERROR, Status.WARNING
_ERROR, _WARNING = Severity.ERROR, Severity.WARNING
_DATASET = Place.DATASET


def is_target(config: DatasetConfig, item: Item) -> bool:
    """Whether the dataset means to cover `item` (what coverage counts): a scoped file's
    non-`use` item that the scope names, not marked out, not test code when that is excluded."""
    c = config
    return (
        item.path in c.scope_files
        and item.kind != "use"
        and c.in_scope(item.ident)
        and not c.is_out(item.ident)
        and not (c.exclude_test_modules and item.in_test)
    )


def target_items(config: DatasetConfig, index: SourceIndex) -> list[Item]:
    return [i for i in index.items() if is_target(config, i)]


@dataclass(frozen=True, kw_only=True)
class DatasetResult:
    """One dataset through every stage: what `check` prints and `build` renders."""

    config: DatasetConfig
    examples: list[Example]
    findings: list[Finding]  # every finding of this dataset, per-record ones included
    index: SourceIndex  # what the examples were linked against (lock when present)
    source: SourceIndex | None  # the checkout's index (with text) when a source root was given
    covered: dict[str, list[str]]  # item ident → example keys that cover it wholly
    partly: dict[str, list[str]]  # item ident → example keys that cover part of it
    lines_covered: dict[str, set[int]]  # source path → covered line numbers
    lock_present: bool = False
    memo: Memo | None = None  # what this run learnt, for the next build (build saves it)
    file_digest: str = ""  # of the dataset file's bytes as loaded
    file_stat: tuple[int, int] | None = None  # its (size, mtime) just before loading
    card: str | None = None  # the dataset card's Markdown (README.md beside the dataset), if any

    def text_for(self, path: str) -> str | None:
        """Source text usable for pages: only when it is the pinned (locked) text."""
        if self.source is None or path not in self.source.files or path not in self.index.files:
            return None
        src = self.source.files[path]
        if self.index.files[path].sha256 != src.sha256:
            return None
        return src.text
