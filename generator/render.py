"""One Jinja environment: a template receives its page's context (contexts.py) as variables and
returns the page's text: Markdown for mkdocs (*.md.j2), or an example page's HTML body
(example.html.j2), which plan.py frames.

Record text only ever reaches a template as a value (autoescaped), never as template source.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from .contexts import Page
from .hidden import visible
from .highlight import code_block_html, text_html, textarea_text, title_html

TEMPLATES = Path(__file__).with_name("templates")


def yaml_str(value: str) -> Markup:
    """A front-matter title: a double-quoted YAML scalar (any Unicode, any length) holding
    HTML-escaped text, since the theme puts a page's title into its HTML unescaped."""
    return Markup(yaml_scalar(title_html(value)))


def yaml_scalar(value: str) -> str:
    return yaml.safe_dump(str(value), allow_unicode=True, width=float("inf"), default_style='"').rstrip("\n")


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    env.filters["yaml_str"] = yaml_str
    env.filters["text"] = text_html
    env.filters["visible"] = lambda v: visible(str(v))  # for attributes: hidden characters written as ⟨U+XXXX⟩
    env.globals["code_block"] = code_block_html
    env.filters["textarea"] = textarea_text
    return env


def render_page(page: Page) -> str:
    return environment().get_template(page.template).render(page.view.variables())
