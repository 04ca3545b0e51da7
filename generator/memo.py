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
Its file (state/<dataset>.memo) is read and written by state.py.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .load import LineMemo


@dataclass
class Memo:
    context: str = ""  # digest of everything besides the line that per-record findings depend on
    lines: dict[bytes, LineMemo] = field(default_factory=dict)
    findings: dict[bytes, tuple] = field(default_factory=dict)  # line digest → ((rule, severity, message, detail), …)
    near: dict | None = None  # the last near-duplicate run (see checks.check_duplicates)
    hits: int = 0  # lines answered from an earlier build (this run)

    def findings_for(self, digest: bytes, context: str):
        return self.findings.get(digest) if context == self.context else None


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
