"""Helpers that read a built site: parse pages, check that every relative link resolves."""

from __future__ import annotations

import re
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

    def handle_data(self, data):
        for entry in self._a:
            entry[1] += data

    def handle_endtag(self, tag):
        if tag == "a" and self._a:
            href, text = self._a.pop()
            if href is not None:
                self.links.append((href, " ".join(text.split())))


_cache: dict[Path, PageParser] = {}


def parse(path: Path) -> PageParser:
    if path not in _cache:
        p = PageParser()
        p.feed(path.read_text(encoding="utf-8"))
        _cache[path] = p
    return _cache[path]


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


def fragment_ok(ids: set[str], frag: str) -> bool:
    if not frag or frag in ids:
        return True
    m = re.fullmatch(r"L(\d+)-L(\d+)", frag)
    if m:
        return f"L{m.group(1)}" in ids and f"L{m.group(2)}" in ids
    return "=" in frag  # table state (#item=…, #q=…) is read by script, not an anchor


def broken_links(site: Path) -> list[str]:
    """Every relative href in every page, and in the tables' JSON data, must resolve."""
    site = site.resolve()
    bad = []
    for page in sorted(site.rglob("*.html")):
        if page.name == "404.html":  # served at any path: mkdocs links it from the site root
            continue
        for href, _ in parse(page).links:
            target, frag = resolve(site, page, href)
            if target is None:
                continue
            if not target.is_relative_to(site) or not target.exists():
                bad.append(f"{page.relative_to(site)}: {href} (missing)")
            elif target.suffix == ".html" and not fragment_ok(parse(target).ids, frag):
                bad.append(f"{page.relative_to(site)}: {href} (no #{frag})")
    for data in sorted(site.rglob("data/*.json")):
        page = data.parent.parent / (data.stem) / "index.html"  # the table page that loads it
        for row in orjson.loads(data.read_bytes())["rows"]:
            href = row[-1]
            if href:
                target, frag = resolve(site, page, href)
                if target is not None and not target.exists():
                    bad.append(f"{data.relative_to(site)}: {href} (missing)")
                elif target is not None and not fragment_ok(parse(target).ids, frag):
                    bad.append(f"{data.relative_to(site)}: {href} (no #{frag})")
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
