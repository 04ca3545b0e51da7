"""The folders a build uses: the project (its inputs), the work folder and the site folder.
What may be used as which (never a folder of the project's own, a folder someone else's files
are in, a link to nothing, a folder the repository tracks), the locks that let one build at a
time use them, and the clean-up of what killed builds left in them.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .place import NEW_SUFFIX, STAGE_PREFIX
from .state import SITE_MARK
from .write import OLD_SUFFIX, discard, write_atomic

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
MKDOCS_TMP = "mkdocs-out.tmp"  # mkdocs' output while it runs: work/mkdocs-out.tmpXXXX


class BuildError(Exception):
    """The build cannot go on; the message is one line."""


def project_root(explicit: str | Path | None = None) -> Path:
    """The project: its mkdocs.yml, docs/ and dataset/. `explicit` (--project) when given;
    else the current folder when it has an mkdocs.yml, else the generator's own checkout."""
    if explicit is not None:
        return Path(explicit)
    cwd = Path.cwd()
    return cwd if (cwd / "mkdocs.yml").is_file() else PACKAGE_ROOT


def tracked(root: Path, folder: Path) -> bool:
    """Whether the git repository of the project tracks `folder` (or anything in it): a folder
    a pull request can fill is no cache of ours. False outside a repository or without git."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--", os.path.abspath(folder)],
            capture_output=True,
            timeout=60,
            env=dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C"),
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0 and bool(proc.stdout.strip(b"\0"))


def check_not_dangling_or_tracked(folder: Path, root: Path, option: str) -> None:
    """A dangling link as --out/--work would make us create its target (anywhere); a folder
    the repository tracks is the pull request's, not ours."""
    if folder.is_symlink() and not folder.exists():
        raise BuildError(
            f"{folder}: is a symbolic link to nothing ({os.readlink(folder)}); {option} must be a folder or a "
            "link to one"
        )
    if tracked(root, folder):
        raise BuildError(
            f"{folder}: is tracked by git (committed to the repository); {option} must be a folder the build "
            "owns: remove it from the repository"
        )


def check_inputs(root: Path) -> None:
    """The project's docs/ may not be a symbolic link (`ln -s .git docs` would publish
    .git/config), and its mkdocs.yml must pass the allowlist (mkconfig.py)."""
    from .mkconfig import check_mkdocs_yml
    from .pipeline import PipelineError

    docs = root / "docs"
    if docs.is_symlink():
        raise PipelineError(f"{docs}: is a symbolic link; docs/ must be a folder in the project")
    check_mkdocs_yml(root / "mkdocs.yml")


def check_output(out: Path, work: Path, root: Path, serving: bool = False) -> None:
    """Refuse an --out that is not ours to replace, or that overlaps the inputs: it may not be
    inside docs/, dataset/ or the work folder (the site would copy itself into itself), nor
    hold the project or the work folder. `serving`: serve's own site, inside its work folder."""
    check_not_dangling_or_tracked(out, root, "--out")
    resolved = out.resolve()
    if out.name in ("", ".", "..") or resolved in (
        root.resolve(),
        (root / "docs").resolve(),
        (root / "dataset").resolve(),
        work.resolve(),
    ):
        raise BuildError(f"{out}: cannot be the site folder (it would replace the project's own files)")
    for folder in (root / "docs", root / "dataset", *(() if serving else (work,))):
        if resolved.is_relative_to(folder.resolve()):
            raise BuildError(f"{out}: is inside {folder}/; choose a site folder outside it")
    for folder in (root, work):
        if folder.resolve().is_relative_to(resolved):
            raise BuildError(f"{out}: holds {folder}/; choose a site folder that does not contain it")
    if out.exists() and not (out / SITE_MARK).exists():
        if out.is_file() or any(out.iterdir()):
            raise BuildError(f"{out}: exists and is not a site this tool wrote; choose another --out or remove it")


WORK_MARK = ".generated-work"  # in every work folder we made: only such a folder is written into
# What a work folder made before the mark existed holds (one is taken as ours when it has
# docs-keys.json and nothing else than these).
_LEGACY_WORK = {
    ".lock",
    "docs",
    "mkdocs.yml",
    "docs-keys.json",
    "mkdocs-out",
    "mkdocs-out.key",
    "mkdocs-out.files.json",
    "mkdocs-out.tmp",
    "state",
    "manifests",
    "cache",
    "serve-site",
    "search",
}


def check_work(work: Path, root: Path) -> None:
    """Refuse a --work that is not ours to write into (it gets a mark, like the site): the
    project, docs/, dataset/ or anything inside or around them, a file, an unmarked folder
    with files in it, a folder the repository tracks, one holding a symbolic link (we would
    write or delete through it)."""
    check_not_dangling_or_tracked(work, root, "--work")
    resolved = work.resolve()
    for folder in (root, root / "docs", root / "dataset"):
        inside = resolved.is_relative_to(folder.resolve()) and folder != root
        if resolved == folder.resolve() or inside or folder.resolve().is_relative_to(resolved):
            raise BuildError(
                f"{work}: cannot be the work folder (it is, holds or is inside {folder}/, whose files it would replace)"
            )
    if work.exists() and not work.is_dir():
        raise BuildError(f"{work}: is a file; --work must be a folder")
    if work.is_dir() and not (work / WORK_MARK).is_file():
        names = {p.name for p in work.iterdir()}
        legacy = "docs-keys.json" in names and all(
            n in _LEGACY_WORK or (n.startswith(".") and n.endswith(".tmp")) for n in names
        )
        if names and not legacy:
            raise BuildError(
                f"{work}: exists and is not a work folder this tool made (no {WORK_MARK} mark); choose another "
                "--work or remove it"
            )
    if work.is_dir():
        _refuse_links(work)


def _refuse_links(work: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(work):  # never descends into a linked folder
        for name in dirnames + filenames:
            if os.path.islink(os.path.join(dirpath, name)):
                raise BuildError(
                    f"{os.path.join(dirpath, name)}: a symbolic link in the work folder (the build would write "
                    "through it); remove the work folder"
                )


def make_work(work: Path) -> None:
    """The work folder (checked by check_work), with its mark."""
    work.mkdir(parents=True, exist_ok=True)
    if not (work / WORK_MARK).is_file():
        write_atomic(work / WORK_MARK, b"work folder of python -m generator build: a cache, rewritten on every build\n")


LOCK_NAME = ".lock"
LOCK_WAIT = 600.0  # seconds a build waits for another one using its work folder or site folder


@contextlib.contextmanager
def exclusive(work: Path, out: Path):
    """Hold the build's locks: the work folder's (a lock file in it) and the site folder's (its
    parent folder, as the site itself is swapped). A second build waits, saying so, for up to
    LOCK_WAIT seconds, then gives up with BuildError. Released when the process ends, however."""
    fds: list[int] = []
    try:
        fd = os.open(work / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        fds.append(fd)
        _acquire(fd, work, os.pread(fd, 20, 0).decode("ascii", "replace").strip())
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        parent = out.resolve().parent
        parent.mkdir(parents=True, exist_ok=True)
        try:
            fds.append(os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
        except OSError:  # not readable: the work folder's lock is all there is
            pass
        else:
            _acquire(fds[-1], out, "")
        yield
    finally:
        for fd in reversed(fds):
            os.close(fd)


def _acquire(fd: int, folder: Path, holder: str) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    who = f" (process {holder})" if holder.isdigit() else ""
    print(f"waiting for another build using {folder}/ to finish{who}…", file=sys.stderr, flush=True)
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        time.sleep(0.1)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise BuildError(
                    f"{folder}/: another build{who} has been using it for {LOCK_WAIT:.0f} s; try again when it "
                    "has finished"
                ) from None


# Characters in a dataset's file name: its folder, download and memo (plus a temporary suffix)
# stay under the file system's 255.
MAX_NAME = 200


def check_dataset_names(paths: list[Path]) -> None:
    """Refuse, before anything is written, a dataset whose name is too long for the files
    named after it."""
    for path in paths:
        if len(path.name) > MAX_NAME:
            raise BuildError(
                f"{path}: the dataset's file name has {len(path.name)} characters, at most {MAX_NAME} can be "
                "used; rename it"
            )


def clear_leftovers(work: Path, out: Path) -> None:
    """What killed builds left: new or old sites beside `out` (named by place.py and write.py)
    whose process is gone. A folder of that name with our own process id is from an earlier
    process (containers reuse ids); ours are made later."""
    for suffix in (NEW_SUFFIX, OLD_SUFFIX):
        for folder in out.parent.glob(f"{glob.escape(out.name)}{suffix}*"):
            pid = folder.name[len(out.name) + len(suffix) :]
            if pid.isdigit() and (int(pid) == os.getpid() or not _running(int(pid))):
                shutil.rmtree(folder, ignore_errors=True)
    # Under the lock, what is left in the work folder or the site by a killed build: mkdocs'
    # output in progress, the stage of changed files, the mark's temporary name.
    for folder in work.glob(f"{MKDOCS_TMP}*"):
        discard(folder)
    if out.is_dir():
        for path in out.iterdir():
            name = path.name
            stage = name.startswith(STAGE_PREFIX) and name[len(STAGE_PREFIX) :].isdigit()
            mark_tmp = (
                name.startswith(f".{SITE_MARK}.") and name.endswith(".tmp") and name[len(SITE_MARK) + 2 : -4].isdigit()
            )
            if stage or mark_tmp:
                discard(path)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except OSError:
        return True  # exists, not ours to signal
    return True
