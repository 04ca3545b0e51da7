"""The site's search and table index: one SQLite file (`search/site.sqlite3`) that the browser
reads piece by piece over HTTP Range requests (sql.js-httpvfs), never whole.

    doc        one row per searchable thing: an example, a source item, a summary page
    text_fts   FTS5 over doc(title, request, think); tokens keep `_` (should_retry is a word)
    ident_fts  FTS5 over tok(defines, idents, items, files, parts): the item a source-item doc
               defines, the identifiers of a doc's text, the items it covers, the files it
               quotes. No bm25 here (it would read every match's size): the column ranks.
               Tokens keep `_ : / . -`, and each identifier is indexed as written and by every
               run of its `::`/`.`/`/` parts, so `Retry::run`, `from_millis` and `core/retry.rs`
               are single exact tokens
    block_fts  the identifiers of each distinct code block, once (doc_block: who quotes it)
    ex         the examples table's columns (narrow rows, one index per sortable column)
    finding    the findings table, with finding_fts over its location and message
    doc_file, doc_item   which examples quote which source file / cover which item (filters)
    facet      values the search filters offer, with counts

The file is kept in the work folder and updated in place: every row carries a key (a digest
of everything it is made from), rows whose key is gone are deleted, new keys inserted. A
build from nothing (or a change of more than a quarter of the rows) writes a new file in
bulk, page size 4096, each table's pages together; a small update leaves a few pages of
slack and small FTS segments, which cost a query a few more reads.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
from pathlib import Path

import orjson

from . import urls
from .hidden import visible
from .model import Severity

SITE_PATH = "search/site.sqlite3"  # where the file sits in the site
VERSION_PATH = "search/version.txt"  # its key: the browser's cache-buster for the file's pages
FORMAT = 7  # bump when the schema changes: the work copy is then rebuilt from nothing
MAX_CHAIN = 8  # identifier parts considered per chain (a::b::c…): runs of them are indexed
FIRST_LINE = 120

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:(?:::|\.)[A-Za-z_][A-Za-z0-9_]*)*")
PATH = re.compile(r"[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+")
CHAIN_SEP = re.compile(r"(::|\.)")
TICKED = re.compile(r"`([^`\n]{1,200})`")
CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

SCHEMA = """
PRAGMA page_size = 4096;
PRAGMA journal_mode = DELETE;
CREATE TABLE meta(name TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
CREATE TABLE doc(
  id INTEGER PRIMARY KEY, key TEXT NOT NULL, kind TEXT NOT NULL, dataset TEXT NOT NULL,
  number INTEGER NOT NULL, url TEXT NOT NULL, title TEXT NOT NULL, covered TEXT NOT NULL,
  first TEXT NOT NULL, request TEXT NOT NULL, think TEXT NOT NULL);
CREATE UNIQUE INDEX doc_key ON doc(key);
CREATE TABLE tok(id INTEGER PRIMARY KEY, defines TEXT NOT NULL, idents TEXT NOT NULL, \
items TEXT NOT NULL, files TEXT NOT NULL, parts TEXT NOT NULL);
CREATE VIRTUAL TABLE text_fts USING fts5(title, request, think, content='doc', content_rowid='id',
  tokenize="unicode61 tokenchars '_'");
CREATE VIRTUAL TABLE ident_fts USING fts5(defines, idents, items, files, parts, content='tok', content_rowid='id',
  columnsize=0, tokenize="unicode61 tokenchars '_:/.-'");
CREATE TRIGGER doc_ai AFTER INSERT ON doc BEGIN
  INSERT INTO text_fts(rowid, title, request, think) VALUES (new.id, new.title, new.request, new.think);
END;
CREATE TRIGGER tok_ai AFTER INSERT ON tok BEGIN
  INSERT INTO ident_fts(rowid, defines, idents, items, files, parts) \
VALUES (new.id, new.defines, new.idents, new.items, new.files, new.parts);
END;
CREATE TRIGGER tok_ad AFTER DELETE ON tok BEGIN
  INSERT INTO ident_fts(ident_fts, rowid, defines, idents, items, files, parts) \
VALUES ('delete', old.id, old.defines, old.idents, old.items, old.files, old.parts);
END;
CREATE TRIGGER doc_ad AFTER DELETE ON doc BEGIN
  INSERT INTO text_fts(text_fts, rowid, title, request, think) \
VALUES ('delete', old.id, old.title, old.request, old.think);
  DELETE FROM tok WHERE id = old.id;
  DELETE FROM ex WHERE id = old.id;
  DELETE FROM doc_file WHERE doc = old.id;
  DELETE FROM doc_item WHERE doc = old.id;
  DELETE FROM doc_block WHERE doc = old.id;
END;
-- Code blocks are indexed once each (examples quoting one block share it).
CREATE TABLE block(id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, idents TEXT NOT NULL, parts TEXT NOT NULL);
CREATE VIRTUAL TABLE block_fts USING fts5(idents, parts, content='block', content_rowid='id',
  columnsize=0, tokenize="unicode61 tokenchars '_:/.-'");
CREATE TRIGGER block_ai AFTER INSERT ON block BEGIN
  INSERT INTO block_fts(rowid, idents, parts) VALUES (new.id, new.idents, new.parts);
END;
CREATE TRIGGER block_ad AFTER DELETE ON block BEGIN
  INSERT INTO block_fts(block_fts, rowid, idents, parts) VALUES ('delete', old.id, old.idents, old.parts);
END;
CREATE TABLE doc_block(block INTEGER NOT NULL, doc INTEGER NOT NULL, PRIMARY KEY(block, doc)) WITHOUT ROWID;
CREATE INDEX doc_block_doc ON doc_block(doc);
CREATE TABLE ex(
  id INTEGER PRIMARY KEY, dataset TEXT NOT NULL, number INTEGER NOT NULL, line INTEGER NOT NULL,
  request TEXT NOT NULL, items TEXT NOT NULL, files TEXT NOT NULL, lines INTEGER NOT NULL,
  status TEXT NOT NULL, findings INTEGER NOT NULL,
  request_words INTEGER NOT NULL, reasoning_words INTEGER NOT NULL, code_lines INTEGER NOT NULL);
-- one index per sortable column; each ends in the row id (= the line order), the tie-break
CREATE INDEX ex_number ON ex(dataset, number);
CREATE INDEX ex_line ON ex(dataset, line);
CREATE INDEX ex_request ON ex(dataset, request COLLATE NOCASE);
CREATE INDEX ex_items ON ex(dataset, items COLLATE NOCASE);
CREATE INDEX ex_files ON ex(dataset, files);
CREATE INDEX ex_lines ON ex(dataset, lines);
CREATE INDEX ex_status ON ex(dataset, status);
CREATE INDEX ex_findings ON ex(dataset, findings);
CREATE INDEX ex_request_words ON ex(dataset, request_words);
CREATE INDEX ex_reasoning_words ON ex(dataset, reasoning_words);
CREATE INDEX ex_code_lines ON ex(dataset, code_lines);
CREATE TABLE doc_file(file TEXT NOT NULL, doc INTEGER NOT NULL, dataset TEXT NOT NULL, \
PRIMARY KEY(file, doc)) WITHOUT ROWID;
CREATE INDEX doc_file_ds ON doc_file(dataset, file, doc);
CREATE TABLE doc_item(item TEXT NOT NULL, doc INTEGER NOT NULL, dataset TEXT NOT NULL, slug TEXT NOT NULL, \
PRIMARY KEY(item, doc)) WITHOUT ROWID;
CREATE INDEX doc_item_slug ON doc_item(dataset, slug, doc);
CREATE TABLE finding(
  id INTEGER PRIMARY KEY, key TEXT NOT NULL, dataset TEXT NOT NULL, sev_order INTEGER NOT NULL,
  severity TEXT NOT NULL, rule TEXT NOT NULL, location TEXT NOT NULL, message TEXT NOT NULL,
  url TEXT NOT NULL, line INTEGER NOT NULL, doc INTEGER NOT NULL, detail TEXT NOT NULL DEFAULT '');
CREATE INDEX finding_key ON finding(key);
CREATE INDEX finding_order ON finding(dataset, sev_order);
CREATE INDEX finding_severity ON finding(dataset, severity);
CREATE INDEX finding_rule ON finding(dataset, rule);
CREATE INDEX finding_location ON finding(dataset, location);
CREATE INDEX finding_message ON finding(dataset, message COLLATE NOCASE);
CREATE INDEX finding_doc_rule ON finding(rule, doc);
CREATE INDEX finding_doc_sev ON finding(severity, doc);
CREATE VIRTUAL TABLE finding_fts USING fts5(location, message, content='finding', content_rowid='id',
  tokenize="unicode61 tokenchars '_'");
CREATE TRIGGER finding_ai AFTER INSERT ON finding BEGIN
  INSERT INTO finding_fts(rowid, location, message) VALUES (new.id, new.location, new.message);
END;
CREATE TRIGGER finding_ad AFTER DELETE ON finding BEGIN
  INSERT INTO finding_fts(finding_fts, rowid, location, message) VALUES ('delete', old.id, old.location, old.message);
END;
CREATE TABLE facet(kind TEXT NOT NULL, value TEXT NOT NULL, label TEXT NOT NULL, count INTEGER NOT NULL, \
PRIMARY KEY(kind, value)) WITHOUT ROWID;
"""


# --- what gets indexed ---------------------------------------------------------------------
def identifier_tokens(text: str, code: bool = False) -> tuple[set[str], set[str]]:
    """(identifiers, their parts) of a text, lowercased. In prose only words that look like
    code count (`snake_case`, `CamelCase`, `CONST`, `a::b`, `a.b`, `a/b`, or anything in
    backticks): plain words are the text index's. An identifier chain `a::b::c` (or `a.b`,
    or a path `a/b/c`) gives every run of consecutive parts, joined as written, so a query
    for any piece of it is one exact token; parts split snake_case and CamelCase."""
    exact: set[str] = set()
    found = set(IDENT.findall(text))
    if not code:
        ticked = set(IDENT.findall(" ".join(TICKED.findall(text)))) if "`" in text else set()
        found = {t for t in found if t in ticked or _code_like(t)}
    for tok in found:
        if ":" in tok or "." in tok:
            _chain(CHAIN_SEP.split(tok), exact)
        else:
            exact.add(tok)
    if "/" in text:
        for m in set(PATH.findall(text)):
            _chain(re.split(r"(/)", m.strip(".-")), exact)
    parts: set[str] = set()
    for tok in exact:
        if ":" not in tok and "/" not in tok and "." not in tok:
            parts.update(_parts(tok))
    exact = {t.lower() for t in exact}
    return exact, parts - exact


def _code_like(t: str) -> bool:
    """snake_case, a::b / a.b chains, CamelCase, CONSTANTS; not `word`, `Word` or `I`."""
    return "_" in t or ":" in t or "." in t or not (t.islower() or t.istitle() or len(t) == 1)


_PARTS: dict[str, tuple[str, ...]] = {}


def _parts(tok: str) -> tuple[str, ...]:
    hit = _PARTS.get(tok)
    if hit is None:
        hit = (
            tuple(w.lower() for p in tok.split("_") for w in CAMEL.findall(p))
            if "_" in tok or not tok.islower()
            else ()
        )
        if len(_PARTS) < 200_000:
            _PARTS[tok] = hit
    return hit


def _chain(pieces: list[str], out: set[str]) -> None:
    names, seps = pieces[0::2][-MAX_CHAIN:], pieces[1::2][-(MAX_CHAIN - 1) :] if len(pieces) > 1 else []
    for i in range(len(names)):
        acc = names[i]
        if acc:
            out.add(acc)
        for j in range(i + 1, len(names)):
            acc += seps[j - 1] + names[j]
            out.add(acc)


def first_line(text: str, limit: int = FIRST_LINE) -> str:
    for line in text.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return "(empty)"


def _key(*parts) -> str:
    return hashlib.blake2b(orjson.dumps(parts), digest_size=16).hexdigest()


EXAMPLE_IDS = 1 << 32  # an example's id: (dataset's place + 1) * EXAMPLE_IDS + its line; other docs below


def example_id(place: int, line: int) -> int:
    """Ids by dataset and line: a dataset's examples are one id range (a filter's matches are
    told apart by dataset without reading a row), and an edited record keeps its id."""
    return (place + 1) * EXAMPLE_IDS + line


def example_rows(dv, code_key: str, place: int = 0):
    """(key, make) per example of a dataset view: the key is cheap (record digest, place,
    coverage, findings); make() builds the rows only for keys the database lacks."""
    stem = dv.stem
    for ex in dv.examples:
        cov = ex.coverage
        key = _key(
            code_key,
            stem,
            place,
            ex.record.line,
            ex.number,
            ex.record.digest.hex(),
            cov.full,
            cov.lines,
            [[f.rule, f.severity, f.message] for f in ex.findings],
        )
        yield key, (lambda blocks, ex=ex: {**_example_row(dv, ex, blocks), "id": example_id(place, ex.record.line)})


def _example_row(dv, ex, blocks: dict) -> dict:
    stem = dv.stem
    items = [dv.items_by_ident[i] for i in ex.coverage.full if i in dv.items_by_ident]
    names = [i.name for i in items if i.kind != "use"]
    paths = sorted({p for p, _, _ in ex.coverage.lines})
    exact, parts = identifier_tokens(ex.record.user + "\n" + ex.think)
    block = blocks.get(ex.code)
    if block is None and ex.code.strip():
        b_exact, b_parts = identifier_tokens(ex.code, code=True)
        block = blocks[ex.code] = (
            hashlib.blake2b(ex.code.encode(), digest_size=16).hexdigest(),
            " ".join(sorted(b_exact)),
            " ".join(sorted(b_parts)),
        )
    item_tokens: set[str] = set()
    for n in names:
        _chain(CHAIN_SEP.split(n), item_tokens)
    return {
        "kind": "example",
        "dataset": stem,
        "number": ex.number,
        "url": urls.page_url(urls.example(stem, ex.record.line)),
        "title": f"Example {ex.number}",
        "covered": visible("; ".join(names)),
        "first": visible(first_line(ex.record.user)),
        # shown as text: every hidden character as ⟨U+XXXX⟩, as on the example's page
        "request": visible(ex.record.user),
        "think": visible(ex.think),
        "idents": " ".join(sorted(exact)),
        "items": " ".join(sorted(t.lower() for t in item_tokens)),
        "files": " ".join(sorted(_file_tokens(paths))),
        "parts": " ".join(sorted(parts)),
        "block": block,
        "ex": {
            "line": ex.record.line,
            "items": visible("; ".join(names)),
            "files": visible(", ".join(sorted(dv.short.get(p, p) for p in paths))),
            "lines": sum(e - s + 1 for _, s, e in ex.coverage.lines),
            "status": ex.status,
            "findings": len(ex.findings),
            "request_words": ex.sizes[0],
            "reasoning_words": ex.sizes[1],
            "code_lines": ex.sizes[2],
        },
        "file_list": paths,
        # path::name, one key per item; `use` items are left out (five or so per example, they
        # would make this table half the database; a source page links no filter for them)
        "item_list": sorted({urls.item_key(i) for i in items if i.kind != "use"}),
    }


def _file_tokens(paths) -> set[str]:
    """A quoted file is found by its path and every tail of it (`core/retry.rs`, `retry.rs`)."""
    out = set()
    for p in paths:
        parts = p.lower().split("/")
        out.update("/".join(parts[i:]) for i in range(len(parts)))
    return out


def item_rows(dv, code_key: str):
    """One row per targeted source item: searching `Retry::run` finds the item itself."""
    for item in dv.targets:
        if item.path in dv.with_source:
            url = urls.page_url(urls.source(dv.stem, item.path)) + "#" + urls.item_anchor(item.name, item.start_line)
        else:
            url = dv.r.config.permalink(item.path, item.start_line, item.end_line)
        tokens: set[str] = set()
        _chain(CHAIN_SEP.split(item.name), tokens)
        files = _file_tokens([item.path])
        row = {
            "kind": "item",
            "dataset": dv.stem,
            "number": 0,
            "url": url,
            "title": f"{item.kind} {item.name}",
            "covered": item.name,
            "first": f"{item.path}:{item.start_line}",
            "request": "",
            "think": "",
            "defines": " ".join(sorted(t.lower() for t in tokens)),
            "idents": "",
            "items": "",
            "files": " ".join(sorted(t.lower() for t in files)),
            "parts": "",
        }
        yield _key(code_key, row), (lambda blocks, row=row: row)


def page_rows(pages, code_key: str):
    """Summary and hand-written pages: (title, docs path, dataset, text)."""
    for title, path, dataset, text in pages:
        exact, parts = identifier_tokens(title + "\n" + text)
        row = {
            "kind": "page",
            "dataset": dataset,
            "number": 0,
            "url": urls.page_url(path),
            "title": title,
            "covered": "",
            "first": first_line(text) if text.strip() else title,
            "request": text,
            "think": "",
            "idents": " ".join(sorted(exact)),
            "items": "",
            "files": "",
            "parts": " ".join(sorted(parts)),
        }
        yield _key(code_key, row), (lambda blocks, row=row: row)


def finding_rows(dv, code_key: str):
    lines = {ex.record.line for ex in dv.examples}
    for f in dv.r.findings:
        url, doc_line = "", 0
        if f.on_dataset and f.line in lines:
            url, doc_line = urls.page_url(urls.example(dv.stem, f.line)), f.line
        elif f.path in dv.with_source and f.line:
            url = urls.page_url(urls.source(dv.stem, f.path)) + "#" + urls.line_anchor(f.line)
        row = {
            "dataset": dv.stem,
            "sev_order": Severity(f.severity).rank,
            "severity": f.severity,
            "rule": f.rule,
            "location": visible(f.location()),
            "message": visible(f.message),
            "url": url,
            "doc_line": doc_line,
            "detail": visible(f.detail),
        }
        yield _key(code_key, row), row


# --- the file --------------------------------------------------------------------------------
def _statements(script: str) -> list[str]:
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    return out


_LATE = ("CREATE INDEX", "CREATE UNIQUE INDEX", "CREATE TRIGGER")
TABLES = [st for st in _statements(SCHEMA) if not st.startswith(_LATE)]  # made first, filled in bulk
LATE = [st for st in _statements(SCHEMA) if st.startswith(_LATE)]  # then indexes and triggers


def open_db(path: Path) -> sqlite3.Connection | None:
    """The work copy, or None when it is missing, damaged or of another format."""
    if not path.exists():
        return None
    try:
        con = sqlite3.connect(path)
        if con.execute("SELECT value FROM meta WHERE name = 'format'").fetchone() == (str(FORMAT),):
            return con
        con.close()
    except sqlite3.DatabaseError:
        pass
    return None


DOC_COLS = ("kind", "dataset", "number", "url", "title", "covered", "first", "request", "think")
TOK_COLS = ("defines", "idents", "items", "files", "parts")


def rows_wanted(datasets, pages, code_key: str) -> tuple[dict, list, str]:
    """Every row's key (cheap: no row is built) and the digest of them all, the file's key."""
    wanted: dict[str, object] = {}
    for place, dv in enumerate(datasets):
        for key, make in example_rows(dv, code_key, place):
            wanted[key] = make
        for key, make in item_rows(dv, code_key):
            wanted[key] = make
    for key, make in page_rows(pages, code_key):
        wanted[key] = make
    # in the order the findings page lists them: ids then follow it within a severity
    wanted_f = sorted(
        (kr for dv in datasets for kr in finding_rows(dv, code_key)),
        key=lambda kr: (kr[1]["dataset"], kr[1]["sev_order"], kr[1]["rule"], kr[1]["location"]),
    )
    all_keys = hashlib.blake2b(
        orjson.dumps(sorted(wanted)) + orjson.dumps(sorted(k for k, _ in wanted_f)), digest_size=16
    ).hexdigest()
    return wanted, wanted_f, all_keys


def update_in_place(path: Path, datasets, planned: tuple) -> dict | None:
    """Bring the database at `path` to the rows of `datasets` (DatasetViews) and the pages
    (`planned`: their rows_wanted) when it holds most of them already (an edit: a few rows
    deleted and inserted, in milliseconds); None when it has to be written afresh.
    Returns {"key": digest of every row key, "inserted": n, "deleted": n}."""
    wanted, wanted_f, all_keys = planned
    con = open_db(path)
    if con is None:
        return None
    try:
        if con.execute("SELECT value FROM meta WHERE name = 'key'").fetchone() == (all_keys,):
            return {"key": all_keys, "inserted": 0, "deleted": 0}
        have = dict(con.execute("SELECT key, id FROM doc"))
        if len(wanted.keys() - have.keys()) + len(have.keys() - wanted.keys()) > max(64, len(wanted) // 4):
            return None
        done = _update(con, have, wanted, wanted_f, datasets)
        con.execute("INSERT OR REPLACE INTO meta VALUES ('key', ?)", (all_keys,))
        con.commit()
        return {"key": all_keys, **done}
    except sqlite3.DatabaseError:
        return None  # a damaged cache (its open transaction dies with the connection): written afresh
    finally:
        con.close()


def write_afresh(path: Path, datasets, planned: tuple) -> dict:
    """update_in_place's work, writing the file from nothing (beside it, then renamed)."""
    wanted, wanted_f, all_keys = planned
    _fresh(path, wanted, wanted_f, datasets, all_keys)
    return {"key": all_keys, "inserted": len(wanted), "deleted": 0}


def _fresh(path: Path, wanted: dict, wanted_f: list, datasets, all_keys: str) -> None:
    """A new file from nothing: tables filled in bulk, then indexes, FTS indexes built in one
    pass each ('rebuild'), so every table's pages lie together (no VACUUM needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".new")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp)
    try:
        con.execute("PRAGMA page_size = 4096")
        con.execute("PRAGMA journal_mode = OFF")  # a new file nobody reads: renamed when complete
        con.execute("PRAGMA synchronous = OFF")
        for st in TABLES:
            if not st.startswith("PRAGMA"):
                con.execute(st)
        _insert(con, wanted, list(wanted), 1, {})
        _insert_findings(con, wanted_f, {key: n for key, n in _counts(k for k, _ in wanted_f).items()})
        for st in LATE:
            con.execute(st)
        for table in ("text_fts", "ident_fts", "block_fts", "finding_fts"):
            # one segment per index (a term is then one lookup); the setting is not kept
            con.execute(f"INSERT INTO {table}({table}, rank) VALUES ('hashsize', {1 << 28})")
            con.execute(f"INSERT INTO {table}({table}) VALUES ('rebuild')")
            con.execute(f"DELETE FROM {table}_config WHERE k = 'hashsize'")
        _facets(con, datasets)
        con.execute("INSERT INTO meta VALUES ('format', ?), ('key', ?)", (str(FORMAT), all_keys))
        con.commit()
        con.execute("PRAGMA journal_mode = DELETE")
    finally:
        con.close()
    os.replace(tmp, path)


def _counts(keys) -> dict[str, int]:
    out: dict[str, int] = {}
    for k in keys:
        out[k] = out.get(k, 0) + 1
    return out


def _insert(con: sqlite3.Connection, wanted: dict, new: list[str], next_id: int, block_ids: dict) -> None:
    """Rows for the keys in `new`, with ids from next_id on (executemany per table)."""
    blocks: dict = {}  # code text → (key, idents, parts): each distinct block tokenised once
    doc, tok, ex, files, items, new_blocks, doc_block = [], [], [], [], [], [], []
    next_block = (con.execute("SELECT max(id) FROM block").fetchone()[0] or 0) + 1
    for key in new:
        row = wanted[key](blocks)
        doc_id = row.get("id")
        if doc_id is None:
            doc_id = next_id
            next_id += 1
        doc.append((doc_id, key, *(row[c] for c in DOC_COLS)))
        tok.append((doc_id, *(row.get(c, "") for c in TOK_COLS)))
        if row.get("block"):
            bkey, b_idents, b_parts = row["block"]
            bid = block_ids.get(bkey)
            if bid is None:
                bid = block_ids[bkey] = next_block
                next_block += 1
                new_blocks.append((bid, bkey, b_idents, b_parts))
            doc_block.append((bid, doc_id))
        if row["kind"] == "example":
            e, ds = row["ex"], row["dataset"]
            ex.append(
                (
                    doc_id,
                    ds,
                    row["number"],
                    e["line"],
                    row["first"],
                    e["items"],
                    e["files"],
                    e["lines"],
                    e["status"],
                    e["findings"],
                    e["request_words"],
                    e["reasoning_words"],
                    e["code_lines"],
                )
            )
            files += [(f, doc_id, ds) for f in row["file_list"]]
            items += [(k, doc_id, ds, k) for k in row["item_list"]]
    con.executemany(
        f"INSERT INTO doc(id, key, {', '.join(DOC_COLS)}) VALUES (?, ?, {', '.join('?' * len(DOC_COLS))})", doc
    )
    con.executemany("INSERT INTO tok VALUES (?,?,?,?,?,?)", tok)
    con.executemany("INSERT INTO block VALUES (?,?,?,?)", new_blocks)
    con.executemany("INSERT OR IGNORE INTO doc_block VALUES (?,?)", doc_block)
    con.executemany("INSERT INTO ex VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", ex)
    con.executemany("INSERT OR IGNORE INTO doc_file VALUES (?,?,?)", files)
    con.executemany("INSERT OR IGNORE INTO doc_item VALUES (?,?,?,?)", items)


def _insert_findings(con: sqlite3.Connection, wanted_f: list, to_add: dict[str, int]) -> None:
    """Findings whose key is in to_add (that many of each), linked to their example by line."""
    doc_of = {(ds, line): i for i, ds, line in con.execute("SELECT id, dataset, line FROM ex")}
    rows = []
    for key, row in wanted_f:
        if to_add.get(key, 0) <= 0:
            continue
        to_add[key] -= 1
        rows.append(
            (
                key,
                row["dataset"],
                row["sev_order"],
                row["severity"],
                row["rule"],
                row["location"],
                row["message"],
                row["url"],
                row["doc_line"],
                doc_of.get((row["dataset"], row["doc_line"]), 0),
                row["detail"],
            )
        )
    con.executemany(
        "INSERT INTO finding(key, dataset, sev_order, severity, rule, location, message, url, line, doc, "
        "detail) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )


def _update(con: sqlite3.Connection, have: dict, wanted: dict, wanted_f: list, datasets) -> dict:
    """In place: rows whose key is gone are deleted (triggers clean the FTS indexes and the
    side tables), rows with new keys inserted."""
    gone = [have[k] for k in have.keys() - wanted.keys()]
    new = [k for k in wanted if k not in have]
    con.execute("BEGIN")
    con.executemany("DELETE FROM doc WHERE id = ?", [(i,) for i in gone])
    next_id = (con.execute("SELECT max(id) FROM doc WHERE id < ?", (EXAMPLE_IDS,)).fetchone()[0] or 0) + 1
    _insert(con, wanted, new, next_id, dict(con.execute("SELECT key, id FROM block")))
    # Findings: keyed rows too (a key may repeat); their example is found by (dataset, line).
    want = _counts(k for k, _ in wanted_f)
    have_f: dict[str, list[int]] = {}
    for key, fid in con.execute("SELECT key, id FROM finding"):
        have_f.setdefault(key, []).append(fid)
    drop = []
    for key, ids in have_f.items():
        keep = want.get(key, 0)
        drop += ids[keep:]
        want[key] = max(keep - len(ids), 0)
    con.executemany("DELETE FROM finding WHERE id = ?", [(i,) for i in drop])
    _insert_findings(con, wanted_f, want)
    if gone or new:  # examples got new ids
        con.execute(
            "UPDATE finding SET doc = coalesce((SELECT id FROM ex WHERE ex.dataset = finding.dataset AND "
            "ex.line = finding.line), 0) WHERE line > 0"
        )
    if gone:
        con.execute("DELETE FROM block WHERE id NOT IN (SELECT block FROM doc_block)")
    _facets(con, datasets)
    return {"inserted": len(new), "deleted": len(gone)}


def _facets(con: sqlite3.Connection, datasets) -> None:
    con.execute("DELETE FROM facet")
    rows = [("dataset", dv.stem, dv.r.config.title, len(dv.examples)) for dv in datasets]
    rows += [("file", f, f, n) for f, n in con.execute("SELECT file, count(*) FROM doc_file GROUP BY file")]
    rows += [("item", i, i, n) for i, n in con.execute("SELECT item, count(*) FROM doc_item GROUP BY item")]
    rows += [
        ("rule", r, r, n)
        for r, n in con.execute("SELECT rule, count(DISTINCT doc) FROM finding WHERE doc > 0 GROUP BY rule")
    ]
    rows += [
        ("severity", s, s, n)
        for s, n in con.execute("SELECT severity, count(DISTINCT doc) FROM finding WHERE doc > 0 GROUP BY severity")
    ]
    con.executemany("INSERT INTO facet VALUES (?,?,?,?)", rows)
