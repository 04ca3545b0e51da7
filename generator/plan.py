"""The site as a plan: every file it will hold, each with a key that changes whenever the
file's bytes would. place.py compares the keys with the last build's and writes only what
changed; nothing here writes a file or renders a page that is not needed.

Files come from mkdocs' output (keyed by content), the data files (by content), the dataset
download (by the digest made while loading), and one example page per record. An example page
is keyed by its record's digest, its place and neighbours, its findings and where its code was
found, plus a key of everything its dataset's pages share (generator code, frame, config,
source context); it is rendered, framed by the dataset's shell page, only when it is written.
Table pages get their first rows here, in a slot mkdocs left (so an edited row never reruns
mkdocs); theme files no page loads (source maps, lunr) are left out.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import re
from pathlib import Path

import orjson

from . import urls
from .memo import code_digest
from .mkdocs_site import Generated
from .place import Wanted
from .render import render_page, title_html
from .diffview import change_key
from .views import example_page

# In shell.md.j2. Markers that escaped text cannot produce (every string reaches the shell's HTML
# escaped, so none holds a literal "<!--").
SLOT_TITLE, SLOT_H1, SLOT_BODY = "<!--slot:title-->", "<!--slot:h1-->", "<!--slot:body-->"


class PlanError(Exception):
    """The site cannot be planned (the theme's page has no slot); the message is one line."""


def plan_site(gen: Generated, mkdocs_files: dict[str, str], work: Path, out: Path, previous: dict[str, str] | None) -> tuple[dict[str, Wanted], list[str]]:
    """Every file of the site, each with a key that changes when its bytes would. Nothing is
    rendered here: an example page is rendered (and framed by its dataset's shell page, as
    mkdocs rendered it) only when it has to be written. Returns (files, the example pages' paths)."""
    site = gen.site
    built = work / "mkdocs-out"
    shell_dirs = {urls.page_url(p).rstrip("/") for p in site.shells.values()}
    wanted: dict[str, Wanted] = {}
    digests = mkdocs_files  # each output file by digest (mkdocs_site.run_mkdocs_if_needed)
    for rel, file_digest in digests.items():
        if rel.rsplit("/", 1)[0] in shell_dirs or dead_weight(rel):
            continue
        slots = site.slots.get(rel)
        if slots:  # a table page: its first rows go into the slot mkdocs left
            text = (built / rel).read_text(encoding="utf-8")
            missing = [s for s in slots if s not in text]
            if missing:
                raise PlanError(f"{built / rel}: the theme dropped the table slot {missing[0]}")
            slot_key = hashlib.sha256(orjson.dumps(slots, option=orjson.OPT_SORT_KEYS)).hexdigest()
            wanted[rel] = Wanted(f"slots:{file_digest}:{slot_key}", make=functools.partial(_fill_slots, built / rel, slots))
        else:
            wanted[rel] = Wanted(f"file:{file_digest}", path=built / rel)
    shell_urls = [urls.page_url(p) for p in site.shells.values()]
    sitemap = built / "sitemap.xml"
    if sitemap.exists():
        sitemap_bytes = _lazy(lambda: _sitemap_without(sitemap, shell_urls).encode("utf-8"))
        wanted["sitemap.xml"] = Wanted(f"sitemap:{digests['sitemap.xml']}", make=sitemap_bytes)
        wanted["sitemap.xml.gz"] = Wanted(f"sitemap.gz:{digests['sitemap.xml']}", make=lambda: gzip.compress(sitemap_bytes(), mtime=0))
    for rel, data in gen.data.items():
        wanted[rel] = Wanted("data:" + hashlib.sha256(data).hexdigest(), data=data)
    for rel, (source, digest, stat) in gen.copies.items():
        wanted[rel] = Wanted("data:" + (digest or hashlib.sha256(source.read_bytes()).hexdigest()), path=source, source_stat=stat if digest else None)

    digest = code_digest()
    frames: dict[str, tuple[str, str, str]] = {}
    for stem, shell_path in site.shells.items():
        shell_dir = built / urls.page_url(shell_path)
        text = (shell_dir / "index.html").read_text(encoding="utf-8")
        head, sep, tail = text.partition(SLOT_BODY)
        if not sep or SLOT_H1 not in head:
            raise PlanError(f"{shell_dir / 'index.html'}: the theme dropped the page slot; cannot frame example pages")
        frames[stem] = (_squeeze(head), _squeeze(tail), hashlib.sha256(text.encode()).hexdigest())
    pages: list[str] = []

    def framed_page(dv, i: int) -> bytes:
        """Example page i of dv, rendered and framed by its dataset's shell page."""
        exs = dv.examples
        page = example_page(dv, exs[i], exs[i - 1] if i > 0 else None, exs[i + 1] if i + 1 < len(exs) else None)
        head, tail, _ = frames[dv.stem]
        title = title_html(page.title)
        head = head.replace(SLOT_TITLE, title).replace(SLOT_H1, title_html(page.context["heading"]))
        return (head.replace(urls.page_url(site.shells[dv.stem]), urls.page_url(page.path)) + render_page(page) + tail).encode("utf-8")

    for dv in site.datasets:
        base = dataset_page_key(dv, digest, frames[dv.stem][2])
        folder = urls.page_url(site.shells[dv.stem]).rsplit("/", 2)[0] + "/"  # page: line-N/index.html
        exs = dv.examples
        segments_seen: dict = {}  # (kept alive by exs: ids are not reused within this loop)
        for i, ex in enumerate(exs):
            key = example_page_key(base, ex, exs[i - 1] if i > 0 else None, exs[i + 1] if i + 1 < len(exs) else None, segments_seen, change_key(dv, ex))
            rel = f"{folder}line-{ex.record.line}/index.html"
            wanted[rel] = Wanted(key, make=functools.partial(framed_page, dv, i))
            pages.append(rel)
    return wanted, pages


def dataset_page_key(dv, code: str, frame_hash: str) -> bytes:
    """What every example page of a dataset depends on besides its own record: the generator,
    the frame, the dataset's config, source and findings context, and which source pages exist."""
    r = dv.r
    return hashlib.blake2b(
        orjson.dumps([code, frame_hash, dv.stem, r.memo.context if r.memo else "", r.config.fingerprint(), len(dv.examples), sorted(dv.with_source)]),
        digest_size=16,
    ).digest()


def example_page_key(base: bytes, ex, prev, nxt, segments_seen: dict | None = None, change: bytes | None = None) -> str:
    """An example page's key: its record (by digest), place, neighbours, findings and where its
    segments were found. Everything else on the page follows from these and the dataset key.
    `segments_seen` caches the segments' part (examples quoting one block share Segments);
    `change` is what a comparison (build --compare) shows on the page, None without one."""
    ids = tuple(map(id, ex.segments))
    seg_part = segments_seen.get(ids) if segments_seen is not None else None
    if seg_part is None:
        seg_part = orjson.dumps([[s.status, s.path, s.start_line, s.end_line] for s in ex.segments])
        if segments_seen is not None:
            segments_seen[ids] = seg_part
    place = [
        ex.record.line,
        ex.number,
        [prev.record.line, prev.number] if prev else None,
        [nxt.record.line, nxt.number] if nxt else None,
        [[f.rule, f.severity, f.message, f.detail] for f in ex.findings] if ex.findings else None,
    ]
    if change is not None:
        place.append(change.hex())
    return hashlib.blake2b(base + ex.record.digest + seg_part + orjson.dumps(place), digest_size=16).hexdigest()


def _squeeze(frame: str) -> str:
    """Drop the theme's blank lines and indentation from a frame (repeated in every example
    page). A newline is kept wherever there was whitespace; frames with <pre> are left alone."""
    if "<pre" in frame or "<textarea" in frame:
        return frame
    return re.sub(r"\n\s*", "\n", frame)


def dead_weight(rel: str) -> bool:
    """Theme files no page of ours loads: source maps, and lunr's search (language files,
    worker), which the site's own search (searchdb.py, site.js) replaces."""
    return rel.endswith(".map") or rel.startswith(("assets/javascripts/lunr/", "assets/javascripts/workers/search.", "search/search_index.json"))


def _fill_slots(path: Path, slots: dict[str, str]) -> bytes:
    text = path.read_text(encoding="utf-8")
    for slot, html_text in sorted(slots.items()):
        text = text.replace(slot, html_text, 1)
    return text.encode("utf-8")


def _sitemap_without(sitemap: Path, page_urls: list[str]) -> str:
    text = sitemap.read_text(encoding="utf-8")
    for url in page_urls:
        text = re.sub(r"\s*<url>\s*<loc>[^<]*" + re.escape(url) + r"</loc>.*?</url>", "", text, flags=re.S)
    return text


def _lazy(make):
    done: list[bytes] = []

    def value() -> bytes:
        if not done:
            done.append(make())
        return done[0]

    return value
