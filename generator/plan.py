"""The site as a plan: every file it will hold, each with a key that changes whenever the
file's bytes would. place.py compares the keys with the last build's and writes only what
changed; nothing here writes a file or renders a page that is not needed.

Files come from mkdocs' output (keyed by content), the data files (by content), the dataset
download (by the digest made while loading), and one example page per record. An example page
is keyed by its frame (generator code, the dataset's shell page) and a digest of its context,
the very data it is rendered from (views.example_page); it is rendered, framed by the shell
page, only when it is written. Table pages get their first rows here, in a slot mkdocs left
(so an edited row never reruns mkdocs); theme files no page loads (source maps, lunr) are
left out.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import re
from pathlib import Path

import orjson

from . import contexts, halves, urls
from .contexts import Page
from .memo import code_digest
from .mkdocs_site import Generated
from .place import Wanted
from .render import render_page, title_html
from .views import SiteViews, example_page

# In shell.md.j2. Markers that escaped text cannot produce (every string reaches the shell's HTML
# escaped, so none holds a literal "<!--").
SLOT_TITLE, SLOT_H1, SLOT_BODY = "<!--slot:title-->", "<!--slot:h1-->", "<!--slot:body-->"


class PlanError(Exception):
    """The site cannot be planned (the theme's page has no slot); the message is one line."""


def plan_site(
    gen: Generated,
    mkdocs_files: dict[str, str],
    work: Path,
    out: Path,
    previous: dict[str, str] | None,
    page_digests: halves.Begun,
) -> tuple[dict[str, Wanted], list[str]]:
    """Every file of the site, each with a key that changes when its bytes would. Nothing is
    rendered here: an example page is rendered (and framed by its dataset's shell page, as
    mkdocs rendered it) only when it has to be written. `page_digests`: begin_page_digests(gen.site),
    begun earlier. Returns (files, the example pages' paths)."""
    site = gen.site
    built = work / "mkdocs-out"
    digests = mkdocs_files  # each output file by digest (mkdocs_site.run_mkdocs_if_needed)
    wanted = mkdocs_output(site, built, digests)
    wanted.update(sitemap_files(site, built, digests))
    for rel, data in gen.data.items():
        wanted[rel] = Wanted("data:" + hashlib.sha256(data).hexdigest(), data=data)
    for rel, (source, digest, stat) in gen.copies.items():
        wanted[rel] = Wanted(
            "data:" + (digest or hashlib.sha256(source.read_bytes()).hexdigest()),
            path=source,
            source_stat=stat if digest else None,
        )
    pages = example_files(site, built, page_digests)
    wanted.update(pages)
    return wanted, list(pages)


def mkdocs_output(site: SiteViews, built: Path, digests: dict[str, str]) -> dict[str, Wanted]:
    """mkdocs' output files, less the shell pages and dead weight; a table page gets its first
    rows in the slot mkdocs left."""
    shell_dirs = {urls.page_url(p).rstrip("/") for p in site.shells.values()}
    wanted: dict[str, Wanted] = {}
    for rel, file_digest in digests.items():
        if rel.rsplit("/", 1)[0] in shell_dirs or dead_weight(rel):
            continue
        slots = site.slots.get(rel)
        if slots:
            text = (built / rel).read_text(encoding="utf-8")
            missing = [s for s in slots if s not in text]
            if missing:
                raise PlanError(f"{built / rel}: the theme dropped the table slot {missing[0]}")
            slot_key = hashlib.sha256(orjson.dumps(slots, option=orjson.OPT_SORT_KEYS)).hexdigest()
            wanted[rel] = Wanted(
                f"slots:{file_digest}:{slot_key}", make=functools.partial(_fill_slots, built / rel, slots)
            )
        else:
            wanted[rel] = Wanted(f"file:{file_digest}", path=built / rel)
    return wanted


def sitemap_files(site: SiteViews, built: Path, digests: dict[str, str]) -> dict[str, Wanted]:
    """mkdocs' sitemap (and its gzip), without the shell pages."""
    sitemap = built / "sitemap.xml"
    if not sitemap.exists():
        return {}
    shell_urls = [urls.page_url(p) for p in site.shells.values()]
    sitemap_bytes = _lazy(lambda: _sitemap_without(sitemap, shell_urls).encode("utf-8"))
    return {
        "sitemap.xml": Wanted(f"sitemap:{digests['sitemap.xml']}", make=sitemap_bytes),
        "sitemap.xml.gz": Wanted(
            f"sitemap.gz:{digests['sitemap.xml']}", make=lambda: gzip.compress(sitemap_bytes(), mtime=0)
        ),
    }


def example_frames(site: SiteViews, built: Path) -> dict[str, tuple[str, str, bytes]]:
    """Per dataset: the head and tail of its shell page as mkdocs rendered it (the frame of its
    example pages), and the frame's key (the generator code and the shell page)."""
    code = code_digest()
    frames = {}
    for stem, shell_path in site.shells.items():
        shell_dir = built / urls.page_url(shell_path)
        text = (shell_dir / "index.html").read_text(encoding="utf-8")
        head, sep, tail = text.partition(SLOT_BODY)
        if not sep or SLOT_H1 not in head:
            raise PlanError(f"{shell_dir / 'index.html'}: the theme dropped the page slot; cannot frame example pages")
        key = hashlib.blake2b(orjson.dumps([code, hashlib.sha256(text.encode()).hexdigest()]), digest_size=16).digest()
        frames[stem] = (_squeeze(head), _squeeze(tail), key)
    return frames


def begin_page_digests(site: SiteViews) -> halves.Begun:
    """Begin example_page_digest for every example page of the site, most of them in a forked
    child (halves.py) that starts now: they need only the views, so the child works while this
    process writes the docs, applies the search database's edit and runs mkdocs."""

    def file_and_digest(at: tuple[int, int]) -> tuple[str, bytes]:
        page = example_page(site.datasets[at[0]], at[1])
        return urls.site_file(page.path), example_page_digest(page)

    at = [(d, i) for d, dv in enumerate(site.datasets) for i in range(len(dv.examples))]
    return halves.begin(file_and_digest, at, share=CHILD_SHARE)


# The child's share of the page digests: it starts that much earlier (see begin_page_digests).
CHILD_SHARE = 2 / 3


def example_files(site: SiteViews, built: Path, digests: halves.Begun) -> dict[str, Wanted]:
    """One file per example page, keyed by its frame and example_page_digest (`digests`, begun
    by begin_page_digests); made (rendered and framed) only when written."""
    frames = example_frames(site, built)

    def framed_page(dv, i: int) -> bytes:
        """Example page i of dv, rendered and framed by its dataset's shell page."""
        page = example_page(dv, i)
        head, tail, _ = frames[dv.stem]
        head = head.replace(SLOT_TITLE, title_html(page.title)).replace(SLOT_H1, title_html(page.view.heading))
        head = head.replace(urls.page_url(site.shells[dv.stem]), urls.page_url(page.path))
        return (head + render_page(page) + tail).encode("utf-8")

    wanted: dict[str, Wanted] = {}
    made = iter(digests.result())
    for dv in site.datasets:
        frame_key = frames[dv.stem][2]
        for i in range(len(dv.examples)):
            rel, digest = next(made)
            key = hashlib.blake2b(frame_key + digest, digest_size=16).hexdigest()
            wanted[rel] = Wanted(key, make=functools.partial(framed_page, dv, i), pure=True)
    return wanted


def example_page_digest(page: Page) -> bytes:
    """A digest of what an example page is rendered from (its path, title and context), so
    that nothing the page shows can be left out of its key (the key adds the page's frame)."""
    return contexts.digest(page.view, b"\0".join([page.path.encode(), page.title.encode(), b""]))


def _squeeze(frame: str) -> str:
    """Drop the theme's blank lines and indentation from a frame (repeated in every example
    page). A newline is kept wherever there was whitespace; frames with <pre> are left alone."""
    if "<pre" in frame or "<textarea" in frame:
        return frame
    return re.sub(r"\n\s*", "\n", frame)


def dead_weight(rel: str) -> bool:
    """Theme files no page of ours loads: source maps, and lunr's search (language files,
    worker), which the site's own search (searchdb.py, site.js) replaces."""
    return rel.endswith(".map") or rel.startswith(
        ("assets/javascripts/lunr/", "assets/javascripts/workers/search.", "search/search_index.json")
    )


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
