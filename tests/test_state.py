"""state.py's docstring is the map of what a build keeps: every file it writes, and every file
in the work folder, is named there."""

from __future__ import annotations

from conftest import CORPUS
from test_site import copy_project

from generator import state
from generator.__main__ import main


def described(rel: str, doc: str) -> bool:
    """rel, or a folder it is in (as "folder/"), is named in doc."""
    parts = rel.split("/")
    return rel in doc or any("/".join(parts[:k]) + "/" in doc for k in range(1, len(parts)))


def test_a_build_from_another_folder_keeps_only_files_state_py_describes(tmp_path, monkeypatch):
    project = copy_project(tmp_path)
    cfg = project / "mkdocs.yml"
    cfg.write_text(cfg.read_text().replace("site_name: Retry dataset review", "site_name: Named by --project"))
    monkeypatch.chdir(tmp_path)  # not the project (no mkdocs.yml here): --project names it
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert (
        main(["build", "--project", str(project), "--work", "w", "--out", "s", "--quiet", "--source-root", str(CORPUS)])
        == 0
    )
    assert "Named by --project" in (tmp_path / "s/index.html").read_text()

    doc = state.__doc__
    kept = {
        state.MEMO_FOLDER: tmp_path / "w" / state.MEMO_FOLDER / "retry_state_machine.memo",
        state.DOCS_KEYS: tmp_path / "w" / state.DOCS_KEYS,
        state.MKDOCS_FILES: tmp_path / "w" / state.MKDOCS_FILES,
        state.MKDOCS_KEY: tmp_path / "w" / state.MKDOCS_KEY,
        state.MANIFESTS: state.manifest_path(tmp_path / "w", tmp_path / "s"),
        state.HIGHLIGHT_CACHE: next((tmp_path / "w" / state.HIGHLIGHT_CACHE).glob("*.json")),
        state.SITE_MARK: tmp_path / "s" / state.SITE_MARK,
        state.SECRET: tmp_path / "xdg" / state.SECRET,
    }
    for name, path in kept.items():
        assert path.is_file(), path
        assert name in doc, f"state.py writes {name} but its docstring does not name it"
    work = tmp_path / "w"
    undescribed = [
        rel
        for rel in (p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file())
        if not described(rel, doc)
    ]
    assert undescribed == []
