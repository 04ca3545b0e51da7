"""What earlier builds learnt about each line of a dataset, reused while its inputs stay the same.

A dataset line is known by a digest of its bytes. For each digest the memo keeps what depends
on those bytes alone (loader reports, sizes, an identical-record digest, request shingles,
reasoning phrase hashes) and,
under a context digest (generator code, the dataset's config and lock, the source files'
hashes), the per-record findings of the schema and reasoning rules. It also keeps the
near-duplicate pairs of the last run, so one edited request is compared with the others
instead of every request with every other.

The memo is a cache: it lives in the build's work folder, is read only by `build`/`serve`,
and anything unreadable or from another version is ignored (the build then does all the work).
It holds plain built-in values only and is read with an unpickler that refuses every class.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .write import write_atomic

FORMAT = 2


def line_digest(raw: bytes) -> bytes:
    return hashlib.sha256(raw).digest()[:16]  # SHA-256 has CPU instructions on most machines


@dataclass
class LineMemo:
    """What one line's bytes determine (given the generator's code), whatever the context."""

    reports: tuple[tuple[str, str, str], ...]  # loader line reports (rule, severity, message)
    valid: bool  # a usable record (not skipped by the loader)
    extra_keys: tuple[str, ...] = ()
    content: bytes | None = None  # digest of system, user and assistant (identical-record check); None until a check ran
    shingles: bytes = b""  # the request's shingle hashes, as packed 64-bit integers
    sizes: tuple[int, int, int] = (0, 0, 0)  # words in the request, words in the reasoning, code lines
    phrases: bytes = b""  # the reasoning's phrase hashes (reasoning.boilerplate), packed signed 64-bit
    negated: bytes = b""  # the reasoning's negated-word hashes (reasoning.boilerplate), packed alike

    def as_tuple(self) -> tuple:
        return (self.reports, self.valid, self.extra_keys, self.content, self.shingles, self.sizes, self.phrases, self.negated)


@dataclass
class Memo:
    context: str = ""  # digest of everything besides the line that per-record findings depend on
    lines: dict[bytes, LineMemo] = field(default_factory=dict)
    findings: dict[bytes, tuple] = field(default_factory=dict)  # line digest → ((rule, severity, message, detail), …)
    near: dict | None = None  # the last near-duplicate run (see checks.check_duplicates)
    hits: int = 0  # lines answered from an earlier build (this run)

    def findings_for(self, digest: bytes, context: str):
        return self.findings.get(digest) if context == self.context else None

    def to_bytes(self) -> bytes:
        payload = {
            "format": FORMAT,
            "code": code_digest(),
            "context": self.context,
            "lines": {d: m.as_tuple() for d, m in self.lines.items()},
            "findings": self.findings,
            "near": self.near,
        }
        return pickle.dumps(payload, protocol=5)


class _BuiltinsOnly(pickle.Unpickler):
    def find_class(self, module, name):  # no class is ever needed: refuse them all
        raise pickle.UnpicklingError(f"refusing {module}.{name}")


def read_memo(path: Path) -> Memo:
    """The memo at path, or an empty one when it is missing, unreadable or of another format."""
    try:
        data = _BuiltinsOnly(io.BytesIO(path.read_bytes())).load()
        # Everything in a memo was computed by the generator's code: another version's is void.
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("code") != code_digest():
            return Memo()
        lines = {d: LineMemo(*t) for d, t in data["lines"].items()}
        return Memo(data["context"], lines, data["findings"], data["near"])
    except Exception:  # a cache: any damage means starting from nothing
        return Memo()


def write_memo(path: Path, memo: Memo) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, memo.to_bytes())


@lru_cache(maxsize=1)
def code_digest() -> str:
    """The generator's own files (code, queries, templates) and the versions of the libraries
    that shape its output: a change to any of them invalidates every memo and cached page."""
    from importlib.metadata import PackageNotFoundError, version

    h = hashlib.sha256(sys.version.encode())  # str.lower and unicodedata follow Python's Unicode
    package = Path(__file__).parent
    for path in sorted(package.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".scm", ".j2"):
            h.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    for dist in ("tree-sitter", "tree-sitter-rust", "orjson", "Pygments", "Jinja2", "MarkupSafe"):
        try:
            h.update(f"{dist}=={version(dist)};".encode())
        except PackageNotFoundError:
            h.update(f"{dist}==?;".encode())
    return h.hexdigest()


def context_digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for p in parts:
        b = p.encode() if isinstance(p, str) else p
        h.update(len(b).to_bytes(8, "little") + b)
    return h.hexdigest()
