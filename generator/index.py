"""Rust source → items, with tree-sitter-rust queries (queries/*.scm).

Only this module and `lock` know where the source comes from. A SourceFile carries per-line
hashes so that linking works the same from a checkout or from the committed lock.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import tree_sitter_rust
from tree_sitter import Language, Node, Parser, Query, QueryCursor

from .model import Finding, Item, SourceFile, SourceIndex

QUERIES = Path(__file__).with_name("queries")
# Items that may enclose other items and so prefix their names.
_CONTAINERS = {"impl_item", "trait_item", "mod_item", "function_item"}
_DOC_MARKERS = {"outer_doc_comment_marker"}


class SourceError(Exception):
    """The source root as a whole cannot be used."""


@lru_cache(maxsize=None)
def _language() -> Language:
    return Language(tree_sitter_rust.language())


@lru_cache(maxsize=None)
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


def _leading(node: Node) -> tuple[int, int, list[str]]:
    """(first row with docs/attributes, first row with plain comments too, attribute texts)."""
    start = node.start_point[0]
    attrs: list[str] = []
    sib = node.prev_named_sibling
    while sib is not None:
        before = sib.prev_named_sibling
        if _is_trailing_comment(sib, before):  # `#[attr] // note`: the comment rides on the attribute
            sib = before
            continue
        if _last_row(sib) < start - 1 or not (sib.type == "attribute_item" or _is_doc(sib)):
            break
        if sib.type == "attribute_item":
            attrs.append(sib.text.decode("utf-8", "replace"))
        start = sib.start_point[0]
        sib = before
    lead = start
    while sib is not None and sib.type == "line_comment" and not _is_doc(sib) and _last_row(sib) >= lead - 1:
        lead = sib.start_point[0]
        sib = sib.prev_named_sibling
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


def _prefix(node: Node) -> tuple[str, bool]:
    """Qualified prefix from enclosing items, and whether any of them is #[cfg(test)]."""
    parts: list[str] = []
    in_test = False
    anc = node.parent
    while anc is not None:
        if anc.type in _CONTAINERS:
            if anc.type == "impl_item":
                parts.append(_type_name(anc.child_by_field_name("type")))
            else:
                name = anc.child_by_field_name("name")
                parts.append(name.text.decode("utf-8", "replace") if name is not None else "?")
            if _is_cfg_test(_leading(anc)[2]):
                in_test = True
        anc = anc.parent
    return "::".join(reversed(parts)), in_test


def parse_items(path: str, source: bytes) -> list[Item]:
    tree = Parser(_language()).parse(source)
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
    for start_byte, end_byte, kind, node, name_node in sorted(defs, key=lambda d: (d[0], -d[1])):
        if (start_byte, end_byte) in found:
            continue
        start_row, lead_row, attrs = _leading(node)
        prefix, parent_test = _prefix(node)
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


def parse_identifiers(source: bytes) -> frozenset[str]:
    tree = Parser(_language()).parse(source)
    caps = QueryCursor(_query("identifiers")).captures(tree.root_node)
    return frozenset(n.text.decode("utf-8", "replace") for n in caps.get("id", []))


def index_file(path: str, data: bytes) -> SourceFile:
    """Index one file's bytes (already known to be UTF-8)."""
    text = data.decode("utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    items = tuple(parse_items(path, data))
    idents = parse_identifiers(data) | {i.name.rsplit("::", 1)[-1] for i in items if i.kind not in ("impl", "use")}
    return SourceFile(
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        line_count=len(lines),
        items=items,
        line_hashes=tuple(line_hash(l) for l in lines),
        norm_hashes=tuple(line_hash(normalise(l)) for l in lines),
        identifiers=frozenset(idents),
        text=text,
    )


def read_source_file(root: Path, rel: str) -> tuple[bytes | None, str | None]:
    """(bytes, None) or (None, reason). Refuses symlinks that leave the root."""
    if rel.startswith("/") or ".." in rel.split("/"):
        return None, "path leaves the source root"
    path = root / rel
    try:
        resolved = path.resolve(strict=True)
    except FileNotFoundError:
        return None, "no such file in the source root"
    except (OSError, RuntimeError) as e:
        return None, f"cannot be resolved ({e})"
    if not resolved.is_relative_to(root.resolve()):
        return None, f"is a symlink that leaves the source root (to {resolved})"
    if not resolved.is_file():
        return None, "is not a regular file"
    try:
        data = resolved.read_bytes()
    except OSError as e:
        return None, f"cannot be read ({e.strerror or e})"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, f"is not UTF-8 (invalid byte at offset {e.start})"
    return data, None


def index_source(root: Path, files: list[str]) -> tuple[SourceIndex, list[Finding]]:
    """Index the named files under root. Unusable files become findings; the rest is indexed."""
    if not root.is_dir():
        raise SourceError(f"{root}: source root is not a directory")
    out: dict[str, SourceFile] = {}
    findings: list[Finding] = []
    for rel in sorted(set(files)):
        data, problem = read_source_file(root, rel)
        if problem:
            findings.append(Finding("source.unreadable", "error", str(root / rel), 0, f"source file {problem}"))
            continue
        out[rel] = index_file(rel, data)
    return SourceIndex(out), findings


def default_source_root(cli_value: str | None) -> Path | None:
    value = cli_value or os.environ.get("DATASET_SOURCE_ROOT")
    return Path(value) if value else None


def index_lines_only(root: Path, exclude: set[str], limit: int = 5000) -> SourceIndex:
    """Line hashes (no items, no text) of every readable .rs file under root except `exclude`:
    enough to say where out-of-scope code was quoted from."""
    files: dict[str, SourceFile] = {}
    for path in sorted(root.rglob("*.rs"))[:limit]:
        rel = path.relative_to(root).as_posix()
        try:
            rel.encode("utf-8")
        except UnicodeEncodeError:  # a file name that is not UTF-8 cannot be reported or linked
            continue
        if rel in exclude:
            continue
        data, problem = read_source_file(root, rel)
        if problem:
            continue
        lines = data.decode("utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        files[rel] = SourceFile(rel, "", len(lines), (), tuple(line_hash(l) for l in lines), tuple(line_hash(normalise(l)) for l in lines))
    return SourceIndex(files)
