"""Put a planned site into its folder, touching only what changed.

The plan maps each file of the site to a key that changes whenever its bytes would. The keys
of the last build are kept in a manifest in the work folder; the site's mark file carries the
manifest's digest. When the mark and the manifest agree, the site is exactly what the last build
left, so only files whose key changed are replaced (each by a rename: a reader never sees a
half-written file) and files no longer planned are removed. Otherwise (first build, a folder
someone replaced, a build interrupted half-way) the site is laid out afresh beside the old one
and swapped in with two renames.

The mark says "updating" while files are being replaced, so an interrupted update is never
taken for a finished one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable

import orjson

from .write import _safe_join, swap_in, temporary_name, write_atomic

MARK_TEXT = "written by python -m generator build; replaced on every build\n"
NEW_SUFFIX = ".generator-new-"  # beside the site while a new one is laid out (then the process id)


@dataclass
class Wanted:
    """One file of the site: its key, and where its bytes come from (one of path, data, make,
    stream)."""

    key: str
    path: Path | None = None  # copied (never hard-linked: an edit of the site must not reach the work folder)
    data: bytes | None = None
    make: Callable[[], bytes] | None = None  # called only when the file has to be written
    stream: Callable[[BinaryIO], None] | None = None  # or this, writing into the open file
    # For a copy keyed by what was read earlier (the dataset): the source's (size, mtime) then.
    # If the copy finds it changed, the key becomes "stale" and the next build copies again.
    source_stat: tuple[int, int] | None = None


def place(wanted: dict[str, Wanted], out: Path, manifest_path: Path, mark_name: str, previous: dict[str, str] | None) -> int:
    """Make `out` hold exactly `wanted`, given `previous` = previous_keys(…) (None: lay out
    afresh). Returns the number of files replaced or removed, or -1 when laid out afresh.
    The manifest is made after the files are written: a copy whose source changed meanwhile
    is recorded as stale (see Wanted.source_stat)."""
    if previous is None:
        tmp = out.with_name(f"{out.name}{NEW_SUFFIX}{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            for rel, w in wanted.items():
                _put_new(tmp, rel, w)
            manifest_bytes, mark_text = _manifest(wanted)
            (tmp / mark_name).write_text(mark_text)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        manifest_path.unlink(missing_ok=True)
        swap_in(tmp, out)
        _write(manifest_path, manifest_bytes)
        return -1
    # Copies of files from outside (the dataset) are read first, beside their place: if one
    # cannot be read, the build fails here with the site untouched.
    root = out.resolve()
    staged: dict[str, Path] = {}
    try:
        for rel, w in wanted.items():
            if w.source_stat is not None and previous.get(rel) != w.key:
                dest = _inside(_safe_join(out, rel), root)
                dest.parent.mkdir(parents=True, exist_ok=True)
                staged[rel] = temporary_name(dest)
                _fill(staged[rel], w)
    except BaseException as e:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
        if isinstance(e, OutsideSite):
            return place(wanted, out, manifest_path, mark_name, None)
        raise
    _write(out / mark_name, b"updating: this build was interrupted; the next one lays the site out afresh\n")
    try:
        changed = _update(out, wanted, previous, staged)
    except OSError:
        # The folder is not as the manifest says (a folder where a file was, a symlink out of
        # the site): lay the site out afresh instead.
        return place(wanted, out, manifest_path, mark_name, None)
    manifest_bytes, mark_text = _manifest(wanted)
    _write(manifest_path, manifest_bytes)
    _write(out / mark_name, mark_text.encode())
    return changed


def _manifest(wanted: dict[str, Wanted]) -> tuple[bytes, str]:
    manifest_bytes = orjson.dumps({rel: w.key for rel, w in wanted.items()}, option=orjson.OPT_SORT_KEYS)
    return manifest_bytes, MARK_TEXT + f"manifest {hashlib.sha256(manifest_bytes).hexdigest()}\n"


def _update(out: Path, wanted: dict[str, Wanted], previous: dict[str, str], staged: dict[str, Path]) -> int:
    root = out.resolve()
    changed = 0
    for rel, w in wanted.items():
        if rel in staged:
            os.replace(staged.pop(rel), _safe_join(out, rel))
            changed += 1
        elif previous.get(rel) != w.key:
            _put(out, rel, w, root)
            changed += 1
    for rel in previous.keys() - wanted.keys():
        _remove(out, rel, root)
        changed += 1
    return changed


def previous_keys(out: Path, manifest_path: Path, mark_name: str) -> dict[str, str] | None:
    """The last build's keys, when `out` is still exactly that build's site."""
    try:
        mark = (out / mark_name).read_text(encoding="utf-8")
        manifest = manifest_path.read_bytes()
    except (OSError, UnicodeDecodeError):
        return None
    if mark != MARK_TEXT + f"manifest {hashlib.sha256(manifest).hexdigest()}\n":
        return None
    try:
        keys = orjson.loads(manifest)
    except orjson.JSONDecodeError:
        return None
    return keys if isinstance(keys, dict) else None


def _put_new(root: Path, rel: str, w: Wanted) -> None:
    """Into a folder nobody reads yet: no temporary name needed."""
    dest = _safe_join(root, rel)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _fill(dest, w)


def _fill(path: Path, w: Wanted) -> None:
    if w.path is not None:
        shutil.copyfile(w.path, path)
        if w.source_stat is not None and file_stat(w.path) != w.source_stat:
            w.key = "stale"
        return
    with open(path, "wb", buffering=1 << 20) as fh:  # a stream writes many small pieces
        if w.stream is not None:
            w.stream(fh)
        else:
            fh.write(w.data if w.data is not None else w.make())


def file_stat(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


class OutsideSite(OSError):
    """A path of the site leads elsewhere once symbolic links are followed."""


def _inside(path: Path, resolved_root: Path) -> Path:
    """path, when it stays in the site once symbolic links are followed; else OutsideSite (the
    update then lays the site out afresh instead of writing or deleting elsewhere)."""
    if not path.parent.resolve().is_relative_to(resolved_root):
        raise OutsideSite(f"{path.parent}: leads out of the site (a symbolic link?)")
    return path


def _put(root: Path, rel: str, w: Wanted, resolved_root: Path) -> None:
    dest = _inside(_safe_join(root, rel), resolved_root)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(dest)
    tmp.unlink(missing_ok=True)
    _fill(tmp, w)
    if dest.is_dir() and not dest.is_symlink():  # was a folder in the last build
        shutil.rmtree(dest)
    os.replace(tmp, dest)


def _remove(root: Path, rel: str, resolved_root: Path) -> None:
    path = _inside(_safe_join(root, rel), resolved_root)
    path.unlink(missing_ok=True)
    parent = path.parent
    while parent != root:
        try:
            parent.rmdir()  # only when empty
        except OSError:
            break
        parent = parent.parent


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)
