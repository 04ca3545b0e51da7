"""The only writer of generated files. Writes a file only when its bytes change (so mtimes
mark what changed) and removes generated files that no longer belong to the site."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


OLD_SUFFIX = ".generator-old-"  # beside a replaced folder until it is removed (then the process id)


def temporary_name(path: Path) -> Path:
    """Beside path, a name no generated or hand-written file has: written, then renamed over
    path, so a reader never sees a half-written file."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def write_atomic(path: Path, data: bytes) -> None:
    tmp = temporary_name(path)
    tmp.write_bytes(data)
    os.replace(tmp, path)


class OutputError(Exception):
    pass


def _safe_join(root: Path, rel: str) -> Path:
    if rel.startswith("/") or "\\" in rel or any(p in ("", ".", "..") for p in rel.split("/")):
        raise OutputError(f"refusing to write outside the build folder: {rel!r}")
    return root / rel


def sync_tree(root: Path, files: dict[str, bytes]) -> tuple[int, int]:
    """Make `root` hold exactly `files` (docs path → bytes). Returns (written, removed)."""
    root.mkdir(parents=True, exist_ok=True)
    written = 0
    for rel in sorted(files):
        path = _safe_join(root, rel)
        data = files[rel]
        try:
            if path.stat().st_size == len(data) and path.read_bytes() == data:
                continue
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
        written += 1
    removed = 0
    keep = {str(_safe_join(root, rel)) for rel in files}
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames:
            full = os.path.join(dirpath, name)
            if full not in keep:
                os.remove(full)
                removed += 1
        if dirpath != str(root) and not os.listdir(dirpath):
            os.rmdir(dirpath)
    return written, removed


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under root (the hand-written docs), by '/'-separated relative path."""
    out: dict[str, bytes] = {}
    if not root.is_dir():
        return out
    for path in sorted(root.rglob("*")):
        if path.is_file():
            out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out


def swap_in(new: Path, dest: Path) -> None:
    """Replace dest with new in two renames: dest is never half-written."""
    old = dest.with_name(f"{dest.name}{OLD_SUFFIX}{os.getpid()}")
    if dest.exists():
        os.replace(dest, old)
    try:
        os.replace(new, dest)
    except OSError:
        if old.exists():
            os.replace(old, dest)
        raise
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)
