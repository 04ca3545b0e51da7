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

import contextlib
import fcntl
import glob
import hashlib
import hmac
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson
import yaml
from markupsafe import Markup

from .load import LOADER_RULES
from .memo import code_digest, read_memo, write_memo
from .pipeline import Timings, discover, run
from . import searchdb, urls
from .place import NEW_SUFFIX, STAGE_PREFIX, SiteUnchanged, Wanted, place, previous_keys
from .plan import PlanError, plan_site
from .highlight import keep_between_builds, title_html
from .render import render_page
from . import diffview
from .views import build_views, source_body, source_pages_available
from .write import OLD_SUFFIX, discard, read_tree, sync_tree, write_atomic

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


CHANGES_CSS = "assets/changes.css"
CHANGES_CSS_BYTES = diffview.CSS.encode()


class BuildError(Exception):
    """The build cannot go on; the message is one line."""


def generate(results, work: Path, root: Path, site_url: str | None = None, timings: Timings | None = None, say=print, live: bool = False, diffs: dict | None = None) -> dict:
    """Write the docs folder and mkdocs config for `results`; return the views for assembly.
    `diffs` (build --compare) adds the Changes pages and their stylesheet."""
    timings = timings or Timings()
    t = time.perf_counter()
    bodies = sorted({source_body(r.text_for(p)) for r in results for p in source_pages_available(r)})
    keep_between_builds(bodies, work / "cache" / "highlight", code_digest())
    site = build_views(results, diffs)
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
    if diffs:
        files[CHANGES_CSS] = CHANGES_CSS_BYTES
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
    if diffs:  # build --compare: the diff marks' styles, only then (else the site is as without)
        config["extra_css"] = _inherited_list(root / "mkdocs.yml", "extra_css") + [CHANGES_CSS]
    # Any Unicode, any length: PyYAML escapes what YAML cannot hold raw and writes a key over
    # YAML's 1,024-character implicit-key limit as an explicit one.
    cfg_bytes = yaml.safe_dump(config, allow_unicode=True, width=float("inf"), sort_keys=False).encode("utf-8")
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



def _inherited_list(mkdocs_yml: Path, key: str) -> list:
    """A list setting of the project's mkdocs.yml (a generated config's own value replaces it)."""
    import yaml

    try:
        value = yaml.safe_load(mkdocs_yml.read_text(encoding="utf-8")).get(key)
    except (OSError, yaml.YAMLError, AttributeError):
        return []
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _handwritten_nav(root: Path) -> list:
    """Hand-written pages (docs/*.md other than assets) go last in the nav, in name order."""
    out = []
    for path in sorted((root / "docs").glob("*.md")):
        title = path.stem.replace("-", " ").replace("_", " ").capitalize()
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("# "):
                title = line[2:].strip()
                break
        out.append({title_html(title): path.name})  # docs/ is untrusted too
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
    # -P: the project folder (the working directory) is not put on sys.path, so a `mkdocs/`
    # or `markdown/` package added by a pull request is never imported in mkdocs' place.
    cmd = [sys.executable, "-P", "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site_dir)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, PYTHONSAFEPATH="1"))
    # --quiet would hide the warnings that --strict counts; keep only what matters instead.
    out = "\n".join(l for l in (proc.stdout + proc.stderr).splitlines() if not l.startswith(("INFO", "  - ")))
    return proc.returncode == 0, out.strip()


SITE_MARK = ".generated-site"  # in every site we write: only such a folder is ever replaced


def tracked(root: Path, folder: Path) -> bool:
    """Whether the git repository of the project tracks `folder` (or anything in it): a folder
    a pull request can fill is no cache of ours. False outside a repository or without git."""
    try:
        proc = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--", os.path.abspath(folder)],
                              capture_output=True, timeout=60, env=dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C"))
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0 and bool(proc.stdout.strip(b"\0"))


def check_not_dangling_or_tracked(folder: Path, root: Path, option: str) -> None:
    """A dangling link as --out/--work would make us create its target (anywhere); a folder
    the repository tracks is the pull request's, not ours."""
    if folder.is_symlink() and not folder.exists():
        raise BuildError(f"{folder}: is a symbolic link to nothing ({os.readlink(folder)}); {option} must be a folder or a link to one")
    if tracked(root, folder):
        raise BuildError(f"{folder}: is tracked by git (committed to the repository); {option} must be a folder the build owns: remove it from the repository")


def check_inputs(root: Path) -> None:
    """The project's docs/ may not be a symbolic link (`ln -s .git docs` would publish
    .git/config), and its mkdocs.yml must pass the allowlist (mkconfig.py)."""
    from .mkconfig import check_mkdocs_yml
    from .pipeline import PipelineError

    docs = root / "docs"
    if docs.is_symlink():
        raise PipelineError(f"{docs}: is a symbolic link; docs/ must be a folder in the project")
    check_mkdocs_yml(root / "mkdocs.yml")


def check_output(out: Path, work: Path, root: Path, serving: bool = False) -> None:
    """Refuse an --out that is not ours to replace, or that overlaps the inputs: it may not be
    inside docs/, dataset/ or the work folder (the site would copy itself into itself), nor
    hold the project or the work folder. `serving`: serve's own site, inside its work folder."""
    check_not_dangling_or_tracked(out, root, "--out")
    resolved = out.resolve()
    if out.name in ("", ".", "..") or resolved in (root.resolve(), (root / "docs").resolve(), (root / "dataset").resolve(), work.resolve()):
        raise BuildError(f"{out}: cannot be the site folder (it would replace the project's own files)")
    for folder in (root / "docs", root / "dataset", *(() if serving else (work,))):
        if resolved.is_relative_to(folder.resolve()):
            raise BuildError(f"{out}: is inside {folder}/; choose a site folder outside it")
    for folder in (root, work):
        if folder.resolve().is_relative_to(resolved):
            raise BuildError(f"{out}: holds {folder}/; choose a site folder that does not contain it")
    if out.exists() and not (out / SITE_MARK).exists():
        if out.is_file() or any(out.iterdir()):
            raise BuildError(f"{out}: exists and is not a site this tool wrote; choose another --out or remove it")


WORK_MARK = ".generated-work"  # in every work folder we made: only such a folder is written into
# What a work folder made before the mark existed holds (one is taken as ours when it has
# docs-keys.json and nothing else than these).
_LEGACY_WORK = {".lock", "docs", "mkdocs.yml", "docs-keys.json", "mkdocs-out", "mkdocs-out.key", "mkdocs-out.files.json", "mkdocs-out.tmp", "state", "manifests", "cache", "serve-site", "search"}


def check_work(work: Path, root: Path) -> None:
    """Refuse a --work that is not ours to write into (it gets a mark, like the site): the
    project, docs/, dataset/ or anything inside or around them, a file, an unmarked folder
    with files in it, a folder the repository tracks, one holding a symbolic link (we would
    write or delete through it)."""
    check_not_dangling_or_tracked(work, root, "--work")
    resolved = work.resolve()
    for folder in (root, root / "docs", root / "dataset"):
        inside = resolved.is_relative_to(folder.resolve()) and folder != root
        if resolved == folder.resolve() or inside or folder.resolve().is_relative_to(resolved):
            raise BuildError(f"{work}: cannot be the work folder (it is, holds or is inside {folder}/, whose files it would replace)")
    if work.exists() and not work.is_dir():
        raise BuildError(f"{work}: is a file; --work must be a folder")
    if work.is_dir() and not (work / WORK_MARK).is_file():
        names = {p.name for p in work.iterdir()}
        legacy = "docs-keys.json" in names and all(n in _LEGACY_WORK or (n.startswith(".") and n.endswith(".tmp")) for n in names)
        if names and not legacy:
            raise BuildError(f"{work}: exists and is not a work folder this tool made (no {WORK_MARK} mark); choose another --work or remove it")
    if work.is_dir():
        for dirpath, dirnames, filenames in os.walk(work):  # never descends into a linked folder
            for name in dirnames + filenames:
                if os.path.islink(os.path.join(dirpath, name)):
                    raise BuildError(f"{os.path.join(dirpath, name)}: a symbolic link in the work folder (the build would write through it); remove the work folder")


def make_work(work: Path) -> None:
    """The work folder (checked by check_work), with its mark."""
    work.mkdir(parents=True, exist_ok=True)
    if not (work / WORK_MARK).is_file():
        write_atomic(work / WORK_MARK, b"work folder of python -m generator build: a cache, rewritten on every build\n")


LOCK_NAME = ".lock"
LOCK_WAIT = 600.0  # seconds a build waits for another one using its work folder or site folder


@contextlib.contextmanager
def exclusive(work: Path, out: Path):
    """Hold the build's locks: the work folder's (a lock file in it) and the site folder's (its
    parent folder, as the site itself is swapped). A second build waits, saying so, for up to
    LOCK_WAIT seconds, then gives up with BuildError. Released when the process ends, however."""
    fds: list[int] = []
    try:
        fd = os.open(work / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        fds.append(fd)
        _acquire(fd, work, os.pread(fd, 20, 0).decode("ascii", "replace").strip())
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        parent = out.resolve().parent
        parent.mkdir(parents=True, exist_ok=True)
        try:
            fds.append(os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
        except OSError:  # not readable: the work folder's lock is all there is
            pass
        else:
            _acquire(fds[-1], out, "")
        yield
    finally:
        for fd in reversed(fds):
            os.close(fd)


def _acquire(fd: int, folder: Path, holder: str) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    who = f" (process {holder})" if holder.isdigit() else ""
    print(f"waiting for another build using {folder}/ to finish{who}…", file=sys.stderr, flush=True)
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        time.sleep(0.1)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise BuildError(f"{folder}/: another build{who} has been using it for {LOCK_WAIT:.0f} s; try again when it has finished") from None


MKDOCS_TMP = "mkdocs-out.tmp"  # mkdocs' output while it runs: work/mkdocs-out.tmpXXXX


def run_mkdocs_if_needed(gen: dict, work: Path, say) -> tuple[bool, str]:
    """work/mkdocs-out holds mkdocs' output for gen's inputs: reused while its key is the same,
    else rebuilt (in a fresh folder, so a failure keeps the last good one). Sets
    gen["mkdocs_files"]: each output file's digest, for plan.py."""
    built = work / "mkdocs-out"
    listing = work / "mkdocs-out.files.json"
    secret = machine_secret()
    if secret is not None:
        files = _intact(built, listing)
        if files is not None and hmac.compare_digest(_read(work / "mkdocs-out.key"), _seal(secret, gen["mkdocs_key"], files)):
            say("mkdocs inputs unchanged: reusing its last output")
            gen["mkdocs_files"] = files
            return True, ""
    say(f"running mkdocs build ({gen['pages']} pages)…")
    fresh = Path(tempfile.mkdtemp(prefix=MKDOCS_TMP, dir=work))  # this process's own
    fresh.chmod(0o755)
    ok, log = run_mkdocs(gen["config"], fresh.resolve())
    if not ok:
        shutil.rmtree(fresh, ignore_errors=True)
        return False, log
    (work / "mkdocs-out.key").unlink(missing_ok=True)
    shutil.rmtree(built, ignore_errors=True)
    os.replace(fresh, built)
    gen["mkdocs_files"] = _file_digests(built)
    write_atomic(listing, orjson.dumps(gen["mkdocs_files"]))
    if secret is not None:
        write_atomic(work / "mkdocs-out.key", _seal(secret, gen["mkdocs_key"], gen["mkdocs_files"]).encode())
    return True, ""


def _seal(secret: bytes, key: str, files: dict[str, str]) -> str:
    """The reuse key of mkdocs' output: an HMAC, under this machine's secret, of its inputs'
    key and its files' digests. A work folder that arrives from elsewhere (a checkout) cannot
    forge one, so its output is never reused."""
    return hmac.new(secret, key.encode() + b"\0" + orjson.dumps(files, option=orjson.OPT_SORT_KEYS), hashlib.sha256).hexdigest()


def machine_secret() -> bytes | None:
    """32 random bytes kept outside any project ($XDG_CACHE_HOME or ~/.cache, then
    dataset-generator/secret, mode 0600), made on first use; None when there is no such
    place (mkdocs' output is then never reused)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base) / "dataset-generator" / "secret"
    for _ in range(2):
        try:
            if path.is_symlink():
                return None
            data = path.read_bytes()
            return data if len(data) >= 32 else None
        except FileNotFoundError:
            pass
        except OSError:
            return None
        tmp = path.with_name(f".secret.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp.unlink(missing_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(os.urandom(32))
            os.link(tmp, path)  # the first process to make one wins; the others read it
        except FileExistsError:
            pass
        except OSError:
            return None
        finally:
            tmp.unlink(missing_ok=True)
    return None


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


def build_once(paths: list[Path], source_root, work: Path, out: Path, site_url: str | None, say, live: bool = False, timings: Timings | None = None, compare: str | None = None):
    """One build into `out`. Returns (ok, results). Nothing in `out` changes unless every
    stage succeeded; then only the files that changed are replaced (see place.py)."""
    root = project_root()
    check_inputs(root)
    check_work(work, root)
    check_output(out, work, root, serving=live)
    check_dataset_names(paths)
    stems = [p.stem for p in paths]
    folders = [urls.slug(s) for s in stems]  # a dataset's pages, data and memo go by this name
    if len(set(folders)) != len(folders):
        dup = sorted(s for s, f in zip(stems, folders) if folders.count(f) > 1)
        raise BuildError(f"datasets {', '.join(repr(d) for d in dup)} would share the folder datasets/{urls.slug(dup[0])}/: rename one file")
    make_work(work)
    with exclusive(work, out):  # one build at a time per work folder and per site folder
        return _build_locked(paths, source_root, work, out, site_url, say, live, timings, root, stems, compare)


def _build_locked(paths, source_root, work: Path, out: Path, site_url, say, live, timings, root: Path, stems: list[str], compare: str | None):
    timings = timings or Timings()
    t0 = time.perf_counter()
    clear_leftovers(work, out)
    memos = {stem: read_memo(_memo_path(work, stem)) for stem in stems}
    results = run(paths, source_root, progress=say, timings=timings, memos=memos)
    diffs = None
    if compare is not None:
        from .against import compare_dataset

        t = time.perf_counter()
        diffs = {r.config.stem: compare_dataset(p, compare, source_root, new_result=r)[0] for p, r in zip(paths, results)}
        timings.add("compare", time.perf_counter() - t)
        for stem, d in diffs.items():
            say(f"{stem} against {compare}: " + ", ".join(f"{n} {s}" for s, n in d.counts().items()) + f"; {len(d.new_findings)} findings new, {len(d.fixed_findings)} fixed")
    gen = generate(results, work, root, site_url, timings, say, live=live, diffs=diffs)
    check_data_names(gen)
    t = time.perf_counter()
    # The search database is written on a thread while mkdocs runs (a child process) and the
    # example pages are written (sqlite3 lets go of the GIL): on two cores they overlap. Its
    # key is known first, so the site's plan does not wait for it; placing its file does.
    indexing = index_search(gen, work, root)
    try:
        return _after_indexing(gen, work, out, say, timings, t, t0, results, indexing)
    finally:
        indexing.join_quietly()


def _after_indexing(gen, work: Path, out: Path, say, timings, t: float, t0: float, results, indexing):
    ok, log = run_mkdocs_if_needed(gen, work, say)
    timings.add("mkdocs build", time.perf_counter() - t)
    if not ok:
        print(log, file=sys.stderr)
        print(f"error: mkdocs build failed; {out}/ was left as it was", file=sys.stderr)
        return False, results
    t = time.perf_counter()
    manifest = work / "manifests" / (hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:16] + ".json")
    previous = previous_keys(out, manifest, SITE_MARK)
    try:
        wanted, example_pages = plan_site(gen, work, out, previous)
    except PlanError as e:
        print(f"error: {e}; {out}/ was left as it was", file=sys.stderr)
        return False, results
    db_rel, db_wanted = gen.pop("searchdb")
    wanted[db_rel] = db_wanted  # last: the database is copied once its thread is done
    try:
        changed = place(wanted, out, manifest, SITE_MARK, previous)
    except SiteUnchanged as e:
        print(f"error: {e}; {out}/ was left as it was", file=sys.stderr)
        return False, results
    # An example page is rendered when, and only when, its file is written.
    rendered = len(example_pages) if changed < 0 else sum(previous.get(rel) != wanted[rel].key for rel in example_pages)
    say(f"{len(example_pages)} example pages ({rendered} rendered, the rest unchanged)")
    say(f"{out}/: {changed} files replaced or removed" if changed >= 0 else f"{out}/: laid out afresh")
    for r in results:
        if r.memo is not None:
            write_memo(_memo_path(work, r.config.stem), r.memo)
    timings.add("example pages", time.perf_counter() - t)
    timings.add("search index", indexing.join_timed())  # its own time, on its thread
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

    def join_quietly(self) -> None:
        """Wait for it (a build never returns with its thread still writing the work folder)."""
        super().join()


def index_search(gen: dict, work: Path, root: Path) -> "_in_thread":
    """Start updating the search and table database in the work folder (searchdb.py) on a
    thread; plan its copy into the site (gen["searchdb"]), keyed by the keys of its rows,
    which are known before the rows are built."""
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
    code = code_digest()
    planned = searchdb.rows_wanted(site.datasets, pages, code)
    key = planned[2]
    indexing = _in_thread(searchdb.update, db, site.datasets, pages, code, planned)

    def copy(fh) -> None:
        indexing.join()
        with open(db, "rb") as src:
            shutil.copyfileobj(src, fh, 1 << 20)

    gen["searchdb"] = (searchdb.SITE_PATH, Wanted("data:searchdb:" + key, stream=copy))
    gen["data"][searchdb.VERSION_PATH] = key.encode() + b"\n"  # the browser's cache key for the file
    return indexing


MAX_NAME = 200  # characters in a dataset's file name: its folder, download and memo (plus a temporary suffix) stay under the file system's 255


def check_dataset_names(paths: list[Path]) -> None:
    """Refuse, before anything is written, a dataset whose name is too long for the files
    named after it."""
    for path in paths:
        if len(path.name) > MAX_NAME:
            raise BuildError(f"{path}: the dataset's file name has {len(path.name)} characters, at most {MAX_NAME} can be used; rename it")


def check_data_names(gen: dict) -> None:
    """The dataset download sits beside the site's table data: refuse a dataset file named
    like one of those files (a histogram) rather than let one
    overwrite the other."""
    clash = sorted(set(gen["copies"]) & (set(gen["data"]) | set(gen["mkdocs_files"] if "mkdocs_files" in gen else ())))
    if clash:
        source = gen["copies"][clash[0]][0]
        raise BuildError(f"{source}: a dataset file with this name would overwrite the site's own {clash[0]}; rename the dataset")


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
    # Under the lock, what is left in the work folder or the site by a killed build: mkdocs'
    # output in progress, the stage of changed files, the mark's temporary name.
    for folder in work.glob(f"{MKDOCS_TMP}*"):
        discard(folder)
    if out.is_dir():
        for path in out.iterdir():
            name = path.name
            stage = name.startswith(STAGE_PREFIX) and name[len(STAGE_PREFIX) :].isdigit()
            mark_tmp = name.startswith(f".{SITE_MARK}.") and name.endswith(".tmp") and name[len(SITE_MARK) + 2 : -4].isdigit()
            if stage or mark_tmp:
                discard(path)


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
    compare = getattr(args, "compare", None)
    from .against import AgainstError, as_file, check_against

    if compare is not None:
        check_against(compare, "--compare")
    if compare is not None and len(paths) > 1 and as_file(compare) is not None:
        raise AgainstError(f"--compare {compare}: a file compares with one dataset; name it with --dataset")
    ok, results = build_once(paths, source_root, Path(args.work), Path(args.out), getattr(args, "site_url", None), say, compare=compare)
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

    from .rangeserve import AddressError, LocalRangeHandler, allowed_hosts, listen, parse_dev_addr

    root = project_root()
    work = Path(args.work)
    out = work / "serve-site"
    paths = discover(args.dataset, root)
    try:
        host, port = parse_dev_addr(args.dev_addr)
    except AddressError as e:
        raise BuildError(str(e)) from None
    url_host = f"[{host}]" if ":" in host else host
    state = {"build": 0}

    def rebuild() -> None:
        ok, _ = build_once(paths, source_root, work, out, f"http://{url_host}:{port}/", say=print, live=True)
        if ok:
            state["build"] += 1

    class Handler(LocalRangeHandler):  # Range: the search reads its database in pieces
        allowed = allowed_hosts(host)

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

    try:
        httpd = listen(host, port, args.dev_addr, functools.partial(Handler, directory=str(out)))
    except AddressError as e:
        raise BuildError(str(e)) from None
    try:
        rebuild()
    except BaseException:
        httpd.server_close()
        raise
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
    print(f"serving {out}/ on http://{url_host}:{httpd.server_address[1]}/ (Ctrl-C stops)", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        httpd.server_close()
    return 0
