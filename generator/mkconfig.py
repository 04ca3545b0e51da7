"""The project's mkdocs.yml is input a pull request can change, and mkdocs would run what it
names (`hooks:`, plugins, a theme's `custom_dir`) and expand its tags (`!ENV [SECRET]` puts an
environment variable into every page). Before a build INHERITs it, it is parsed without any
tag, anchor or alias, and only a fixed set of keys and values the site needs is allowed; the
first thing outside it is refused as `mkdocs.yml:LINE: reason`.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .hidden import find_hidden
from .pipeline import PipelineError

MAX_BYTES = 1 << 20

# Markdown extensions that only change how Markdown is rendered (no file reads, no code):
# the ones mkdocs.yml uses plus harmless ones. Options may only be plain scalars or lists of them.
EXTENSIONS = frozenset(
    {
        "abbr",
        "admonition",
        "attr_list",
        "def_list",
        "footnotes",
        "md_in_html",
        "meta",
        "sane_lists",
        "smarty",
        "tables",
        "toc",
        "wikilinks",
        "pymdownx.betterem",
        "pymdownx.caret",
        "pymdownx.critic",
        "pymdownx.details",
        "pymdownx.highlight",
        "pymdownx.inlinehilite",
        "pymdownx.keys",
        "pymdownx.mark",
        "pymdownx.smartsymbols",
        "pymdownx.superfences",
        "pymdownx.tabbed",
        "pymdownx.tasklist",
        "pymdownx.tilde",
    }
)
PLUGINS = frozenset({"search"})  # the theme's search; none at all is fine too
THEME_KEYS = frozenset({"name", "font", "language", "features", "palette", "icon", "logo", "favicon"})
_UNSAFE = re.compile(r'[<>&"`]')
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:|^//")


class MkdocsConfigError(PipelineError):
    """mkdocs.yml uses something outside the allowlist (exit 2); one line with file:line."""


def check_mkdocs_yml(path: Path) -> None:
    """Refuse a mkdocs.yml outside the allowlist (MkdocsConfigError)."""
    try:
        if path.is_symlink():
            raise MkdocsConfigError(f"{path}: is a symbolic link; mkdocs.yml must be a file of the project")
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return  # mkdocs says so
    except OSError as e:
        raise MkdocsConfigError(f"{path}: cannot be read ({e.strerror})") from None
    if len(data) > MAX_BYTES:
        raise MkdocsConfigError(f"{path}: over {MAX_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise MkdocsConfigError(f"{path}: not UTF-8 ({e.reason})") from None
    where = lambda node_or_mark: f"{path}:{getattr(node_or_mark, 'start_mark', node_or_mark).line + 1}"  # noqa: E731
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if getattr(event, "tag", None) is not None:
                raise MkdocsConfigError(
                    f"{where(event)}: the tag {event.tag!r} is not allowed (no tags: !ENV, !relative, !!python/…)"
                )
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                raise MkdocsConfigError(f"{where(event)}: anchors and aliases are not allowed")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise MkdocsConfigError(f"{path}{line}: not valid YAML ({getattr(e, 'problem', None) or e})") from None
    if root is None:
        return
    _Checker(where).top(root)


class _Checker:
    def __init__(self, where):
        self.where = where

    def fail(self, node: Node, reason: str):
        raise MkdocsConfigError(f"{self.where(node)}: {reason}")

    def mapping(self, node: Node, what: str) -> list[tuple[str, Node, Node]]:
        if not isinstance(node, MappingNode):
            self.fail(node, f"{what} must be a mapping")
        out = []
        for k, v in node.value:
            if not isinstance(k, ScalarNode):
                self.fail(k, f"{what}: keys must be plain names")
            out.append((k.value, k, v))
        return out

    def scalar(self, node: Node, what: str, kinds=("str",)) -> object:
        if not isinstance(node, ScalarNode):
            self.fail(node, f"{what} must be a plain value")
        value = yaml.constructor.SafeConstructor().construct_object(node)
        names = {"str": str, "bool": bool, "int": int, "float": float, "null": type(None)}
        if not any(isinstance(value, names[k]) and not (k == "int" and isinstance(value, bool)) for k in kinds):
            self.fail(node, f"{what} must be {' or '.join(kinds)}")
        if isinstance(value, str) and (_UNSAFE.search(value) or find_hidden(value)):
            # the theme puts these values into pages and attributes unescaped
            self.fail(
                node,
                f'{what} may not hold <, >, &, ", ` or hidden characters (the theme inserts it into pages unescaped)',
            )
        return value

    def scalars(self, node: Node, what: str) -> None:
        """A plain value, or a list of them."""
        if isinstance(node, SequenceNode):
            for item in node.value:
                self.scalar(item, what, ("str", "bool", "int", "float"))
        else:
            self.scalar(node, what, ("str", "bool", "int", "float", "null"))

    def local_path(self, node: Node, what: str) -> None:
        value = self.scalar(node, what)
        parts = value.replace("\\", "/").split("/")
        if not value or value.startswith("/") or _URL.match(value) or ".." in parts:
            self.fail(node, f"{what} {value!r} must be a relative path inside docs/")

    def top(self, root: Node) -> None:
        seen = set()
        for key, knode, v in self.mapping(root, "mkdocs.yml"):
            if key in seen:
                self.fail(knode, f"key {key!r} is given twice")
            seen.add(key)
            if key in ("site_name", "site_description", "copyright"):
                self.scalar(v, key)
            elif key == "docs_dir":
                if self.scalar(v, key) != "docs":
                    self.fail(v, "docs_dir must be docs")
            elif key in ("use_directory_urls", "strict"):
                self.scalar(v, key, ("bool",))
            elif key == "theme":
                self.theme(v)
            elif key == "plugins":
                self.named_list(v, key, PLUGINS)
            elif key == "markdown_extensions":
                self.named_list(v, key, EXTENSIONS)
            elif key in ("extra_css", "extra_javascript"):
                if not isinstance(v, SequenceNode):
                    self.fail(v, f"{key} must be a list of paths")
                for item in v.value:
                    self.local_path(item, key)
            elif key == "validation":
                self.nested_scalars(v, key, depth=3)
            elif key == "extra":
                for name, _, value in self.mapping(v, key):
                    self.scalar(value, f"extra.{name}", ("str", "bool", "int", "float", "null"))
            else:
                self.fail(knode, f"key {key!r} is not allowed")

    def nested_scalars(self, node: Node, what: str, depth: int) -> None:
        if isinstance(node, MappingNode) and depth > 0:
            for name, _, value in self.mapping(node, what):
                self.nested_scalars(value, f"{what}.{name}", depth - 1)
        else:
            self.scalar(node, what, ("str", "bool", "int", "float", "null"))

    def theme(self, node: Node) -> None:
        if isinstance(node, ScalarNode):
            if self.scalar(node, "theme") != "material":
                self.fail(node, "theme must be material")
            return
        items = self.mapping(node, "theme")
        if not any(k == "name" for k, _, _ in items):
            self.fail(node, "theme needs name: material")
        for key, knode, v in items:
            if key == "name":
                if self.scalar(v, "theme.name") != "material":
                    self.fail(v, "theme.name must be material")
            elif key == "font":
                if self.scalar(v, "theme.font", ("bool",)) is not False:
                    self.fail(v, "theme.font must be false (no web fonts: the site works offline)")
            elif key == "language":
                self.scalar(v, "theme.language")
            elif key == "features":
                self.scalars(v, "theme.features")
            elif key == "palette":
                for entry in v.value if isinstance(v, SequenceNode) else [v]:
                    self.nested_scalars(entry, "theme.palette", depth=2)
            elif key == "icon":
                self.nested_scalars(v, "theme.icon", depth=2)
            elif key in ("logo", "favicon"):
                self.local_path(v, f"theme.{key}")
            else:
                self.fail(knode, f"key 'theme.{key}' is not allowed")

    def named_list(self, node: Node, what: str, allowed: frozenset) -> None:
        """A list of names, each optionally `name: {option: plain value or list of them}`."""
        if isinstance(node, ScalarNode) and node.value in ("", "null", "~"):
            return  # empty
        if not isinstance(node, SequenceNode):
            self.fail(node, f"{what} must be a list")
        for item in node.value:
            if isinstance(item, ScalarNode):
                name, opts = item.value, None
            else:
                entries = self.mapping(item, what)
                if len(entries) != 1:
                    self.fail(item, f"{what}: one name per entry")
                name, _, opts = entries[0]
            if name not in allowed:
                self.fail(item, f"{what}: {name!r} is not allowed (allowed: {', '.join(sorted(allowed))})")
            if opts is not None and not (isinstance(opts, ScalarNode) and opts.value in ("", "null", "~")):
                for oname, _, ovalue in self.mapping(opts, f"{what}.{name}"):
                    self.scalars(ovalue, f"{what}.{name}.{oname}")
