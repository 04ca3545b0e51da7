"""The link checker the site tests rely on: it reports each broken link, anchor and table state."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from sitecheck import broken_links, parse

TABLE = (
    '<div class="datatable" data-kind="{kind}" data-dataset="ds" data-db="../search/site.sqlite3" '
    'data-examples="examples/" data-options="{options}">'
)
FINDINGS_OPTIONS = (
    "{&#34;severity&#34;:[[&#34;error&#34;,&#34;error&#34;]],"
    "&#34;rule&#34;:[[&#34;schema.json&#34;,&#34;schema.json&#34;]]}"
)
HOME_LINKS = [
    "a/",
    "a/#sec",
    "a/#L3",
    "a/#L3-L5",
    "#top",
    "https://example.com/x#y=1",
    "examples/#item=src/a.rs::run",
    "examples/#item=src/a.rs::a%20b",
    "examples/#len.code_lines=0-19",
    "findings/#f.severity=error",
    "findings/#f.rule=schema.json",
]


def small_site(root: Path, links: list[str] = HOME_LINKS, doc_urls: tuple[str, ...] = ("a/#sec",)) -> Path:
    """A hand-made site whose every link resolves; `links` go on the home page."""
    pages = {
        "index.html": '<h1 id="top">home</h1>' + "".join(f'<a href="{h}">x</a>' for h in links),
        "a/index.html": '<h2 id="sec">s</h2>' + "".join(f'<span id="L{n}">{n}</span>' for n in range(1, 8)),
        "examples/index.html": TABLE.format(kind="examples", options="{}") + "</div>",
        "examples/line-1/index.html": '<a href="../">table</a>',
        "findings/index.html": TABLE.format(kind="findings", options=FINDINGS_OPTIONS) + "</div>",
        "data/lengths-code.svg": '<svg><a href="examples/#len.code_lines=0-19"><rect/></a></svg>',
    }
    for rel, text in pages.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "search").mkdir()
    con = sqlite3.connect(root / "search/site.sqlite3")
    con.executescript(
        "CREATE TABLE doc(url TEXT); CREATE TABLE finding(url TEXT);"
        "CREATE TABLE ex(dataset TEXT, line INTEGER); CREATE TABLE doc_item(dataset TEXT, slug TEXT);"
        "INSERT INTO ex VALUES ('ds', 1); INSERT INTO finding VALUES ('');"
        "INSERT INTO doc_item VALUES ('ds', 'src/a.rs::run'), ('ds', 'src/a.rs::a b'), ('other', 'src/a.rs::other');"
    )
    con.executemany("INSERT INTO doc VALUES (?)", [(u,) for u in doc_urls])
    con.commit()
    con.close()
    return root


def test_a_sound_site_has_no_broken_links(tmp_path):
    assert broken_links(small_site(tmp_path)) == []


@pytest.mark.parametrize(
    "href,why",
    [
        ("b/", "missing"),  # no such page
        ("../outside/", "missing"),  # outside the site
        ("a/#nosuch", "no #nosuch"),  # no such anchor
        ("#nosuch", "no #nosuch"),  # nor on the page itself
        ("a/#L3-L9", "no #L3-L9"),  # a line range past the end
        ("a/#L5-L3", "no #L5-L3"),  # a range backwards
        ("a/#q=retry", "no #q=retry"),  # table state on a page without a table
        ("examples/#q=retry", "no #q=retry"),  # state site.js reads, but no page links it
        ("examples/#item=src/a.rs::gone", "no #item=src/a.rs::gone"),  # an item no example covers
        ("examples/#item=src/a.rs::other", "no #item=src/a.rs::other"),  # another dataset's item
        ("examples/#item=", "no #item="),
        ("examples/#len.code_lines=19-0", "no #len.code_lines=19-0"),
        ("examples/#len.nothing=0-19", "no #len.nothing=0-19"),
        ("examples/#f.severity=error", "no #f.severity=error"),  # a findings filter on the examples table
        ("findings/#f.severity=fatal", "no #f.severity=fatal"),  # not among the table's options
        ("findings/#f.nothing=error", "no #f.nothing=error"),
        ("findings/#item=src/a.rs::run", "no #item=src/a.rs::run"),
        ("findings/#f.severity=error&f.rule=schema.json", "no #f.severity=error&f.rule=schema.json"),
    ],
)
def test_each_broken_link_or_anchor_is_reported(tmp_path, href, why):
    site = small_site(tmp_path, HOME_LINKS + [href])
    assert broken_links(site) == [f"index.html: {href} ({why})"]


def test_broken_urls_in_the_search_database_and_the_histograms_are_reported(tmp_path):
    site = small_site(tmp_path, doc_urls=("a/#sec", "a/#gone", "nowhere/"))
    (site / "data/lengths-code.svg").write_text('<svg><a href="examples/#len.code_lines=0"><rect/></a></svg>')
    con = sqlite3.connect(site / "search/site.sqlite3")
    con.execute("INSERT INTO ex VALUES ('ds', 2)")  # a table row whose example page does not exist
    con.commit()
    con.close()
    assert broken_links(site) == [
        "data/lengths-code.svg: examples/#len.code_lines=0 (no #len.code_lines=0)",
        "search/site.sqlite3: a/#gone (no #gone)",
        "search/site.sqlite3: nowhere/ (missing)",
        "search/site.sqlite3 (ex, ds): examples/line-2/ (missing)",
    ]


def test_a_page_rewritten_at_the_same_path_is_read_again(tmp_path):
    """Parsed pages are kept by path, inode, size and modification time: a page rebuilt in
    place changes at least one of them."""
    page = tmp_path / "p.html"
    page.write_text('<p id="one">')
    assert parse(page).ids == {"one"}
    old = page.stat()
    page.write_text('<p id="three">')  # another size, the old time stamp
    os.utime(page, ns=(old.st_atime_ns, old.st_mtime_ns))
    assert parse(page).ids == {"three"}
    page.write_text('<p id="seven">')  # the same size, a later time stamp
    os.utime(page, ns=(old.st_atime_ns, old.st_mtime_ns + 1))
    assert parse(page).ids == {"seven"}
    replacement = tmp_path / "new.html"
    replacement.write_text('<p id="eight">')  # the same size and time, replaced as builds do
    os.utime(replacement, ns=(old.st_atime_ns, old.st_mtime_ns + 1))
    replacement.replace(page)
    assert parse(page).ids == {"eight"}


def test_a_damaged_copy_of_a_built_site_is_caught(fixture_site, tmp_path):
    """The checker reads the generator's real pages: one example link and one line anchor
    damaged in a copy of a built site are the two reports."""
    site = tmp_path / "site"
    shutil.copytree(fixture_site[0], site, symlinks=True)
    source = site / "datasets/fixture/source/server/svix-server/src/core/retry.rs/index.html"
    html = source.read_text()
    assert html.count('href="../../../../../../examples/line-1/"') >= 1 and 'id="L5"' in html
    html = html.replace('href="../../../../../../examples/line-1/"', 'href="../../../../../../examples/line-99/"', 1)
    source.write_text(html.replace('id="L5"', 'id="L5x"'))
    bad = broken_links(site)
    rel = source.relative_to(site)
    assert f"{rel}: ../../../../../../examples/line-99/ (missing)" in bad
    assert any("#L5" in b and "(no #L5" in b for b in bad), bad
    assert all("line-99" in b or "#L5" in b for b in bad), bad


@pytest.mark.slow
def test_an_item_quoted_by_many_examples_links_only_filters_that_find_them(tmp_path, monkeypatch):
    """The examples table filters by the items the search database lists: a `use` item's
    "+N more" is text, not a link to a filter that would show no rows; a function's is a link."""
    from conftest import build_dataset, clean_records, dumps, make_dataset

    first = clean_records()[0]  # quotes retry.rs's `use` lines, then run_with_retries
    lines = [dumps(first).replace(b"keeps retrying", f"keeps retrying ({n})".encode()) for n in range(14)]
    jsonl = make_dataset(tmp_path / "ds", "uses", lines)
    assert build_dataset(jsonl, tmp_path / "w", tmp_path / "site") == 0
    assert broken_links(tmp_path / "site") == []
    page = (tmp_path / "site/datasets/uses/source/server/svix-server/src/core/retry.rs/index.html").read_text()
    rows = {row.split("<td>", 2)[1].split("</td>")[0]: row for row in page.split("<tr ")[1:] if "+2 more" in row}
    assert "use" in rows and ">+2 more</a>" not in rows["use"] and "+2 more" in rows["use"], rows.keys()
    assert any(">+2 more</a>" in row for kind, row in rows.items() if kind == "fn"), rows.keys()
