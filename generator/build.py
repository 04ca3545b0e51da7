"""The build: generate the Markdown + mkdocs config into a work folder, run `mkdocs build`,
plan the site (plan.py) and place it (place.py).

The generator never imports mkdocs: it writes plain Markdown and a config that INHERITs the
project's mkdocs.yml, and runs mkdocs as a program (only when what it reads has changed). mkdocs
renders the summary pages and one shell page per dataset; every example page is our own HTML
inside that shell.

Rebuilds do the work of what changed: the memo (memo.py) answers for dataset lines seen before,
mkdocs runs only when what it reads changed, every file of the site has a key and only files
whose key changed are written (plan.py, place.py). Nothing in the site changes before every stage has
succeeded, so a failed build leaves the previous site as it was.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
from markupsafe import Markup

from .load import LOADER_RULES
from .memo import code_digest, read_memo, write_memo
from .pipeline import Timings, discover, run
from . import searchdb, urls
from .place import NEW_SUFFIX, place, previous_keys
from .plan import PlanError, plan_site
from .highlight import keep_between_builds
from .render import render_page
from .views import build_views, source_body, source_pages_available
from .write import OLD_SUFFIX, read_tree, sync_tree, write_atomic

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
VENDOR = Path(__file__).resolve().parent / "vendor" / "sql.js-httpvfs"


def project_root() -> Path:
    cwd = Path.cwd()
    return cwd if (cwd / "mkdocs.yml").is_file() else PACKAGE_ROOT


LIVERELOAD_JS = b"""(function () {
  var first = null;
  setInterval(function () {
    fetch("/__build_id", { cache: "no-store" }).then(function (r) { return r.text(); }).then(function (id) {
      if (first === null) first = id; else if (id !== first) location.reload();
    }).catch(function () {});
  }, 1000);
})();
"""


class BuildError(Exception):
    """The build cannot go on; the message is one line."""


def generate(results, work: Path, root: Path, site_url: str | None = None, timings: Timings | None = None, say=print, live: bool = False) -> dict:
    """Write the docs folder and mkdocs config for `results`; return the views for assembly."""
    timings = timings or Timings()
    t = time.perf_counter()
    bodies = sorted({source_body(r.text_for(p)) for r in results for p in source_pages_available(r)})
    keep_between_builds(bodies, work / "cache" / "highlight", code_digest())
    site = build_views(results)
    files = read_tree(root / "docs")
    generated, page_keys = render_summary_pages(site, work)
    for vendored in sorted(VENDOR.iterdir()):  # the browser side of the search (no CDN)
        if vendored.suffix in (".js", ".gz") or vendored.name == "LICENSE":
            site.copies[f"assets/vendor/{VENDOR.name}/{vendored.name}"] = (vendored, hashlib.sha256(vendored.read_bytes()).hexdigest(), None)
    # Data files (histograms, the JSONL download) are not for mkdocs: they go to the site as is.
    data = {path: (d if isinstance(d, bytes) else orjson.dumps(d)) for path, d in site.data.items()}
    # A dataset's examples folder belongs to its generated example pages, all of it.
    taken = set(generated) | set(data) | set(site.copies)
    example_dirs = tuple(shell.rsplit("/", 1)[0] + "/" for shell in site.shells.values())
    clash = sorted(f for f in files if f in taken or f.startswith(example_dirs))
    if clash:
        raise BuildError(f"docs/{clash[0]}: a hand-written file has the path of a generated page; rename it")
    files.update(generated)
    timings.add("render", time.perf_counter() - t)
    t = time.perf_counter()
    if live:
        files["assets/livereload.js"] = LIVERELOAD_JS
    written, removed = sync_tree(work / "docs", files)
    write_atomic(work / "docs-keys.json", orjson.dumps(page_keys, option=orjson.OPT_SORT_KEYS))
    config = {
        "INHERIT": str((root / "mkdocs.yml").resolve()),
        "docs_dir": "docs",
        "nav": site.nav + _handwritten_nav(root),
    }
    if site_url:
        config["site_url"] = site_url
    if live:  # serve: pages poll the server and reload after a rebuild
        config["extra_javascript"] = ["assets/site.js", "assets/livereload.js"]
    cfg_bytes = json.dumps(config, indent=2, ensure_ascii=True).encode() + b"\n"  # YAML-safe
    cfg_path = work / "mkdocs.yml"
    if not cfg_path.exists() or cfg_path.read_bytes() != cfg_bytes:
        cfg_path.write_bytes(cfg_bytes)
    timings.add("write", time.perf_counter() - t)
    md_pages = sum(1 for p in site.pages if not p.standalone)
    # Everything mkdocs reads: its output is reused while this key stays the same.
    key = hashlib.sha256(cfg_bytes + _theme_versions().encode() + (root / "mkdocs.yml").read_bytes())
    for rel in sorted(files):
        key.update(rel.encode() + b"\0" + hashlib.sha256(files[rel]).digest())
    say(f"wrote {md_pages} Markdown pages into {work / 'docs'} ({written} changed, {removed} removed)")
    return {"pages": md_pages, "written": written, "removed": removed, "config": cfg_path, "site": site, "mkdocs_key": key.hexdigest(), "data": data, "copies": site.copies}


def render_summary_pages(site, work: Path) -> tuple[dict[str, bytes], dict[str, list[str]]]:
    """The Markdown of every page mkdocs renders. A page whose template and context are those
    of the last build is taken from the docs folder (checked against the digest it had)
    instead of being rendered again. Returns (docs path → bytes, keys for the next build)."""
    try:
        last = orjson.loads((work / "docs-keys.json").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        last = {}
    if not isinstance(last, dict):
        last = {}
    code = code_digest().encode()
    out: dict[str, bytes] = {}
    keys: dict[str, list[str]] = {}
    for page in site.pages:
        if page.standalone:
            continue
        context = orjson.dumps(page.context, default=_tagged, option=orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_SORT_KEYS)
        key = hashlib.blake2b(code + b"\0" + page.template.encode() + b"\0" + context, digest_size=16).hexdigest()
        text = None
        was = last.get(page.path)
        if isinstance(was, list) and len(was) == 2 and was[0] == key:
            try:
                kept = (work / "docs" / page.path).read_bytes()
                if hashlib.sha256(kept).hexdigest() == was[1]:
                    text = kept
            except OSError:
                pass
        if text is None:
            text = render_page(page).encode("utf-8")
        out[page.path] = text
        keys[page.path] = [key, hashlib.sha256(text).hexdigest()]
    return out, keys


def _tagged(value):
    """orjson's fallback for a page context: Markup (safe HTML) is told apart from plain text,
    which the template escapes, so the two can never share a key."""
    if isinstance(value, Markup):
        return {"markup": str(value)}
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, int):
        return int(value)
    raise TypeError(type(value).__name__)



def _handwritten_nav(root: Path) -> list:
    """Hand-written pages (docs/*.md other than assets) go last in the nav, in name order."""
    out = []
    for path in sorted((root / "docs").glob("*.md")):
        title = path.stem.replace("-", " ").replace("_", " ").capitalize()
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("# "):
                title = line[2:].strip()
                break
        out.append({title: path.name})
    return out


def _theme_versions() -> str:
    """Part of the mkdocs output's cache key: an upgrade of mkdocs or the theme rebuilds."""
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for dist in ("mkdocs", "mkdocs-material", "pymdown-extensions"):
        try:
            out.append(f"{dist}=={version(dist)}")
        except PackageNotFoundError:
            out.append(f"{dist}==?")
    return ";".join(out)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def run_mkdocs(config: Path, site_dir: Path) -> tuple[bool, str]:
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site_dir)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    # --quiet would hide the warnings that --strict counts; keep only what matters instead.
    out = "\n".join(l for l in (proc.stdout + proc.stderr).splitlines() if not l.startswith(("INFO", "  - ")))
    return proc.returncode == 0, out.strip()


SITE_MARK = ".generated-site"  # in every site we write: only such a folder is ever replaced


def check_output(out: Path, work: Path, root: Path) -> None:
    """Refuse an --out that is not ours to replace, or that overlaps the inputs."""
    resolved = out.resolve()
    if out.name in ("", ".", "..") or resolved in (root.resolve(), (root / "docs").resolve(), (root / "dataset").resolve(), work.resolve()):
        raise BuildError(f"{out}: cannot be the site folder (it would replace the project's own files)")
    if out.exists() and not (out / SITE_MARK).exists():
        if out.is_file() or any(out.iterdir()):
            raise BuildError(f"{out}: exists and is not a site this tool wrote; choose another --out or remove it")
    if work.exists() and not work.is_dir():
        raise BuildError(f"{work}: is a file; --work must be a folder")


def run_mkdocs_if_needed(gen: dict, work: Path, say) -> tuple[bool, str]:
    """work/mkdocs-out holds mkdocs' output for gen's inputs: reused while its key is the same,
    else rebuilt (in a fresh folder, so a failure keeps the last good one). Sets
    gen["mkdocs_files"]: each output file's digest, for plan.py."""
    built = work / "mkdocs-out"
    listing = work / "mkdocs-out.files.json"
    if _read(work / "mkdocs-out.key") == gen["mkdocs_key"]:
        files = _intact(built, listing)
        if files is not None:
            say("mkdocs inputs unchanged: reusing its last output")
            gen["mkdocs_files"] = files
            return True, ""
    say(f"running mkdocs build ({gen['pages']} pages)…")
    fresh = work / "mkdocs-out.tmp"
    shutil.rmtree(fresh, ignore_errors=True)
    ok, log = run_mkdocs(gen["config"], fresh.resolve())
    if not ok:
        shutil.rmtree(fresh, ignore_errors=True)
        return False, log
    (work / "mkdocs-out.key").unlink(missing_ok=True)
    shutil.rmtree(built, ignore_errors=True)
    os.replace(fresh, built)
    gen["mkdocs_files"] = _file_digests(built)
    write_atomic(listing, orjson.dumps(gen["mkdocs_files"]))
    write_atomic(work / "mkdocs-out.key", gen["mkdocs_key"].encode())
    return True, ""


def _intact(built: Path, listing: Path) -> dict[str, str] | None:
    """The kept output's listing, when mkdocs' output still has exactly the files it had (the
    work folder is a cache: a file deleted from it must mean running mkdocs again)."""
    try:
        files = orjson.loads(listing.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if isinstance(files, dict) and all(isinstance(d, str) for d in files.values()) and set(files) == _file_names(built):
        return files
    return None


def _file_names(root: Path) -> set[str]:
    names = set()
    for dirpath, _, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        names.update(rel_dir + name for name in filenames)
    return names


def _file_digests(root: Path) -> dict[str, str]:
    """Each file of mkdocs' output by digest: after mkdocs runs again, only files whose bytes
    changed are replaced in the site."""
    return {rel: hashlib.sha256((root / rel).read_bytes()).hexdigest() for rel in sorted(_file_names(root))}


def build_once(paths: list[Path], source_root, work: Path, out: Path, site_url: str | None, say, live: bool = False, timings: Timings | None = None):
    """One build into `out`. Returns (ok, results). Nothing in `out` changes unless every
    stage succeeded; then only the files that changed are replaced (see place.py)."""
    root = project_root()
    check_output(out, work, root)
    stems = [p.stem for p in paths]
    folders = [urls.slug(s) for s in stems]  # a dataset's pages, data and memo go by this name
    if len(set(folders)) != len(folders):
        dup = sorted(s for s, f in zip(stems, folders) if folders.count(f) > 1)
        raise BuildError(f"datasets {', '.join(repr(d) for d in dup)} would share the folder datasets/{urls.slug(dup[0])}/: rename one file")
    timings = timings or Timings()
    t0 = time.perf_counter()
    clear_leftovers(work, out)
    memos = {stem: read_memo(_memo_path(work, stem)) for stem in stems}
    results = run(paths, source_root, progress=say, timings=timings, memos=memos)
    gen = generate(results, work, root, site_url, timings, say, live=live)
    t = time.perf_counter()
    # The search database is written while mkdocs runs (a child process; sqlite3 lets go of
    # the GIL): on two cores the two overlap.
    indexing = _in_thread(index_search, gen, work, root)
    ok, log = run_mkdocs_if_needed(gen, work, say)
    timings.add("mkdocs build", time.perf_counter() - t)
    timings.add("search index", indexing.join_timed())  # its own time, most of it beside mkdocs
    if not ok:
        print(log, file=sys.stderr)
        print(f"error: mkdocs build failed; {out}/ was left as it was", file=sys.stderr)
        return False, results
    t = time.perf_counter()
    manifest = work / "manifests" / (hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:16] + ".json")
    previous = previous_keys(out, manifest, SITE_MARK)
    try:
        wanted, rendered = plan_site(gen, work, out, previous)
    except PlanError as e:
        print(f"error: {e}; {out}/ was left as it was", file=sys.stderr)
        return False, results
    changed = place(wanted, out, manifest, SITE_MARK, previous)
    pages = sum(len(dv.examples) for dv in gen["site"].datasets)
    say(f"{pages} example pages ({rendered[0]} rendered, the rest unchanged)")
    say(f"{out}/: {changed} files replaced or removed" if changed >= 0 else f"{out}/: laid out afresh")
    for r in results:
        if r.memo is not None:
            write_memo(_memo_path(work, r.config.stem), r.memo)
    timings.add("example pages", time.perf_counter() - t)
    print(_summary(gen["site"].datasets, out, time.perf_counter() - t0), flush=True)
    return True, results


class _in_thread(threading.Thread):
    """fn(*args) on a thread; join() returns its result or raises its exception here."""

    def __init__(self, fn, *args):
        super().__init__(daemon=True)
        self._fn, self._args, self._out, self._err = fn, args, None, None
        self.start()

    def run(self):
        t = time.perf_counter()
        try:
            self._out = self._fn(*self._args)
        except BaseException as e:  # handed to the joining thread
            self._err = e
        self.seconds = time.perf_counter() - t

    def join_timed(self) -> float:
        """join(); the seconds fn took on its thread."""
        self.join()
        return self.seconds

    def join(self, timeout=None):
        super().join(timeout)
        if self._err is not None:
            raise self._err
        return self._out


def index_search(gen: dict, work: Path, root: Path) -> None:
    """Update the search and table database in the work folder (searchdb.py) and plan its
    copy into the site, keyed by the keys of its rows."""
    site = gen["site"]
    pages = []
    for page in site.pages:
        if page.standalone or page.template == "shell.md.j2":
            continue
        dataset = page.context.get("stem", "") if isinstance(page.context, dict) else ""
        title = page.title + (f" · {page.context.get('dataset_title')}" if page.context.get("dataset_title") else "")
        pages.append((title, page.path, dataset or "", page.context.get("path", "") if page.template == "source.md.j2" else ""))
    for path in sorted((root / "docs").glob("*.md")):
        text = path.read_text(encoding="utf-8", errors="replace")
        title = next((l[2:].strip() for l in text.splitlines() if l.startswith("# ")), path.stem)
        pages.append((title, path.name, "", text))
    db = work / "search" / "site.sqlite3"
    done = searchdb.update(db, site.datasets, pages, code_digest())
    gen["copies"][searchdb.SITE_PATH] = (db, "searchdb:" + done["key"], None)
    gen["data"][searchdb.VERSION_PATH] = done["key"].encode() + b"\n"  # the browser's cache key for the file


def clear_leftovers(work: Path, out: Path) -> None:
    """What killed builds and older versions left: new or old sites beside `out` (named by
    place.py and write.py) whose process is gone, and the page cache of the hard-link design
    (gigabytes at 100,000 records). A folder of that name with our own process id is from an
    earlier process (containers reuse ids); ours are made later."""
    shutil.rmtree(work / "cache" / "pages", ignore_errors=True)
    for suffix in (NEW_SUFFIX, OLD_SUFFIX):
        for folder in out.parent.glob(f"{glob.escape(out.name)}{suffix}*"):
            pid = folder.name[len(out.name) + len(suffix) :]
            if pid.isdigit() and (int(pid) == os.getpid() or not _running(int(pid))):
                shutil.rmtree(folder, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except OSError:
        return True  # exists, not ours to signal
    return True


def _memo_path(work: Path, stem: str) -> Path:
    return work / "state" / f"{urls.slug(stem)}.memo"


def build_site(args, source_root, say=None) -> int:
    quiet = getattr(args, "quiet", False)
    say = say or (print if not quiet else (lambda *a, **k: None))
    paths = discover(args.dataset, project_root())
    ok, results = build_once(paths, source_root, Path(args.work), Path(args.out), getattr(args, "site_url", None), say)
    if not ok:
        return 1
    line_reports = [f for r in results for f in r.findings if f.path == str(r.config.jsonl) and f.rule in LOADER_RULES]
    for f in line_reports:
        print(f"{f.location()}: {f.message}", file=sys.stderr)
    if getattr(args, "strict", False) and line_reports:
        print(f"error: --strict: {len(line_reports)} line(s) reported", file=sys.stderr)
        return 1
    return 0




def _summary(datasets, out: Path, seconds: float) -> str:
    parts = []
    for dv in datasets:
        t = dv.totals
        parts.append(
            f"{dv.stem}: {t['examples']} examples, {t['covered_items']}/{t['item_count']} items covered "
            f"({t['line_pct']:.1f}% of in-scope lines), {t['errors']} errors, {t['warnings']} warnings"
        )
    return "\n".join(parts + [f"site written to {out}/ in {seconds:.1f}s"])


def serve(args, source_root) -> int:
    """Build, serve the site on localhost, rebuild when a dataset, its config or lock, or a
    hand-written page changes; open pages reload themselves after each rebuild."""
    from .rangeserve import RangeRequestHandler, make_server

    root = project_root()
    work = Path(args.work)
    out = work / "serve-site"
    paths = discover(args.dataset, root)
    host, _, port = args.dev_addr.rpartition(":")
    if not host or not port.isdigit():
        raise BuildError(f"--dev-addr {args.dev_addr!r}: expected HOST:PORT, e.g. 127.0.0.1:8000")
    state = {"build": 0}

    def rebuild() -> None:
        ok, _ = build_once(paths, source_root, work, out, f"http://{host}:{port}/", say=print, live=True)
        if ok:
            state["build"] += 1

    class Handler(RangeRequestHandler):  # Range: the search reads its database in pieces
        def do_GET(self):
            if self.path == "/__build_id":
                body = str(state["build"]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            super().do_GET()

    rebuild()
    watched = [*paths, *(p.with_suffix(".toml") for p in paths), *(p.with_name(p.stem + ".lock.json") for p in paths), root / "docs", root / "mkdocs.yml"]

    def mtime(path: Path) -> int:
        try:
            return path.stat().st_mtime_ns
        except OSError:  # deleted between listing and looking (editor temp files)
            return 0

    def stamp():
        marks = []
        for p in watched:
            files = sorted(p.rglob("*")) if p.is_dir() else [p]
            marks += [(str(f), mtime(f)) for f in files]
        return marks

    stop = threading.Event()

    def watch():
        last = stamp()
        while not stop.wait(0.5):
            try:
                now = stamp()
                if now != last:
                    last = now
                    print("inputs changed: rebuilding", flush=True)
                    rebuild()
            except Exception as e:  # keep serving the last good site, keep watching
                print(f"error: {e}", file=sys.stderr, flush=True)

    threading.Thread(target=watch, daemon=True).start()
    httpd = make_server(out, host, int(port), Handler)
    print(f"serving {out}/ on http://{host}:{httpd.server_address[1]}/ (Ctrl-C stops)", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        httpd.server_close()
    return 0
