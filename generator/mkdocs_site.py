"""The docs folder and mkdocs: write the Markdown of every page mkdocs renders and a config
that INHERITs the project's mkdocs.yml into the work folder, then run mkdocs as a program,
only when what it reads has changed (its last output is reused while a sealed key of its
inputs stays the same; state.py keeps the key and the listing of the output).

The generator never imports mkdocs. mkdocs renders the summary pages and one shell page per
dataset; every example page is our own HTML inside that shell (plan.py).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson
import yaml

from . import contexts, diffview, state, urls
from .folders import MKDOCS_TMP, BuildError
from .highlight import keep_between_builds, title_html
from .memo import code_digest
from .pipeline import Timings
from .render import render_page
from .views import SiteViews, build_views, source_body, source_pages_available
from .write import read_tree, sync_tree

VENDOR = Path(__file__).resolve().parent / "vendor" / "sql.js-httpvfs"

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


@dataclass(frozen=True)
class Generated:
    """What generate() wrote and made: the inputs of mkdocs and of the site's plan (plan.py)."""

    site: SiteViews = field(metadata={"help": "every page's view (views.build_views)"})
    pages: int = field(metadata={"help": "Markdown pages mkdocs renders"})
    config: Path = field(metadata={"help": "the generated mkdocs.yml in the work folder"})
    mkdocs_key: str = field(metadata={"help": "digest of everything mkdocs reads: its output is reused while it stays"})
    data: dict[str, bytes] = field(
        metadata={"help": "site path -> bytes: data files mkdocs never sees (histograms, line lookups)"}
    )
    copies: dict[str, tuple] = field(
        metadata={"help": "site path -> (source file, its digest or None, its stat or None): files copied as they are"}
    )


def generate(
    results,
    work: Path,
    root: Path,
    site_url: str | None = None,
    timings: Timings | None = None,
    say=print,
    live: bool = False,
    diffs: dict | None = None,
) -> Generated:
    """Write the docs folder and mkdocs config for `results`; return the views for assembly.
    `diffs` (build --compare) adds the Changes pages and their stylesheet."""
    timings = timings or Timings()
    t = time.perf_counter()
    bodies = sorted({source_body(r.text_for(p)) for r in results for p in source_pages_available(r)})
    keep_between_builds(bodies, work, code_digest())
    site = build_views(results, diffs)
    files = read_tree(root / "docs")
    generated, page_keys = render_summary_pages(site, work)
    for vendored in sorted(VENDOR.iterdir()):  # the browser side of the search (no CDN)
        if vendored.suffix in (".js", ".gz") or vendored.name == "LICENSE":
            site.copies[f"assets/vendor/{VENDOR.name}/{vendored.name}"] = (
                vendored,
                hashlib.sha256(vendored.read_bytes()).hexdigest(),
                None,
            )
    # Data files (histograms, the JSONL download) are not for mkdocs: they go to the site as is.
    data = {path: (d if isinstance(d, bytes) else orjson.dumps(d)) for path, d in site.data.items()}
    # A dataset's examples folder belongs to its generated example pages, all of it.
    taken = set(generated) | set(data) | set(site.copies)
    example_dirs = tuple(urls.examples_folder(stem) for stem in site.shells)
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
    state.write_docs_keys(work, page_keys)
    cfg_bytes = _config(site, root, site_url, live, diffs)
    cfg_path = work / "mkdocs.yml"
    if not cfg_path.exists() or cfg_path.read_bytes() != cfg_bytes:
        cfg_path.write_bytes(cfg_bytes)
    timings.add("write", time.perf_counter() - t)
    md_pages = sum(1 for p in site.pages if not p.standalone)
    say(f"wrote {md_pages} Markdown pages into {work / 'docs'} ({written} changed, {removed} removed)")
    key = _mkdocs_key(cfg_bytes, root, files)
    return Generated(site=site, pages=md_pages, config=cfg_path, mkdocs_key=key, data=data, copies=site.copies)


def _config(site, root: Path, site_url: str | None, live: bool, diffs: dict | None) -> bytes:
    """The generated mkdocs.yml: the project's, INHERITed, with the generated nav."""
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
    return yaml.safe_dump(config, allow_unicode=True, width=float("inf"), sort_keys=False).encode("utf-8")


def _mkdocs_key(cfg_bytes: bytes, root: Path, files: dict[str, bytes]) -> str:
    """Everything mkdocs reads: its output is reused while this key stays the same. The build
    date is part of it: mkdocs dates the sitemap, so a cached output is a day old at most."""
    key = hashlib.sha256(
        cfg_bytes + _theme_versions().encode() + (root / "mkdocs.yml").read_bytes() + _build_date().encode()
    )
    for rel in sorted(files):
        key.update(rel.encode() + b"\0" + hashlib.sha256(files[rel]).digest())
    return key.hexdigest()


def _build_date() -> str:
    """The date mkdocs writes into the sitemap: SOURCE_DATE_EPOCH's if set, else today's (UTC)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        return datetime.now(UTC).date().isoformat()
    try:
        return datetime.fromtimestamp(int(epoch), UTC).date().isoformat()
    except (ValueError, OverflowError, OSError):
        return epoch  # mkdocs refuses it and says so


def render_summary_pages(site, work: Path) -> tuple[dict[str, bytes], dict[str, list[str]]]:
    """The Markdown of every page mkdocs renders. A page whose template and context are those
    of the last build is taken from the docs folder (checked against the digest it had)
    instead of being rendered again. Returns (docs path → bytes, keys for the next build)."""
    last = state.read_docs_keys(work)
    code = code_digest().encode()
    out: dict[str, bytes] = {}
    keys: dict[str, list[str]] = {}
    for page in site.pages:
        if page.standalone:
            continue
        key = contexts.digest(page.view, code + b"\0" + page.template.encode() + b"\0").hex()
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


def run_mkdocs(config: Path, site_dir: Path) -> tuple[bool, str]:
    # -P: the project folder (the working directory) is not put on sys.path, so a `mkdocs/`
    # or `markdown/` package added by a pull request is never imported in mkdocs' place.
    cmd = [sys.executable, "-P", "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site_dir)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, PYTHONSAFEPATH="1"))
    # --quiet would hide the warnings that --strict counts; keep only what matters instead.
    out = "\n".join(line for line in (proc.stdout + proc.stderr).splitlines() if not line.startswith(("INFO", "  - ")))
    return proc.returncode == 0, out.strip()


def run_mkdocs_if_needed(gen: Generated, work: Path, say) -> tuple[bool, str, dict[str, str]]:
    """work/mkdocs-out holds mkdocs' output for gen's inputs: reused while its key is the same,
    else rebuilt (in a fresh folder, so a failure keeps the last good one). Returns (ok, log,
    each output file's digest for plan.py; {} when mkdocs failed)."""
    built = work / "mkdocs-out"
    secret = state.machine_secret()
    if secret is not None:
        files = _intact(built, work)
        if files is not None and state.mkdocs_sealed(work, secret, gen.mkdocs_key, files):
            say("mkdocs inputs unchanged: reusing its last output")
            return True, "", files
    say(f"running mkdocs build ({gen.pages} pages)…")
    fresh = Path(tempfile.mkdtemp(prefix=MKDOCS_TMP, dir=work))  # this process's own
    fresh.chmod(0o755)
    ok, log = run_mkdocs(gen.config, fresh.resolve())
    if not ok:
        shutil.rmtree(fresh, ignore_errors=True)
        return False, log, {}
    state.forget_mkdocs_seal(work)
    shutil.rmtree(built, ignore_errors=True)
    os.replace(fresh, built)
    files = _file_digests(built)
    state.write_mkdocs_files(work, files, secret, gen.mkdocs_key)
    return True, "", files


def _intact(built: Path, work: Path) -> dict[str, str] | None:
    """The kept output's listing, when mkdocs' output still has exactly the files it had (the
    work folder is a cache: a file deleted from it must mean running mkdocs again)."""
    files = state.read_mkdocs_files(work)
    return files if files is not None and set(files) == _file_names(built) else None


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
