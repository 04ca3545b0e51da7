"""Generate the Markdown + mkdocs config into a work folder, run `mkdocs build`, then frame
the example pages.

The generator never imports mkdocs: it writes plain Markdown and a config that INHERITs the
project's mkdocs.yml, and runs mkdocs as a program (only when what it reads has changed). mkdocs
renders the summary pages and one shell page per dataset; every example page is our own HTML
inside that shell. The site is laid out in a temporary folder and swapped in, so a failed build
leaves the previous site untouched.
"""

from __future__ import annotations

import gzip
import json
import hashlib
import html
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson

from .load import LOADER_RULES
from .pipeline import Timings, discover, run
from . import urls
from .render import render_page, templates_digest
from .views import build_views
from .write import read_tree, swap_in, sync_tree

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def project_root() -> Path:
    cwd = Path.cwd()
    return cwd if (cwd / "mkdocs.yml").is_file() else PACKAGE_ROOT


SLOT_TITLE, SLOT_H1, SLOT_BODY = "@@PAGE_TITLE@@", "@@PAGE_H1@@", "@@PAGE_BODY@@"


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
    site = build_views(results)
    files = read_tree(root / "docs")
    generated: dict[str, bytes] = {}
    for page in site.pages:
        if not page.standalone:
            generated[page.path] = render_page(page).encode("utf-8")
    for path, data in site.data.items():
        generated[path] = data if isinstance(data, bytes) else orjson.dumps(data)
    standalone = site.standalone_paths() | set(site.shells.values())
    taken = set(generated) | standalone
    standalone_dirs = {urls.page_url(p) for p in standalone}
    clash = sorted(f for f in files if f in taken or any(urls.page_url(f).startswith(d) for d in standalone_dirs if d))
    if clash:
        raise BuildError(f"docs/{clash[0]}: a hand-written file has the path of a generated page; rename it")
    files.update(generated)
    timings.add("render", time.perf_counter() - t)
    t = time.perf_counter()
    if live:
        files["assets/livereload.js"] = LIVERELOAD_JS
    written, removed = sync_tree(work / "docs", files)
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
    # What mkdocs reads, less the data files (it only copies those; they are placed afresh).
    key = hashlib.sha256(cfg_bytes + _theme_versions().encode() + (root / "mkdocs.yml").read_bytes())
    for rel in sorted(files):
        if rel not in site.data:
            key.update(rel.encode() + b"\0" + hashlib.sha256(files[rel]).digest())
    say(f"wrote {md_pages} Markdown pages and {len(site.data)} data files into {work / 'docs'} ({written} changed, {removed} removed)")
    data = {rel: files[rel] for rel in site.data}
    return {"pages": md_pages, "written": written, "removed": removed, "config": cfg_path, "site": site, "mkdocs_key": key.hexdigest(), "data": data}


def assemble(site_dir: Path, site, cache: Path, say=print, *, frames_from: Path) -> tuple[int, int]:
    """Frame each standalone page (the examples) with its dataset's shell page, as mkdocs
    rendered it, and place it in the built site. Pages are cached by a fingerprint of their
    inputs, so a rebuild renders only what changed; the site gets hard links to the cache.
    Returns (pages, rendered)."""
    digest = templates_digest() + _code_digest()
    frames: dict[str, tuple[str, str, str]] = {}
    for stem, shell_path in site.shells.items():
        shell_dir = frames_from / urls.page_url(shell_path)
        text = (shell_dir / "index.html").read_text(encoding="utf-8")
        head, sep, tail = text.partition(SLOT_BODY)
        if not sep or SLOT_H1 not in head:
            raise BuildError(f"{shell_dir / 'index.html'}: the theme dropped the page slot; cannot frame example pages")
        frames[stem] = (_squeeze(head), _squeeze(tail), hashlib.sha256(text.encode()).hexdigest())
    _drop_from_sitemap(site_dir, [urls.page_url(p) for p in site.shells.values()])
    cache.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    rendered = 0
    total = sum(len(dv.examples) for dv in site.datasets)
    for n, page in enumerate(site.standalone_pages(), start=1):
        stem = page.context["stem"]
        head, tail, frame_hash = frames[stem]
        key = hashlib.sha256(orjson.dumps(page.context, option=orjson.OPT_SORT_KEYS, default=_digest_bytes) + f"\0{digest}\0{frame_hash}\0{page.title}".encode()).hexdigest()
        cached = cache / f"{key}.html"
        if not cached.exists():
            shell_url = urls.page_url(site.shells[stem])
            own_url = urls.page_url(page.path)
            title = html.escape(page.title)
            body = render_page(page)
            framed = head.replace(SLOT_TITLE, title).replace(SLOT_H1, html.escape(page.title.split(" · ")[0])).replace(shell_url, own_url) + body + tail
            tmp = cached.with_name(cached.name + ".tmp")
            tmp.write_text(framed, encoding="utf-8")
            os.replace(tmp, cached)
            rendered += 1
        dest = site_dir / urls.page_url(page.path) / "index.html"
        dest.parent.mkdir(parents=True, exist_ok=True)
        place = dest.with_name(dest.name + ".tmp")
        try:
            os.link(cached, place)
        except OSError:
            shutil.copyfile(cached, place)
        os.replace(place, dest)  # never write through an existing file: it may be a cache link
        used.add(cached.name)
        if n % 5000 == 0:
            say(f"  {n}/{total} example pages placed")
    for stale in cache.glob("*.html"):
        if stale.name not in used:
            stale.unlink()
    _add_search_entries(site_dir, site.search_entries())
    return total, rendered


def _squeeze(frame: str) -> str:
    """Drop the theme's blank lines and indentation from a frame (repeated in every example
    page). A newline is kept wherever there was whitespace; frames with <pre> are left alone."""
    if "<pre" in frame or "<textarea" in frame:
        return frame
    return re.sub(r"\n\s*", "\n", frame)


def _digest_bytes(value):
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest()
    raise TypeError(type(value).__name__)


def replace_file(path: Path, data: bytes) -> None:
    """Write by rename: files in a built site may be hard links into a cache."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _add_search_entries(site_dir: Path, entries) -> None:
    """Append entries to mkdocs' search index, streaming them into a new file."""
    index = site_dir / "search" / "search_index.json"
    if not index.exists():
        return
    data = orjson.loads(index.read_bytes())
    docs = data.pop("docs")
    tmp = index.with_name(index.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(orjson.dumps(data)[:-1] + b',"docs":[')
        first = True
        for entry in (*docs, *entries):
            fh.write((b"" if first else b",") + orjson.dumps(entry))
            first = False
        fh.write(b"]}")
    os.replace(tmp, index)


def _drop_from_sitemap(site_dir: Path, page_urls: list[str]) -> None:
    sitemap = site_dir / "sitemap.xml"
    if not sitemap.exists():
        return
    text = sitemap.read_text(encoding="utf-8")
    for url in page_urls:
        text = re.sub(r"\s*<url>\s*<loc>[^<]*" + re.escape(url) + r"</loc>.*?</url>", "", text, flags=re.S)
    replace_file(sitemap, text.encode("utf-8"))
    replace_file(site_dir / "sitemap.xml.gz", gzip.compress(text.encode("utf-8"), mtime=0))


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


def _code_digest() -> str:
    """The generator's own code and the libraries that render pages: part of each page's key."""
    from importlib.metadata import PackageNotFoundError, version

    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    for dist in ("Pygments", "Jinja2", "MarkupSafe"):
        try:
            h.update(f"{dist}=={version(dist)}".encode())
        except PackageNotFoundError:
            pass
    return h.hexdigest()


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


def link_tree(src: Path, dest: Path, skip: set[str]) -> None:
    """dest becomes a tree of hard links to src's files (copies across file systems).
    `skip` names page folders (URL form, `a/b/`) left out."""
    skip_dirs = {s.rstrip("/") for s in skip}
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        rel = "" if rel == "." else rel.replace(os.sep, "/")
        dirnames[:] = [d for d in dirnames if f"{rel}/{d}".lstrip("/") not in skip_dirs]
        target = dest / rel if rel else dest
        target.mkdir(parents=True, exist_ok=True)
        for name in filenames:
            try:
                os.link(os.path.join(dirpath, name), target / name)
            except OSError:
                shutil.copy2(os.path.join(dirpath, name), target / name)


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
    looks_like_mkdocs_site = (out / "sitemap.xml").exists() and (out / "search").is_dir()
    if out.exists() and not (out / SITE_MARK).exists() and not looks_like_mkdocs_site:
        if out.is_file() or any(out.iterdir()):
            raise BuildError(f"{out}: exists and is not a site this tool wrote; choose another --out or remove it")
    if work.exists() and not work.is_dir():
        raise BuildError(f"{work}: is a file; --work must be a folder")


def lay_out(gen: dict, work: Path, tmp: Path, say) -> tuple[bool, str]:
    """The mkdocs part of the site in `tmp`: its output (rebuilt only when what it reads
    changed) as hard links, fresh data files, the site mark. Returns (ok, mkdocs log)."""
    built = work / "mkdocs-out"
    if _read(work / "mkdocs-out.key") == gen["mkdocs_key"] and built.is_dir():
        say("mkdocs inputs unchanged: reusing its last output")
    else:
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
        (work / "mkdocs-out.key").write_text(gen["mkdocs_key"])
    link_tree(built, tmp, skip={urls.page_url(p) for p in gen["site"].shells.values()} - {""})
    (tmp / SITE_MARK).write_text("written by python -m generator build; replaced on every build\n")
    for rel, data in gen["data"].items():
        replace_file(tmp / rel, data)
    return True, ""


def build_once(paths: list[Path], source_root, work: Path, out: Path, site_url: str | None, say, live: bool = False, timings: Timings | None = None):
    """One full build into `out` (swapped in only on success). Returns (ok, results)."""
    root = project_root()
    check_output(out, work, root)
    stems = [p.stem for p in paths]
    if len(set(stems)) != len(stems):
        dup = sorted(s for s in stems if stems.count(s) > 1)[0]
        raise BuildError(f"two datasets are named {dup!r}: their pages would collide; rename one file")
    timings = timings or Timings()
    t0 = time.perf_counter()
    results = run(paths, source_root, progress=say, timings=timings)
    gen = generate(results, work, root, site_url, timings, say, live=live)
    tmp = out.with_name(out.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    t = time.perf_counter()
    ok, log = lay_out(gen, work, tmp, say)
    timings.add("mkdocs build", time.perf_counter() - t)
    if not ok:
        shutil.rmtree(tmp, ignore_errors=True)
        print(log, file=sys.stderr)
        print(f"error: mkdocs build failed; {out}/ was left as it was", file=sys.stderr)
        return False, results
    t = time.perf_counter()
    try:
        placed, rendered = assemble(tmp, gen["site"], work / "cache" / "pages", say, frames_from=work / "mkdocs-out")
    except BuildError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"error: {e}; {out}/ was left as it was", file=sys.stderr)
        return False, results
    timings.add("example pages", time.perf_counter() - t)
    say(f"placed {placed} example pages ({rendered} rendered, {placed - rendered} from the cache)")
    t = time.perf_counter()
    swap_in(tmp, out)
    timings.add("swap", time.perf_counter() - t)
    print(_summary(gen["site"].datasets, out, time.perf_counter() - t0), flush=True)
    return True, results


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
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

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

    class Handler(SimpleHTTPRequestHandler):
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

        def log_message(self, *a):
            pass

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
    httpd = ThreadingHTTPServer((host, int(port)), functools.partial(Handler, directory=str(out)))
    print(f"serving {out}/ on http://{host}:{httpd.server_address[1]}/ (Ctrl-C stops)", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        httpd.server_close()
    return 0
