"""End to end: build real sites and read the HTML they contain."""

from __future__ import annotations

import hashlib
import re
import shutil
import sqlite3
from pathlib import Path

import orjson
import pytest
from conftest import (
    CORPUS,
    DATASET,
    QUEUE,
    RETRY,
    ROOT,
    clean_records,
    copy_project,
    dumps,
    make_dataset,
    record,
    source_lines,
)
from sitecheck import broken_links, parse, text_of
from test_checks import fixture_records

from generator.__main__ import main

COMMIT = "4fc0cfb8b426c87ef7e2b937e7d896a71d456a47"
UPSTREAM = f"https://github.com/svix/svix-webhooks/blob/{COMMIT}/"


def build(tmp: Path, *args: str) -> int:
    return main(["build", "--work", str(tmp / "work"), "--out", str(tmp / "site"), "--quiet", *args])


def digest_tree(root: Path) -> dict[str, str]:
    """Each file's digest; the search database by its rows (its page layout depends on the
    history of its updates, its rows must not)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            rel = p.relative_to(root).as_posix()
            out[rel] = db_digest(p) if rel == "search/site.sqlite3" else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


DB_DUMP = {  # every table of searchdb, with row ids replaced by the keys they stand for
    "doc": "SELECT key, kind, dataset, number, url, title, covered, first, request, think FROM doc",
    "tok": "SELECT d.key, t.defines, t.idents, t.items, t.files, t.parts FROM tok t JOIN doc d ON d.id = t.id",
    "ex": "SELECT d.key, e.dataset, e.number, e.line, e.request, e.items, e.files, e.lines, e.status, e.findings FROM "
    "ex e JOIN doc d ON d.id = e.id",
    "doc_file": "SELECT f.file, d.key, f.dataset FROM doc_file f JOIN doc d ON d.id = f.doc",
    "doc_item": "SELECT i.item, d.key, i.dataset, i.slug FROM doc_item i JOIN doc d ON d.id = i.doc",
    "block": "SELECT key, idents, parts FROM block",
    "doc_block": "SELECT b.key, d.key FROM doc_block x JOIN block b ON b.id = x.block JOIN doc d ON d.id = x.doc",
    "finding": "SELECT f.key, f.dataset, f.sev_order, f.severity, f.rule, f.location, f.message, f.url, f.line, "
    "coalesce(d.key, '') FROM finding f LEFT JOIN doc d ON d.id = f.doc",
    "facet": "SELECT * FROM facet",
    "meta": "SELECT * FROM meta",
}


def db_digest(path: Path) -> str:
    """A digest of the database's rows, after FTS5 has checked each full-text index against them."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "db.sqlite3"
        copy.write_bytes(path.read_bytes())
        con = sqlite3.connect(copy)
        try:
            for table in ("text_fts", "ident_fts", "block_fts", "finding_fts"):
                con.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")
            dump = {name: sorted(con.execute(sql).fetchall(), key=repr) for name, sql in DB_DUMP.items()}
        finally:
            con.close()
    return "db:" + hashlib.sha256(orjson.dumps(dump)).hexdigest()


def test_every_valid_record_has_a_page_and_the_broken_line_none(fixture_site):
    site, jsonl = fixture_site
    pages = sorted(
        int(p.parent.name.split("-")[1]) for p in (site / "datasets/fixture/examples").glob("line-*/index.html")
    )
    n = len(fixture_records()) + 1
    assert pages == [number for number in range(1, n + 1) if number != 4]


def test_no_broken_links(fixture_site, committed_site):
    assert broken_links(fixture_site[0]) == []
    assert broken_links(committed_site) == []


def test_example_page_links_exact_lines_and_permalinks(fixture_site):
    site, _ = fixture_site
    page = site / "datasets/fixture/examples/line-1/index.html"
    links = parse(page).links
    # record 1 quotes retry.rs lines 1-3 + 5-21, one contiguous span 1-21
    assert (UPSTREAM + RETRY + "#L1-L21", "upstream permalink") in links
    assert ("../../source/server/svix-server/src/core/retry.rs/#L1-L21", "source page") in links
    # code line numbers carry the upstream numbers; the block knows the source page to open
    html = page.read_text()
    assert 'data-line-base="../../source/server/svix-server/src/core/retry.rs/#L"' in html
    assert '<span class="cl"><span class="ln">15</span><span class="lc">' in html
    # record 2 quotes queue lines 20-24 and 28-30: two segments, two permalinks
    page2 = parse(site / "datasets/fixture/examples/line-2/index.html").links
    assert [h for h, t in page2 if t == "upstream permalink"] == [
        UPSTREAM + QUEUE + "#L20-L24",
        UPSTREAM + QUEUE + "#L28-L30",
    ]


def test_source_page_links_back_to_examples(fixture_site):
    site, _ = fixture_site
    src = site / "datasets/fixture/source/server/svix-server/src/core/retry.rs/index.html"
    p = parse(src)
    assert {f"L{n}" for n in range(1, 68)} <= p.ids
    back = [h for h, t in p.links if t.startswith("#")]
    assert "../../../../../../examples/line-1/" in back  # run_with_retries ← example 1
    html = src.read_text()
    assert re.search(r'class="cl st-covered" id="L15"', html)
    assert re.search(r'class="cl st-uncovered" id="L33"', html) is None  # Retry::new is covered (record 18)


def test_coverage_table_names_each_retry_item_with_its_status(committed_site, fixture_site):
    def statuses(site: Path, stem: str):
        html = (site / f"datasets/{stem}/coverage/index.html").read_text()
        rows = re.findall(
            r'<tr class="row-(\w+)"[^>]*><td>\w+</td><td>(\w+)</td><td><a '
            r'href="[^"]*"[^>]*><code>([^<]+)</code></a></td><td[^>]*>retry.rs</td>',
            html,
        )
        return sorted(
            (name.replace("&lt;", "<").replace("&gt;", ">").replace("&#39;", "'"), kind, status)
            for status, kind, name in rows
        )

    assert statuses(committed_site, "retry_state_machine") == [
        ("Retry", "struct", "covered"),
        ("Retry::new", "fn", "covered"),
        ("Retry::run", "fn", "covered"),
        ("impl<'a, Re> Retry<'a, Re>", "impl", "covered"),
        ("run_with_retries", "fn", "covered"),
    ]
    # In the fixture, record 1 quotes run_with_retries and record 3 the struct; record 18 the whole impl.
    assert statuses(fixture_site[0], "fixture") == [
        ("Retry", "struct", "covered"),
        ("Retry::new", "fn", "covered"),
        ("Retry::run", "fn", "covered"),
        ("impl<'a, Re> Retry<'a, Re>", "impl", "covered"),
        ("run_with_retries", "fn", "covered"),
    ]


def test_coverage_statuses_uncovered_and_partial(tmp_path, monkeypatch):
    """A dataset quoting only Retry::run leaves the impl partial and the rest uncovered."""
    jsonl = make_dataset(
        tmp_path / "ds",
        "only",
        [dumps(record("One attempt.", "tokio sleeps; chrono not used.", source_lines(RETRY, 40, 66)))],
    )
    monkeypatch.chdir(ROOT)
    assert build(tmp_path, "--dataset", str(jsonl), "--source-root", str(CORPUS)) == 0
    html = (tmp_path / "site/datasets/only/coverage/index.html").read_text()
    rows = re.findall(
        r'<tr class="row-(\w+)"[^>]*><td>\w+</td><td>(\w+)</td><td><a '
        r'href="[^"]*"[^>]*><code>([^<]+)</code></a></td><td[^>]*>retry.rs</td>',
        html,
    )
    got = sorted((n.replace("&lt;", "<").replace("&gt;", ">").replace("&#39;", "'"), s) for s, k, n in rows)
    assert got == [
        ("Retry", "uncovered"),
        ("Retry::new", "uncovered"),
        ("Retry::run", "covered"),
        ("impl<'a, Re> Retry<'a, Re>", "partial"),
        ("run_with_retries", "uncovered"),
    ]
    # uncovered items come first in the table
    order = [
        s
        for s, _, _ in re.findall(
            r'<tr class="row-(\w+)"[^>]*><td>\w+</td><td>(\w+)</td><td><a href="[^"]*"[^>]*><code>([^<]+)</code>', html
        )
    ]
    assert order == sorted(order, key=["uncovered", "partial", "covered"].index)


def test_coverage_page_lists_names_the_source_does_not_define(committed_site):
    text = text_of(committed_site / "datasets/retry_state_machine/coverage/index.html")
    assert "RetryState is named by the scope but the source defines no such item" in text
    assert "RetrySchedule is named by the scope but the source defines no such item" in text


def site_db(site: Path, sql: str, params=()) -> list[tuple]:
    """Rows of a query on the site's search and table database (what the browser reads)."""
    con = sqlite3.connect(f"file:{site / 'search/site.sqlite3'}?mode=ro", uri=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def test_findings_appear_on_example_pages_and_in_the_findings_data(fixture_site):
    site, jsonl = fixture_site
    html = (site / "datasets/fixture/examples/line-17/index.html").read_text()  # RetryState, shifted by the broken line
    assert 'data-rule="reasoning.unknown-identifier"' in html
    rows = set(site_db(site, "SELECT rule, location, url FROM finding WHERE dataset = 'fixture'"))
    assert ("reasoning.unknown-identifier", f"{jsonl}:17", "datasets/fixture/examples/line-17/") in rows
    assert ("schema.json", f"{jsonl}:4", "") in rows
    # and the findings page lists them in its first page, without JavaScript
    page = (site / "datasets/fixture/findings/index.html").read_text()
    assert f'<a href="../examples/line-17/">{jsonl}:17</a>' in page


def test_example_index_data_has_every_example(fixture_site):
    site, _ = fixture_site
    lines = [number for number in range(1, len(fixture_records()) + 2) if number != 4]
    assert [r[0] for r in site_db(site, "SELECT line FROM ex WHERE dataset = 'fixture' ORDER BY number")] == lines
    assert site_db(site, "SELECT items FROM ex WHERE dataset = 'fixture' AND number = 1") == [("run_with_retries",)]
    # the first page of the table is in the page itself, each row linking its example
    page = (site / "datasets/fixture/examples/index.html").read_text()
    assert re.findall(
        r'<tr><td class="col-number num">\d+</td><td class="col-line num">(\d+)</td><td class="col-request"><a '
        r'href="line-\1/">',
        page,
    ) == [str(number) for number in lines]


def test_copy_button_carries_the_exact_jsonl_line(fixture_site):
    site, jsonl = fixture_site
    raw_lines = jsonl.read_bytes().split(b"\n")
    for line in (1, 6, 17):
        html = (site / f"datasets/fixture/examples/line-{line}/index.html").read_text()
        m = re.search(r'<textarea id="jsonl-raw"[^>]*>(.*?)</textarea>', html, re.S)
        import html as h

        assert h.unescape(m.group(1)).encode() == raw_lines[line - 1]


def test_home_has_counts_provenance_and_license(committed_site):
    text = " ".join(text_of(committed_site / "index.html").split())
    assert "23 examples" in text
    assert COMMIT in text
    assert "Copyright (c) 2021 Svix" in text and "MIT License" in text


def test_the_site_ships_no_dead_weight_and_no_whole_index(committed_site):
    """No source maps, no lunr (language files, worker, the index every page fetched)."""
    files = [p.relative_to(committed_site).as_posix() for p in committed_site.rglob("*") if p.is_file()]
    assert [
        f
        for f in files
        if f.endswith(".map") or "lunr" in f or f.startswith("search/search_index") or "/workers/search" in f
    ] == []
    # no table data loaded whole; the only JSON is each source page's line lookup, small
    lookups = [f for f in files if f.endswith(".json")]
    assert lookups and all(
        re.fullmatch(r"datasets/retry_state_machine/lines/server/svix-server/src/.+\.rs\.json", f) for f in lookups
    )
    assert max((committed_site / f).stat().st_size for f in lookups) < 64_000
    assert {
        "search/site.sqlite3",
        "search/version.txt",
        "assets/vendor/sql.js-httpvfs/sql-wasm.wasm.gz",
        "assets/vendor/sql.js-httpvfs/LICENSE",
    } <= set(files)


def test_offline_no_external_assets(committed_site):
    for page in committed_site.rglob("*.html"):
        for src in parse(page).scripts:
            assert not re.match(r"(https?:)?//", src), f"{page}: external asset {src}"
    css = " ".join(p.read_text(errors="replace") for p in committed_site.rglob("*.css"))
    assert "fonts.googleapis" not in css and "fonts.gstatic" not in css


def test_example_pages_stay_out_of_the_nav(committed_site):
    html = (committed_site / "index.html").read_text()
    assert "examples/line-" not in re.sub(r"<article.*?</article>", "", html, flags=re.S)


def test_build_without_a_source_root_uses_the_lock(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("DATASET_SOURCE_ROOT", raising=False)
    assert build(tmp_path) == 0
    site = tmp_path / "site"
    assert not (site / "datasets/retry_state_machine/source").exists()
    page = parse(site / "datasets/retry_state_machine/examples/line-1/index.html")
    assert any(h.startswith(UPSTREAM + RETRY + "#L") for h, _ in page.links)
    assert broken_links(site) == []


def test_builds_are_deterministic(tmp_path, monkeypatch, committed_digest):
    """A build from nothing here gives the very site the shared build elsewhere gave."""
    monkeypatch.chdir(ROOT)
    assert build(tmp_path, "--source-root", str(CORPUS)) == 0
    # Byte-identical, sitemap.xml included: it carries the build date only (no time of day).
    assert digest_tree(tmp_path / "site") == committed_digest


def test_failed_build_leaves_previous_site_intact(project):
    before = digest_tree(project / "site")
    (project / "docs" / "broken.md").write_text("# Broken\n\n[nowhere](missing-page.md)\n")
    assert main(["build", "--work", "build", "--out", "site", "--quiet", "--source-root", str(CORPUS)]) == 1
    assert digest_tree(project / "site") == before
    assert not list(project.glob("site.generator-*"))


def test_strict_turns_line_reports_into_failure(tmp_path, monkeypatch, capsys):
    jsonl = make_dataset(tmp_path / "ds", "ds", [dumps(clean_records()[0]), b"{oops"])
    monkeypatch.chdir(ROOT)
    assert build(tmp_path, "--dataset", str(jsonl), "--source-root", str(CORPUS)) == 0
    err = capsys.readouterr().err
    assert f"{jsonl}:2: invalid JSON" in err
    assert build(tmp_path, "--dataset", str(jsonl), "--source-root", str(CORPUS), "--strict") == 1


def test_handwritten_page_clashing_with_a_generated_one_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    project = tmp_path / "project"
    shutil.copytree(ROOT / "docs", project / "docs")
    shutil.copy(ROOT / "mkdocs.yml", project / "mkdocs.yml")
    shutil.copytree(ROOT / "dataset", project / "dataset")
    (project / "docs" / "index.md").write_text("# My own home\n")
    monkeypatch.chdir(project)
    assert build(project) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "docs/index.md: a hand-written file has the path of a generated page" in err
    assert not (project / "site").exists()


@pytest.mark.slow
def test_two_datasets_in_one_site(tmp_path, monkeypatch):
    other = make_dataset(tmp_path / "ds", "second", [dumps(r) for r in clean_records()])
    monkeypatch.chdir(ROOT)
    assert build(tmp_path, "--dataset", str(DATASET), "--dataset", str(other), "--source-root", str(CORPUS)) == 0
    site = tmp_path / "site"
    home = text_of(site / "index.html")
    assert home.count("Svix retry state machine and retry scheduling") >= 2
    assert (site / "datasets/retry_state_machine/examples/line-23/index.html").exists()
    assert (site / "datasets/second/examples/line-3/index.html").exists()
    assert not (site / "datasets/second/examples/line-4").exists()
    assert broken_links(site) == []
    locations = {u for (u,) in site_db(site, "SELECT url FROM doc WHERE kind = 'example'")}
    assert (
        "datasets/second/examples/line-1/" in locations
        and "datasets/retry_state_machine/examples/line-23/" in locations
    )
    assert site_db(site, "SELECT value, count FROM facet WHERE kind = 'dataset'") == [
        ("retry_state_machine", 23),
        ("second", 3),
    ]


def test_empty_dataset_builds(tmp_path, monkeypatch):
    jsonl = make_dataset(tmp_path / "ds", "empty", [])
    monkeypatch.chdir(ROOT)
    assert build(tmp_path, "--dataset", str(jsonl), "--source-root", str(CORPUS)) == 0
    site = tmp_path / "site"
    assert "0 examples" in text_of(site / "index.html")
    assert not list((site / "datasets/empty/examples").glob("line-*"))
    assert broken_links(site) == []


@pytest.mark.slow
def test_rebuild_from_the_cache_equals_a_fresh_build_after_config_edits(project, tmp_path):
    cfg = project / "mkdocs.yml"
    cfg.write_text(cfg.read_text().replace("site_name: Retry dataset review", "site_name: Renamed review"))
    assert (
        main(["build", "--work", "build", "--out", "site", "--quiet", "--source-root", str(CORPUS)]) == 0
    )  # warm: mkdocs output and page cache exist
    warm = digest_tree(project / "site")
    assert "Renamed review" in (project / "site/index.html").read_text()
    assert "Renamed review" in (project / "site/datasets/retry_state_machine/examples/line-1/index.html").read_text()
    fresh = tmp_path / "fresh"
    assert (
        main(
            [
                "build",
                "--work",
                str(fresh / "work"),
                "--out",
                str(fresh / "site"),
                "--quiet",
                "--source-root",
                str(CORPUS),
            ]
        )
        == 0
    )
    assert digest_tree(fresh / "site") == warm


def test_handwritten_page_at_an_example_path_is_refused(tmp_path, monkeypatch, capsys):
    project = copy_project(tmp_path)
    page = project / "docs/datasets/retry_state_machine/examples/line-1.md"
    page.parent.mkdir(parents=True)
    page.write_text("# Hand-written\n")
    monkeypatch.chdir(project)
    assert build(project) == 1
    assert (
        "docs/datasets/retry_state_machine/examples/line-1.md: a hand-written file has the path of a generated page"
        in capsys.readouterr().err
    )


def test_out_that_is_not_a_site_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "keep.txt").write_text("mine")
    assert main(["build", "--work", str(tmp_path / "w"), "--out", str(precious), "--quiet"]) == 1
    assert "is not a site this tool wrote" in capsys.readouterr().err
    assert (precious / "keep.txt").read_text() == "mine"
    assert main(["build", "--work", str(tmp_path / "w"), "--out", ".", "--quiet"]) == 1


def test_two_datasets_with_one_name_are_refused(tmp_path, monkeypatch, capsys):
    a = make_dataset(tmp_path / "a", "same", [dumps(clean_records()[0])])
    b = make_dataset(tmp_path / "b", "same", [dumps(clean_records()[1])])
    monkeypatch.chdir(ROOT)
    assert build(tmp_path, "--dataset", str(a), "--dataset", str(b)) == 1
    assert "datasets 'same', 'same' would share the folder datasets/same/" in capsys.readouterr().err
    # Names that differ but share a folder name are refused alike (pages, data and memo).
    c = make_dataset(tmp_path / "c", "x y", [dumps(clean_records()[0])])
    d = make_dataset(tmp_path / "d", "x-y", [dumps(clean_records()[1])])
    assert build(tmp_path, "--dataset", str(c), "--dataset", str(d)) == 1
    assert "datasets 'x y', 'x-y' would share the folder datasets/x-y/" in capsys.readouterr().err


def test_scope_file_not_yet_in_the_lock(tmp_path, monkeypatch, capsys):
    extra = "server/svix-server/src/core/can_fail.rs"
    rec = record("Quote the can-fail import.", "tokio and chrono are not involved here.", source_lines(extra, 1, 1))
    jsonl = make_dataset(tmp_path / "ds", "wider", [dumps(rec)])
    cfg = jsonl.with_suffix(".toml")
    cfg.write_text(
        cfg.read_text().replace(
            '  "server/svix-server/src/cfg.rs",\n]', f'  "server/svix-server/src/cfg.rs",\n  "{extra}",\n]'
        )
    )
    monkeypatch.chdir(ROOT)
    assert main(["check", "--dataset", str(jsonl), "--source-root", str(CORPUS), "--format", "json"]) in (0, 1)
    found = orjson.loads(capsys.readouterr().out)["findings"]
    assert not any(f["rule"].startswith("fidelity.") for f in found)
    assert any(f["rule"] == "drift.file-new" for f in found)
    assert build(tmp_path, "--dataset", str(jsonl), "--source-root", str(CORPUS)) == 0


def test_findings_page_explains_every_rule(committed_site):
    from generator.checks import RULES

    text = text_of(committed_site / "datasets/retry_state_machine/findings/index.html")
    for rule, (_, meaning) in RULES.items():
        assert rule in text and meaning in text, rule


def test_dataset_page_shows_length_histograms_kept_as_data(committed_site):
    """Histograms are files beside the page, so an edit that changes a length leaves the
    page (and mkdocs) alone."""
    page = committed_site / "datasets/retry_state_machine/index.html"
    srcs = re.findall(r'<img src="([^"]+\.svg)" alt="Histogram: ([^"]+)"', page.read_text())
    assert [label for _, label in srcs] == ["request length (words)", "reasoning length (words)", "code length (lines)"]
    for src, _ in srcs:
        svg = (page.parent / src).read_text()
        assert svg.startswith("<svg xmlns=") and "n=23, median" in svg

    # request lengths 28..57 words: bins of 2 words from 28, a y-axis up to the tallest bar,
    # x labels at least 44 px apart, a tooltip and a link to the filtered examples per bar
    svg = (page.parent / srcs[0][0]).read_text()
    lengths = sorted(
        len(orjson.loads(record)["messages"][1]["content"].split()) for record in DATASET.read_bytes().splitlines()
    )
    bars = re.findall(
        r'<rect class="hist-bar" x="([\d.]+)"[^>]*><title>(\d+)–(\d+) words: (\d+) examples?</title>', svg
    )
    assert [(int(a), int(b)) for _, a, b, _ in bars] == [
        (a, a + 1) for a in range(lengths[0] // 2 * 2, lengths[-1] + 1, 2)
    ]
    assert sum(int(c) for *_, c in bars) == 23
    top = max(int(c) for *_, c in bars)
    assert f'text-anchor="end" class="hist-ink" fill="#616161">{top}</text>' in svg  # the y-axis' top tick
    xs = [
        float(x)
        for x in re.findall(
            r'<text x="([\d.]+)" y="\d+" text-anchor="middle" class="hist-ink" fill="#616161">\d+</text>', svg
        )
    ]
    assert len(xs) >= 3 and min(b - a for a, b in zip(xs, xs[1:], strict=False)) >= 44
    links = re.findall(r'<a href="([^"]+)" aria-label="(\d+)–(\d+) words', svg)
    assert links and all(h == f"examples/#len.request_words={a}-{b}" for h, a, b in links)


def test_example_page_header_roles_raw_line_and_diff_once(committed_site, fixture_site):
    html = (committed_site / "datasets/retry_state_machine/examples/line-20/index.html").read_text()
    assert re.search(r'<h1 id="page-title">#20 · handle_failed_dispatch', html)
    assert "<title>#20 · handle_failed_dispatch · Svix retry" in html
    first = orjson.loads(DATASET.read_bytes().split(b"\n")[19])["messages"][1]["content"].split("\n")[0]
    lede = re.search(r'<p class="ex-lede">(.*?)</p>', html).group(1)
    assert html_unescape(lede).rstrip("…") == first[: len(html_unescape(lede).rstrip("…"))] and len(lede) > 40
    # one section per message, labelled by its role; reasoning and code are in the assistant's
    roles = re.findall(r'<section class="msg msg-(\w+)"[^>]*>\s*<h2[^>]*><span class="role">(\w+)</span>', html)
    assert roles == [("system", "system"), ("user", "user"), ("assistant", "assistant")]
    assistant = html[html.index('<section class="msg msg-assistant"') :]
    assistant = assistant[: assistant.index("</section>")]
    assert 'id="reasoning"' in assistant and 'id="code"' in assistant and 'class="segment' in assistant
    # the raw line is on view (in a details box), read-only, and is the copy button's source
    raw = re.search(r'<details class="ex-raw">.*?<textarea id="jsonl-raw"([^>]*)>(.*?)</textarea>', html, re.S)
    assert "readonly" in raw.group(1) and "hidden" not in raw.group(1)
    assert html_unescape(raw.group(2)).encode() == DATASET.read_bytes().split(b"\n")[19]
    # a not-verbatim segment: its diff is shown once, with the source's line numbers
    site, _ = fixture_site
    pages = [p.read_text() for p in (site / "datasets/fixture/examples").glob("line-*/index.html")]
    page = next(p for p in pages if 'data-rule="fidelity.not-verbatim"' in p)
    assert (
        page.count('<table class="diff">') == 1
        and 'class="finding-detail"' not in page.split('data-rule="fidelity.not-verbatim"')[1].split("</div>")[0]
    )
    rows = re.findall(
        r'<tr class="d-(\w+)"><td class="dn">(\d*)</td><td class="dn">(\d*)</td><td class="ds">([^<]*)</td>', page
    )
    assert {k for k, *_ in rows} >= {"del", "add"}
    seg_start = int(re.search(r'segment-modified".*?lines (\d+)–', page, re.S).group(1))
    assert all(int(o) >= seg_start for k, o, n, s in rows if k == "del") and {
        s for k, _, _, s in rows if k == "del"
    } == {"−"}


def html_unescape(s: str) -> str:
    import html as h

    return h.unescape(s)


def test_findings_say_how_to_fix(committed_site, fixture_site):
    html = (committed_site / "datasets/retry_state_machine/coverage/index.html").read_text()
    text = html_unescape(html)
    line = next(n for n, text_line in enumerate(CONFIG_TEXT().split("\n"), 1) if text_line.startswith("expected_names"))
    assert f"dataset/retry_state_machine.toml:{line}: expected_names = [" in text
    assert 'remove "RetryState" from scope.expected_names' in text and '"coverage.missing-name" = "info"' in text
    # rule names link to the rule reference, whose rows carry the anchors
    findings = (committed_site / "datasets/retry_state_machine/findings/index.html").read_text()
    assert 'id="rule-coverage-missing-name"' in findings
    assert '<td class="col-rule"><a href="#rule-coverage-missing-name">coverage.missing-name</a></td>' in findings
    overview = parse(committed_site / "datasets/retry_state_machine/index.html").links
    assert ("../retry_state_machine/findings/#rule-coverage-missing-name", "coverage.missing-name") in overview or (
        "findings/#rule-coverage-missing-name",
        "coverage.missing-name",
    ) in overview
    # a broken JSON line's finding quotes the line, escaped
    site, jsonl = fixture_site
    msg = site_db(site, "SELECT message FROM finding WHERE dataset = 'fixture' AND rule = 'schema.json'")[0][0]
    assert msg.endswith("near byte 1: {this line is broken")
    # and the findings table shows a finding's fix under its message
    detail = site_db(
        committed_site, "SELECT detail FROM finding WHERE rule = 'coverage.missing-name' ORDER BY message"
    )[0][0]
    assert 'remove "RetrySchedule" from scope.expected_names' in detail
    table = html_unescape((committed_site / "datasets/retry_state_machine/findings/index.html").read_text())
    assert '<details class="finding-more"><summary>Details</summary><pre>dataset/retry_state_machine.toml:' in table


def CONFIG_TEXT() -> str:
    return (ROOT / "dataset/retry_state_machine.toml").read_text()


def test_counts_link_to_filtered_findings_and_read_well(fixture_site):
    site, _ = fixture_site
    home = parse(site / "index.html")
    text = " ".join(text_of(site / "index.html").split())
    assert "1 unreadable line" in text and "1 unreadable lines" not in text
    hrefs = dict((t, h) for h, t in home.links)
    errors = next(t for t in hrefs if t.endswith(" errors") or t.endswith(" error"))
    assert hrefs[errors] == "datasets/fixture/findings/#f.severity=error"
    assert re.search(
        r'<a class="count-error" href="datasets/fixture/findings/#f.severity=error">', (site / "index.html").read_text()
    )
    overview = (site / "datasets/fixture/index.html").read_text()
    assert 'class="big count-error" href="findings/#f.severity=error"' in overview
    assert "1 unreadable line " in " ".join(text_of(site / "datasets/fixture/index.html").split()) + " "
    assert "unreadable lines" not in overview


def test_the_dataset_card_is_a_page_and_its_html_is_not_passed_through(tmp_path, monkeypatch):
    jsonl = make_dataset(tmp_path / "ds", "carded", [dumps(r) for r in clean_records()])
    (tmp_path / "ds/README.md").write_text(
        "# A card <img src=x onerror=alert(1)>\n\nText <script>alert(2)</script> and [a link](javascript:alert(3)), "
        "[upstream](https://github.com/svix/svix-webhooks), [local](../x.toml), ![pic](https://evil.example/p.png).\n\n"
        '<div onclick="alert(4)">raw block</div>\n'
    )
    monkeypatch.chdir(ROOT)
    assert build(tmp_path, "--dataset", str(jsonl), "--source-root", str(CORPUS)) == 0
    site = tmp_path / "site"
    html = (site / "datasets/carded/card/index.html").read_text()
    body = html[html.index('<div class="card-page">') :]
    body = body[: body.index("</article>")]
    for bad in ("<script", "<img", 'href="javascript', "evil.example"):
        assert bad not in body, bad
    assert re.search(r"<[^>]*\son\w+=", body) is None  # no event attribute on any element
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in body and "&lt;div onclick" in body
    assert '<a href="https://github.com/svix/svix-webhooks">upstream</a>' in body
    assert '<span class="card-ref" title="../x.toml">local</span>' in body
    # the overview's license note and the nav link to it
    assert ("card/", "the dataset card") in parse(site / "datasets/carded/index.html").links
    assert broken_links(site) == []


def test_source_pages_carry_one_line_lookup_not_per_line_lists(committed_site):
    src = committed_site / "datasets/retry_state_machine/source/server/svix-server/src/core/retry.rs/index.html"
    html = src.read_text()
    lookup = re.search(r'data-lookup="([^"]+)"', html).group(1)
    data = orjson.loads((src.parent / lookup).read_bytes())
    # each code block quoting this file once: its line ranges, its examples, how many there are
    blocks = sorted((tuple(map(tuple, r)), [data["examples"][k][0] for k in ex], n) for r, ex, n in data["blocks"])
    assert ((1, 21),) in [b[0] for b in blocks] and ((1, 3), (23, 67)) in [b[0] for b in blocks]
    assert next(b for b in blocks if b[0] == ((1, 3), (32, 67)))[1:] == ([5], 1)
    assert ["Retry::run", 40, 66] in data["items"]
    # the page itself lists no examples per line: no badges, no per-line links
    assert "cov-badge" not in html and html.count("examples/line-") < 30
    # the coverage strip is a group of named links, not an image holding links
    strip = re.search(r'<svg class="cov-strip"[^>]*>.*?</svg>', html, re.S).group(0)
    assert 'role="img"' not in strip and 'role="group"' in strip
    assert all("aria-label" in a for a in re.findall(r"<a [^>]*>", strip))
