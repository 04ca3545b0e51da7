"""A dataset card (the hand-written README.md beside a dataset) as safe HTML for its page.

The card is untrusted text like everything a pull request can touch: raw HTML in it is shown
as text, never passed through; links keep only http(s), mailto and in-page targets (relative
links into the repository would be broken on the site and are shown as text); images are not
loaded (the site works offline) and become their alt text. No disk access here.
"""

from __future__ import annotations

import xml.etree.ElementTree as etree

import markdown
from markdown.treeprocessors import Treeprocessor

SAFE_SCHEMES = ("http://", "https://", "mailto:", "#")


class _Sanitise(Treeprocessor):
    def run(self, root: etree.Element) -> None:
        for parent in root.iter():
            for child in list(parent):
                if child.tag == "img":
                    text = child.get("alt") or ""
                    index = list(parent).index(child)
                    span = etree.Element("span", {"class": "card-img"})
                    span.text = f"[image: {text}]" if text else "[image]"
                    span.tail = child.tail
                    parent.remove(child)
                    parent.insert(index, span)
                elif child.tag == "a":
                    href = (child.get("href") or "").strip()
                    for name in list(child.attrib):
                        if name not in ("href", "title"):
                            del child.attrib[name]
                    if not href.lower().startswith(SAFE_SCHEMES):
                        child.tag = "span"
                        child.attrib.clear()
                        child.set("class", "card-ref")
                        child.set("title", href[:200])


class _SafeCard(markdown.Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        # No raw HTML: without these the `<` of a tag is escaped and shown as text.
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.treeprocessors.register(_Sanitise(md), "sanitise", 0)


def card_html(text: str) -> tuple[str, str]:
    """(title, HTML) of a card's Markdown. The title is its first `# ` heading."""
    title = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), "Dataset card")
    md = markdown.Markdown(extensions=["tables", "fenced_code", "sane_lists", _SafeCard()], output_format="html")
    return title, md.convert(text)
