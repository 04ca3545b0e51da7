"""The site's search and table index: one SQLite file (`search/site.sqlite3`) that the browser
reads piece by piece over HTTP Range requests (sql.js-httpvfs), never whole.

    doc        one row per searchable thing: an example, a source item, a summary page
    text_fts   FTS5 over doc(title, request, think); tokens keep `_` (should_retry is a word)
    ident_fts  FTS5 over doc(idents, items, files, parts); tokens keep `_ : / . -`, and each
               identifier is indexed as written and by every run of its `::`/`.`/`/` parts, so
               `Retry::run`, `from_millis` and `core/retry.rs` are single exact tokens
    ex         the examples table's columns (narrow rows, one index per sortable column)
    finding    the findings table, with finding_fts over its location and message
    doc_file, doc_item   which examples quote which source file / cover which item (filters)
    facet      values the search filters offer, with counts

The file is kept in the work folder and updated in place: every row carries a key (a digest
of everything it is made from), rows whose key is gone are deleted, new keys inserted. A
build from nothing ends with FTS5 'optimize' and VACUUM (page size 4096); a small update
leaves the file as it is, which costs a few pages of slack.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path

import orjson

from . import urls

SITE_PATH = "search/site.sqlite3"  # where the file sits in the site
VERSION_PATH = "search/version.txt"  # its key: the browser's cache-buster for the file's pages
FORMAT = 1  # bump when the schema changes: the work copy is then rebuilt from nothing
MAX_CHAIN = 8  # identifier parts considered per chain (a::b::c…): runs of them are indexed
FIRST_LINE = 120

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:(?:::|\.)[A-Za-z_][A-Za-z0-9_]*)*")
PATH = re.compile(r"[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+")
CHAIN_SEP = re.compile(r"(::|\.)")
CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

SCHEMA = """
PRAGMA page_size = 4096;
PRAGMA journal_mode = DELETE;
CREATE TABLE meta(name TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
CREATE TABLE doc(
  id INTEGER PRIMARY KEY, key TEXT NOT NULL, kind TEXT NOT NULL, dataset TEXT NOT NULL,
  number INTEGER NOT NULL, url TEXT NOT NULL, title TEXT NOT NULL, covered TEXT NOT NULL,
  first TEXT NOT NULL, request TEXT NOT NULL, think TEXT NOT NULL,
  idents TEXT NOT NULL, items TEXT NOT NULL, files TEXT NOT NULL, parts TEXT NOT NULL);
CREATE UNIQUE INDEX doc_key ON doc(key);
CREATE VIRTUAL TABLE text_fts USING fts5(title, request, think, content='doc', content_rowid='id',
  tokenize="unicode61 tokenchars '_'");
CREATE VIRTUAL TABLE ident_fts USING fts5(idents, items, files, parts, content='doc', content_rowid='id',
  tokenize="unicode61 tokenchars '_:/.-'");
CREATE TRIGGER doc_ai AFTER INSERT ON doc BEGIN
  INSERT INTO text_fts(rowid, title, request, think) VALUES (new.id, new.title, new.request, new.think);
  INSERT INTO ident_fts(rowid, idents, items, files, parts) VALUES (new.id, new.idents, new.items, new.files, new.parts);
END;
CREATE TRIGGER doc_ad AFTER DELETE ON doc BEGIN
  INSERT INTO text_fts(text_fts, rowid, title, request, think) VALUES ('delete', old.id, old.title, old.request, old.think);
  INSERT INTO ident_fts(ident_fts, rowid, idents, items, files, parts) VALUES ('delete', old.id, old.idents, old.items, old.files, old.parts);
  DELETE FROM ex WHERE id = old.id;
  DELETE FROM doc_file WHERE doc = old.id;
  DELETE FROM doc_item WHERE doc = old.id;
END;
CREATE TABLE ex(
  id INTEGER PRIMARY KEY, dataset TEXT NOT NULL, number INTEGER NOT NULL, line INTEGER NOT NULL,
  request TEXT NOT NULL, items TEXT NOT NULL, files TEXT NOT NULL, lines INTEGER NOT NULL,
  status TEXT NOT NULL, findings INTEGER NOT NULL, url TEXT NOT NULL);
CREATE INDEX ex_number ON ex(dataset, number);
CREATE INDEX ex_line ON ex(dataset, line, number);
CREATE INDEX ex_request ON ex(dataset, request COLLATE NOCASE, number);
CREATE INDEX ex_items ON ex(dataset, items COLLATE NOCASE, number);
CREATE INDEX ex_files ON ex(dataset, files, number);
CREATE INDEX ex_lines ON ex(dataset, lines, number);
CREATE INDEX ex_status ON ex(dataset, status, number);
CREATE INDEX ex_findings ON ex(dataset, findings, number);
CREATE TABLE doc_file(file TEXT NOT NULL, doc INTEGER NOT NULL, dataset TEXT NOT NULL, PRIMARY KEY(file, doc)) WITHOUT ROWID;
CREATE INDEX doc_file_ds ON doc_file(dataset, file, doc);
CREATE TABLE doc_item(item TEXT NOT NULL, doc INTEGER NOT NULL, dataset TEXT NOT NULL, slug TEXT NOT NULL, PRIMARY KEY(item, doc)) WITHOUT ROWID;
CREATE INDEX doc_item_slug ON doc_item(dataset, slug, doc);
CREATE TABLE finding(
  id INTEGER PRIMARY KEY, key TEXT NOT NULL, dataset TEXT NOT NULL, sev_order INTEGER NOT NULL,
  severity TEXT NOT NULL, rule TEXT NOT NULL, location TEXT NOT NULL, message TEXT NOT NULL,
  url TEXT NOT NULL, line INTEGER NOT NULL, doc INTEGER NOT NULL);
CREATE INDEX finding_key ON finding(key);
CREATE INDEX finding_order ON finding(dataset, sev_order);
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
CREATE TABLE facet(kind TEXT NOT NULL, value TEXT NOT NULL, label TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY(kind, value)) WITHOUT ROWID;
"""


# --- what gets indexed ---------------------------------------------------------------------
def identifier_tokens(text: str) -> tuple[set[str], set[str]]:
    """(identifiers, their parts) of a text, lowercased. An identifier chain `a::b::c` (or
    `a.b`, or a path `a/b/c`) gives every run of consecutive parts, joined as written, so a
    query for any piece of it is one exact token; parts split snake_case and CamelCase."""
    exact: set[str] = set()
    parts: set[str] = set()
    for m in IDENT.finditer(text):
        _chain(CHAIN_SEP.split(m.group(0)), exact)
    for m in PATH.finditer(text):
        _chain(re.split(r"(/)", m.group(0).strip(".-")), exact)
    for tok in list(exact):
        if "::" in tok or "/" in tok or "." in tok:
            continue
        for p in tok.split("_"):
            parts.update(w.lower() for w in CAMEL.findall(p))
    return {t.lower() for t in exact}, parts - exact


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


def example_rows(dv, code_key: str):
    """(key, make) per example of a dataset view: the key is cheap (record digest, place,
    coverage, findings); make() builds the rows only for keys the database lacks."""
    stem = dv.stem
    for ex in dv.examples:
        cov = ex.coverage
        key = _key(code_key, stem, ex.record.line, ex.number, ex.record.digest.hex(), cov.full, cov.lines, [[f.rule, f.severity, f.message] for f in ex.findings])
        yield key, (lambda ex=ex: _example_row(dv, ex))


def _example_row(dv, ex) -> dict:
    stem = dv.stem
    items = [dv.items_by_ident[i] for i in ex.coverage.full if i in dv.items_by_ident]
    names = [i.name for i in items if i.kind != "use"]
    paths = sorted({p for p, _, _ in ex.coverage.lines})
    exact, parts = identifier_tokens(ex.record.user + "\n" + ex.think + "\n" + ex.code)
    item_tokens: set[str] = set()
    for n in names:
        _chain(CHAIN_SEP.split(n), item_tokens)
    file_tokens: set[str] = set()
    for p in paths:
        _chain(re.split(r"(/)", p), file_tokens)
    return {
        "kind": "example",
        "dataset": stem,
        "number": ex.number,
        "url": urls.page_url(urls.example(stem, ex.record.line)),
        "title": f"Example {ex.number}",
        "covered": "; ".join(names),
        "first": first_line(ex.record.user),
        "request": ex.record.user,
        "think": ex.think,
        "idents": " ".join(sorted(exact)),
        "items": " ".join(sorted(t.lower() for t in item_tokens)),
        "files": " ".join(sorted(t.lower() for t in file_tokens)),
        "parts": " ".join(sorted(parts)),
        "ex": {
            "line": ex.record.line,
            "items": "; ".join(names),
            "files": ", ".join(sorted({p.rsplit("/", 1)[-1] for p in paths})),
            "lines": sum(e - s + 1 for _, s, e in ex.coverage.lines),
            "status": ex.status,
            "findings": len(ex.findings),
        },
        "file_list": paths,
        "item_list": sorted(set(names)),
    }


def item_rows(dv, code_key: str):
    """One row per targeted source item: searching `Retry::run` finds the item itself."""
    for item in dv.targets:
        if item.path in dv.with_source:
            url = urls.page_url(urls.source(dv.stem, item.path)) + "#" + urls.item_anchor(item.name, item.start_line)
        else:
            url = dv.r.config.permalink(item.path, item.start_line, item.end_line)
        tokens: set[str] = set()
        _chain(CHAIN_SEP.split(item.name), tokens)
        files: set[str] = set()
        _chain(re.split(r"(/)", item.path), files)
        row = {
            "kind": "item", "dataset": dv.stem, "number": 0, "url": url,
            "title": f"{item.kind} {item.name}", "covered": item.name,
            "first": f"{item.path}:{item.start_line}", "request": "", "think": "",
            "idents": " ".join(sorted(t.lower() for t in tokens)), "items": " ".join(sorted(t.lower() for t in tokens)),
            "files": " ".join(sorted(t.lower() for t in files)), "parts": "",
        }
        yield _key(code_key, row), (lambda row=row: row)


def page_rows(pages, code_key: str):
    """Summary and hand-written pages: (title, docs path, dataset, text)."""
    for title, path, dataset, text in pages:
        exact, parts = identifier_tokens(title + "\n" + text)
        row = {
            "kind": "page", "dataset": dataset, "number": 0, "url": urls.page_url(path),
            "title": title, "covered": "", "first": first_line(text) if text.strip() else title,
            "request": text, "think": "", "idents": " ".join(sorted(exact)), "items": "",
            "files": "", "parts": " ".join(sorted(parts)),
        }
        yield _key(code_key, row), (lambda row=row: row)


def finding_rows(dv, code_key: str):
    from .views import SEVERITY_ORDER

    jsonl = str(dv.r.config.jsonl)
    lines = {ex.record.line for ex in dv.examples}
    for f in dv.r.findings:
        url, doc_line = "", 0
        if f.path == jsonl and f.line in lines:
            url, doc_line = urls.page_url(urls.example(dv.stem, f.line)), f.line
        elif f.path in dv.with_source and f.line:
            url = urls.page_url(urls.source(dv.stem, f.path)) + "#" + urls.line_anchor(f.line)
        row = {"dataset": dv.stem, "sev_order": SEVERITY_ORDER[f.severity], "severity": f.severity, "rule": f.rule,
               "location": f.location(), "message": f.message, "url": url, "doc_line": doc_line}
        yield _key(code_key, row), row


# --- the file --------------------------------------------------------------------------------
def open_db(path: Path) -> sqlite3.Connection:
    """The work copy, or a new empty one when it is missing, damaged or of another format."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        try:
            con = sqlite3.connect(path)
            if con.execute("SELECT value FROM meta WHERE name = 'format'").fetchone() == (str(FORMAT),):
                return con
            con.close()
        except sqlite3.DatabaseError:
            pass
        path.unlink()
    con = sqlite3.connect(path)
    con.executescript(SCHEMA)
    con.execute("INSERT INTO meta VALUES ('format', ?)", (str(FORMAT),))
    con.commit()
    return con


DOC_COLS = ("kind", "dataset", "number", "url", "title", "covered", "first", "request", "think", "idents", "items", "files", "parts")


def update(path: Path, datasets, pages, code_key: str) -> dict:
    """Bring the database at `path` to the rows of `datasets` (DatasetViews) and `pages`.
    Returns {"key": digest of every row key, "inserted": n, "deleted": n}."""
    con = open_db(path)
    try:
        return _update(con, datasets, pages, code_key)
    finally:
        con.close()


def _update(con: sqlite3.Connection, datasets, pages, code_key: str) -> dict:
    have = dict(con.execute("SELECT key, id FROM doc"))
    have_f = {}
    for key, fid in con.execute("SELECT key, id FROM finding"):
        have_f.setdefault(key, []).append(fid)
    wanted: dict[str, object] = {}
    for dv in datasets:
        for key, make in example_rows(dv, code_key):
            wanted[key] = make
        for key, make in item_rows(dv, code_key):
            wanted[key] = make
    for key, make in page_rows(pages, code_key):
        wanted[key] = make
    # in the order the findings page lists them: ids then follow it within a severity
    wanted_f = sorted((kr for dv in datasets for kr in finding_rows(dv, code_key)), key=lambda kr: (kr[1]["dataset"], kr[1]["sev_order"], kr[1]["rule"], kr[1]["location"]))
    all_keys = hashlib.blake2b(orjson.dumps(sorted(wanted)) + orjson.dumps(sorted(k for k, _ in wanted_f)), digest_size=16).hexdigest()
    gone = [have[k] for k in have.keys() - wanted.keys()]
    new = [k for k in wanted if k not in have]
    fresh = not have
    con.execute("BEGIN")
    con.executemany("DELETE FROM doc WHERE id = ?", [(i,) for i in gone])
    next_id = (con.execute("SELECT max(id) FROM doc").fetchone()[0] or 0) + 1
    for key in new:
        row = wanted[key]()
        doc_id = next_id
        next_id += 1
        con.execute(f"INSERT INTO doc(id, key, {', '.join(DOC_COLS)}) VALUES (?, ?, {', '.join('?' * len(DOC_COLS))})", (doc_id, key, *(row[c] for c in DOC_COLS)))
        if row["kind"] == "example":
            e = row["ex"]
            con.execute("INSERT INTO ex VALUES (?,?,?,?,?,?,?,?,?,?,?)", (doc_id, row["dataset"], row["number"], e["line"], row["first"], e["items"], e["files"], e["lines"], e["status"], e["findings"], row["url"]))
            con.executemany("INSERT OR IGNORE INTO doc_file VALUES (?,?,?)", [(f, doc_id, row["dataset"]) for f in row["file_list"]])
            con.executemany("INSERT OR IGNORE INTO doc_item VALUES (?,?,?,?)", [(n, doc_id, row["dataset"], urls.slug(n)) for n in row["item_list"]])
    # Findings: keyed rows too; their example link is resolved by (dataset, line) each time.
    wanted_fk: dict[str, int] = {}
    for key, _ in wanted_f:
        wanted_fk[key] = wanted_fk.get(key, 0) + 1
    drop = []
    for key, ids in have_f.items():
        keep = wanted_fk.get(key, 0)
        drop += ids[keep:]
        wanted_fk[key] = max(keep - len(ids), 0)
    con.executemany("DELETE FROM finding WHERE id = ?", [(i,) for i in drop])
    if any(wanted_fk.values()):
        doc_of = {(ds, line): i for i, ds, line in con.execute("SELECT id, dataset, line FROM ex")}
        for key, row in wanted_f:
            if wanted_fk.get(key, 0) <= 0:
                continue
            wanted_fk[key] -= 1
            con.execute(
                "INSERT INTO finding(key, dataset, sev_order, severity, rule, location, message, url, line, doc) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (key, row["dataset"], row["sev_order"], row["severity"], row["rule"], row["location"], row["message"], row["url"], row["doc_line"], doc_of.get((row["dataset"], row["doc_line"]), 0)),
            )
    if gone or new:  # examples got new ids: findings point at them by (dataset, line)
        con.execute("UPDATE finding SET doc = coalesce((SELECT id FROM ex WHERE ex.dataset = finding.dataset AND ex.line = finding.line), 0) WHERE line > 0")
    if gone or new or drop or fresh:
        _facets(con, datasets)
    con.execute("INSERT OR REPLACE INTO meta VALUES ('key', ?)", (all_keys,))
    con.commit()
    if fresh or len(new) + len(gone) > max(64, len(wanted) // 4):
        # After a build from nothing (or a large change): one FTS segment each, pages in order.
        for table in ("text_fts", "ident_fts", "finding_fts"):
            con.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")
        con.commit()
        con.execute("VACUUM")
    return {"key": all_keys, "inserted": len(new), "deleted": len(gone)}


def _facets(con: sqlite3.Connection, datasets) -> None:
    con.execute("DELETE FROM facet")
    rows = [("dataset", dv.stem, dv.r.config.title, len(dv.examples)) for dv in datasets]
    rows += [("file", f, f, n) for f, n in con.execute("SELECT file, count(*) FROM doc_file GROUP BY file")]
    rows += [("item", i, i, n) for i, n in con.execute("SELECT item, count(*) FROM doc_item GROUP BY item")]
    rows += [("rule", r, r, n) for r, n in con.execute("SELECT rule, count(DISTINCT doc) FROM finding WHERE doc > 0 GROUP BY rule")]
    rows += [("severity", s, s, n) for s, n in con.execute("SELECT severity, count(DISTINCT doc) FROM finding WHERE doc > 0 GROUP BY severity")]
    con.executemany("INSERT INTO facet VALUES (?,?,?,?)", rows)
