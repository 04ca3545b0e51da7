"""The one place that knows page paths, URLs and anchors.

Docs paths are relative to the generated docs folder; `href(from_page, to_page)` gives the
relative URL between two pages as mkdocs writes them (use_directory_urls: page `a/b.md` is
served at `a/b/`). Nothing from a record's text becomes a path: example pages are named by
line number, dataset folders by a slug of the file stem, source pages by a checked scope path.
"""

from __future__ import annotations

import re
from functools import lru_cache

_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def slug(text: str) -> str:
    s = _SLUG.sub("-", text).strip("-.")
    return s or "x"


def item_anchor(name: str, line: int) -> str:
    """Stable id for an item row: a slug of its name plus its first line (names repeat)."""
    return f"item-{slug(name.replace('::', '-'))[:60]}-{line}".lower()


def dataset_dir(stem: str) -> str:
    return f"datasets/{slug(stem)}"


def home() -> str:
    return "index.md"


def dataset_home(stem: str) -> str:
    return f"{dataset_dir(stem)}/index.md"


def examples_index(stem: str) -> str:
    return f"{dataset_dir(stem)}/examples.md"


def coverage(stem: str) -> str:
    return f"{dataset_dir(stem)}/coverage.md"


def findings(stem: str) -> str:
    return f"{dataset_dir(stem)}/findings.md"


def changes(stem: str) -> str:
    """The Changes page (build --compare only)."""
    return f"{dataset_dir(stem)}/changes.md"


def example(stem: str, line: int) -> str:
    return f"{dataset_dir(stem)}/examples/line-{line}.md"


def example_hrefs(from_page: str, stem: str):
    """A function line → href(from_page, example(stem, line)), for pages that link every
    example: all example pages sit in one folder, so only the last part varies."""
    prefix = href(from_page, example(stem, 1))
    assert prefix.endswith("line-1/")
    prefix = prefix[: -len("line-1/")]
    return lambda line: f"{prefix}line-{line}/"


def example_shell(stem: str) -> str:
    """The page mkdocs renders once per dataset; example pages are this frame with their body.
    It sits beside the example pages, so every relative URL in the frame fits them all."""
    return f"{dataset_dir(stem)}/examples/line-0.md"


@lru_cache(maxsize=None)
def source(stem: str, path: str) -> str:
    parts = [slug(p) for p in path.split("/") if p not in ("", ".", "..")]
    return f"{dataset_dir(stem)}/source/{'/'.join(parts)}.md"


def data_file(stem: str, name: str) -> str:
    """A static file (JSON data, the JSONL download) beside the dataset's pages."""
    return f"{dataset_dir(stem)}/data/{slug(name)}"


def page_url(docs_path: str) -> str:
    """Directory URL mkdocs gives a page: `a/b.md` → `a/b/`, `a/index.md` → `a/`."""
    if not docs_path.endswith(".md"):
        return docs_path
    stem = docs_path[:-3]
    if stem == "index" or stem.endswith("/index"):
        return stem[: -len("index")]
    return stem + "/"


def href(from_page: str, to: str, anchor: str = "") -> str:
    """Relative URL from one page (docs path) to a page or static file (docs path).

    Plain string work (no os.path): it runs for every link of every page."""
    base = page_url(from_page)
    target = page_url(to)
    base_parts = base.split("/")[:-1]  # directories of the page's URL
    target_parts = target.split("/")
    common = 0
    while common < len(base_parts) and common < len(target_parts) - 1 and base_parts[common] == target_parts[common]:
        common += 1
    rel = "../" * (len(base_parts) - common) + "/".join(target_parts[common:])
    if rel == "":
        rel = "./"
    return rel + (f"#{anchor}" if anchor else "")


def line_anchor(line: int) -> str:
    return f"L{line}"


def range_anchor(start: int, end: int) -> str:
    return f"L{start}" if start == end else f"L{start}-L{end}"
