"""How generated files are written, shared by the modules that write them: a file replaced in
one step (a reader never sees half of it), a folder made to hold exactly a set of files
(writing only those whose bytes changed, so mtimes mark what changed, and removing the rest),
two folders swapped in one step, a file or folder removed without following a link.

Who writes what (most through these functions): mkdocs_site.py the docs folder and
mkdocs.yml, place.py the site, state.py the files kept between builds, folders.py the work
folder's mark and lock, searchdb.py the search database, lock.py a dataset's lock file."""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import stat
from pathlib import Path

OLD_SUFFIX = ".generator-old-"  # beside a replaced folder until it is removed (then the process id)


def temporary_name(path: Path) -> Path:
    """Beside path, a name no generated or hand-written file has: written, then renamed over
    path, so a reader never sees a half-written file."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def write_atomic(path: Path, data: bytes) -> None:
    tmp = temporary_name(path)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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
    for dirpath, _dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames:
            full = os.path.join(dirpath, name)
            if full not in keep:
                os.remove(full)
                removed += 1
        if dirpath != str(root) and not os.listdir(dirpath):
            os.rmdir(dirpath)
    return written, removed


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under root (the hand-written docs), by '/'-separated relative path. A
    symbolic link to a file inside root is read; a link that leads out of root, or to a folder,
    is refused (OutputError naming it): docs/ arrives in pull requests, and a link to
    /etc/passwd must not be published."""
    out: dict[str, bytes] = {}
    if not root.is_dir():
        return out
    real_root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root):  # never descends into a linked folder
        here = Path(dirpath)
        for name in sorted(dirnames + filenames):
            path = here / name
            if not path.is_symlink():
                continue
            target = path.resolve()
            if not target.is_relative_to(real_root):
                raise OutputError(
                    f"{path}: a symbolic link that leads out of {root.name}/ (to {target}); put the file itself there"
                )
            if not target.is_file():
                raise OutputError(
                    f"{path}: a symbolic link to a folder or to nothing; only links to files inside "
                    f"{root.name}/ are followed"
                )
        for name in filenames:
            path = here / name
            if path.is_file():
                out[path.relative_to(root).as_posix()] = path.read_bytes()
    return dict(sorted(out.items()))


RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def rename_exchange(a: Path, b: Path) -> None:
    """Swap two paths in one atomic step (Linux renameat2 with RENAME_EXCHANGE): a reader sees
    the old or the new folder, never neither. NotImplementedError where the C library or the
    file system has no such call."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        raise NotImplementedError from None
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) != 0:
        err = ctypes.get_errno()
        if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
            raise NotImplementedError
        raise OSError(err, os.strerror(err), str(b))


def swap_in(new: Path, dest: Path) -> None:
    """Replace dest with new: one atomic exchange where the system has one, else two renames
    (dest is then missing for a moment). dest is never half-written. An OSError (dest is a
    mount point, its parent is not writable…) leaves dest as it was."""
    if not os.path.lexists(dest):
        os.replace(new, dest)
        return
    try:
        rename_exchange(new, dest)
    except NotImplementedError:
        pass
    else:
        shutil.rmtree(new, ignore_errors=True)  # now the old folder
        return
    old = dest.with_name(f"{dest.name}{OLD_SUFFIX}{os.getpid()}")
    os.replace(dest, old)
    try:
        os.replace(new, dest)
    except OSError:
        os.replace(old, dest)
        raise
    shutil.rmtree(old, ignore_errors=True)


def discard(path: Path) -> None:
    """Remove a folder or file of ours; a symbolic link is removed, never followed."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
