"""Rendering on two cores: at PARALLEL_AT files or more, place.py forks a child that renders
half of them. The site is the same as a serial build's, and a failure on either side (a
template error, an unreadable file, a child killed) leaves the site as it was, names the
file, and leaves no temporary folder or stray process behind."""

from __future__ import annotations

import os
import signal

import jinja2
import pytest
from conftest import reaped
from test_incremental import build_in
from test_placement import fresh_site, leftovers, retitle, tree

import generator.place
import generator.plan

LAST_PAGE = "line-23/"  # the dataset's last example: in the child's half
FIRST_PAGE = "line-1/"  # its first: in this process's half


@pytest.fixture
def two_processes(monkeypatch, forks):
    """Fork for any render of two files or more (the committed dataset has 23 pages); the
    children forked."""
    monkeypatch.setattr(generator.place, "PARALLEL_AT", 2)
    return forks


def fail_on(monkeypatch, page_dir: str, failure) -> None:
    real = generator.plan.render_page

    def render(page):
        if f"/{page_dir}" in page.path or page.path.endswith(page_dir.rstrip("/") + ".md"):
            failure()
        return real(page)

    monkeypatch.setattr(generator.plan, "render_page", render)


def test_a_site_rendered_by_two_processes_equals_a_serial_build(project, tmp_path, two_processes):
    site = project / "site"
    retitle(project, "Every page changes")  # an update that renders every page again
    assert build_in(project, project / "build", site) == 0
    assert two_processes, "the render was not shared with a child"
    assert reaped(two_processes)
    assert tree(site) == fresh_site(project, tmp_path, "serial")  # a subprocess: PARALLEL_AT as shipped


def template_error():
    raise jinja2.TemplateError("'frame' is undefined")


def unreadable():
    raise PermissionError(13, "Permission denied", "/no/such/partial.html")


def killed():
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.parametrize(
    ("page", "failure", "code", "said"),
    [
        (LAST_PAGE, template_error, 1, "/index.html: could not be rendered (TemplateError: 'frame' is undefined)"),
        pytest.param(
            FIRST_PAGE,
            template_error,
            1,
            "/index.html: could not be rendered (TemplateError: 'frame' is undefined)",
            marks=pytest.mark.slow,
        ),
        pytest.param(
            LAST_PAGE, unreadable, 2, "error: /no/such/partial.html: Permission denied\n", marks=pytest.mark.slow
        ),  # as serial
        pytest.param(LAST_PAGE, killed, 1, "the process rendering half of its pages ended", marks=pytest.mark.slow),
    ],
    ids=["template-error-in-child", "template-error-here", "unreadable-in-child", "child-killed"],
)
def test_a_failure_on_either_side_leaves_the_site_as_it_was(
    project, tmp_path, monkeypatch, capsys, two_processes, page, failure, code, said
):
    site = project / "site"
    retitle(project, "Every page changes")
    before = tree(site)
    fail_on(monkeypatch, page, failure)
    capsys.readouterr()
    assert build_in(project, project / "build", site) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err and said in err, err
    assert tree(site) == before
    assert leftovers(site) == []
    assert two_processes and reaped(two_processes)


def test_only_pure_files_are_rendered_in_the_child(tmp_path, monkeypatch):
    """A file that needs this process (the search database waits for its thread, which a forked
    child does not have) is never given to the child; half of the pure ones are."""
    monkeypatch.setattr(generator.place, "PARALLEL_AT", 2)

    def whoami() -> bytes:
        return str(os.getpid()).encode()

    wanted = {f"line-{i}/index.html": generator.place.Wanted(f"k{i}", make=whoami, pure=True) for i in range(6)}
    wanted["slots.html"] = generator.place.Wanted("s", make=whoami)
    db = tmp_path / "db"  # written by `ready`, in the process that copies it
    wanted["search/site.sqlite3"] = generator.place.Wanted("db", path=db, ready=lambda: db.write_bytes(whoami()))
    site = tmp_path / "site"
    assert generator.place.place(wanted, site, tmp_path / "manifest.json", None) == -1
    writer = {rel: (site / rel).read_text() for rel in wanted}
    here = str(os.getpid())
    assert writer["slots.html"] == here and writer["search/site.sqlite3"] == here
    assert [writer[f"line-{i}/index.html"] == here for i in range(6)] == [True] * 3 + [False] * 3


def test_a_build_failing_before_its_plan_leaves_no_child_behind(project, monkeypatch, forks, capsys):
    """The example pages' digests are begun in a child before mkdocs runs; a build that fails
    there (mkdocs failed) kills and reaps that child, and the site stays as it was."""
    import generator.build
    import generator.halves

    monkeypatch.setattr(generator.halves, "MAP_AT", 2)  # the 23 pages are worth a fork here
    monkeypatch.setattr(generator.build, "run_mkdocs_if_needed", lambda gen, work, say: (False, "mkdocs broke", {}))
    site = project / "site"
    retitle(project, "Never placed")
    before = tree(site)
    assert build_in(project, project / "build", site) == 1
    assert "mkdocs build failed" in capsys.readouterr().err
    assert forks and reaped(forks)
    assert tree(site) == before
