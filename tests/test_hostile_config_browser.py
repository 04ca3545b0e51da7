"""Issue 13 H2 in Chromium: payloads in every string field of a dataset config and in the file
names of a scoped source tree never run, never load anything off-host, on every page type.
(Also the copy button with a CR between JSON tokens, and a huge line range in the URL.)"""

from __future__ import annotations

import re
import shutil

import orjson
import pytest
from conftest import (
    CACHE,
    CFG,
    CORPUS,
    QUEUE,
    RETRY,
    WORKER,
    Served,
    build_dataset,
    clean_records,
    make_dataset,
    offline_page,
)

pytestmark = pytest.mark.browser

SCOPE = [RETRY, QUEUE, CACHE, WORKER, CFG]
DIR = "server/svix-server/src/core/"
FILE_IMG = DIR + "x<img src=x onerror=window.__pwned_file=1;alert(1)>.rs"
FILE_MD = DIR + "y[md](javascript:window.__pwned_mdfile=1) ![p](http:example.com) '\"&amp;.rs"


def payload(tag: str) -> str:
    """HTML, Markdown and attribute-breaking payloads that would set window.__pwned_<tag>."""
    return (
        f"{tag} <img src=x onerror=\"window.__pwned_{tag}=1;alert('{tag}')\"> <script>window.__pwned_{tag}s=1</script>"
        f" ![p](http://example.com/{tag}.png) [md](javascript:window.__pwned_{tag}md=1)"
        f" \"'><svg onload=window.__pwned_{tag}q=1> </title></h1></p><!-- {{{{ 7*7 }}}} @@PAGE_BODY@@ <!--slot:body-->"
    )


@pytest.fixture(scope="module")
def hostile_config_site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile-config")
    source = tmp / "source"  # a copy of the scoped corpus files, plus two hostile file names
    for rel in SCOPE:
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CORPUS / rel, source / rel)
    for rel in (FILE_IMG, FILE_MD):
        shutil.copy(CORPUS / RETRY, source / rel)
    system = payload("system")
    recs = []
    for r in clean_records():
        r["messages"][0]["content"] = system
        recs.append(orjson.dumps(r))
    # a CR between JSON tokens (JSON whitespace): the copy button must keep it
    recs.append(recs[0].replace(b'"chatml",', b'"chatml",\r', 1))
    jsonl = make_dataset(tmp / "ds", "hostile_cfg", recs, lock=False)
    cfg = jsonl.with_suffix(".toml")
    text = cfg.read_text()

    def dump(v):
        return orjson.dumps(v).decode()

    def swap(old, new):
        nonlocal text
        assert old in text, old
        text = text.replace(old, new, 1)

    swap('title = "Svix retry state machine and retry scheduling"', "title = " + dump(payload("title")))
    swap("description = ", "description = " + dump(payload("description")) + "\nold_description = ")
    text = text.replace("\nold_description = ", "\n# ", 1)
    swap("system_prompt = ", "system_prompt = " + dump(system) + "\n# ")
    swap(
        'repository = "https://github.com/svix/svix-webhooks"',
        "repository = " + dump("https://github.com/svix/svix-webhooks?x='onmouseover='window.__pwned_repo=1"),
    )
    swap('commit = "4fc0cfb8b426c87ef7e2b937e7d896a71d456a47"', "commit = " + dump(payload("commit")))
    text = re.sub(r"(?m)^license = .*$", lambda m: "license = " + dump(payload("license")), text, count=1)
    text = re.sub(r"(?m)^copyright = .*$", lambda m: "copyright = " + dump(payload("copyright")), text, count=1)
    swap("files = [\n", "files = [\n  " + dump(FILE_IMG) + ",\n  " + dump(FILE_MD) + ",\n")
    swap(
        "items = [\n", "items = [\n  " + dump(RETRY + "::" + payload("item")) + ",\n  " + dump(FILE_IMG + "::*") + ",\n"
    )
    swap("out = [\n", "out = [\n  " + dump(RETRY + "::" + payload("out")) + ",\n")
    swap('expected_names = ["Retry",', "expected_names = [" + dump(payload("expected")) + ', "Retry",')
    swap('required_terms = ["tokio", "chrono"]', 'required_terms = ["tokio", "chrono", ' + dump(payload("term")) + "]")
    swap("allow = [\n", "allow = [\n  " + dump(payload("allow")) + ",\n")
    cfg.write_text(text, encoding="utf-8")

    root = tmp / "served"
    root.mkdir()
    assert build_dataset(jsonl, tmp / "w", root / "site", source=source) == 0
    server = Served(root)
    yield server.base + "/site/", root / "site", jsonl
    server.close()


def _pages(site_dir):
    """One or more pages of every type the site has."""
    pages = [
        "",
        "404.html",
        "guide/",
        "datasets/hostile_cfg/",
        "datasets/hostile_cfg/examples/",
        "datasets/hostile_cfg/coverage/",
        "datasets/hostile_cfg/findings/",
    ]
    pages += [f"datasets/hostile_cfg/examples/line-{n}/" for n in (1, 2, 3, 4)]
    for p in sorted((site_dir / "datasets/hostile_cfg/source").rglob("index.html")):
        pages.append(p.parent.relative_to(site_dir).as_posix() + "/")
    return pages


@pytest.mark.slow
def test_config_and_file_name_payloads_never_run_or_load(hostile_config_site, browser):
    base, site_dir, _ = hostile_config_site
    pages = _pages(site_dir)
    assert sum("/source/" in p for p in pages) == 7  # the five corpus files and the two hostile names
    page = offline_page(browser, viewport={"width": 1280, "height": 900})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        for rel in pages:
            page.goto(base + rel)
            page.wait_for_load_state("networkidle")
            if "/examples/" in rel and rel.endswith("examples/") or rel.endswith("findings/"):
                page.wait_for_selector(".datatable[data-ready='1']")
            state = page.evaluate(
                """() => ({
                    pwned: Object.keys(window).filter(k => k.startsWith('__pwned')),
                    handlers: document.querySelectorAll('[onerror],[onload],[onmouseover],[onclick]').length,
                    jsLinks: [...document.querySelectorAll('a[href]')]
                        .filter(a => /^\\s*javascript:/i.test(a.getAttribute('href'))).length,
                    stray: document.querySelectorAll(
                        'article img:not([src$=".svg"]), article script, article iframe').length,
                    title: document.title,
                })"""
            )
            assert state["pwned"] == [] and dialogs == [], (rel, state, dialogs)
            assert state["handlers"] == 0 and state["jsLinks"] == 0 and state["stray"] == 0, (rel, state)
            assert "<" not in state["title"] or "&lt;" not in state["title"], (rel, state["title"])
        # the payloads are there, as text
        page.goto(base + "datasets/hostile_cfg/")
        h1 = page.locator("article h1").first.inner_text()
        assert h1.startswith("title <img src=x onerror=") and "![p](http://example.com/title.png)" in h1
        assert page.locator(".md-nav").first.inner_text().count("title <img src=x") >= 1
        # search renders titles and text from the database: still text
        for query in ("onerror", "img", "title"):
            page.locator("input.site-search__input").fill(query)
            page.wait_for_function(
                "q => { const b = document.querySelector('.site-search'); return b.getAttribute('data-query') "
                "=== q && b.getAttribute('data-busy') === '0'; }",
                arg=query,
                timeout=30000,
            )
            assert page.evaluate("Object.keys(window).filter(k => k.startsWith('__pwned'))") == []
            tags = page.evaluate(
                "() => [...document.querySelectorAll('.site-search__panel *')].map(e => e.tagName.toLowerCase())"
            )
            assert set(tags) <= {"div", "select", "option", "p", "ol", "li", "a", "span", "mark", "button"}, (
                query,
                tags,
            )
        assert page.locator(".site-search__result").count() >= 1
        assert page.blocked == [] and page.errors == [] and dialogs == []
    finally:
        page.context.close()


def test_copy_keeps_a_cr_between_json_tokens(hostile_config_site, browser):
    base, _, jsonl = hostile_config_site
    line = jsonl.read_bytes().split(b"\n")[3]
    assert b"\r" in line
    page = offline_page(browser, permissions=["clipboard-read", "clipboard-write"])
    try:
        page.goto(base + "datasets/hostile_cfg/examples/line-4/")
        page.locator("button.copy-jsonl").click()
        page.wait_for_selector("button.copy-jsonl[data-copied='1']")
        assert page.evaluate("navigator.clipboard.readText()").encode() == line
    finally:
        page.context.close()


def test_a_huge_line_range_is_clamped_to_the_file(hostile_config_site, browser):
    base, _, _ = hostile_config_site
    page = offline_page(browser)
    try:
        # count lookups by id: the old loop asked for every one of 3,000,000 lines
        page.add_init_script(
            "window.__ids = 0; const g = Document.prototype.getElementById; Document.prototype.getElementById = "
            "function (id) { window.__ids++; return g.call(this, id); };"
        )
        page.goto(base + "datasets/hostile_cfg/source/server/svix-server/src/core/retry.rs/#L60-L3000000")
        page.wait_for_selector(".cl.hl")
        lines = page.locator(".source-lines .cl").count()
        assert page.locator(".cl.hl").count() == lines - 59
        assert page.evaluate("window.__ids") <= lines + 100
    finally:
        page.context.close()
