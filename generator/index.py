"""Rust source → items, with tree-sitter-rust queries (queries/*.scm).

Only this module and `lock` know where the source comes from. A SourceFile carries per-line
hashes so that linking works the same from a checkout or from the committed lock.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from functools import cache
from pathlib import Path

import tree_sitter_rust
from tree_sitter import Language, Node, Parser, Query, QueryCursor

from .model import Finding, Item, Location, SourceFile, SourceIndex
from .rules import finding

QUERIES = Path(__file__).with_name("queries")
# Items that may enclose other items and so prefix their names.
_CONTAINERS = {"impl_item", "trait_item", "mod_item", "function_item"}
_DOC_MARKERS = {"outer_doc_comment_marker"}


class SourceError(Exception):
    """The source root as a whole cannot be used."""


@cache
def _language() -> Language:
    return Language(tree_sitter_rust.language())


@cache
def _query(name: str) -> Query:
    return Query(_language(), (QUERIES / f"{name}.scm").read_text(encoding="utf-8"))


def line_hash(line: str) -> str:
    return hashlib.sha256(line.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def normalise(line: str) -> str:
    """Whitespace-insensitive form of a line, for 'modified' matches."""
    return " ".join(line.split())


def _last_row(node: Node) -> int:
    row, col = node.end_point
    return row - 1 if col == 0 and row > node.start_point[0] else row


def _is_doc(node: Node) -> bool:
    return node.type in ("line_comment", "block_comment") and any(c.type in _DOC_MARKERS for c in node.children)


def _leading(node: Node, before: list[Node], count: int) -> tuple[int, int, list[str]]:
    """(first row with docs/attributes, first row with plain comments too, attribute texts).
    `before[:count]`: the node's preceding named siblings, in order (tree-sitter's
    prev_named_sibling walks from the parent each time, which made nested items cubic)."""
    start = node.start_point[0]
    attrs: list[str] = []
    k = count - 1
    while k >= 0:
        sib = before[k]
        prev = before[k - 1] if k > 0 else None
        if _is_trailing_comment(sib, prev):  # `#[attr] // note`: the comment rides on the attribute
            k -= 1
            continue
        if _last_row(sib) < start - 1 or not (sib.type == "attribute_item" or _is_doc(sib)):
            break
        if sib.type == "attribute_item":
            attrs.append(sib.text.decode("utf-8", "replace"))
        start = sib.start_point[0]
        k -= 1
    lead = start
    while k >= 0 and before[k].type == "line_comment" and not _is_doc(before[k]) and _last_row(before[k]) >= lead - 1:
        lead = before[k].start_point[0]
        k -= 1
    return start, lead, attrs


def _is_trailing_comment(node: Node, before: Node | None) -> bool:
    return (
        node.type == "line_comment"
        and not _is_doc(node)
        and before is not None
        and before.type == "attribute_item"
        and _last_row(before) == node.start_point[0]
    )


def _is_cfg_test(attrs: list[str]) -> bool:
    return any("".join(a.split()) == "#[cfg(test)]" for a in attrs)


def _type_name(node: Node | None) -> str:
    """`Retry<'a, Re>` → `Retry`; `crate::x::Foo<T>` → `Foo`; anything else: its text."""
    if node is None:
        return "?"
    if node.type == "generic_type":
        return _type_name(node.child_by_field_name("type"))
    if node.type == "scoped_type_identifier":
        return _type_name(node.child_by_field_name("name"))
    return " ".join(node.text.decode("utf-8", "replace").split())


def _header(node: Node) -> str:
    """An impl's header: its text up to the body, whitespace collapsed."""
    body = node.child_by_field_name("body")
    end = body.start_byte if body is not None else node.end_byte
    return " ".join(node.text[: end - node.start_byte].decode("utf-8", "replace").split())


def _own_name(node: Node, kind: str, name_node: Node | None) -> str:
    if kind == "impl":
        return _header(node)
    if kind == "use":
        return " ".join(node.text.decode("utf-8", "replace").rstrip(";").split())
    return name_node.text.decode("utf-8", "replace") if name_node is not None else "?"


class _Place:
    """Where a node sits: the qualified prefix of its enclosing items, whether one of them is
    #[cfg(test)], and its preceding named siblings (for its docs and attributes)."""

    __slots__ = ("prefix", "in_test", "before")

    def __init__(self, prefix: str, in_test: bool, before: tuple[list[Node], int]):
        self.prefix, self.in_test, self.before = prefix, in_test, before


def _places(tree, wanted: set[tuple[int, int, int]]) -> dict[tuple[int, int, int], _Place]:
    """One walk over the tree (a cursor, no parent lookups): the place of every node whose
    (start byte, end byte, kind id) is in `wanted`. Linear in the tree's size; a container's
    prefix is built once and shared by everything inside it."""
    out: dict[tuple[int, int, int], _Place] = {}
    cursor = tree.walk()
    # Stack of (prefix, in_test, named children seen so far) per open node.
    stack: list[tuple[str, bool, list[Node]]] = [("", False, [])]
    while True:
        node = cursor.node
        prefix, in_test, seen = stack[-1]
        key = (node.start_byte, node.end_byte, node.kind_id)
        before = (seen, len(seen))  # the siblings before this node: seen[:count]
        if key in wanted:
            out[key] = _Place(prefix, in_test, before)
        child_prefix, child_test = prefix, in_test
        if node.type in _CONTAINERS:
            if node.type == "impl_item":
                part = _type_name(node.child_by_field_name("type"))
            else:
                name = node.child_by_field_name("name")
                part = name.text.decode("utf-8", "replace") if name is not None else "?"
            child_prefix = f"{prefix}::{part}" if prefix else part
            child_test = in_test or _is_cfg_test(_leading(node, *before)[2])
        if node.is_named:
            seen.append(node)
        if cursor.goto_first_child():
            stack.append((child_prefix, child_test, []))
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return out
            stack.pop()


# Seconds tree-sitter may spend on one file (its error recovery can be quadratic);
# config: source.parse_timeout_seconds
PARSE_TIMEOUT = 2.0


class ParseTimeout(Exception):
    pass


def parse_tree(source: bytes, timeout: float = PARSE_TIMEOUT):
    """tree-sitter's tree of `source`, or ParseTimeout. (py-tree-sitter 0.25's progress
    callback crashes the interpreter; its deprecated timeout works.)"""
    parser = Parser(_language())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        parser.timeout_micros = max(1, int(timeout * 1_000_000))
    try:
        tree = parser.parse(source)
    except ValueError:
        tree = None
    if tree is None:
        raise ParseTimeout(f"parsing took over {timeout:g} s")
    return tree


def parse_items(path: str, source: bytes, tree=None) -> list[Item]:
    tree = tree or parse_tree(source)
    lines = source.split(b"\n")
    found: dict[tuple[int, int], Item] = {}
    names_seen: dict[str, int] = {}
    matches = QueryCursor(_query("items")).matches(tree.root_node)
    defs = []
    for _, caps in matches:
        (def_key,) = [k for k in caps if k.startswith("definition.")]
        node = caps[def_key][0]
        name_node = caps.get("name", [None])[0]
        defs.append((node.start_byte, node.end_byte, def_key.split(".", 1)[1], node, name_node))
    places = _places(tree, {(d[3].start_byte, d[3].end_byte, d[3].kind_id) for d in defs})
    for start_byte, end_byte, kind, node, name_node in sorted(defs, key=lambda d: (d[0], -d[1])):
        if (start_byte, end_byte) in found:
            continue
        place = places[(start_byte, end_byte, node.kind_id)]
        start_row, lead_row, attrs = _leading(node, *place.before)
        prefix, parent_test = place.prefix, place.in_test
        own = _own_name(node, kind, name_node)
        name = f"{prefix}::{own}" if prefix else own
        count = names_seen.get(name, 0) + 1
        names_seen[name] = count
        if count > 1:
            name = f"{name} #{count}"
        end_row = _last_row(node)
        text = b"\n".join(lines[start_row : end_row + 1])
        found[(start_byte, end_byte)] = Item(
            path=path,
            kind=kind,
            name=name,
            start_line=start_row + 1,
            decl_line=node.start_point[0] + 1,
            end_line=end_row + 1,
            start_byte=start_byte,
            end_byte=end_byte,
            sha256=hashlib.sha256(text).hexdigest(),
            in_test=parent_test or _is_cfg_test(attrs),
            parent=prefix,
            lead_line=lead_row + 1,
        )
    return sorted(found.values(), key=lambda i: (i.start_byte, -i.end_byte))


def parse_identifiers(source: bytes, tree=None) -> frozenset[str]:
    tree = tree or parse_tree(source)
    caps = QueryCursor(_query("identifiers")).captures(tree.root_node)
    return frozenset(n.text.decode("utf-8", "replace") for n in caps.get("id", []))


def index_file(path: str, data: bytes, timeout: float = PARSE_TIMEOUT) -> SourceFile:
    """Index one file's bytes (already known to be UTF-8). ParseTimeout when tree-sitter
    gives up on it."""
    text = data.decode("utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    tree = parse_tree(data, timeout)
    items = tuple(parse_items(path, data, tree))
    idents = parse_identifiers(data, tree) | {
        i.name.rsplit("::", 1)[-1] for i in items if i.kind not in ("impl", "use")
    }
    return SourceFile(
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        line_count=len(lines),
        items=items,
        line_hashes=tuple(line_hash(line) for line in lines),
        norm_hashes=tuple(line_hash(normalise(line)) for line in lines),
        identifiers=frozenset(idents),
        text=text,
    )


class TooLarge(Exception):
    pass


def _resolve(root: Path, rel: str) -> tuple[Path | None, str | None]:
    if rel.startswith("/") or ".." in rel.split("/") or "\0" in rel:
        return None, "path leaves the source root"
    path = root / rel
    try:
        resolved = path.resolve(strict=True)
    except FileNotFoundError:
        return None, "no such file in the source root"
    except (OSError, RuntimeError, ValueError) as e:
        return None, f"cannot be resolved ({e})"
    if not resolved.is_relative_to(root.resolve()):
        return None, f"is a symlink that leaves the source root (to {resolved})"
    if not resolved.is_file():
        return None, "is not a regular file"
    return resolved, None


def read_source_file(root: Path, rel: str, max_bytes: int | None = None) -> tuple[bytes | None, str | None]:
    """(bytes, None) or (None, reason). Refuses symlinks that leave the root, and files over
    `max_bytes` (read no further than that: a file may claim any size)."""
    resolved, problem = _resolve(root, rel)
    if problem:
        return None, problem
    try:
        with open(resolved, "rb") as fh:
            data = fh.read() if max_bytes is None else fh.read(max_bytes + 1)
    except OSError as e:
        return None, f"cannot be read ({e.strerror or e})"
    if max_bytes is not None and len(data) > max_bytes:
        return None, f"is larger than source.max_file_bytes ({max_bytes:,} bytes): skipped"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, f"is not UTF-8 (invalid byte at offset {e.start})"
    return data, None


def index_source(
    root: Path, files: list[str], max_bytes: int | None = None, timeout: float = PARSE_TIMEOUT
) -> tuple[SourceIndex, list[Finding]]:
    """Index the named files under root. Unusable files become findings; the rest is indexed."""
    if not root.is_dir():
        raise SourceError(f"{root}: source root is not a directory")
    out: dict[str, SourceFile] = {}
    findings: list[Finding] = []
    for rel in sorted(set(files)):
        data, problem = read_source_file(root, rel, max_bytes)
        if problem:
            rule = "source.too-large" if "max_file_bytes" in problem else "source.unreadable"
            findings.append(finding(rule, Location.source(str(root / rel)), f"source file {problem}"))
            continue
        try:
            out[rel] = index_file(rel, data, timeout)
        except ParseTimeout as e:
            at = Location.source(str(root / rel))
            findings.append(finding("source.parse-timeout", at, f"source file skipped: tree-sitter {e}"))
    return SourceIndex(out), findings


def default_source_root(cli_value: str | None) -> Path | None:
    value = cli_value or os.environ.get("DATASET_SOURCE_ROOT")
    return Path(value) if value else None


def index_lines_only(root: Path, exclude: set[str], limit: int = 5000, max_bytes: int = 1_000_000) -> SourceIndex:
    """Line hashes (no items, no text) of the readable .rs files under root except `exclude`
    (at most `limit` files, each at most `max_bytes`, read line by line): enough to say where
    out-of-scope code was quoted from."""
    files: dict[str, SourceFile] = {}
    seen = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if not name.endswith(".rs"):
                continue
            seen += 1
            if seen > limit:
                return SourceIndex(files)
            rel = Path(os.path.relpath(os.path.join(dirpath, name), root)).as_posix()
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError:  # a file name that is not UTF-8 cannot be reported or linked
                continue
            if rel in exclude:
                continue
            hashes = _stream_line_hashes(root, rel, max_bytes)
            if hashes is not None:
                files[rel] = SourceFile(rel, "", len(hashes[0]), (), hashes[0], hashes[1])
    return SourceIndex(files)


def _stream_line_hashes(root: Path, rel: str, max_bytes: int) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """Line hashes and normalised-line hashes of a file, read line by line; None when it is
    unusable (outside the root, over max_bytes, not UTF-8)."""
    resolved, problem = _resolve(root, rel)
    if problem:
        return None
    plain, norm = [], []
    total = 0
    try:
        with open(resolved, "rb") as fh:
            while True:
                raw = fh.readline(max_bytes + 1 - total)
                if not raw:
                    break
                total += len(raw)
                if total > max_bytes:
                    return None
                line = raw.decode("utf-8")
                if line.endswith("\n"):
                    line = line[:-1]
                plain.append(line_hash(line))
                norm.append(line_hash(normalise(line)))
    except (OSError, UnicodeDecodeError):
        return None
    return tuple(plain), tuple(norm)
