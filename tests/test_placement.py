"""Placing the site: failures before the commit leave it byte-identical, a killed build is
repaired by the next, concurrent builds take turns, and an --out that cannot be renamed
(a mount point, a parent that is not writable, a symbolic link) is updated in place."""

from __future__ import annotations

import errno
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import CORPUS, ROOT
from test_incremental import build_in, edit_line, set_user
from test_site import copy_project, digest_tree

UPDATING = "updating: this build was interrupted; the next one lays the site out afresh\n"


def tree(root: Path) -> dict[str, str]:
    """Every file and folder under root (links as links), with file digests: byte-identical
    means this is equal, empty folders and leftovers included."""
    out = digest_tree(root)
    out.update(
        {p.relative_to(root).as_posix() + "/": "dir" for p in root.rglob("*") if p.is_dir() and not p.is_symlink()}
    )
    out.update({p.relative_to(root).as_posix() + "@": os.readlink(p) for p in root.rglob("*") if p.is_symlink()})
    return out


def leftovers(site: Path) -> list[str]:
    """Temporary files or folders of a build, in the site or beside it."""
    inside = [p for p in site.rglob("*") if p.name.startswith(".generator-stage-") or p.name.endswith(".tmp")]
    beside = list(site.parent.glob(f"{site.name}.generator-*"))
    return sorted(str(p) for p in inside + beside)


def retitle(project: Path, title: str) -> None:
    cfg = project / "dataset/retry_state_machine.toml"
    lines = cfg.read_text().split("\n")
    i = next(i for i, line in enumerate(lines) if line.startswith("title = "))
    lines[i] = f'title = "{title}"'
    cfg.write_text("\n".join(lines))


def fresh_site(project: Path, tmp: Path, name: str) -> dict[str, str]:
    """The site a build from nothing gives for the project as it is now."""
    cmd = [
        sys.executable,
        "-m",
        "generator",
        "build",
        "--quiet",
        "--source-root",
        str(CORPUS),
        "--work",
        str(tmp / f"{name}-w"),
        "--out",
        str(tmp / f"{name}-s"),
    ]
    proc = subprocess.run(cmd, cwd=project, env=ENV, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return tree(tmp / f"{name}-s")


ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
BUILD = [sys.executable, "-m", "generator", "build", "--quiet", "--source-root", str(CORPUS)]


# --- M8: phase one fails, the site stays as it was --------------------------------------------


@pytest.mark.parametrize("afresh", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["update", "fresh-layout"])
def test_a_render_failure_mid_way_leaves_the_site_byte_identical(project, tmp_path, monkeypatch, capsys, afresh):
    import jinja2

    import generator.plan

    site = project / "site"
    retitle(project, "Every page changes")
    if afresh:  # a mark that matches no manifest: the site is laid out afresh
        (site / ".generated-site").write_text("written by someone else\n")
    before = tree(site)
    real, calls = generator.plan.render_page, [0]

    def failing(page):
        calls[0] += 1
        if calls[0] == 5:
            raise jinja2.TemplateError("'frame' is undefined\nsecond line")
        return real(page)

    monkeypatch.setattr(generator.plan, "render_page", failing)
    capsys.readouterr()
    assert build_in(project, project / "build", site) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "/index.html: could not be rendered (TemplateError: 'frame' is undefined)" in err
    assert err.endswith(f"{site}/ was left as it was\n")
    assert tree(site) == before
    assert leftovers(site) == []
    monkeypatch.setattr(generator.plan, "render_page", real)
    assert build_in(project, project / "build", site) == 0
    assert tree(site) == fresh_site(project, tmp_path, "fresh")


# --- low 11: a full disk ---------------------------------------------------------------------


class FullDisk:
    """A file open for writing on a disk that is full."""

    def __init__(self, fh):
        self.fh = fh

    def write(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    def fileno(self):
        import io

        raise io.UnsupportedOperation("fileno")

    def close(self):
        self.fh.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


@pytest.mark.parametrize(
    "victim",
    [
        "datasets/retry_state_machine/examples/line-3/index.html",
        "datasets/retry_state_machine/data/retry_state_machine.jsonl",
    ],
)
def test_a_full_disk_names_the_site_file_and_leaves_no_temporary(project, monkeypatch, capsys, victim):
    import generator.place

    site = project / "site"
    edit_line(project / "dataset/retry_state_machine.jsonl", 3, set_user("Reworded on a full disk."))
    before = tree(site)

    def full_open(path, mode="r", *a, **k):
        fh = open(path, mode, *a, **k)
        if "w" in mode and str(path).endswith(victim.rsplit("/", 2)[-2] + "/" + victim.rsplit("/", 1)[-1]):
            return FullDisk(fh)
        return fh

    monkeypatch.setattr(generator.place, "open", full_open, raising=False)  # place.py's files only
    capsys.readouterr()
    assert build_in(project, project / "build", site) == 1
    err = capsys.readouterr().err
    assert err == f"error: {site / victim}: cannot be written: No space left on device; {site}/ was left as it was\n"
    assert tree(site) == before
    assert leftovers(site) == []


# --- M5: an --out that cannot be renamed -----------------------------------------------------


@pytest.mark.slow
def test_a_symlinked_out_keeps_pointing_at_its_target(project, tmp_path):
    target = tmp_path / "real-site"
    target.mkdir()
    link = tmp_path / "published"
    link.symlink_to(target, target_is_directory=True)
    assert build_in(project, project / "build", link) == 0  # first build: laid out afresh
    assert link.is_symlink() and link.resolve() == target
    assert tree(target) == fresh_site(project, tmp_path, "a")
    edit_line(project / "dataset/retry_state_machine.jsonl", 2, set_user("Reworded behind a link."))
    assert build_in(project, project / "build", link) == 0  # an update
    (target / ".generated-site").write_text("damaged\n")
    (target / "stray.html").write_text("not planned")
    retitle(project, "Laid out again behind a link")
    assert build_in(project, project / "build", link) == 0  # afresh again
    assert link.is_symlink() and link.resolve() == target
    assert tree(target) == fresh_site(project, tmp_path, "b")
    assert leftovers(link) == [] and leftovers(target) == []


@pytest.mark.slow
@pytest.mark.parametrize("err", [errno.EBUSY, errno.EACCES])
def test_an_out_that_cannot_be_renamed_is_laid_out_in_place(project, tmp_path, monkeypatch, err):
    """EBUSY: --out is a mount point. EACCES: its parent is not writable (a root test process
    cannot make one: chmod does not stop root), so renames of --out and folders made beside it
    fail as the system would."""
    import generator.write

    site = project / "site"
    real_replace, real_mkdir = os.replace, os.mkdir

    def no_rename(a, b, *rest, **k):
        if site in (Path(a), Path(b)):
            raise OSError(err, os.strerror(err), str(a))
        return real_replace(a, b, *rest, **k)

    def no_exchange(a, b):
        raise OSError(err, os.strerror(err), str(b))

    def no_mkdir(path, *rest, **k):
        if err == errno.EACCES and Path(path).parent == site.parent and Path(path).name.startswith("site.generator-"):
            raise PermissionError(err, os.strerror(err), str(path))
        return real_mkdir(path, *rest, **k)

    monkeypatch.setattr(os, "replace", no_rename)
    monkeypatch.setattr(os, "mkdir", no_mkdir)
    monkeypatch.setattr(generator.write, "rename_exchange", no_exchange)
    inode = site.stat().st_ino
    (site / ".generated-site").write_text("damaged: lay out afresh\n")
    (site / "stray").mkdir()
    (site / "stray/old.html").write_text("not planned")
    (site / "assets").rename(site / "assets-moved")
    (site / "assets").symlink_to(tmp_path, target_is_directory=True)  # a link where a folder belongs
    retitle(project, "Laid out in place")
    assert build_in(project, project / "build", site) == 0
    assert site.stat().st_ino == inode  # the same folder, never renamed
    monkeypatch.undo()
    assert tree(site) == fresh_site(project, tmp_path, "fresh")
    assert leftovers(site) == []
    assert not (tmp_path / "site").exists()  # nothing written through the link


def mounted(path: Path) -> bool:
    return subprocess.run(["mountpoint", "-q", str(path)]).returncode == 0


@pytest.mark.slow
def test_a_mount_point_out_is_laid_out_in_place(project, tmp_path):
    """A real bind mount where the system allows one (root in a container usually does)."""
    site = project / "site"
    backing = tmp_path / "backing"
    backing.mkdir()
    if (
        os.geteuid() != 0
        or not shutil.which("mountpoint")
        or subprocess.run(["mount", "--bind", str(backing), str(site)], capture_output=True).returncode != 0
    ):
        pytest.skip("cannot bind-mount here")
    try:
        assert mounted(site)
        retitle(project, "On a mount point")
        assert build_in(project, project / "build", site) == 0  # a fresh, empty folder: laid out afresh
        assert mounted(site)
        assert tree(site) == fresh_site(project, tmp_path, "fresh")
        assert leftovers(site) == []
    finally:
        subprocess.run(["umount", str(site)], check=True)


# --- H1: builds at the same time -------------------------------------------------------------


@pytest.mark.slow
def test_concurrent_builds_take_turns_and_leave_a_complete_site(tmp_path):
    project = copy_project(tmp_path)
    assert subprocess.run(BUILD, cwd=project, env=ENV, capture_output=True).returncode == 0
    waited = 0
    for round in range(6):
        retitle(project, f"Round {round}")
        procs = [
            subprocess.Popen(BUILD, cwd=project, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        results = [p.communicate(timeout=300) for p in procs]
        for p, (_out, err) in zip(procs, results, strict=True):
            assert p.returncode == 0, err
        waited += sum("waiting for another build using build/ to finish" in err for _, err in results)
        assert tree(project / "site") == fresh_site(project, tmp_path, f"fresh-{round}"), f"round {round}"
        assert leftovers(project / "site") == []
        assert not list((project / "build").glob("mkdocs-out.tmp*"))
    assert waited >= 1  # they did overlap


@pytest.mark.slow
def test_serve_and_build_on_one_work_folder_take_turns(tmp_path):
    from test_serve import Server, get, poll

    project = copy_project(tmp_path)
    serve, base = Server.start(
        lambda addr: [*BUILD[:3], "serve", "--source-root", str(CORPUS), "--dev-addr", addr], cwd=project, env=ENV
    )
    try:
        assert "Round" not in get(base) and get(base + "__build_id") == "1"
        for round in range(4):
            retitle(project, f"Round {round}")  # serve rebuilds while the build runs
            build = subprocess.run(BUILD, cwd=project, env=ENV, capture_output=True, text=True, timeout=300)
            assert build.returncode == 0, build.stderr
            assert tree(project / "site") == fresh_site(project, tmp_path, f"fresh-{round}"), f"round {round}"
            poll(
                lambda round=round: f"Round {round}" in get(base + "datasets/retry_state_machine/examples/line-1/"),
                timeout=120,
            )
            served = project / "build/serve-site"
            assert (served / "assets/livereload.js").is_file() and (served / "index.html").is_file()
            assert leftovers(served) == []
    finally:
        serve.stop()


# --- M8: kill -9 -------------------------------------------------------------------------------

# A build whose example pages and renames take a little longer, so that a kill can land inside
# each phase; it touches the file named by $RENDER_STARTED when it renders its first page.
SLOWED = """
import os, sys, time
import generator.plan
real_replace, real_render = os.replace, generator.plan.render_page
def slow_replace(a, b, *rest, **k):
    time.sleep(0.004)
    return real_replace(a, b, *rest, **k)
def slow_render(page):
    open(os.environ["RENDER_STARTED"], "a").close()
    time.sleep(0.02)
    return real_render(page)
os.replace = slow_replace
generator.plan.render_page = slow_render
from generator.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


def wait_until(pred, proc, timeout=120.0) -> bool:
    """Poll pred every millisecond until it holds (True) or proc ends (False)."""
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.001)
    raise AssertionError("timed out")


def mark_of(site: Path) -> str:
    try:
        return (site / ".generated-site").read_text()
    except OSError:
        return ""


def without_stage(t: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in t.items() if not k.startswith(".generator-stage-")}


@pytest.mark.slow
def test_a_build_killed_at_any_point_of_placement_is_repaired_by_the_next(tmp_path):
    """Killed while pages render: the site is byte-identical to the last one. Killed while
    files are renamed: the site is marked as interrupted (never as complete) and the next
    build gives the site a build from nothing gives."""
    project = copy_project(tmp_path)
    site = project / "site"
    titles = ["Title A", "Title B"]
    fresh = {}
    for t in titles:
        retitle(project, t)
        fresh[t] = fresh_site(project, tmp_path, t.replace(" ", "-"))
    assert subprocess.run(BUILD, cwd=project, env=ENV, capture_output=True).returncode == 0  # site: Title B
    rng = random.Random(13)
    current = "Title B"
    kills = {"render": 0, "commit": 0}
    for round in range(8):
        title = titles[round % 2]
        retitle(project, title)
        phase = "render" if round % 2 else "commit"
        started = tmp_path / f"started-{round}"
        cmd = [sys.executable, "-c", SLOWED, "build", "--quiet", "--source-root", str(CORPUS)]
        proc = subprocess.Popen(
            cmd,
            cwd=project,
            env={**ENV, "RENDER_STARTED": str(started)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if phase == "render":  # 22 pages at 20 ms or more each
            reached = wait_until(started.exists, proc)
            time.sleep(rng.uniform(0, 0.3))
        else:
            reached = wait_until(lambda: mark_of(site) == UPDATING, proc)
            time.sleep(rng.uniform(0, 0.1))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills[phase] += reached
        proc.wait()
        if phase == "render" and reached:
            assert without_stage(tree(site)) == fresh[current], (
                f"round {round}: a build killed while rendering changed the site"
            )
        elif mark_of(site) != UPDATING:  # a site marked complete is one build's whole site
            assert without_stage(tree(site)) in (fresh[current], fresh[title]), (
                f"round {round}: a mixed site marked complete"
            )
        assert subprocess.run(BUILD, cwd=project, env=ENV, capture_output=True).returncode == 0
        assert tree(site) == fresh[title], f"round {round} ({phase})"
        assert leftovers(site) == []
        current = title
    assert kills["render"] >= 3 and kills["commit"] >= 2, kills


# --- copies: big files get their blocks first and are copied by the kernel -------------------


def _copied(tmp_path, data: bytes) -> bytes:
    import generator.place

    src, dest = tmp_path / "src.bin", tmp_path / "dest.bin"
    src.write_bytes(data)
    generator.place._copy(src, dest, Path("site/dest.bin"))
    return dest.read_bytes()


@pytest.mark.parametrize("fails_after", [None, 0, 1])
def test_a_big_copy_is_exact_whether_or_not_the_kernel_copies_it(tmp_path, monkeypatch, fails_after):
    """copy_file_range may copy all, none or part of a file before failing (another file
    system, an old kernel): the plain copy takes over where it stopped."""
    import generator.place

    monkeypatch.setattr(generator.place, "BIG_COPY", 1)
    data = os.urandom(3 << 20) + b"tail"
    if fails_after is not None:
        real, calls = os.copy_file_range, []

        def flaky(src, dst, count, *a):
            calls.append(count)
            if len(calls) > fails_after:
                raise OSError(errno.EXDEV, "Invalid cross-device link")
            return real(src, dst, min(count, 1 << 20), *a)

        monkeypatch.setattr(generator.place.os, "copy_file_range", flaky)
    assert _copied(tmp_path, data) == data


def test_a_source_that_shrinks_during_a_big_copy_leaves_no_allocated_tail(tmp_path, monkeypatch):
    """The copy's blocks are allocated for the size first seen; a shorter source (rewritten
    meanwhile) must not leave zeros at the end of the copy."""
    import generator.place

    monkeypatch.setattr(generator.place, "BIG_COPY", 1)
    real_fstat = os.fstat

    def larger(fd):
        st = real_fstat(fd)
        return os.stat_result((*st[:6], st.st_size + 5000, *st[7:]))

    monkeypatch.setattr(generator.place.os, "fstat", larger)
    data = os.urandom(100_000)
    assert _copied(tmp_path, data) == data
