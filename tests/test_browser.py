"""The site as a reader uses it: headless Chromium (Debian's) driven by Playwright, the site
served from a sub-path on localhost, every request to anything else blocked."""

from __future__ import annotations


import re

import orjson
import pytest

from generator.__main__ import main

from conftest import ARTIFACTS, CORPUS, DATASET, ROOT, Served, offline_page

pytestmark = pytest.mark.browser
SUB = "/reviews/retry/"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    server = Served(root)
    out = root / SUB.strip("/")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        assert main(["build", "--source-root", str(CORPUS), "--work", str(root.parent / (root.name + "-work")), "--out", str(out), "--site-url", server.base + SUB, "--quiet"]) == 0
    yield server.base + SUB
    server.close()


@pytest.fixture()
def page(browser):
    p = offline_page(browser, viewport={"width": 1280, "height": 900})
    yield p
    assert p.errors == [], p.errors
    assert p.blocked == [], f"requests left localhost: {p.blocked}"
    p.context.close()


def shot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def search_box(page, query):
    """Type a query into the header search and wait for its answer."""
    page.locator("input.site-search__input").click()
    page.keyboard.type(query)
    page.wait_for_function(
        "q => { const b = document.querySelector('.site-search'); return b.getAttribute('data-query') === q && b.getAttribute('data-busy') === '0'; }",
        arg=query, timeout=30000,
    )
    return page.locator(".site-search__result a")


def test_search_finds_an_example_by_a_phrase_from_its_request(site, page):
    page.goto(site)
    results = search_box(page, "hand-roll their own loop")
    assert "examples/line-1/" in results.first.get_attribute("href")
    # a short result: number, covered item, the request's first line, highlighted context
    first = results.first
    assert first.locator(".sr-title").inner_text() == "#1"
    assert first.locator(".sr-covered").inner_text() == "run_with_retries"
    assert first.locator(".sr-first").inner_text().startswith("Several call sites")
    assert first.locator(".sr-context").count() <= 2
    assert first.locator("mark").all_inner_texts()[:4] == ["hand-roll", "their", "own", "loop"]
    shot(page, "search")


def test_search_finds_a_phrase_from_the_reasoning(site, page):
    think = orjson.loads(DATASET.read_bytes().split(b"\n")[3])["messages"][2]["content"]
    words = think.split("\n")[1].split()[3:9]
    page.goto(site)
    hrefs = [a.get_attribute("href") for a in search_box(page, " ".join(words)).all()]
    assert any("examples/line-4/" in h for h in hrefs), hrefs


def test_identifier_search_ranks_the_definition_and_exact_matches_first(site, page):
    page.goto(site)
    results = search_box(page, "`Retry::run`")
    assert results.first.get_attribute("href").endswith("source/server/svix-server/src/core/retry.rs/#item-retry-run-40")
    assert results.first.locator(".sr-kind").inner_text() == "source item"
    page.locator("input.site-search__input").fill("")
    # a part of an identifier (`retry` in should_retry) ranks below the exact identifier
    results = search_box(page, "should_retry")
    kinds = [a.get_attribute("data-kind") for a in results.all()]
    assert kinds[0] == "item" and "example" in kinds
    # filters: only examples quoting worker.rs
    page.locator("input.site-search__input").fill("")
    search_box(page, "retry")
    page.locator("select[data-filter='file']").select_option("server/svix-server/src/worker.rs")
    page.wait_for_function("() => document.querySelector('.site-search').getAttribute('data-busy') === '0'")
    page.wait_for_timeout(300)
    page.wait_for_function("() => document.querySelector('.site-search').getAttribute('data-busy') === '0'")
    hrefs = [a.get_attribute("href") for a in page.locator(".site-search__result a").all()]
    assert hrefs and all("/examples/line-" in h for h in hrefs)


# --- search against an oracle over the JSONL ---------------------------------------------------
IDENTIFIERS = ["should_retry", "Retry::run", "set_if_not_exists", "RETRY_SCHEDULE", "from_millis", "MessageAttemptExhausted", "run_with_retries", "Duration::from_millis"]
PHRASES = ["hand-roll their own loop", "the retry schedule", "transient failures"]


def _records():
    out = []
    for n, line in enumerate(DATASET.read_bytes().split(b"\n"), start=1):
        if line.strip():
            msgs = orjson.loads(line)["messages"]
            think, _, code = msgs[2]["content"].partition("</think>")
            out.append((n, msgs[1]["content"], think.replace("<think>", ""), code))
    return out


def quoted_items(ident: str) -> list[str]:
    """The source text of every corpus item the identifier names (`Retry::run`; `should_retry`
    names `CacheBehavior::should_retry` too), from the source files themselves."""
    from generator.index import index_source
    from generator.config import load_config

    config = load_config(DATASET)
    index, _ = index_source(CORPUS, list(config.scope_files))
    want = [p.lower() for p in ident.split("::")]
    out = []
    for item in index.items():
        parts = [p.lower() for p in item.name.split("::")]
        if item.kind != "use" and any(parts[i : i + len(want)] == want for i in range(len(parts))):
            lines = (CORPUS / item.path).read_text(encoding="utf-8").split("\n")
            out.append("\n".join(lines[item.decl_line - 1 : item.end_line]))
    return out


def oracle_identifier(ident: str) -> list[int]:
    """Lines whose request, reasoning or code mention the identifier as written (any case), or
    whose code quotes an item it names."""
    pat = re.compile(r"(?<![A-Za-z0-9_])" + re.escape(ident) + r"(?![A-Za-z0-9_])", re.I)
    items = quoted_items(ident) if "/" not in ident else []
    return sorted(n for n, user, think, code in _records() if pat.search(user + "\n" + think + "\n" + code) or any(t in code for t in items))


def oracle_phrase(phrase: str) -> list[int]:
    """Lines whose request or reasoning hold the phrase's words in a row (words as the text
    index sees them: letters, digits and `_`, any case)."""
    words = re.findall(r"\w+", phrase.lower())
    found = []
    for n, user, think, _ in _records():
        for text in (user, think):
            toks = re.findall(r"\w+", text.lower())
            if any(toks[i : i + len(words)] == words for i in range(len(toks) - len(words) + 1)):
                found.append(n)
                break
    return sorted(found)


def engine_lines(page, query: str) -> list[int]:
    urls = page.evaluate("q => siteSearch.search(q, {}, 100000).then(r => r.results.filter(d => d.kind === 'example').map(d => d.url))", query)
    return sorted(int(re.search(r"line-(\d+)/", u).group(1)) for u in urls)


def test_identifier_and_phrase_queries_return_exactly_the_examples_that_hold_them(site, page):
    page.goto(site)
    for ident in IDENTIFIERS:
        expected = oracle_identifier(ident)
        assert expected, ident  # each identifier is in the committed dataset
        assert engine_lines(page, ident) == expected, ident
        assert engine_lines(page, f"`{ident}`") == expected, ident  # as written in Markdown
    for phrase in PHRASES:
        expected = oracle_phrase(phrase)
        assert expected, phrase
        assert engine_lines(page, f'"{phrase}"') == expected, phrase
    # the search box shows the same count
    results = search_box(page, "set_if_not_exists")
    assert int(page.locator(".site-search").get_attribute("data-results")) == len(oracle_identifier("set_if_not_exists")) + 1  # + the item itself


def test_a_path_finds_the_examples_quoting_or_naming_that_file(site, page):
    from generator.pipeline import run

    (result,) = run([DATASET], CORPUS)
    quoting = {ex.record.line for ex in result.examples if any(seg.path.endswith("core/retry.rs") for seg in ex.segments)}
    page.goto(site)
    assert engine_lines(page, "core/retry.rs") == sorted(quoting | set(oracle_identifier("core/retry.rs")))
    assert engine_lines(page, "src/core/retry.rs") == engine_lines(page, "core/retry.rs")


def test_example_to_highlighted_source_lines_and_back(site, page):
    page.goto(site + "datasets/retry_state_machine/examples/line-1/")
    shot(page, "example")
    page.locator("a.to-source").first.click()
    page.wait_for_selector(".cl.hl")
    assert page.url.endswith("source/server/svix-server/src/core/retry.rs/#L1-L21")
    highlighted = page.locator(".cl.hl")
    assert highlighted.count() == 21
    assert page.locator("#L5").evaluate("e => e.classList.contains('hl')")
    assert page.locator("#L22").evaluate("e => !e.classList.contains('hl')")
    assert highlighted.nth(10).is_visible()
    # an upstream line number on the example page lands on exactly that line
    page.go_back()
    page.locator(".code-lines .ln-link", has_text="15").first.click()
    page.wait_for_selector("#L15.hl")
    assert page.url.endswith("retry.rs/#L15")
    assert page.locator(".cl.hl").count() == 1
    shot(page, "source")
    # the reverse link: from the item's row back to an example quoting it
    row = page.locator("#items-table tr", has=page.locator("code", has_text="run_with_retries"))
    row.locator("a", has_text="#1").first.click()
    assert page.url.endswith("datasets/retry_state_machine/examples/line-1/")


def test_previous_and_next(site, page):
    page.goto(site + "datasets/retry_state_machine/examples/line-2/")
    page.locator("a.ex-next").click()
    assert page.url.endswith("examples/line-3/")
    page.locator("a.ex-prev").click()
    page.locator("a.ex-prev").click()
    page.wait_for_selector(".ex-prev.disabled")
    assert page.url.endswith("examples/line-1/")


def table_action(page, act):
    """Do something to the table and wait for the database's answer."""
    done = int(page.locator(".datatable").get_attribute("data-done") or "0")
    act()
    page.wait_for_function("n => +(document.querySelector('.datatable').getAttribute('data-done') || 0) > n", arg=done, timeout=30000)


def test_example_index_sorts_and_filters(site, page):
    page.goto(site + "datasets/retry_state_machine/examples/")
    page.wait_for_selector(".datatable[data-ready='1']")
    rows = page.locator(".datatable-rows tbody tr")
    assert rows.count() == 23
    first_cells = lambda: [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())]
    assert first_cells()[:3] == ["1", "2", "3"]
    table_action(page, lambda: page.locator("th", has_text="Lines").click())
    lines = [int(rows.nth(i).locator("td").nth(5).inner_text()) for i in range(rows.count())]
    assert lines == sorted(lines) and first_cells() != [str(n) for n in range(1, 24)]
    table_action(page, lambda: page.locator("th", has_text="Lines").click())
    lines_desc = [int(rows.nth(i).locator("td").nth(5).inner_text()) for i in range(rows.count())]
    assert lines_desc == sorted(lines, reverse=True)
    assert "sort=lines" in page.url and "dir=desc" in page.url
    table_action(page, lambda: page.locator("select[data-col='files']").select_option(label="worker.rs"))
    assert rows.count() == 2
    table_action(page, lambda: page.locator("select[data-col='files']").select_option(""))
    table_action(page, lambda: page.locator("input.table-filter").fill("Retry::new"))
    assert 1 <= rows.count() < 23
    # a filter reads the whole request and reasoning, not the first line the table shows
    recs = _records()
    shown = recs[20][1][:110].lower()
    word = next(w for w in sorted(set(re.findall(r"[a-z]{8,}", recs[20][2])))
                if w not in shown and sum(w in (u + t).lower() for _, u, t, _ in recs) <= 3)
    table_action(page, lambda: page.locator("input.table-filter").fill(word))
    numbers = first_cells()
    assert "21" in numbers, (word, numbers)
    hrefs = [a.get_attribute("href") for a in page.locator(".datatable-rows tbody a").all()]
    assert all(h.startswith(site) and "/examples/line-" in h for h in hrefs)
    shot(page, "examples")


def test_coverage_row_to_filtered_examples_and_table_tools(site, page):
    page.goto(site + "datasets/retry_state_machine/coverage/")
    shot(page, "coverage")
    rows = page.locator("#cov-items tbody tr")
    total = rows.count()
    assert total == 21  # the 20 items of the first passes and the cache Error enum
    page.locator(".table-tools[data-table='cov-items'] select").nth(2).select_option("worker.rs")
    assert page.locator("#cov-items tbody tr:not([hidden])").count() == 1
    page.locator(".table-tools[data-table='cov-items'] select").nth(2).select_option("")
    row = page.locator("#cov-items tbody tr", has=page.locator("code", has_text="handle_failed_dispatch"))
    row.locator("a.filter-link").click()
    page.wait_for_selector(".datatable[data-done='1']")
    assert "item=handle_failed_dispatch" in page.url
    assert page.locator(".datatable-rows tbody tr").count() == 2
    page.go_back()
    page.locator("#files-table th", has_text="File").click()
    paths = [c.inner_text() for c in page.locator("#files-table tbody tr td:first-child").all()]
    assert paths == sorted(paths)


def test_findings_table_filters_by_severity_and_rule(site, page):
    """The committed dataset has two config-level warnings (no example to link to); the link
    from a record's finding to its example is exercised in test_hostile."""
    page.goto(site + "datasets/retry_state_machine/findings/")
    page.wait_for_selector(".datatable[data-ready='1']")
    rows = page.locator(".datatable-rows tbody tr")
    assert rows.count() == 2
    options = page.locator("select[data-col='rule'] option").all_inner_texts()
    assert options == ["Rule: all", "coverage.missing-name"]
    table_action(page, lambda: page.locator("select[data-col='severity']").select_option("warning"))
    assert rows.count() == 2
    table_action(page, lambda: page.locator("input.table-filter").fill("RetryState"))
    assert rows.count() == 1
    assert "RetryState is named by the scope" in rows.first.inner_text()


def test_tables_read_and_link_without_javascript(site, browser):
    """The first page of each table is in the page: rows and working links, no script needed."""
    page = offline_page(browser, java_script_enabled=False)
    try:
        for path, table, count in (("examples/", ".datatable-rows", 23), ("findings/", ".datatable-rows", 2), ("coverage/", "#cov-items", 21)):
            page.goto(site + "datasets/retry_state_machine/" + path)
            assert page.locator(f"{table} tbody tr").count() == count, path
        page.goto(site + "datasets/retry_state_machine/examples/")
        page.locator(".datatable-rows tbody tr").nth(12).locator("a").click()
        assert page.url.endswith("datasets/retry_state_machine/examples/line-13/")
        assert page.locator("h1").first.inner_text().startswith("Example 13")
        page.goto(site + "datasets/retry_state_machine/coverage/")
        page.locator("#cov-items tbody tr a", has_text="#1").first.click()
        assert "/examples/line-" in page.url
        assert page.blocked == []
    finally:
        page.context.close()


def test_from_disk_tables_read_and_search_says_it_needs_a_server(site, browser, tmp_path_factory):
    served = tmp_path_factory.getbasetemp()
    folder = next(p for p in served.glob("served*/reviews/retry") if p.is_dir())
    ctx = browser.new_context()
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto((folder / "datasets/retry_state_machine/examples/index.html").as_uri())
        assert page.locator(".datatable-rows tbody tr").count() == 23
        href = page.locator(".datatable-rows tbody tr a").first.get_attribute("href")
        assert href == "line-1/"
        page.locator("input.site-search__input").fill("should_retry")
        page.wait_for_selector(".site-search__status:has-text('needs the site served over HTTP')")
        assert errors == []
    finally:
        ctx.close()


def test_copy_button_yields_the_exact_jsonl_line(site, browser):
    page = offline_page(browser, permissions=["clipboard-read", "clipboard-write"])
    try:
        for line in (1, 13, 23):
            page.goto(site + f"datasets/retry_state_machine/examples/line-{line}/")
            page.locator("button.copy-jsonl").click()
            page.wait_for_selector("button.copy-jsonl[data-copied='1']")
            copied = page.evaluate("navigator.clipboard.readText()")
            assert copied.encode() == DATASET.read_bytes().split(b"\n")[line - 1]
        # and the dataset itself downloads
        with page.expect_download() as dl:
            page.locator("a[download]").first.click()
        assert open(dl.value.path(), "rb").read() == DATASET.read_bytes()
        assert page.errors == [] and page.blocked == []
    finally:
        page.context.close()


def test_dark_scheme_narrow_screen_and_long_lines(site, browser):
    page = offline_page(browser, viewport={"width": 375, "height": 740}, color_scheme="dark")
    try:
        for path in ("", "datasets/retry_state_machine/examples/line-19/", "datasets/retry_state_machine/source/server/svix-server/src/worker.rs/", "datasets/retry_state_machine/coverage/"):
            page.goto(site + path)
            assert page.evaluate("document.body.getAttribute('data-md-color-scheme')") == "slate"
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{path}: page is {overflow}px wider than a phone screen"
        page.goto(site + "datasets/retry_state_machine/source/server/svix-server/src/worker.rs/")
        code = page.locator(".source-lines pre > code")
        assert code.evaluate("e => e.scrollWidth > e.clientWidth")  # long code scrolls inside its box
        assert code.evaluate("e => getComputedStyle(e).overflowX") == "auto"
        page.goto(site + "datasets/retry_state_machine/examples/line-19/")
        shot(page, "example-narrow-dark")
        assert page.errors == [] and page.blocked == []
    finally:
        page.context.close()


def test_home_renders_offline(site, page):
    page.goto(site)
    page.wait_for_load_state("networkidle")
    assert "23 examples" in page.locator("article").inner_text()
    assert page.locator("svg.cov-bar").count() >= 1
    shot(page, "home")
