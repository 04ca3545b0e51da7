"""Hostile or careless command lines and inputs: folders the build must not write into, links
out of docs/, dataset names it cannot use, and the lock that keeps builds apart."""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
from pathlib import Path

import pytest
from conftest import CONFIG, LOCK, ROOT, clean_records, dumps, make_dataset
from test_site import copy_project, digest_tree

from generator.__main__ import main


def build(work, out, *args: str) -> int:
    return main(["build", "--work", str(work), "--out", str(out), "--quiet", *args])


def one_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    return err


# --- --work (H3) ---------------------------------------------------------------------------


def test_a_work_folder_holding_user_files_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    user = tmp_path / "userproj"
    (user / "docs").mkdir(parents=True)
    (user / "docs/notes.md").write_text("# My notes\n")
    (user / "docs/design.txt").write_text("design\n")
    before = digest_tree(user)
    assert build(user, tmp_path / "site") == 1
    assert "is not a work folder this tool made" in one_error(capsys)
    assert digest_tree(user) == before
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize("work", [".", "docs", "dataset", "docs/assets", "dataset/w", ".."])
def test_the_project_and_its_inputs_cannot_be_the_work_folder(tmp_path, monkeypatch, capsys, work):
    project = copy_project(tmp_path)
    monkeypatch.chdir(project)
    before = digest_tree(tmp_path)
    assert build(work, tmp_path / "site") == 1
    assert "cannot be the work folder" in one_error(capsys)
    assert digest_tree(tmp_path) == before
    assert not (project / "dataset/w").exists()


@pytest.mark.slow
def test_an_empty_folder_becomes_a_marked_work_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    work = tmp_path / "w"
    work.mkdir()
    assert build(work, tmp_path / "site") == 0
    assert (work / ".generated-work").is_file()
    assert build(work, tmp_path / "site") == 0  # marked now: used again


def test_a_work_folder_from_before_the_mark_is_taken_as_ours(project):
    work = project / "build"
    (work / ".generated-work").unlink()  # as an older version left it
    assert build(work, project / "site") == 0
    assert (work / ".generated-work").is_file()


# --- --out (low 10) ------------------------------------------------------------------------


@pytest.mark.parametrize("out", ["docs/out", "docs/assets/site", "dataset/site", "build/site"])
def test_a_site_folder_inside_the_inputs_or_the_work_folder_is_refused(tmp_path, monkeypatch, capsys, out):
    project = copy_project(tmp_path)
    monkeypatch.chdir(project)
    before = digest_tree(project)
    assert build("build", out) == 1
    assert "choose a site folder outside it" in one_error(capsys)
    assert digest_tree(project) == before


def test_a_site_folder_holding_the_project_is_refused(tmp_path, monkeypatch, capsys):
    outer = tmp_path / "outer"
    project = copy_project(outer)
    (outer / ".generated-site").write_text("planted mark\n")  # looks like a site of ours
    monkeypatch.chdir(project)
    assert build(tmp_path / "w", outer) == 1
    assert "choose a site folder that does not contain it" in one_error(capsys)
    assert (project / "dataset/retry_state_machine.jsonl").exists()


# --- docs/ links (M6) -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_a_link_out_of_docs_is_refused(tmp_path, monkeypatch, capsys, kind):
    project = copy_project(tmp_path)
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    link = project / "docs/passwd.txt"
    link.symlink_to(secret / "passwd" if kind == "file" else secret)
    monkeypatch.chdir(project)
    assert build("build", "site") == 1
    err = one_error(capsys)
    assert f"{Path('docs/passwd.txt')}: a symbolic link that leads out of docs/" in err
    assert not (project / "site").exists()


def test_a_link_inside_docs_is_published_as_a_file(tmp_path, monkeypatch):
    project = copy_project(tmp_path)
    (project / "docs/assets/alias.css").symlink_to(project / "docs/assets/site.css")
    monkeypatch.chdir(project)
    assert build("build", "site") == 0
    alias = project / "site/assets/alias.css"
    assert not alias.is_symlink() and alias.read_bytes() == (project / "docs/assets/site.css").read_bytes()


# --- dataset names (lows 2 and 7) ---------------------------------------------------------------


def test_a_dataset_name_too_long_for_its_files_is_refused_up_front(tmp_path, monkeypatch, capsys):
    jsonl = make_dataset(tmp_path / "ds", "d" * 240, [dumps(clean_records()[0])])
    monkeypatch.chdir(ROOT)
    assert build(tmp_path / "w", tmp_path / "site", "--dataset", str(jsonl)) == 1
    err = one_error(capsys)
    assert f"{jsonl}: the dataset's file name has 246 characters, at most 200" in err
    assert not (tmp_path / "site").exists() and not (tmp_path / "w").exists()


@pytest.mark.parametrize(
    "name", ["lengths-code.svg", "lengths-request.svg"]
)  # (table data is no longer a file beside the download)
def test_a_dataset_named_like_the_sites_own_data_is_refused(tmp_path, monkeypatch, capsys, name):
    folder = tmp_path / "ds"
    folder.mkdir()
    jsonl = folder / name
    jsonl.write_bytes(dumps(clean_records()[0]) + b"\n")
    shutil.copy(CONFIG, jsonl.with_suffix(".toml"))
    shutil.copy(LOCK, jsonl.with_name(jsonl.stem + ".lock.json"))
    monkeypatch.chdir(ROOT)
    assert build(tmp_path / "w", tmp_path / "site", "--dataset", str(jsonl)) == 1
    stem = jsonl.stem
    assert (
        f"{jsonl}: a dataset file with this name would overwrite the site's own datasets/{stem}/data/{name}; "
        "rename the dataset" in one_error(capsys)
    )
    assert not (tmp_path / "site").exists()


# --- the lock (H1) -----------------------------------------------------------------------------


def hold_lock(work: Path):
    work.mkdir(parents=True, exist_ok=True)
    (work / ".generated-work").write_text("test\n")
    fd = os.open(work / ".lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.pwrite(fd, b"4242", 0)
    return fd


@pytest.mark.slow
def test_a_build_waits_for_the_one_holding_the_work_folder(tmp_path):
    work = tmp_path / "w"
    fd = hold_lock(work)
    cmd = [sys.executable, "-m", "generator", "build", "--work", str(work), "--out", str(tmp_path / "site"), "--quiet"]
    from test_serve import Server

    build = Server(cmd, env={**os.environ, "PYTHONPATH": str(ROOT)})  # its output read line by line
    try:
        waiting = build.line_with("waiting for another build")
        assert waiting is not None, build.stop()
        assert f"waiting for another build using {work}/ to finish (process 4242)" in waiting
        assert build.proc.poll() is None  # still waiting: the lock is held
        assert not (tmp_path / "site").exists()
    finally:
        os.close(fd)  # releases the lock
    assert build.proc.wait(timeout=120) == 0, build.stop()
    assert (tmp_path / "site/index.html").exists()


def test_a_build_gives_up_waiting_with_a_clear_error(tmp_path, monkeypatch, capsys):
    import generator.folders

    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(generator.folders, "LOCK_WAIT", 0.5)
    fd = hold_lock(tmp_path / "w")
    try:
        assert build(tmp_path / "w", tmp_path / "site") == 1
    finally:
        os.close(fd)
    err = capsys.readouterr().err
    assert (
        f"error: {tmp_path / 'w'}/: another build (process 4242) has been using it for 0 s; try again when it "
        "has finished" in err
    )
    assert not (tmp_path / "site").exists()


@pytest.mark.slow
def test_builds_with_their_own_work_folders_take_turns_on_one_site_folder(tmp_path, monkeypatch, capsys):
    """The site folder's lock is its parent folder's (the site itself is swapped)."""
    import generator.folders

    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(generator.folders, "LOCK_WAIT", 0.5)
    parent = tmp_path / "public"
    parent.mkdir()
    fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as a build with another work folder holds it
    try:
        assert build(tmp_path / "w", parent / "site") == 1
    finally:
        os.close(fd)
    err = capsys.readouterr().err
    assert f"waiting for another build using {parent / 'site'}/ to finish…" in err
    assert f"error: {parent / 'site'}/: another build has been using it for 0 s" in err
    assert not (parent / "site").exists()
    assert build(tmp_path / "w", parent / "site") == 0
