"""Plain data passed between the stages. Frozen where nothing should change after creation."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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
    digest: bytes = b""  # memo.line_digest(raw): how later builds recognise the line

    @property
    def key(self) -> str:
        return f"{self.dataset}:{self.line}"


@dataclass(frozen=True)
class Finding:
    rule: str  # stable rule id, e.g. "schema.system-prompt"
    severity: str  # "error" | "warning" | "info"
    path: str  # file the finding is about (dataset or source file)
    line: int  # 1-based line in that file (0 when the finding is about the whole file)
    message: str
    dataset: str = ""
    detail: str = ""  # optional multi-line detail (a diff)

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
    status: str  # "verbatim" | "modified" | "not-found"
    path: str = ""
    start_line: int = 0
    end_line: int = 0
    diff: str = ""  # unified diff against the closest source span, for "modified"


@dataclass(frozen=True)
class Coverage:
    """What one example covers."""

    full: tuple[str, ...]  # item idents wholly inside a located segment
    partial: tuple[str, ...]  # item idents cut by a segment boundary
    lines: tuple[tuple[str, int, int], ...]  # (path, start, end) per located segment


@dataclass
class Example:
    record: Record
    number: int  # 1-based position among the dataset's valid records
    think: str = ""
    code: str = ""
    segments: list[Segment] = field(default_factory=list)
    coverage: Coverage = Coverage((), (), ())
    findings: list[Finding] = field(default_factory=list)
    sizes: tuple[int, int, int] = (0, 0, 0)  # words in the request, words in the reasoning, code lines

    @property
    def status(self) -> str:
        sevs = {f.severity for f in self.findings}
        if "error" in sevs:
            return "error"
        if "warning" in sevs:
            return "warning"
        return "ok"
