"""The site as a reader uses it: headless Chromium (Debian's) driven by Playwright, the site
served from a sub-path on localhost, every request to anything else blocked."""

from __future__ import annotations


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


def test_search_finds_an_example_by_a_phrase_from_its_request(site, page):
    page.goto(site)
    page.wait_for_load_state("networkidle")
    page.locator("input.md-search__input").click()
    page.keyboard.type("hand-roll their own loop")
    first = page.locator(".md-search-result__item a").first
    first.wait_for(timeout=15000)
    assert "examples/line-1/" in first.get_attribute("href")
    shot(page, "search")


def test_search_finds_a_phrase_from_the_reasoning(site, page):
    think = orjson.loads(DATASET.read_bytes().split(b"\n")[3])["messages"][2]["content"]
    words = think.split("\n")[1].split()[3:9]
    page.goto(site)
    page.wait_for_load_state("networkidle")
    page.locator("input.md-search__input").click()
    page.keyboard.type(" ".join(words))
    hrefs = []
    page.locator(".md-search-result__item a").first.wait_for(timeout=15000)
    hrefs = [a.get_attribute("href") for a in page.locator(".md-search-result__item a").all()]
    assert any("examples/line-4/" in h for h in hrefs), hrefs


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


def test_example_index_sorts_and_filters(site, page):
    page.goto(site + "datasets/retry_state_machine/examples/")
    page.wait_for_selector(".datatable[data-ready='1']")
    rows = page.locator(".datatable-json tbody tr")
    assert rows.count() == 23
    first_cells = lambda: [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())]
    assert first_cells()[:3] == ["1", "2", "3"]
    page.locator("th", has_text="Lines").click()
    lines = [int(rows.nth(i).locator("td").nth(5).inner_text()) for i in range(rows.count())]
    assert lines == sorted(lines) and first_cells() != [str(n) for n in range(1, 24)]
    page.locator("th", has_text="Lines").click()
    lines_desc = [int(rows.nth(i).locator("td").nth(5).inner_text()) for i in range(rows.count())]
    assert lines_desc == sorted(lines, reverse=True)
    page.locator("select[data-col='files']").select_option("worker.rs")
    assert rows.count() == 2
    page.locator("select[data-col='files']").select_option("")
    page.locator("input.table-filter").fill("Retry::new")
    assert 1 <= rows.count() < 23
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
    page.wait_for_selector(".datatable[data-ready='1']")
    assert "item=handle_failed_dispatch" in page.url
    assert page.locator(".datatable-json tbody tr").count() == 2
    page.go_back()
    page.locator("#files-table th", has_text="File").click()
    paths = [c.inner_text() for c in page.locator("#files-table tbody tr td:first-child").all()]
    assert paths == sorted(paths)


def test_findings_table_filters_by_severity_and_rule(site, page):
    """The committed dataset has two config-level warnings (no example to link to); the link
    from a record's finding to its example is exercised in test_hostile."""
    page.goto(site + "datasets/retry_state_machine/findings/")
    page.wait_for_selector(".datatable[data-ready='1']")
    rows = page.locator(".datatable-json tbody tr")
    assert rows.count() == 2
    options = page.locator("select[data-col='rule'] option").all_inner_texts()
    assert options == ["Rule: all", "coverage.missing-name"]
    page.locator("select[data-col='severity']").select_option("warning")
    assert rows.count() == 2
    page.locator("input.table-filter").fill("RetryState")
    assert rows.count() == 1
    assert "RetryState is named by the scope" in rows.first.inner_text()


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
