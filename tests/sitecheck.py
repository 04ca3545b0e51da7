"""Helpers that read a built site: parse pages, check that every relative link resolves."""

from __future__ import annotations

import re
import sqlite3
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import orjson


class PageParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []  # (href, text)
        self.ids: set[str] = set()
        self._a: list[list] = []
        self.scripts: list[str] = []
        self.table: dict[str, str] = {}  # the attributes of a paged table (div.datatable), if any

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a and a["id"]:
            self.ids.add(a["id"])
        if tag == "a":
            self._a.append([a.get("href"), ""])
        if a.get("data-line-base"):  # example code blocks: numbers open base + n by script
            self.links.append((a["data-line-base"] + "1", "line-base"))
        if tag in ("script", "img", "iframe") and a.get("src"):
            self.scripts.append(a["src"])
        if tag == "link" and a.get("href"):
            self.scripts.append(a["href"])
        if a.get("data-kind") and "datatable" in (a.get("class") or "").split():
            self.table = {k: v or "" for k, v in a.items()}

    def handle_data(self, data):
        for entry in self._a:
            entry[1] += data

    def handle_endtag(self, tag):
        if tag == "a" and self._a:
            href, text = self._a.pop()
            if href is not None:
                self.links.append((href, " ".join(text.split())))


@lru_cache(maxsize=4096)
def _parse(path: Path, inode: int, size: int, mtime_ns: int) -> PageParser:
    p = PageParser()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def parse(path: Path) -> PageParser:
    """The parsed page; a page rewritten since (another build at the same path) is read again."""
    st = path.stat()
    return _parse(path, st.st_ino, st.st_size, st.st_mtime_ns)


def resolve(site: Path, page: Path, href: str) -> tuple[Path | None, str]:
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or href.startswith("mailto:"):
        return None, ""
    if not parts.path:
        return page, parts.fragment
    base = page.parent
    target = (base / unquote(parts.path)).resolve()
    if parts.path.endswith("/") or target.is_dir():
        target = target / "index.html"
    return target, parts.fragment


@lru_cache(maxsize=64)
def _db_rows(db: Path, inode: int, size: int, mtime_ns: int, sql: str) -> frozenset:
    conn = sqlite3.connect(f"file:{db}?immutable=1", uri=True)
    try:
        return frozenset(conn.execute(sql).fetchall())
    finally:
        conn.close()


def db_rows(db: Path, sql: str) -> frozenset:
    st = db.stat()
    return _db_rows(db, st.st_ino, st.st_size, st.st_mtime_ns, sql)


LENGTH_COLUMNS = ("request_words", "reasoning_words", "code_lines")  # site.js TABLES.examples.lengths


def table_state_ok(target: Path, frag: str) -> bool:
    """A fragment that opens a paged table filtered (site.js readHash), as the generator links
    them (urls.item_filter, urls.findings_filter, urls.length_filter): only on that table's page,
    and only naming something the table can show."""
    table = parse(target).table
    key, _, value = frag.partition("=")
    if not table or not value or "&" in frag:
        return False
    value = unquote(value)
    if table.get("data-kind") == "examples":
        if key == "item":
            db = (target.parent / table["data-db"]).resolve()
            items = db_rows(db, "SELECT DISTINCT dataset, slug FROM doc_item")
            return (table["data-dataset"], value) in items
        m = re.fullmatch(r"len\.(\w+)", key)
        r = re.fullmatch(r"(\d+)-(\d+)", value)
        return bool(m and r and m.group(1) in LENGTH_COLUMNS and int(r.group(1)) <= int(r.group(2)))
    if table.get("data-kind") == "findings" and key.startswith("f."):
        options = orjson.loads(table.get("data-options") or "{}")
        return value in {v for v, _ in options.get(key[2:], [])}
    return False


def fragment_ok(target: Path, frag: str) -> bool:
    ids = parse(target).ids
    if not frag or frag in ids:
        return True
    m = re.fullmatch(r"L(\d+)-L(\d+)", frag)
    if m:
        return int(m.group(1)) < int(m.group(2)) and f"L{m.group(1)}" in ids and f"L{m.group(2)}" in ids
    return "=" in frag and table_state_ok(target, frag)


def _check(site: Path, where: str, page: Path, href: str, bad: list[str]) -> None:
    target, frag = resolve(site, page, href)
    if target is None:
        return
    if not target.is_relative_to(site) or not target.exists():
        bad.append(f"{where}: {href} (missing)")
    elif target.suffix == ".html" and not fragment_ok(target, frag):
        bad.append(f"{where}: {href} (no #{frag})")


def broken_links(site: Path) -> list[str]:
    """Every relative href must resolve, with its fragment: in every page, in the histograms
    (their links are relative to the dataset page), and in the URLs the tables and the search
    read from the search database."""
    site = site.resolve()
    bad: list[str] = []
    for page in sorted(site.rglob("*.html")):
        if page.name == "404.html":  # served at any path: mkdocs links it from the site root
            continue
        for href, _ in parse(page).links:
            _check(site, str(page.relative_to(site)), page, href, bad)
    for svg in sorted(site.rglob("data/*.svg")):
        for href, _ in parse(svg).links:
            _check(site, str(svg.relative_to(site)), svg.parent.parent / "index.html", href, bad)
    db = site / "search" / "site.sqlite3"
    if db.exists():
        root = site / "index.html"  # the database's URLs are relative to the site's root
        urls = db_rows(db, "SELECT url FROM doc UNION SELECT url FROM finding WHERE url != ''")
        for (url,) in sorted(urls):
            _check(site, "search/site.sqlite3", root, url, bad)
    for page in sorted(site.rglob("*.html")):  # the examples tables link each row's page by its line
        table = parse(page).table
        if table.get("data-kind") == "examples":
            lines = db_rows(db, "SELECT dataset, line FROM ex")
            for dataset, line in sorted(lines):
                if dataset == table["data-dataset"]:
                    _check(
                        site, f"search/site.sqlite3 (ex, {dataset})", root, f"{table['data-examples']}line-{line}/", bad
                    )
    return bad


def text_of(html_path: Path) -> str:
    """Visible-ish text of a page (tags stripped, entities decoded)."""

    class T(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.out = []
            self.skip = 0

        def handle_starttag(self, tag, attrs):
            if tag in ("script", "style", "textarea"):
                self.skip += 1

        def handle_endtag(self, tag):
            if tag in ("script", "style", "textarea"):
                self.skip -= 1

        def handle_data(self, d):
            if not self.skip:
                self.out.append(d)

    t = T()
    t.feed(html_path.read_text(encoding="utf-8"))
    return "".join(t.out)
