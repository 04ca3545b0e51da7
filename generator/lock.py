"""The pinned source lock: facts about the source (hashes, spans, names), never its text.

With a lock the site builds without a checkout; with a checkout, `drift` compares the two.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from .hidden import code_point, find_hidden, visible
from .model import Finding, Item, Location, SourceFile, SourceIndex
from .rules import finding
from .write import write_atomic

LOCK_VERSION = 1
_ITEM_FIELDS = (
    "kind",
    "name",
    "start_line",
    "decl_line",
    "end_line",
    "start_byte",
    "end_byte",
    "sha256",
    "in_test",
    "parent",
    "lead_line",
)
_ITEM_TYPES = {"kind": str, "name": str, "sha256": str, "parent": str, "in_test": bool}  # the rest: int


def _check_types(f: dict) -> None:
    for key, kind in (("path", str), ("sha256", str), ("line_count", int)):
        if not isinstance(f[key], kind) or isinstance(f[key], bool) and kind is int:
            raise TypeError(f"file field {key!r} must be {kind.__name__}")
    for key in ("line_hashes", "norm_hashes", "identifiers"):
        if not isinstance(f[key], list) or not all(isinstance(x, str) for x in f[key]):
            raise TypeError(f"{f['path']}: {key!r} must be a list of strings")
    for it in f["items"]:
        for key in _ITEM_FIELDS:
            kind = _ITEM_TYPES.get(key, int)
            value = it[key]
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise TypeError(f"{f['path']}: item field {key!r} must be {kind.__name__}, got {value!r}")


class LockError(Exception):
    """A lock that cannot be read; the message names the file."""


def _check_ranges(f: dict, k: int) -> None:
    """Paths stay inside the source root; every line number lies within its file, whose line
    count is bounded by the hashes the lock carries (a count alone could claim 10**12 lines)."""
    rel = f["path"]
    where = f"files[{k}] ({rel!r})"
    parts = rel.split("/")
    if (
        not rel
        or rel.startswith("/")
        or "\\" in rel
        or any(p in ("", ".", "..") for p in parts)
        or any(ord(c) < 0x20 for c in rel)
    ):
        raise ValueError(f"{where}: path must be relative, inside the source root, without '..', '.' or empty parts")
    n = f["line_count"]
    if not (0 <= n == len(f["line_hashes"]) == len(f["norm_hashes"])):
        raise ValueError(f"{where}: line_count {n} must equal the number of line hashes ({len(f['line_hashes'])})")
    if find_hidden(rel):
        raise ValueError(f"files[{k}] ({visible(rel)!r}): path holds a hidden or control character")
    for it in f["items"]:
        for field in ("name", "kind", "parent"):
            if isinstance(it.get(field), str) and find_hidden(it[field]):
                raise ValueError(
                    f"{where}: item {visible(it['name'])!r}: its {field} holds a hidden or control character "
                    f"({', '.join(code_point(c) for c in find_hidden(it[field])[:3])})"
                )
        lines = (it["lead_line"], it["start_line"], it["decl_line"], it["end_line"])
        if not all(1 <= x <= n for x in lines) or not (
            it["lead_line"] <= it["start_line"] <= it["decl_line"] <= it["end_line"]
        ):
            raise ValueError(
                f"{where}: item {it['name']!r}: lines lead {lines[0]}, start {lines[1]}, decl {lines[2]}, end "
                f"{lines[3]} must satisfy 1 ≤ lead ≤ start ≤ decl ≤ end ≤ line_count ({n})"
            )
        if not (0 <= it["start_byte"] <= it["end_byte"]):
            raise ValueError(f"{where}: item {it['name']!r}: bytes {it['start_byte']}-{it['end_byte']} are not a range")


def lock_data(index: SourceIndex, repository: str, commit: str, files: list[str]) -> dict:
    return {
        "version": LOCK_VERSION,
        "repository": repository,
        "commit": commit,
        "files": [
            {
                "path": f.path,
                "sha256": f.sha256,
                "line_count": f.line_count,
                "items": [{k: getattr(i, k) for k in _ITEM_FIELDS} for i in f.items],
                "line_hashes": list(f.line_hashes),
                "norm_hashes": list(f.norm_hashes),
                "identifiers": sorted(f.identifiers),
            }
            for f in (index.files[p] for p in sorted(files) if p in index.files)
        ],
    }


def write_lock(path: Path, data: dict) -> None:
    """Write atomically (temp file + rename), deterministic bytes."""
    write_atomic(path, orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")


def read_lock(path: Path) -> tuple[SourceIndex, dict]:
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise LockError(f"{path}: no lock file (run `python -m generator lock --source-root DIR`)") from None
    except orjson.JSONDecodeError as e:
        raise LockError(f"{path}: not valid JSON ({e})") from None
    except OSError as e:
        raise LockError(f"{path}: cannot be read ({e.strerror})") from None
    try:
        if data.get("version") != LOCK_VERSION:
            raise LockError(
                f"{path}: lock version {data.get('version')!r} is not {LOCK_VERSION}; rewrite it "
                "with `python -m generator lock`"
            )
        files = {}
        for k, f in enumerate(data["files"]):
            _check_types(f)
            _check_ranges(f, k)
            if f["path"] in files:
                raise ValueError(f"files[{k}] ({f['path']!r}): listed twice")
            items = tuple(Item(path=f["path"], **{k: it[k] for k in _ITEM_FIELDS}) for it in f["items"])
            files[f["path"]] = SourceFile(
                path=f["path"],
                sha256=f["sha256"],
                line_count=f["line_count"],
                items=items,
                line_hashes=tuple(f["line_hashes"]),
                norm_hashes=tuple(f["norm_hashes"]),
                identifiers=frozenset(f["identifiers"]),
                text=None,
            )
    except LockError:
        raise
    except ValueError as e:
        raise LockError(f"{path}: {e}; rewrite it with `python -m generator lock`") from None
    except (KeyError, TypeError, AttributeError) as e:
        raise LockError(
            f"{path}: malformed lock ({type(e).__name__}: {e}); rewrite it with `python -m generator lock`"
        ) from None
    return SourceIndex(files, from_lock=True), data


def drift(lock: SourceIndex, source: SourceIndex, lock_path: Path) -> list[Finding]:
    """What changed in the source tree since the lock was written."""
    out: list[Finding] = []

    def add(rule: str, at: Location, msg: str) -> None:
        out.append(finding(rule, at, msg))

    for path in sorted(lock.files):
        old = lock.files[path]
        new = source.files.get(path)
        if new is None:
            add("drift.file-missing", Location.lock(lock_path), f"{path}: in the lock but not in the source root")
            continue
        if new.sha256 == old.sha256:
            continue
        add(
            "drift.file-changed",
            Location.source(path),
            f"{path}: sha256 differs from the lock ({old.sha256[:12]} → {new.sha256[:12]})",
        )
        new_items = {i.name: i for i in new.items}
        for item in old.items:
            cur = new_items.get(item.name)
            if cur is None:
                add(
                    "drift.item-gone",
                    Location.source(path, item.start_line),
                    f"{item.kind} {item.name} (lock lines {item.start_line}-{item.end_line}) no longer exists",
                )
            elif cur.sha256 != item.sha256:
                add(
                    "drift.item-changed",
                    Location.source(path, cur.start_line),
                    f"{item.kind} {item.name} changed (lock lines {item.start_line}-{item.end_line}, now "
                    f"{cur.start_line}-{cur.end_line})",
                )
            elif (cur.start_line, cur.end_line) != (item.start_line, item.end_line):
                add(
                    "drift.item-moved",
                    Location.source(path, cur.start_line),
                    f"{item.kind} {item.name} moved from lines {item.start_line}-{item.end_line} to "
                    f"{cur.start_line}-{cur.end_line}",
                )
        old_names = {i.name for i in old.items}
        for item in new.items:
            if item.name not in old_names:
                add(
                    "drift.item-new",
                    Location.source(path, item.start_line),
                    f"{item.kind} {item.name} is not in the lock",
                )
    for path in sorted(set(source.files) - set(lock.files)):
        add(
            "drift.file-new",
            Location.source(path),
            f"{path}: in scope but not in the lock (run `python -m generator lock`)",
        )
    return out
