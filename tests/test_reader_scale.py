"""The reader on a 10,000-record site (bench/synth.py): every search or table action transfers
at most 1 MB, counted from Chromium's responses (a cold cache for each search, so the vendored
SQLite engine counts too); a page load fetches none of the search or table data."""

from __future__ import annotations

import sys

import pytest
from conftest import CORPUS, ROOT, Served, build_dataset

pytestmark = [pytest.mark.slow, pytest.mark.browser]
LIMIT = 1_000_000
N = 10_000
STEM = f"bench_{N}"


@pytest.fixture(scope="module")
def big_site(tmp_path_factory):
    sys.path.insert(0, str(ROOT / "bench"))
    from synth import write_dataset

    tmp = tmp_path_factory.mktemp("reader-10k")
    jsonl = write_dataset(tmp / "data", N, CORPUS)
    assert build_dataset(jsonl, tmp / "work", tmp / "site") == 0
    server = Served(tmp / "site")
    yield server.base
    server.close()


class Bytes:
    def __init__(self, page):
        self.got: list[tuple[str, int]] = []
        page.on("requestfinished", lambda r: self.got.append((r.url, r.sizes()["responseBodySize"])))

    def since(self, mark: int) -> int:
        return sum(size for _, size in self.got[mark:])


def _fresh(browser):
    ctx = browser.new_context()
    page = ctx.new_page()
    return ctx, page, Bytes(page)


@pytest.mark.parametrize(
    "query",
    ["should_retry", "Retry::run", "RETRY_SCHEDULE", "core/retry.rs", "retry", '"retry schedule"', "queue backoff"],
)
def test_a_search_transfers_at_most_1_mb(big_site, browser, query):
    ctx, page, seen = _fresh(browser)
    try:
        page.goto(big_site + "/")
        page.wait_for_load_state("networkidle")
        mark = len(seen.got)
        page.fill("input.site-search__input", query)
        page.wait_for_function(
            "q => { const b = document.querySelector('.site-search'); return b.getAttribute('data-query') === q "
            "&& b.getAttribute('data-busy') === '0'; }",
            arg=query,
            timeout=60000,
        )
        assert page.locator(".site-search__status").inner_text() != "", query
        assert seen.since(mark) <= LIMIT, (query, seen.since(mark))
        assert any("site.sqlite3" in u for u, _ in seen.got[mark:])  # it did read the database
    finally:
        ctx.close()


def _table_action(page, act):
    done = int(page.locator(".datatable").get_attribute("data-done") or "0")
    act()
    page.wait_for_function(
        "n => +(document.querySelector('.datatable').getAttribute('data-done') || 0) > n", arg=done, timeout=60000
    )


def test_table_actions_transfer_at_most_1_mb_each(big_site, browser):
    ctx, page, seen = _fresh(browser)
    try:
        page.goto(f"{big_site}/datasets/{STEM}/examples/")
        page.wait_for_selector(".datatable[data-ready='1']")
        assert page.locator(".datatable-rows tbody tr").count() == 50
        actions = [
            ("sort by lines", lambda: page.locator("th", has_text="Lines").click()),
            ("sort by request", lambda: page.locator("th", has_text="Request").click()),
            ("sort by request, descending", lambda: page.locator("th", has_text="Request").click()),
            ("next page", lambda: page.locator(".table-pager button", has_text="Next").click()),
            ("filter by a word", lambda: page.locator("input.table-filter").fill("backoff")),
            ("filter by a common word", lambda: page.locator("input.table-filter").fill("retry")),
            ("filter by an identifier", lambda: page.locator("input.table-filter").fill("should_retry")),
            (
                "filter by an identifier and a file",
                lambda: page.locator("select[data-col='files']").select_option(label="worker.rs"),
            ),
            ("filter by a file", lambda: page.locator("input.table-filter").fill("")),
            ("filter by a file and a status", lambda: page.locator("select[data-col='status']").select_option("ok")),
        ]
        for name, act in actions:
            mark = len(seen.got)
            _table_action(page, act)
            assert seen.since(mark) <= LIMIT, (name, seen.since(mark))
            if name != "filter by an identifier and a file":  # (worker.rs's code names no should_retry)
                assert page.locator(".datatable-rows tbody tr").count() >= 1, name
    finally:
        ctx.close()


def test_no_page_load_fetches_the_search_or_table_data(big_site, browser):
    for path in (
        "/",
        f"/datasets/{STEM}/",
        f"/datasets/{STEM}/examples/",
        f"/datasets/{STEM}/findings/",
        f"/datasets/{STEM}/coverage/",
        f"/datasets/{STEM}/examples/line-5000/",
    ):
        ctx, page, seen = _fresh(browser)
        try:
            page.goto(big_site + path)
            page.wait_for_load_state("networkidle")
            urls = [u for u, _ in seen.got]
            assert not [u for u in urls if "/search/" in u or u.endswith(".json")], (path, urls)
            theme = ("/assets/stylesheets/", "/assets/javascripts/", "/assets/images/")
            assert sum(s for u, s in seen.got if not any(t in u for t in theme)) <= LIMIT, path
        finally:
            ctx.close()
