"""Hostile content is shown as text and never runs (HTML level and in headless Chromium)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ARTIFACTS, Served, build_dataset, dumps, make_dataset, offline_page
from hostile import LONG, hostile_records
from sitecheck import broken_links, text_of

EXPECT_VISIBLE = {
    "script": "<script>window.__pwned_script = 1</script>",
    "img": 'onerror="window.__pwned_img = 1"',
    "iframe": '<iframe src="javascript:parent.__pwned_iframe = 1"></iframe>',
    "svg": "<svg onload=",
    "style": "<style>body { display: none !important }</style>",
    "js-link": "[click me](javascript:window.__pwned_mdlink=1)",
    "a-js": '<a href="javascript:window.__pwned_a=1" id="evil-link">evil</a>',
    "comment": "before <!-- never closed",
    "heading": "# Not A Heading",
    "table": "| not | a |",
    "fence": "````rust",
    "pre": '</code></pre><b id="escaped-bold">bold</b>',
    "jinja": "{{ 7*7 }} {% raw %} {{ config }} {% endraw %}",
    "dollar": "${window.__pwned_tpl = 1}",
    "think": "a </think> tag in the request",
    "rtl": "U+202E",
    "zw": "U+200B",
    "nul": "U+0000",
    "long": LONG,
    "slots": "@@PAGE_BODY@@ @@PAGE_TITLE@@ @@PAGE_H1@@",
    "code": "// <script>window.__pwned_code = 1</script>",
}


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    records = hostile_records()
    jsonl = make_dataset(tmp / "ds", "hostile", [dumps(r) for _, r in records])
    before = jsonl.read_bytes()
    assert build_dataset(jsonl, tmp / "w", tmp / "site") == 0
    assert jsonl.read_bytes() == before
    return tmp / "site", [name for name, _ in records]


def page_for(site: Path, line: int) -> Path:
    return site / f"datasets/hostile/examples/line-{line}/index.html"


def test_no_payload_becomes_markup(hostile_site):
    site, names = hostile_site
    for line, name in enumerate(names, start=1):
        html = page_for(site, line).read_text()
        body = html.split("<article", 1)[1]
        # no live tag from a record: every '<script' in the article is escaped
        assert "<script>window.__pwned" not in body
        assert '<img src="x" onerror' not in body
        assert '<iframe src="javascript' not in body
        assert "<svg onload" not in body
        assert '<b id="escaped-bold">' not in body
        assert 'href="javascript:' not in body
        # and positively: the payload is on the page as text (HTML-level; the browser test below
        # checks what a reader sees)
        assert EXPECT_VISIBLE[name] in text_of(page_for(site, line)), name
    assert broken_links(site) == []


def test_paths_never_come_from_records(hostile_site):
    site, names = hostile_site
    pages = {p.relative_to(site).as_posix() for p in (site / "datasets/hostile/examples").rglob("*") if p.is_file()}
    assert pages == {"datasets/hostile/examples/index.html"} | {
        f"datasets/hostile/examples/line-{n}/index.html" for n in range(1, len(names) + 1)
    }
    top = {p.name for p in site.iterdir()}
    assert top == {
        ".generated-site",
        "404.html",
        "assets",
        "datasets",
        "guide",
        "index.html",
        "search",
        "sitemap.xml",
        "sitemap.xml.gz",
    }


def test_dataset_stem_cannot_escape(tmp_path, monkeypatch):
    from generator import urls

    assert urls.dataset_dir("../../etc/passwd") == "datasets/etc-passwd"
    assert urls.source("x", "../../a/./b.rs") == "datasets/x/source/a/b.rs.md"
    from generator.write import OutputError, sync_tree

    with pytest.raises(OutputError):
        sync_tree(tmp_path / "out", {"../escape.md": b"x"})
    assert not (tmp_path / "escape.md").exists()


@pytest.mark.slow
@pytest.mark.browser
def test_payloads_are_visible_and_never_execute(hostile_site, browser):
    site, names = hostile_site
    server = Served.under_subpath(site)
    try:
        page = offline_page(browser)
        for line, name in enumerate(names, start=1):
            page.goto(f"{server.base}/site/datasets/hostile/examples/line-{line}/")
            page.wait_for_load_state("load")
            # click everything a curious reader might click
            for link in page.locator("article a").all()[:40]:
                href = link.get_attribute("href") or ""
                assert not href.lower().startswith("javascript:"), href
            pwned = page.evaluate("Object.keys(window).filter(k => k.startsWith('__pwned'))")
            assert pwned == [], f"line {line} ({name}) executed: {pwned}"
            text = page.locator("article").inner_text()
            if name in EXPECT_VISIBLE:
                assert EXPECT_VISIBLE[name] in text, f"line {line} ({name}) payload not visible as text"
            assert page.locator("article").is_visible()
        # from a finding to its example: the stray </think> in a request is a schema finding
        page.goto(f"{server.base}/site/datasets/hostile/findings/")
        page.wait_for_selector(".datatable[data-ready='1']")
        page.locator("select[data-col='rule']").select_option("schema.think-tags")
        page.wait_for_selector(".datatable[data-done='1']")
        rows = page.locator(".datatable-rows tbody tr")
        assert rows.count() >= 1
        rows.first.locator("td.col-location a").click()  # (the rule cell links the rule reference)
        page.wait_for_load_state("load")
        assert "/datasets/hostile/examples/line-" in page.url
        assert (
            page.locator(".finding[data-rule='schema.think-tags']").count() == 2
        )  # in the request and in the reasoning
        # search results render record text too: it must stay text there as well
        page.goto(f"{server.base}/site/")
        for query in ("Request with script", "script", "onerror", "img", "iframe", "svg"):
            page.locator("input.site-search__input").fill(query)
            page.wait_for_function(
                "q => { const b = document.querySelector('.site-search'); return b.getAttribute('data-query') "
                "=== q && b.getAttribute('data-busy') === '0'; }",
                arg=query,
                timeout=30000,
            )
            assert page.locator(".site-search__result").count() >= 1, query
            assert page.evaluate("Object.keys(window).filter(k => k.startsWith('__pwned'))") == []
            # only our own elements in a result: record text is text nodes and <mark>s
            tags = page.evaluate(
                "() => [...document.querySelectorAll('.site-search__results *')].map(e => e.tagName.toLowerCase())"
            )
            assert set(tags) <= {"li", "a", "span", "mark"}, query
        assert page.errors == []
        assert page.blocked == []
        page.goto(f"{server.base}/site/datasets/hostile/examples/line-{names.index('script') + 1}/")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "hostile-example.png"), full_page=False)
    finally:
        server.close()
