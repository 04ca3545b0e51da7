"""Incremental builds: a rebuild after edits gives the very site a build from nothing gives,
while touching only what changed; the memo and the manifest are caches that may be lost or
damaged without harm."""

from __future__ import annotations

import os
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from conftest import CORPUS, ROOT
from test_site import digest_tree, site_db

from generator.__main__ import main
from generator.load import LineMemo
from generator.memo import Memo, code_digest
from generator.state import MEMO_FORMAT, read_memo, write_memo

EXAMPLES = "site/datasets/retry_state_machine/examples"


def build_in(project: Path, work: Path, out: Path) -> int:
    return main(["build", "--work", str(work), "--out", str(out), "--quiet", "--source-root", str(CORPUS)])


def fresh_digest(project: Path, tmp: Path, name: str) -> dict[str, str]:
    assert build_in(project, tmp / f"{name}-work", tmp / f"{name}-site") == 0
    return digest_tree(tmp / f"{name}-site")


def stamps(site: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(site).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns) for p in site.rglob("*") if p.is_file()
    }


def findings_text(site: Path) -> str:
    """Every finding's message, as the findings table reads them from the search database."""
    return "\n".join(m for (m,) in site_db(site, "SELECT message FROM finding ORDER BY id"))


def edit_line(jsonl: Path, n: int, change) -> None:
    """Apply change(record dict) to line n (1-based), as a reviewer's editor would."""
    lines = jsonl.read_bytes().split(b"\n")
    rec = orjson.loads(lines[n - 1])
    change(rec)
    lines[n - 1] = orjson.dumps(rec)
    jsonl.write_bytes(b"\n".join(lines))


def move_behind_symlink(folder: Path, elsewhere: Path) -> None:
    """folder's contents go elsewhere; folder becomes a symbolic link to them."""
    folder.rename(elsewhere)
    folder.symlink_to(elsewhere, target_is_directory=True)


def set_user(text):
    def change(rec):
        rec["messages"][1]["content"] = text

    return change


def append_think(text):
    def change(rec):
        a = rec["messages"][2]["content"]
        rec["messages"][2]["content"] = a.replace("\n</think>\n\n", " " + text + "\n</think>\n\n", 1)

    return change


@pytest.mark.slow
def test_edits_rebuilt_in_place_equal_builds_from_nothing(project, tmp_path):
    jsonl = project / "dataset/retry_state_machine.jsonl"
    work, site = project / "build", project / "site"
    original = jsonl.read_bytes()

    def step(name, edit):
        edit()
        assert build_in(project, work, site) == 0
        assert digest_tree(site) == fresh_digest(project, tmp_path, name), f"after {name}"

    # 1. a request reworded (same length, so the summary pages' figures stay): one example page
    #    and the data that lists it change, nothing else
    before = stamps(site)
    request = orjson.loads(original.split(b"\n")[9])["messages"][1]["content"]
    assert "Heads-up:" in request
    step("reworded", lambda: edit_line(jsonl, 10, set_user(request.replace("Heads-up:", "Note:"))))
    after = stamps(site)
    changed = {rel for rel in after if before.get(rel) != after[rel]}
    pages = {rel for rel in changed if rel.startswith("datasets/retry_state_machine/examples/")}
    assert pages == {"datasets/retry_state_machine/examples/line-10/index.html"}
    assert changed <= pages | {
        ".generated-site",
        "search/site.sqlite3",
        "search/version.txt",
        "datasets/retry_state_machine/examples/index.html",  # when the row is on the table's first page
        "datasets/retry_state_machine/data/retry_state_machine.jsonl",
    }, changed - pages
    # 2. a reasoning that names a function nobody wrote: a new finding, new counts
    step("hallucinated", lambda: edit_line(jsonl, 5, append_think("It calls `Retry::frobnicate_forever` first.")))
    assert "frobnicate_forever" in (site / "datasets/retry_state_machine/examples/line-5/index.html").read_text()
    # 3. a copy of line 3 appended: an identical-record finding and a new page
    step("duplicated", lambda: jsonl.write_bytes(jsonl.read_bytes() + jsonl.read_bytes().split(b"\n")[2] + b"\n"))
    assert (site / "datasets/retry_state_machine/examples/line-24/index.html").exists()
    # 4. a request made a near-copy of another one
    other = orjson.loads(jsonl.read_bytes().split(b"\n")[10])["messages"][1]["content"]
    step("near-copy", lambda: edit_line(jsonl, 12, set_user(other + " Thanks.")))
    assert (
        "near-duplicate of line 11" in (site / "datasets/retry_state_machine/examples/line-12/index.html").read_text()
    )
    # 5. a broken line inserted: every later record moves down one line
    step(
        "inserted",
        lambda: jsonl.write_bytes(
            b"\n".join(jsonl.read_bytes().split(b"\n")[:6] + [b"{broken"] + jsonl.read_bytes().split(b"\n")[6:])
        ),
    )
    examples = site / "datasets/retry_state_machine/examples"
    assert not (examples / "line-7").exists()  # the broken line has no page
    assert (examples / "line-25/index.html").exists()  # the appended copy moved from line 24
    # 6. back to the committed file, and a config edit that touches every page
    cfg = project / "dataset/retry_state_machine.toml"
    step(
        "restored",
        lambda: (
            jsonl.write_bytes(original),
            cfg.write_text(cfg.read_text().replace('title = "', 'title = "Renamed: ', 1)),
        ),
    )
    assert "Renamed: " in (site / "datasets/retry_state_machine/examples/line-1/index.html").read_text()
    assert not (site / "datasets/retry_state_machine/examples/line-24").exists()


def test_a_rebuild_with_nothing_changed_writes_nothing(project):
    site = project / "site"
    before = stamps(site)
    assert build_in(project, project / "build", site) == 0
    after = stamps(site)
    assert {rel for rel in after if before.get(rel) != after[rel]} == {".generated-site"}


def test_a_finding_on_an_unchanged_record_rebuilds_its_page(project, tmp_path):
    """Line 3 made a copy of line 10: the identical-record finding lands on line 10, whose own
    bytes, place and neighbours are as they were; its page must show the finding all the same."""
    jsonl, site = project / "dataset/retry_state_machine.jsonl", project / "site"
    rel = "datasets/retry_state_machine/examples/line-10/index.html"
    assert "identical to the record at line 3" not in (site / rel).read_text()
    before = stamps(site)
    lines = jsonl.read_bytes().split(b"\n")
    lines[2] = lines[9]
    jsonl.write_bytes(b"\n".join(lines))
    assert build_in(project, project / "build", site) == 0
    assert stamps(site)[rel] != before[rel]
    assert "identical to the record at line 3" in (site / rel).read_text()
    assert digest_tree(site) == fresh_digest(project, tmp_path, "fresh")


def test_memo_and_pages_are_reused_by_another_process(project):
    """Keys are the same in every process (Python salts hash() per process; nothing may depend on
    it): a build in another process, with another salt, reuses everything this process built."""
    cmd = [
        sys.executable,
        "-m",
        "generator",
        "build",
        "--work",
        str(project / "build"),
        "--out",
        str(project / "site"),
        "--source-root",
        str(CORPUS),
    ]
    seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
    second = subprocess.run(
        cmd,
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": seed},
        capture_output=True,
        text=True,
    )
    assert second.returncode == 0, second.stderr
    assert "23 example pages (0 rendered" in second.stdout
    assert "(checks of 23 unchanged records reused)" in second.stdout
    assert "mkdocs inputs unchanged" in second.stdout


def test_a_damaged_memo_is_ignored(project, tmp_path):
    memo = project / "build/state/retry_state_machine.memo"
    assert memo.exists()
    memo.write_bytes(b"\x80\x05not a pickle at all")
    edit_line(project / "dataset/retry_state_machine.jsonl", 2, set_user("Reworded once the memo was damaged."))
    assert build_in(project, project / "build", project / "site") == 0
    assert digest_tree(project / "site") == fresh_digest(project, tmp_path, "fresh")


class _OpensAFile:
    """Unpickled by a plain unpickler, this calls open(path, "w"): the file's existence shows code ran."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_a_memo_naming_a_class_is_refused(tmp_path):
    """The memo is read with an unpickler that refuses every class: loading it runs no code.
    The planted memo is otherwise valid (this version's format and code digest, one line), so
    only the refusal can discard it."""
    path, ran = tmp_path / "x.memo", tmp_path / "code-ran"
    lines = {b"d" * 16: ((), True, (), None, b"", (1, 2, 3), b"", b"")}
    payload = {
        "format": MEMO_FORMAT,
        "code": code_digest(),
        "context": "ctx",
        "lines": lines,
        "findings": {},
        "near": _OpensAFile(ran),
    }
    path.write_bytes(pickle.dumps(payload, protocol=5))
    assert pickle.loads(path.read_bytes())["lines"] == lines and ran.exists()  # a plain unpickler runs it...
    ran.unlink()
    memo = read_memo(path)
    assert not ran.exists()  # ...the memo's reader does not
    assert memo.lines == {} and memo.context == ""
    good = Memo("ctx", {b"d" * 16: LineMemo(*lines[b"d" * 16])}, {b"d" * 16: (("rule", "error", "message", ""),)}, None)
    write_memo(path, good)
    assert read_memo(path) == good  # a memo of plain values is read back whole


def test_an_interrupted_update_is_followed_by_a_layout_from_nothing(project, committed_digest):
    site = project / "site"
    # As if a build died half-way through replacing files: the mark says so.
    (site / ".generated-site").write_text(
        "updating: this build was interrupted; the next one lays the site out afresh\n"
    )
    (site / "datasets/retry_state_machine/examples/line-3/index.html").unlink()
    assert build_in(project, project / "build", site) == 0
    assert (site / "datasets/retry_state_machine/examples/line-3/index.html").exists()
    assert digest_tree(site) == committed_digest


@pytest.mark.slow
def test_a_site_folder_replaced_by_hand_is_laid_out_again(project, tmp_path):
    site = project / "site"
    other = tmp_path / "elsewhere"
    assert build_in(project, tmp_path / "w2", other) == 0  # another site with its own manifest
    (site / "index.html").write_text("hand-edited")
    (site / ".generated-site").write_text((other / ".generated-site").read_text() + "x")
    assert build_in(project, project / "build", site) == 0
    assert digest_tree(site) == digest_tree(other)


@pytest.mark.slow
def test_a_last_line_without_newline_is_judged_again_when_one_is_added(project, tmp_path):
    """Its JSON error reads "truncated" only while it is the unterminated last line."""
    jsonl = project / "dataset/retry_state_machine.jsonl"
    with open(jsonl, "ab") as fh:
        fh.write(b'{"type": "chatml", "messages": [')
    assert build_in(project, project / "build", project / "site") == 0
    assert "truncated line" in findings_text(project / "site")
    with open(jsonl, "ab") as fh:
        fh.write(b"\n")
    assert build_in(project, project / "build", project / "site") == 0
    assert "truncated line" not in findings_text(project / "site")
    assert digest_tree(project / "site") == fresh_digest(project, tmp_path, "fresh")


@pytest.mark.slow
def test_findings_kept_for_a_checkout_are_not_reused_from_the_lock(project, tmp_path):
    """The lock's names are what a build without a source root knows: a lock written by
    another indexer may know fewer names than the checkout gives at the same file hash."""
    lock = project / "dataset/retry_state_machine.lock.json"
    data = orjson.loads(lock.read_bytes())
    for f in data["files"].values() if isinstance(data["files"], dict) else data["files"]:
        if "identifiers" in f and "acker" in f["identifiers"]:
            f["identifiers"].remove("acker")
    lock.write_bytes(orjson.dumps(data))
    assert build_in(project, project / "build", project / "site") == 0
    without = ["build", "--work", str(project / "build"), "--out", str(project / "site"), "--quiet"]
    assert main(without) == 0  # the same work folder, now from the lock only
    fresh = ["build", "--work", str(tmp_path / "fw"), "--out", str(tmp_path / "fs"), "--quiet"]
    assert main(fresh) == 0
    assert digest_tree(project / "site") == digest_tree(tmp_path / "fs")
    assert "acker" in findings_text(project / "site")


@pytest.mark.slow
def test_a_symlink_in_the_site_is_replaced_not_written_through(project, tmp_path):
    site = project / "site"
    outside = tmp_path / "outside"
    data = site / "datasets/retry_state_machine/data"
    move_behind_symlink(data, outside)
    before = {p.name: p.read_bytes() for p in outside.iterdir()}
    edit_line(project / "dataset/retry_state_machine.jsonl", 4, set_user("Reworded while data/ was a link."))
    assert build_in(project, project / "build", site) == 0
    assert {p.name: p.read_bytes() for p in outside.iterdir()} == before
    assert not data.is_symlink()
    assert digest_tree(site) == fresh_digest(project, tmp_path, "fresh")


def test_a_file_missing_from_the_kept_mkdocs_output_means_running_mkdocs_again(project, committed_digest):
    (project / "build/mkdocs-out/index.html").unlink()
    shutil.rmtree(project / "site")
    assert build_in(project, project / "build", project / "site") == 0
    assert digest_tree(project / "site") == committed_digest


def test_damaged_cache_files_mean_more_work_not_a_failure(project, tmp_path):
    work = project / "build"
    (work / "docs-keys.json").write_text("[]")  # valid JSON, wrong shape
    listing = orjson.loads((work / "mkdocs-out.files.json").read_bytes())
    listing.pop("sitemap.xml")
    (work / "mkdocs-out.files.json").write_bytes(orjson.dumps(listing))
    edit_line(project / "dataset/retry_state_machine.jsonl", 6, set_user("Reworded with damaged caches."))
    assert build_in(project, work, project / "site") == 0
    assert digest_tree(project / "site") == fresh_digest(project, tmp_path, "fresh")


@pytest.mark.slow
def test_a_site_file_named_like_a_temporary_one_survives_updates(project, tmp_path):
    (project / "docs/assets/notes.txt").write_text("v1\n")
    (project / "docs/assets/notes.txt.tmp").write_text("a file that happens to end in .tmp\n")
    assert build_in(project, project / "build", project / "site") == 0
    (project / "docs/assets/notes.txt").write_text("v2\n")
    assert build_in(project, project / "build", project / "site") == 0
    assert (project / "site/assets/notes.txt.tmp").read_text() == "a file that happens to end in .tmp\n"
    assert digest_tree(project / "site") == fresh_digest(project, tmp_path, "fresh")


def test_a_dataset_saved_during_a_build_is_copied_again_by_the_next(project, tmp_path, monkeypatch):
    """The download is keyed by what was loaded but copied later: a save in between (seen as a
    changed size or mtime) leaves the key stale, so the next build copies the file again."""
    import generator.place

    jsonl = project / "dataset/retry_state_machine.jsonl"
    edit_line(jsonl, 8, set_user("Saved once."))
    real = generator.place.file_stat
    monkeypatch.setattr(generator.place, "file_stat", lambda path: (0, 0))  # "changed meanwhile"
    assert build_in(project, project / "build", project / "site") == 0
    manifest = next((project / "build/manifests").glob("*.json"))
    assert orjson.loads(manifest.read_bytes())["datasets/retry_state_machine/data/retry_state_machine.jsonl"] == "stale"
    monkeypatch.setattr(generator.place, "file_stat", real)
    (project / "site/datasets/retry_state_machine/data/retry_state_machine.jsonl").write_bytes(
        b"what the racing save left\n"
    )
    assert build_in(project, project / "build", project / "site") == 0
    assert (
        project / "site/datasets/retry_state_machine/data/retry_state_machine.jsonl"
    ).read_bytes() == jsonl.read_bytes()


def test_an_update_never_deletes_through_a_symlink_in_the_site(project, tmp_path):
    site = project / "site"
    victim = tmp_path / "victim"
    move_behind_symlink(site / "datasets/retry_state_machine/examples/line-23", victim)
    jsonl = project / "dataset/retry_state_machine.jsonl"
    jsonl.write_bytes(b"\n".join(jsonl.read_bytes().split(b"\n")[:22]) + b"\n")  # record 23 gone
    assert build_in(project, project / "build", site) == 0
    assert (victim / "index.html").exists()
    assert digest_tree(site) == fresh_digest(project, tmp_path, "fresh")


def test_a_dataset_unreadable_at_copy_time_leaves_the_site_untouched(project, monkeypatch):
    import generator.place

    site = project / "site"
    edit_line(project / "dataset/retry_state_machine.jsonl", 3, set_user("Reworded before the disk failed."))
    before = digest_tree(site)

    def failing_open(path, mode="r", *a, **k):
        if "r" in mode and Path(path).name == "retry_state_machine.jsonl":
            raise PermissionError(13, "Permission denied", str(path))
        return open(path, mode, *a, **k)

    monkeypatch.setattr(generator.place, "open", failing_open, raising=False)  # place.py's reads only
    assert build_in(project, project / "build", site) == 2
    assert digest_tree(site) == before
    assert not list(site.glob(".generator-stage-*"))


def test_leftovers_of_killed_builds_go_and_look_alike_folders_stay(project):
    """Only folders named as this tool names them, whose process is gone (or has our id,
    as containers reuse them), are removed."""
    parent = project
    mine = [parent / "site.generator-new-999999999", parent / f"site.generator-old-{os.getpid()}"]
    theirs = [parent / "site.old-20240101", parent / "site.tmp-31337", parent / "site.generator-new-x"]
    for folder in mine + theirs:
        folder.mkdir()
        (folder / "index.html").write_text("x")
    assert build_in(project, project / "build", project / "site") == 0
    assert [f.exists() for f in mine] == [False, False]
    assert [f.exists() for f in theirs] == [True, True, True]


def test_a_damaged_search_database_in_the_work_folder_is_rebuilt(project, committed_digest):
    """The work folder's database is a cache like the rest: garbage in it means a fresh one."""
    db = project / "build" / "search" / "site.sqlite3"
    assert db.exists()
    db.write_bytes(b"not a database" * 100)
    assert build_in(project, project / "build", project / "site") == 0
    assert digest_tree(project / "site") == committed_digest


SITE_URL = ["--site-url", "https://example.org/review/"]  # mkdocs lists pages in the sitemap only with a site URL


def build_dated(project: Path, work: Path, out: Path, epoch: str, monkeypatch) -> str:
    """Build with SOURCE_DATE_EPOCH=epoch; the sitemap's dates."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    assert (
        main(["build", "--work", str(work), "--out", str(out), "--quiet", "--source-root", str(CORPUS), *SITE_URL]) == 0
    )
    return " ".join(sorted(set(re.findall(r"<lastmod>([^<]*)</lastmod>", (out / "sitemap.xml").read_text()))))


@pytest.mark.slow
def test_with_source_date_epoch_a_cached_build_and_a_fresh_one_agree(project, tmp_path, monkeypatch):
    """mkdocs dates the sitemap by SOURCE_DATE_EPOCH (.ci/run sets it), not by the clock."""
    assert build_dated(project, project / "build", project / "site", "1700000000", monkeypatch) == "2023-11-14"
    edit_line(project / "dataset/retry_state_machine.jsonl", 5, set_user("Reworded on a fixed date."))
    assert build_dated(project, project / "build", project / "site", "1700000000", monkeypatch) == "2023-11-14"
    assert build_dated(project, tmp_path / "w", tmp_path / "s", "1700000000", monkeypatch) == "2023-11-14"
    assert digest_tree(project / "site") == digest_tree(tmp_path / "s")


@pytest.mark.slow
def test_a_cached_build_on_a_later_day_dates_its_sitemap_like_a_fresh_one(project, tmp_path, monkeypatch):
    assert build_dated(project, project / "build", project / "site", "1700000000", monkeypatch) == "2023-11-14"
    assert build_dated(project, project / "build", project / "site", "1800000000", monkeypatch) == "2027-01-15"


@pytest.mark.parametrize("fails", [False, True])
def test_a_build_pauses_the_garbage_collector_and_restores_it(project, monkeypatch, fails):
    """The cyclic collector is off while a build runs (its full collections walk every object
    the build holds) and on again afterwards, whether the build succeeded or failed."""
    import gc

    import generator.build

    seen = []

    def stages(*args, **kwargs):
        seen.append(gc.isenabled())
        if fails:
            raise RuntimeError("a stage failed")
        return True, []

    monkeypatch.setattr(generator.build, "_build_locked", stages)
    jsonl = project / "dataset/retry_state_machine.jsonl"
    build = lambda: generator.build.build_once(  # noqa: E731
        [jsonl], CORPUS, project / "build", project / "site", None, say=lambda msg: None, root=project
    )
    assert gc.isenabled()
    if fails:
        with pytest.raises(RuntimeError):
            build()
    else:
        assert build() == (True, [])
    assert seen == [False] and gc.isenabled()
