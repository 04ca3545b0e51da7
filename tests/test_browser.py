"""The site as a reader uses it: headless Chromium (Debian's) driven by Playwright, the site
served from a sub-path on localhost, every request to anything else blocked."""

from __future__ import annotations

import re
from urllib.parse import unquote

import orjson
import pytest
from conftest import ARTIFACTS, CORPUS, DATASET, ROOT, Served, offline_page

from generator.__main__ import main

pytestmark = pytest.mark.browser
SUB = "/reviews/retry/"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    server = Served(root)
    out = root / SUB.strip("/")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        assert (
            main(
                [
                    "build",
                    "--source-root",
                    str(CORPUS),
                    "--work",
                    str(root.parent / (root.name + "-work")),
                    "--out",
                    str(out),
                    "--site-url",
                    server.base + SUB,
                    "--quiet",
                ]
            )
            == 0
        )
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
        "q => { const b = document.querySelector('.site-search'); return b.getAttribute('data-query') === q && "
        "b.getAttribute('data-busy') === '0'; }",
        arg=query,
        timeout=30000,
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
    assert results.first.get_attribute("href").endswith(
        "source/server/svix-server/src/core/retry.rs/#item-retry-run-40"
    )
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
    # the change event starts the search at once (data-busy 1 before select_option returns)
    page.wait_for_function("() => document.querySelector('.site-search').getAttribute('data-busy') === '0'")
    hrefs = [a.get_attribute("href") for a in page.locator(".site-search__result a").all()]
    assert hrefs and all("/examples/line-" in h for h in hrefs)


# --- search against an oracle over the JSONL ---------------------------------------------------
IDENTIFIERS = [
    "should_retry",
    "Retry::run",
    "set_if_not_exists",
    "RETRY_SCHEDULE",
    "from_millis",
    "MessageAttemptExhausted",
    "run_with_retries",
    "Duration::from_millis",
]
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
    from generator.config import load_config
    from generator.index import index_source

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
    return sorted(
        n
        for n, user, think, code in _records()
        if pat.search(user + "\n" + think + "\n" + code) or any(t in code for t in items)
    )


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
    urls = page.evaluate(
        "q => siteSearch.search(q, {}, 100000).then(r => r.results.filter(d => d.kind === 'example').map(d => d.url))",
        query,
    )
    return sorted(int(re.search(r"line-(\d+)/", u).group(1)) for u in urls)


@pytest.mark.slow  # a long browser walk: in .ci/run, out of the quick set
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
    search_box(page, "set_if_not_exists")
    assert (
        int(page.locator(".site-search").get_attribute("data-results"))
        == len(oracle_identifier("set_if_not_exists")) + 1
    )  # + the item itself


def test_a_path_finds_the_examples_quoting_or_naming_that_file(site, page):
    from generator.pipeline import run

    (result,) = run([DATASET], CORPUS)
    quoting = {
        ex.record.line for ex in result.examples if any(seg.path.endswith("core/retry.rs") for seg in ex.segments)
    }
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
    assert not page.locator("#items-table").is_visible()  # the items table starts collapsed
    page.locator("details.items-box > summary").click()
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
    page.wait_for_function(
        "n => +(document.querySelector('.datatable').getAttribute('data-done') || 0) > n", arg=done, timeout=30000
    )


@pytest.mark.slow  # a long browser walk: in .ci/run, out of the quick set
def test_example_index_sorts_and_filters(site, page):
    page.goto(site + "datasets/retry_state_machine/examples/")
    page.wait_for_selector(".datatable[data-ready='1']")
    rows = page.locator(".datatable-rows tbody tr")
    assert rows.count() == 23

    def first_cells():
        return [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())]

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
    word = next(
        w
        for w in sorted(set(re.findall(r"[a-z]{8,}", recs[20][2])))
        if w not in shown and sum(w in (u + t).lower() for _, u, t, _ in recs) <= 3
    )
    table_action(page, lambda: page.locator("input.table-filter").fill(word))
    numbers = first_cells()
    assert "21" in numbers, (word, numbers)
    hrefs = [a.get_attribute("href") for a in page.locator(".datatable-rows tbody a").all()]
    assert all(h.startswith(site) and "/examples/line-" in h for h in hrefs)
    shot(page, "examples")


@pytest.mark.slow  # a long browser walk: in .ci/run, out of the quick set
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
    assert "item=server/svix-server/src/worker.rs::handle_failed_dispatch" in unquote(page.url)
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
        for path, table, count in (
            ("examples/", ".datatable-rows", 23),
            ("findings/", ".datatable-rows", 2),
            ("coverage/", "#cov-items", 21),
        ):
            page.goto(site + "datasets/retry_state_machine/" + path)
            assert page.locator(f"{table} tbody tr").count() == count, path
        page.goto(site + "datasets/retry_state_machine/examples/")
        page.locator(".datatable-rows tbody tr").nth(12).locator("a").click()
        assert page.url.endswith("datasets/retry_state_machine/examples/line-13/")
        assert page.locator("h1").first.inner_text().startswith("#13 · ")
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


@pytest.mark.slow  # a long browser walk: in .ci/run, out of the quick set
def test_dark_scheme_narrow_screen_and_long_lines(site, browser):
    page = offline_page(browser, viewport={"width": 375, "height": 740}, color_scheme="dark")
    try:
        for path in (
            "",
            "datasets/retry_state_machine/examples/line-19/",
            "datasets/retry_state_machine/source/server/svix-server/src/worker.rs/",
            "datasets/retry_state_machine/coverage/",
        ):
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
        # the search panel fits the phone screen (it once hung off the left edge)
        search_box(page, "should_retry")
        box = page.locator(".site-search__panel").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, box
        shot(page, "search-narrow-dark")
        assert page.errors == [] and page.blocked == []
    finally:
        page.context.close()


def test_home_renders_offline(site, page):
    page.goto(site)
    page.wait_for_load_state("networkidle")
    assert "23 examples" in page.locator("article").inner_text()
    assert page.locator("svg.cov-bar").count() >= 1
    shot(page, "home")


# --- accessibility (axe-core) and screenshots of every page type ------------------------------
PAGES = {
    "home": "",
    "overview": "datasets/retry_state_machine/",
    "examples": "datasets/retry_state_machine/examples/",
    "example": "datasets/retry_state_machine/examples/line-20/",
    "coverage": "datasets/retry_state_machine/coverage/",
    "findings": "datasets/retry_state_machine/findings/",
    "source": "datasets/retry_state_machine/source/server/svix-server/src/core/retry.rs/#L30-L40",
    "card": "datasets/retry_state_machine/card/",
}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Violations that come from mkdocs-material's own markup, not from the site's: (rule id, a CSS
# selector of the theme's element, why it is the theme's).
THEME_VIOLATIONS: list[tuple[str, str, str]] = []


def _axe_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]})
    out = []
    for v in results.response["violations"]:
        for node in v["nodes"]:
            target = " ".join(map(str, node["target"]))
            if any(v["id"] == rule and sel in target for rule, sel, _ in THEME_VIOLATIONS):
                continue
            out.append(f"{v['id']} ({v['impact']}): {target}: {node.get('failureSummary', '').splitlines()[-1:]}")
    return out


@pytest.mark.slow
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_accessibility_violations_and_screenshots(site, browser, scheme):
    """axe-core (WCAG 2.1 A and AA) finds nothing on each page type, in either scheme, at
    1400 px and 390 px; the screenshots are kept in tests/artifacts/ for a reviewer's eyes."""
    problems = []
    for width in (1400, 390):
        page = offline_page(browser, viewport={"width": width, "height": 900}, color_scheme=scheme)
        try:
            for name, path in PAGES.items():
                page.goto(site + path)
                page.wait_for_load_state("networkidle")
                if name in ("examples", "findings"):
                    page.wait_for_selector(".datatable[data-ready='1']")
                shot(page, f"{name}-{width}-{scheme}")
                problems += [f"{name} {width}px: {p}" for p in _axe_violations(page)]
                if name == "source":  # and with the line's examples shown
                    page.locator("#L60").hover()
                    page.wait_for_selector(".line-info:not([hidden])")
                    shot(page, f"source-line-{width}-{scheme}")
                    problems += [f"source (line info) {width}px: {p}" for p in _axe_violations(page)]
            assert page.errors == [] and page.blocked == []
        finally:
            page.context.close()
    assert problems == [], "\n".join(problems)


RETRY_PAGE = "datasets/retry_state_machine/source/server/svix-server/src/core/retry.rs/"


def _listed(page) -> list[str]:
    return [a.inner_text() for a in page.locator(".line-info li a").all()]


def test_a_source_line_names_the_examples_quoting_it_on_hover_and_focus(site, page):
    """Line 67 closes the impl: examples 5 and 7 quote it (the nearest item start is
    Retry::run's, which examples 4, 5 and 7 quote). Line 35 is in Retry::new: 3, 5 and 7."""
    page.goto(site + RETRY_PAGE)
    page.locator("#L67").hover()
    page.wait_for_selector(".line-info:not([hidden])")
    assert _listed(page) == ["#5", "#7"]
    assert "Line 67 · in impl<'a, Re> Retry<'a, Re> (lines 32–67)" in page.locator(".line-info").inner_text()
    assert "Quoted by 2 examples" in page.locator(".line-info").inner_text()
    page.locator("#L35").hover()
    page.wait_for_function("document.querySelector('.line-info').innerText.indexOf('Line 35') === 0")
    assert _listed(page) == ["#3", "#5", "#7"]
    assert page.locator(".line-info li a").first.get_attribute("aria-label").startswith("Example 3: ")
    page.locator("#L22").hover()
    page.wait_for_function("document.querySelector('.line-info').innerText.indexOf('Line 22') === 0")
    assert "No example quotes this line." in page.locator(".line-info").inner_text()
    # keyboard: the code is one tab stop; arrows move the line, and its examples follow
    page.mouse.move(0, 0)
    assert page.locator(".source-lines .cl[tabindex]").count() == 1
    page.locator("#L1").focus()
    page.keyboard.press("End")
    assert page.evaluate("document.activeElement.id") == "L67"
    page.wait_for_function("document.querySelector('.line-info').innerText.indexOf('Line 67') === 0")
    assert _listed(page) == ["#5", "#7"]
    page.keyboard.press("ArrowUp")
    page.wait_for_function("document.querySelector('.line-info').innerText.indexOf('Line 66') === 0")
    assert page.locator(".source-lines .cl[tabindex]").count() == 1
    page.keyboard.press("Tab")  # from the line into its examples
    assert page.evaluate("document.activeElement.closest('.line-info') !== null")
    # the items table names partial quoters too
    page.locator("details.items-box > summary").click()
    row = page.locator("#items-table tr", has=page.locator("code", has_text="impl<'a, Re> Retry<'a, Re>"))
    assert [a.get_attribute("aria-label") for a in row.locator(".partial-note a").all()] == [
        "Example 3: part of impl<'a, Re> Retry<'a, Re>",
        "Example 4: part of impl<'a, Re> Retry<'a, Re>",
    ]


def test_an_items_row_link_opens_the_collapsed_table_at_that_row(site, page):
    page.goto(site + RETRY_PAGE + "#item-retry-run-40")
    row = page.locator("#item-retry-run-40")
    row.wait_for(state="visible")
    assert row.evaluate("e => e.closest('details').open")
    top = row.evaluate("e => e.getBoundingClientRect().top")
    header = page.evaluate("document.querySelector('.md-header').getBoundingClientRect().bottom")
    assert top >= header  # clear of the sticky header


def test_example_page_line_numbers_are_not_tab_stops(site, page):
    page.goto(site + "datasets/retry_state_machine/examples/line-20/")
    assert page.locator(".code-lines .ln[tabindex]").count() == 0
    stops = page.evaluate("""() => Array.from(
            document.querySelectorAll('a[href], button, input, select, textarea, [tabindex], summary'))
        .filter(e => e.tabIndex >= 0 && !e.disabled && e.getClientRects().length).length""")
    assert stops < 60, stops  # was 178, 163 of them line numbers
    # the first Tab reaches the skip link, which lands on the page's heading
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('md-skip')")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#page-title"


@pytest.mark.slow  # a long browser walk: in .ci/run, out of the quick set
def test_previous_next_and_all_examples_keep_the_filter_you_came_from(site, page):
    page.goto(site + "datasets/retry_state_machine/examples/")
    page.wait_for_selector(".datatable[data-ready='1']")
    page.locator("select[data-col='files']").select_option(label="cache/mod.rs")
    page.wait_for_selector(".datatable[data-done='1'][data-busy='0']")
    rows = page.locator(".datatable tbody tr")
    lines = [int(rows.nth(i).locator("td").nth(1).inner_text()) for i in range(rows.count())]
    assert len(lines) >= 3 and lines != list(range(lines[0], lines[0] + len(lines)))  # a gap: not file order
    filtered_url = page.url
    rows.nth(1).locator("a").first.click()
    page.wait_for_url(f"**/line-{lines[1]}/")
    assert page.locator("a.ex-prev").get_attribute("href") == f"../line-{lines[0]}/"
    assert page.locator("a.ex-next").get_attribute("href") == f"../line-{lines[2]}/"
    page.locator("a.ex-next").click()
    page.wait_for_url(f"**/line-{lines[2]}/")
    # the last of the list: its previous is the list's, not the file's
    page.goto(site + f"datasets/retry_state_machine/examples/line-{lines[-1]}/")
    assert page.locator("a.ex-prev").get_attribute("href") == f"../line-{lines[-2]}/"
    assert page.locator(".ex-next.disabled").count() == 1
    assert "cache/mod.rs" in page.locator("a.ex-up").inner_text()
    page.locator("a.ex-up").click()
    page.wait_for_selector(".datatable[data-done='1'][data-busy='0']")
    assert page.url == filtered_url
    assert rows.count() == len(lines)


@pytest.mark.slow  # a long browser walk: in .ci/run, out of the quick set
def test_two_items_of_one_name_are_two_filters(site, page):
    """RETRY_SCHEDULE is defined in cache/mod.rs (example 13) and in queue/mod.rs (8, 12)."""
    page.goto(site + "datasets/retry_state_machine/coverage/")
    files = [c.inner_text() for c in page.locator("#cov-items tbody tr td:nth-child(4)").all()]
    assert "cache/mod.rs" in files and "queue/mod.rs" in files and "mod.rs" not in files
    got = {}
    for where in ("cache/mod.rs", "queue/mod.rs"):
        page.goto(site + "datasets/retry_state_machine/coverage/")
        row = page.locator("#cov-items tbody tr", has=page.locator("code", has_text="RETRY_SCHEDULE")).filter(
            has=page.locator("td", has_text=where)
        )
        link = row.locator("a.filter-link")
        assert where in link.get_attribute("aria-label")
        link.click()
        page.wait_for_selector(".datatable[data-done='1'][data-busy='0']")
        got[where] = [r.locator("td").first.inner_text() for r in page.locator(".datatable tbody tr").all()]
    assert got == {"cache/mod.rs": ["13"], "queue/mod.rs": ["8", "12"]}


def test_line_numbers_stay_when_long_lines_scroll_on_a_phone(site, browser):
    page = offline_page(browser, viewport={"width": 390, "height": 800})
    try:
        for path, box, number in (
            (
                "datasets/retry_state_machine/source/server/svix-server/src/worker.rs/#L700",
                ".source-lines pre > code",
                "#L700",
            ),
            ("datasets/retry_state_machine/examples/line-20/", ".code-lines pre > code", ".code-lines .cl .ln"),
        ):
            page.goto(site + path)
            code = page.locator(box).first
            assert code.evaluate("e => e.scrollWidth > e.clientWidth + 50")  # long lines scroll inside the box
            left = code.evaluate("e => e.getBoundingClientRect().left")
            code.evaluate("e => { e.scrollLeft = 200; }")
            page.wait_for_timeout(50)
            # the gutter (a real span, or the ::before counter of a source line) stays at the box's left edge
            if number.startswith("#"):
                gutter = page.locator(number).evaluate(
                    "e => { const r = e.getBoundingClientRect(); const s = getComputedStyle(e, '::before'); "
                    "return [s.position, r.left] }"
                )
                assert gutter[0] == "sticky"
                assert (
                    page.evaluate(
                        f"document.elementFromPoint({left} + 8, "
                        f"document.querySelector('{number}').getBoundingClientRect().top + 5).closest('.cl').id"
                    )
                    == number[1:]
                )
            else:
                ln = page.locator(number).first
                assert abs(ln.evaluate("e => e.getBoundingClientRect().left") - left) < 2
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    finally:
        page.context.close()


def test_a_histogram_bar_opens_the_examples_of_that_length(site, page):
    page.goto(site + "datasets/retry_state_machine/")
    bar = page.locator("figure.hist svg a").first  # inlined by site.js: links and tooltips work
    bar.wait_for()
    label = bar.get_attribute("aria-label")  # "28–29 words: 1 example: show them"
    lo, hi, n = map(int, re.match(r"(\d+)–(\d+) words: (\d+) example", label).groups())
    assert bar.locator("title").first.text_content().startswith(f"{lo}–{hi} words: {n} example")
    bar.click()
    page.wait_for_selector(".datatable[data-done='1'][data-busy='0']")
    assert f"len.request_words={lo}-{hi}" in page.url
    rows = page.locator(".datatable tbody tr")
    assert rows.count() == n
    words = [int(c.inner_text()) for c in page.locator(".datatable tbody td.col-request_words").all()]
    assert words and all(lo <= w <= hi for w in words)


def test_a_rule_name_in_the_findings_table_opens_its_reference(site, page):
    page.goto(site + "datasets/retry_state_machine/findings/")
    page.locator(".datatable td.col-rule a").first.click()
    row = page.locator("#rule-coverage-missing-name")
    row.wait_for(state="visible")
    assert row.evaluate("e => e.closest('details').open")
    assert "a name the config expects" in row.inner_text()
