"""Put a planned site into its folder, touching only what changed.

The plan maps each file of the site to a key that changes whenever its bytes would. The keys
of the last build are kept in a manifest in the work folder; the site's mark file carries the
manifest's digest (state.py reads and writes both). When the mark and the manifest agree, the
site is exactly what the last build left, so only files whose key changed are replaced and
files no longer planned are removed.
Otherwise (first build, a folder someone replaced, a build interrupted half-way) the site is
laid out afresh.

Every placement has two phases:

1. Render: every file to be written is written under a temporary folder (the new site beside
   `out`, or `out/.generator-stage-PID` when updating or when `out` cannot be swapped). Any
   failure removes that folder and leaves the site as it was (SiteUnchanged).
2. Commit: the mark is set to "updating" (the journal: an interrupted commit is never taken
   for a finished one, and the next build lays the site out afresh), then only renames and
   removals follow, then the manifest and the final mark.

A fresh layout swaps the new folder in with one atomic exchange. Where `out` cannot be
swapped (a symbolic link, which keeps pointing at its target; a mount point; a parent that is
not writable) it is laid out in place the same two-phase way, removing what is not planned.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

from . import halves, state
from .write import OutputError, _safe_join, discard, swap_in

NEW_SUFFIX = ".generator-new-"  # beside the site while a new one is laid out (then the process id)
STAGE_PREFIX = ".generator-stage-"  # in the site while changed files are rendered (then the process id)
# A rename of `out` itself failing with one of these means: lay the site out in place instead.
CANNOT_SWAP = {errno.EBUSY, errno.EACCES, errno.EPERM, errno.EXDEV, errno.EROFS}


@dataclass
class Wanted:
    """One file of the site: its key, and where its bytes come from (one of path, data, make)."""

    key: str
    path: Path | None = None  # copied (never hard-linked: an edit of the site must not reach the work folder)
    data: bytes | None = None
    make: Callable[[], bytes] | None = None  # called only when the file has to be written
    # For a copy of a file still being written (the search database, on its thread): called
    # first, it returns once the file is complete.
    ready: Callable[[], object] | None = None
    # For a copy keyed by what was read earlier (the dataset): the source's (size, mtime) then.
    # If the copy finds it changed, the key becomes "stale" and the next build copies again.
    source_stat: tuple[int, int] | None = None
    # make needs nothing but what is in memory (no thread, no file still being written, no
    # change to shared state): a forked child may call it (see _render_in_two)
    pure: bool = False


class SiteUnchanged(OutputError):
    """Rendering or writing a file failed in the first phase: nothing in the site changed.
    The message is one line and names the site file."""


def place(wanted: dict[str, Wanted], out: Path, manifest_path: Path, previous: dict[str, str] | None) -> int:
    """Make `out` hold exactly `wanted`, given `previous` = state.previous_keys(…) (None: lay out
    afresh). Returns the number of files replaced or removed, or -1 when laid out afresh.
    The manifest is made after the files are written: a copy whose source changed meanwhile
    is recorded as stale (see Wanted.source_stat)."""
    if previous is not None:
        try:
            return _update(wanted, out, manifest_path, previous)
        except OutsideSite:  # found before anything in the site changed
            pass
    return _lay_out(wanted, out, manifest_path)


def _update(wanted: dict[str, Wanted], out: Path, manifest_path: Path, previous: dict[str, str]) -> int:
    root = out.resolve()
    changed = [rel for rel, w in wanted.items() if previous.get(rel) != w.key]
    gone = sorted(previous.keys() - wanted.keys())
    for rel in changed + gone:
        _inside(_safe_join(out, rel), root)
    stage = root / f"{STAGE_PREFIX}{os.getpid()}"
    _render(stage, {rel: wanted[rel] for rel in changed}, out)
    _begin_commit(out, stage)
    try:
        for rel in gone:
            _remove(out, rel, root)
        for rel in changed:
            _move(stage / rel, _inside(_safe_join(out, rel), root))
    except OSError:
        # The folder is not as the manifest says (a folder where a file was, a symlink out of
        # the site): lay the site out afresh instead.
        discard(stage)
        try:
            return _lay_out(wanted, out, manifest_path)
        except SiteUnchanged as e:  # the site is half-updated now, and marked so
            raise OutputError(f"{e}; the next build lays {out}/ out afresh") from e
    discard(stage)
    _finish(wanted, out, manifest_path)
    return len(changed) + len(gone)


def _lay_out(wanted: dict[str, Wanted], out: Path, manifest_path: Path) -> int:
    """The whole site afresh: built beside `out` and swapped in, or, where `out` cannot be
    swapped, placed into it."""
    if not out.is_symlink() and not _is_mount(out):
        tmp = out.with_name(f"{out.name}{NEW_SUFFIX}{os.getpid()}")
        discard(tmp)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp.mkdir()
        except OSError as e:
            if e.errno not in CANNOT_SWAP:
                raise
        else:
            _render(tmp, wanted, out, made=True)
            manifest, mark = _manifest(wanted)
            try:
                state.write_mark(tmp, mark)
            except OSError as e:
                discard(tmp)
                raise _cannot_write(out / state.SITE_MARK, e) from None
            state.forget_manifest(manifest_path)
            try:
                swap_in(tmp, out)
            except OSError as e:
                discard(tmp)
                if e.errno not in CANNOT_SWAP:
                    raise
            else:
                state.write_manifest(manifest_path, manifest)
                return -1
    return _lay_out_in_place(wanted, out, manifest_path)


def _is_mount(path: Path) -> bool:
    """A mount point, bind mounts of the same file system included (os.path.ismount misses
    those); a rename of one fails with EBUSY."""
    if os.path.ismount(path):
        return True
    try:
        with open("/proc/self/mountinfo", "rb") as fh:
            points = {line.split(b" ")[4] for line in fh if line.count(b" ") >= 5}
    except OSError:
        return False
    # mountinfo escapes space, tab, newline and backslash as octal
    target = (
        os.fsencode(os.path.realpath(path))
        .replace(b"\\", b"\\134")
        .replace(b" ", b"\\040")
        .replace(b"\t", b"\\011")
        .replace(b"\n", b"\\012")
    )
    return target in points


def _lay_out_in_place(wanted: dict[str, Wanted], out: Path, manifest_path: Path) -> int:
    """Afresh, into `out` itself: render everything into a stage folder inside it, then move
    each file to its place (replacing whatever is there, links included, never following
    one) and remove everything not planned."""
    out.resolve().mkdir(parents=True, exist_ok=True)
    root = out.resolve()
    stage = root / f"{STAGE_PREFIX}{os.getpid()}"
    _render(stage, wanted, out)
    state.forget_manifest(manifest_path)
    _begin_commit(root, stage)
    for rel in wanted:
        dest = _safe_join(root, rel)
        _make_parents(root, dest)
        _move(stage / rel, dest)
    discard(stage)
    _remove_unplanned(root, set(wanted) | {state.SITE_MARK})
    _finish(wanted, root, manifest_path)
    return -1


def _render(folder: Path, files: dict[str, Wanted], out: Path, made: bool = False) -> None:
    """Phase one: write `files` under `folder` (a fresh one, unless `made`). On any failure
    the folder goes and SiteUnchanged (or the source's own OSError) is raised. Many rendered
    files are shared with a second process (see _render_in_two)."""
    if not made:
        discard(folder)
        folder.mkdir()
    try:
        made_dirs = {folder}
        for rel in files:  # every folder first: the two processes below never race to make one
            parent = _safe_join(folder, rel).parent
            if parent not in made_dirs:
                parent.mkdir(parents=True, exist_ok=True)
                made_dirs.add(parent)
        pure = [rel for rel, w in files.items() if w.pure and w.make is not None]
        if len(pure) >= PARALLEL_AT and hasattr(os, "fork"):
            half = set(pure[len(pure) // 2 :])
            _render_in_two(folder, files, out, half)
        else:
            _fill_all(folder, files, out)
    except BaseException:
        discard(folder)
        raise


# At least this many pure files to render (example pages): half of them are rendered by a forked
# child, on the second core (rendering is Python: one process holds one core). Fewer are not
# worth a fork.
PARALLEL_AT = 400


def _fill_all(folder: Path, files: dict[str, Wanted], out: Path) -> None:
    for rel, w in files.items():
        _fill(_safe_join(folder, rel), w, out / rel)


def _render_in_two(folder: Path, files: dict[str, Wanted], out: Path, half: set[str]) -> None:
    """Render the files named in `half` (pure ones: see Wanted.pure) in a forked child while
    this process renders the rest (copies, the search database its thread writes). The child
    writes only its own files into `folder` and reports a failure as JSON on its pipe
    (halves.fork). If this side fails, the child is killed before the folder goes."""
    mine = {rel: w for rel, w in files.items() if rel not in half}
    theirs = {rel: files[rel] for rel in half}

    def render_theirs() -> bytes:
        try:
            _fill_all(folder, theirs, out)
        except SiteUnchanged as e:
            return orjson.dumps({"site": str(e)})
        except OSError as e:
            return orjson.dumps({"errno": e.errno, "strerror": e.strerror, "filename": str(e.filename)})
        except Exception as e:
            return orjson.dumps({"site": f"{folder}: rendering failed ({type(e).__name__})"})
        return b""

    pid, child_report = halves.fork(render_theirs)
    with child_report:
        try:
            _fill_all(folder, mine, out)
            report = child_report.read()  # the child's failure, if any (EOF when it ends)
        except BaseException:
            halves.kill(pid)
            raise
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) == 0 and not report:
        return
    ended = f"{out}/: the process rendering half of its pages ended (status {status})"
    failure = orjson.loads(report) if report else {"site": ended}
    if "errno" in failure:
        raise OSError(failure["errno"], failure["strerror"], failure["filename"])
    raise SiteUnchanged(failure["site"])


def _begin_commit(site: Path, stage: Path) -> None:
    """Mark the site as being updated (the journal of phase two); if even that cannot be
    written, the stage goes and the site is as it was."""
    try:
        state.write_mark(site, state.UPDATING)
    except OSError as e:
        discard(stage)
        raise _cannot_write(site / state.SITE_MARK, e) from None


def _finish(wanted: dict[str, Wanted], out: Path, manifest_path: Path) -> None:
    manifest, mark = _manifest(wanted)
    state.write_manifest(manifest_path, manifest)
    state.write_mark(out, mark)


def _manifest(wanted: dict[str, Wanted]) -> tuple[bytes, bytes]:
    return state.manifest_and_mark({rel: w.key for rel, w in wanted.items()})


def _fill(path: Path, w: Wanted, shown: Path) -> None:
    """Write w's bytes to path. A failure to write is SiteUnchanged naming `shown` (the file's
    place in the site), a failure to render is SiteUnchanged too; a source that cannot be read
    raises its own OSError, naming it."""
    if w.path is not None:
        if w.ready is not None:
            _rendering(shown, w.ready)
        _copy(w.path, path, shown)
        if w.source_stat is not None and file_stat(w.path) != w.source_stat:
            w.key = "stale"
        return
    data = w.data if w.data is not None else _rendering(shown, w.make)
    _write_file(path, shown, lambda sink: sink.write(data))


def _rendering(shown: Path, fn, *args):
    """fn(*args); a template or other programming error becomes one line naming the file."""
    try:
        return fn(*args)
    except (OSError, SiteUnchanged, KeyboardInterrupt, MemoryError):
        raise
    except Exception as e:
        detail = (str(e).splitlines() or [""])[0]
        raise SiteUnchanged(f"{shown}: could not be rendered ({type(e).__name__}: {detail})") from e


class _Sink:
    """A file open for writing whose write errors name the site file."""

    def __init__(self, fh, shown: Path):
        self.fh, self.shown = fh, shown

    def write(self, data) -> int:
        try:
            return self.fh.write(data)
        except OSError as e:
            raise _cannot_write(self.shown, e) from None


def _cannot_write(shown: Path, e: OSError) -> SiteUnchanged:
    return SiteUnchanged(f"{shown}: cannot be written: {e.strerror or e}")


def _write_file(path: Path, shown: Path, fill) -> None:
    try:
        fh = open(path, "wb", buffering=1 << 20)  # a stream writes many small pieces
    except OSError as e:
        raise _cannot_write(shown, e) from None
    done = False
    try:
        fill(_Sink(fh, shown))
        done = True
    finally:
        try:
            fh.close()
        except OSError as e:
            if done:
                raise _cannot_write(shown, e) from None


# Copies from this size on get their blocks first and are copied by the kernel.
BIG_COPY = 1 << 20


def _copy(source: Path, path: Path, shown: Path) -> None:
    """Copy source to path. A big file's blocks are allocated before it is written: ext4 then
    has nothing left to allocate when the copy is renamed over the last build's file (with
    blocks still to allocate, the rename writes the whole file out there and then: 30 ms for
    the 56 MB database at 10,000 records)."""
    with open(source, "rb") as src:
        size = os.fstat(src.fileno()).st_size

        def fill(sink: _Sink) -> None:
            copied = _kernel_copy(src, sink.fh, size) if size >= BIG_COPY else 0
            if copied:
                src.seek(copied)
                sink.fh.seek(copied)
            while True:
                try:
                    chunk = src.read(1 << 20)
                except OSError as e:
                    raise OSError(e.errno, e.strerror, str(source)) from None
                if not chunk:
                    break
                sink.write(chunk)
            if size >= BIG_COPY:  # the source may have shrunk meanwhile: no allocated tail is left
                try:
                    sink.fh.flush()
                    os.ftruncate(sink.fh.fileno(), sink.fh.tell())
                except OSError as e:
                    raise _cannot_write(sink.shown, e) from None

        _write_file(path, shown, fill)


def _kernel_copy(src, dest, size: int) -> int:
    """Allocate dest's blocks and copy what the kernel will of src into it (copy_file_range);
    returns the bytes copied. Where either step is not supported, or fails, the caller's plain
    copy takes over from there (and reports a failure itself)."""
    copied = 0
    try:
        fd = dest.fileno()
        os.posix_fallocate(fd, 0, size)
        while copied < size:
            n = os.copy_file_range(src.fileno(), fd, size - copied)
            if n == 0:
                break
            copied += n
    except (OSError, AttributeError, ValueError):  # io.UnsupportedOperation is both of the last two
        pass
    return copied


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


def _move(src: Path, dest: Path) -> None:
    """Phase two: a rendered file to its place (a folder there, left by the last build, goes)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_dir() and not dest.is_symlink():
        shutil.rmtree(dest)
    os.replace(src, dest)


def _make_parents(root: Path, dest: Path) -> None:
    """Every folder between root and dest a real folder: a file or a symbolic link in the way
    is removed (never followed)."""
    here = root
    for part in dest.relative_to(root).parts[:-1]:
        here = here / part
        try:
            st = os.lstat(here)
        except FileNotFoundError:
            here.mkdir()
            continue
        if not stat.S_ISDIR(st.st_mode):
            here.unlink()
            here.mkdir()


def _remove_unplanned(root: Path, keep: set[str]) -> None:
    """Remove every file, link and then empty folder under root whose path is not in keep;
    links are removed, never followed. Bounded by the folder's size."""
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        prefix = "" if rel_dir == "." else rel_dir + "/"
        for name in list(dirnames):
            if os.path.islink(os.path.join(dirpath, name)):
                os.unlink(os.path.join(dirpath, name))
                dirnames.remove(name)
        for name in filenames:
            if prefix + name not in keep:
                os.unlink(os.path.join(dirpath, name))
    for dirpath, _, _ in os.walk(root, topdown=False):
        if dirpath != str(root):
            try:
                os.rmdir(dirpath)  # only when empty
            except OSError:
                pass


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
