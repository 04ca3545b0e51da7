"""The one place that knows page paths, URLs and anchors.

Docs paths are relative to the generated docs folder; `href(from_page, to)` gives the
relative URL between two pages as mkdocs writes them (use_directory_urls: page `a/b.md` is
served at `a/b/`). Nothing from a record's text becomes a path: example pages are named by
line number, dataset folders by a slug of the file stem, source pages by a checked scope path.
"""

from __future__ import annotations

import re
from functools import cache
from urllib.parse import quote

_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def slug(text: str) -> str:
    s = _SLUG.sub("-", text).strip("-.")
    return s or "x"


def item_anchor(name: str, line: int) -> str:
    """Stable id for an item row: a slug of its name plus its first line (names repeat)."""
    return f"item-{slug(name.replace('::', '-'))[:60]}-{line}".lower()


@cache
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


def examples_folder(stem: str) -> str:
    """The folder of a dataset's example pages (in the docs and in the site alike)."""
    return f"{dataset_dir(stem)}/examples/"


def _example_name(line: int) -> str:
    return f"line-{line}"


def example_folder_name(line: int) -> str:
    """An example page's folder in examples_folder: its URL there."""
    return _example_name(line) + "/"


def example(stem: str, line: int) -> str:
    return f"{examples_folder(stem)}{_example_name(line)}.md"


def examples_href(from_page: str, stem: str) -> str:
    """The relative URL of the example pages' folder: an example's URL is this plus
    example_folder_name(line)."""
    folder = href(from_page, examples_folder(stem))
    return "" if folder == "./" else folder  # from the examples table, whose URL is the folder


def example_hrefs(from_page: str, stem: str):
    """A function line → href(from_page, example(stem, line)), for pages that link every
    example: all example pages sit in one folder, so only the last part varies."""
    prefix = examples_href(from_page, stem)
    return lambda line: prefix + example_folder_name(line)


def example_shell(stem: str) -> str:
    """The page mkdocs renders once per dataset; example pages are this frame with their body.
    It sits beside the example pages, so every relative URL in the frame fits them all."""
    return example(stem, 0)


@cache
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


def site_file(docs_path: str) -> str:
    """The site file of a page: `a/b.md` → `a/b/index.html` (an example page's too, though
    plan.py writes it, not mkdocs)."""
    return page_url(docs_path) + "index.html"


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


LINE_ANCHOR = "L"  # a source line's anchor is this and its number (site.js adds numbers to line_anchor_base)


def line_anchor(line: int) -> str:
    return f"{LINE_ANCHOR}{line}"


def range_anchor(start: int, end: int) -> str:
    return line_anchor(start) if start == end else f"{line_anchor(start)}-{line_anchor(end)}"


def line_anchor_base(page_href: str) -> str:
    """A link to a source page without its anchor, and the start of a line's anchor."""
    return page_href.split("#", 1)[0] + "#" + LINE_ANCHOR


def segment_anchor(index: int) -> str:
    """Anchor of an example page's code segment (1-based)."""
    return f"segment-{index}"


def change_anchor(new_line: int) -> str:
    """Anchor of a changed example's row on the Changes page."""
    return f"change-{new_line}"


def removed_anchor(old_line: int) -> str:
    """Anchor of a removed example's row on the Changes page."""
    return f"removed-{old_line}"


def diff_anchor(row_anchor: str) -> str:
    """Anchor of a changed example's diff on the Changes page, from its row's anchor."""
    return f"diff-{row_anchor}"


def rule_anchor(rule: str) -> str:
    """Anchor of a rule's row in the rule reference on the findings page."""
    return "rule-" + slug(rule).replace(".", "-")


def line_lookup(stem: str, path: str) -> str:
    """The data file of a source page: which examples quote which of its lines."""
    parts = [slug(p) for p in path.split("/") if p not in ("", ".", "..")]
    return f"{dataset_dir(stem)}/lines/{'/'.join(parts)}.json"


def item_key(item) -> str:
    """An item's filter key (`item=` in the examples table's URL): its path and qualified name,
    so two items of one name in different files are different keys."""
    return f"{item.path}::{item.name}"


def item_filter(item) -> str:
    """The fragment that opens the examples table filtered to one item."""
    return "item=" + quote(item_key(item), safe="/:")


def findings_filter(column: str, value: str) -> str:
    """The fragment that opens the findings table filtered on one column (site.js reads it)."""
    return f"f.{column}={value}"


def card(stem: str) -> str:
    """The dataset card (the README.md beside the dataset), as a page of the site."""
    return f"{dataset_dir(stem)}/card.md"


def length_filter(column: str, lo: int, hi: int) -> str:
    """The fragment that opens the examples table filtered to a length range (site.js reads it)."""
    return f"len.{column}={lo}-{hi}"
