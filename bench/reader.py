"""The reader at scale: a built site in headless Chromium (Playwright) against a local static
server that answers Range requests (generator.rangeserve), every query with a cold cache.

    python bench/reader.py SITE_DIR      # prints the figures as JSON

Bytes are response bodies as Chromium counts them (Range answers count their part only),
including the requests of the search worker. "Engine" bytes are the vendored SQLite worker
and WebAssembly (0.53 MB gzipped), fetched once per reader and then cached like the theme's
own assets; "data" bytes are what a query reads from the database.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
]
QUERIES = ["should_retry", "Retry::run", "RETRY_SCHEDULE", "core/retry.rs", '"retry schedule"']
THEME = ("/assets/stylesheets/", "/assets/javascripts/", "/assets/images/")
ENGINE = "/assets/vendor/"


class Recorder:
    """Bytes of every response a page gets, from a mark on."""

    def __init__(self, page):
        self.got: list[tuple[str, int]] = []
        page.on("requestfinished", self._done)

    def _done(self, request):
        try:
            size = request.sizes()["responseBodySize"]
        except Exception:  # the page went away meanwhile
            size = 0
        self.got.append((request.url, size))

    def mark(self) -> int:
        return len(self.got)

    def since(self, mark: int) -> dict:
        part = self.got[mark:]
        engine = sum(s for u, s in part if ENGINE in u)
        return {
            "bytes": sum(s for _, s in part),
            "engine_bytes": engine,
            "data_bytes": sum(s for u, s in part if ENGINE not in u),
            "requests": len(part),
        }


def _search(page, query: str) -> None:
    page.fill("input.site-search__input", query)
    page.wait_for_function(
        "q => { const b = document.querySelector('.site-search'); return b.getAttribute('data-query') === q && "
        "b.getAttribute('data-busy') === '0'; }",
        arg=query,
        timeout=60000,
    )


def _table_action(page, act) -> None:
    done = int(page.locator(".datatable").get_attribute("data-done") or "0")
    act()
    page.wait_for_function(
        "n => +(document.querySelector('.datatable').getAttribute('data-done') || 0) > n", arg=done, timeout=60000
    )


def _fresh(browser):
    ctx = browser.new_context()  # an empty cache
    page = ctx.new_page()
    return ctx, page, Recorder(page)


def measure(site: Path, stem: str, queries=QUERIES) -> dict:
    from playwright.sync_api import sync_playwright

    from generator.rangeserve import serve_in_thread

    httpd, base = serve_in_thread(site)
    out: dict = {"queries": {}}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            # search: each query from a cold cache, timed from typing to the results shown
            for q in queries:
                ctx, page, rec = _fresh(browser)
                page.goto(base + "/")
                page.wait_for_load_state("networkidle")
                mark = rec.mark()
                t = time.perf_counter()
                _search(page, q)
                seconds = time.perf_counter() - t
                results = int(page.locator(".site-search").get_attribute("data-results") or "0")
                out["queries"][q] = {"seconds": seconds, "results": results, **rec.since(mark)}
                ctx.close()
            qs = list(out["queries"].values())
            out["search_median_seconds"] = statistics.median(q["seconds"] for q in qs)
            out["search_max_bytes"] = max(q["bytes"] for q in qs)
            out["search_max_data_bytes"] = max(q["data_bytes"] for q in qs)
            # the examples table: first page interactive, then a sort and a word filter
            ctx, page, rec = _fresh(browser)
            page.goto(f"{base}/datasets/{stem}/examples/")
            page.wait_for_selector(".datatable[data-ready='1']")
            out["table_interactive_seconds"] = page.evaluate("performance.now()") / 1000
            out["table_page_bytes"] = rec.since(0)["bytes"]
            mark, t = rec.mark(), time.perf_counter()
            _table_action(page, lambda: page.locator("th", has_text="Lines").click())
            out["sort"] = {"seconds": time.perf_counter() - t, **rec.since(mark)}
            mark, t = rec.mark(), time.perf_counter()
            _table_action(page, lambda: page.locator("input.table-filter").fill("backoff"))
            out["filter"] = {"seconds": time.perf_counter() - t, "word": "backoff", **rec.since(mark)}
            mark, t = rec.mark(), time.perf_counter()
            _table_action(page, lambda: page.locator(".table-pager button", has_text="Next").click())
            out["next_page"] = {"seconds": time.perf_counter() - t, **rec.since(mark)}
            ctx.close()
            # what a page load transfers beyond the theme's own assets
            loads = {}
            for path in (
                "",
                f"datasets/{stem}/",
                f"datasets/{stem}/examples/",
                f"datasets/{stem}/findings/",
                f"datasets/{stem}/coverage/",
                f"datasets/{stem}/examples/line-1/",
                f"datasets/{stem}/source/server/svix-server/src/worker.rs/",
            ):
                ctx, page, rec = _fresh(browser)
                page.goto(f"{base}/{path}")
                page.wait_for_load_state("networkidle")
                loads[path or "/"] = sum(s for u, s in rec.got if not any(t in u for t in THEME))
                ctx.close()
            out["page_loads"] = loads
            worst = max(loads, key=loads.get)
            out["max_page_load_bytes"], out["max_page_load"] = loads[worst], worst
            browser.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    return out


if __name__ == "__main__":
    site = Path(sys.argv[1])
    stem = sys.argv[2] if len(sys.argv) > 2 else next((site / "datasets").iterdir()).name
    print(json.dumps(measure(site, stem), indent=1))
