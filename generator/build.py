"""The build: the stages in order, each in its own module. Check the folders (folders.py),
load and check the datasets (pipeline.py, reusing the memo: state.py), write the docs folder
and run mkdocs when what it reads changed (mkdocs_site.py), index the search on a thread
(searchdb.py), plan the site (plan.py) and place it (place.py).

Rebuilds do the work of what changed: the memo answers for dataset lines seen before, mkdocs
runs only when what it reads changed, every file of the site has a key and only files whose
key changed are written. Nothing in the site changes before every stage has succeeded, so a
failed build leaves the previous site as it was.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import sys
import threading
import time
from pathlib import Path

from . import searchdb, state, urls
from .folders import (
    BuildError,
    check_dataset_names,
    check_inputs,
    check_output,
    check_work,
    clear_leftovers,
    exclusive,
    make_work,
    project_root,
)
from .load import LOADER_RULES
from .memo import code_digest
from .mkdocs_site import Generated, generate, run_mkdocs_if_needed
from .pipeline import Timings, discover, run
from .place import SiteUnchanged, Wanted, place
from .plan import PlanError, begin_page_digests, plan_site


def build_once(
    paths: list[Path],
    source_root,
    work: Path,
    out: Path,
    site_url: str | None,
    say,
    live: bool = False,
    timings: Timings | None = None,
    compare: str | None = None,
    root: Path | None = None,
):
    """One build into `out` of the project at `root` (default: project_root()). Returns (ok,
    results). Nothing in `out` changes unless every stage succeeded; then only the files that
    changed are replaced (see place.py)."""
    root = root if root is not None else project_root()
    check_inputs(root)
    check_work(work, root)
    check_output(out, work, root, serving=live)
    check_dataset_names(paths)
    stems = [p.stem for p in paths]
    folders = [urls.slug(s) for s in stems]  # a dataset's pages, data and memo go by this name
    if len(set(folders)) != len(folders):
        dup = sorted(s for s, f in zip(stems, folders, strict=True) if folders.count(f) > 1)
        raise BuildError(
            f"datasets {', '.join(repr(d) for d in dup)} would share the folder datasets/{urls.slug(dup[0])}/: "
            "rename one file"
        )
    make_work(work)
    with exclusive(work, out), collector_paused():  # one build at a time per work folder and per site folder
        return _build_locked(paths, source_root, work, out, site_url, say, live, timings, root, stems, compare)


@contextlib.contextmanager
def collector_paused():
    """Python's cyclic garbage collector paused for one build. A build makes almost no cyclic
    garbage (80 objects after 10,000 records; reference counting frees the rest), but each
    full collection walks every object the build holds: 0.1-0.15 s a build at 10,000 records,
    and pages copied in the forked children (halves.py) for nothing."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _build_locked(
    paths,
    source_root,
    work: Path,
    out: Path,
    site_url,
    say,
    live,
    timings,
    root: Path,
    stems: list[str],
    compare: str | None,
):
    timings = timings or Timings()
    t0 = time.perf_counter()
    clear_leftovers(work, out)
    memos = {stem: state.read_memo(state.memo_path(work, stem)) for stem in stems}
    results = run(paths, source_root, progress=say, timings=timings, memos=memos)
    diffs = _compare(paths, results, compare, source_root, timings, say) if compare is not None else None
    gen = generate(results, work, root, site_url, timings, say, live=live, diffs=diffs)
    check_data_names(gen)
    # The example pages' digests are begun now, on the other core (plan.begin_page_digests).
    page_digests = begin_page_digests(gen.site)
    indexing = None
    try:
        t = time.perf_counter()
        # A search database written afresh is written on a thread while mkdocs runs (a child
        # process) and the example pages are written (sqlite3 lets go of the GIL): on two cores
        # they overlap. Its key is known first, so the site's plan does not wait for it; placing
        # its file does. An edit is applied to it at once (index_search).
        indexing, db_file, db_version = index_search(gen.site, work, root)
        gen = dataclasses.replace(gen, data={**gen.data, searchdb.VERSION_PATH: db_version})
        return _after_indexing(gen, db_file, page_digests, work, out, say, timings, t, t0, results, indexing)
    finally:
        page_digests.cancel()  # when planning never took them (a failure)
        if indexing is not None:
            indexing.join_quietly()


def _compare(paths, results, compare: str, source_root, timings: Timings, say) -> dict:
    """build --compare: each dataset against the ref or file `compare` (against.py)."""
    from .against import compare_dataset

    t = time.perf_counter()
    diffs = {
        r.config.stem: compare_dataset(p, compare, source_root, new_result=r)[0]
        for p, r in zip(paths, results, strict=True)
    }
    timings.add("compare", time.perf_counter() - t)
    for stem, d in diffs.items():
        say(
            f"{stem} against {compare}: "
            + ", ".join(f"{n} {s}" for s, n in d.counts().items())
            + f"; {len(d.new_findings)} findings new, {len(d.fixed_findings)} fixed"
        )
    return diffs


def _after_indexing(
    gen: Generated,
    db_file: Wanted,
    page_digests,
    work: Path,
    out: Path,
    say,
    timings,
    t: float,
    t0: float,
    results,
    indexing,
):
    ok, log, mkdocs_files = run_mkdocs_if_needed(gen, work, say)
    timings.add("mkdocs build", time.perf_counter() - t)
    if not ok:
        print(log, file=sys.stderr)
        print(f"error: mkdocs build failed; {out}/ was left as it was", file=sys.stderr)
        return False, results
    t = time.perf_counter()
    manifest = state.manifest_path(work, out)
    previous = state.previous_keys(out, manifest)
    try:
        wanted, example_pages = plan_site(gen, mkdocs_files, work, out, previous, page_digests)
    except PlanError as e:
        print(f"error: {e}; {out}/ was left as it was", file=sys.stderr)
        return False, results
    wanted[searchdb.SITE_PATH] = db_file  # last: the database is copied once its thread is done
    try:
        changed = place(wanted, out, manifest, previous)
    except SiteUnchanged as e:
        print(f"error: {e}; {out}/ was left as it was", file=sys.stderr)
        return False, results
    # An example page is rendered when, and only when, its file is written.
    rendered = len(example_pages) if changed < 0 else sum(previous.get(rel) != wanted[rel].key for rel in example_pages)
    say(f"{len(example_pages)} example pages ({rendered} rendered, the rest unchanged)")
    say(f"{out}/: {changed} files replaced or removed" if changed >= 0 else f"{out}/: laid out afresh")
    for r in results:
        if r.memo is not None:
            state.write_memo(state.memo_path(work, r.config.stem), r.memo)
    timings.add("example pages", time.perf_counter() - t)
    timings.add("search index", indexing.join_timed())  # its own time, on its thread
    print(_summary(gen.site.datasets, out, time.perf_counter() - t0), flush=True)
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


class _finished:
    """Work done already, with _in_thread's interface."""

    def __init__(self, out, seconds: float):
        self._out, self.seconds = out, seconds

    def join(self, timeout=None):
        return self._out

    def join_timed(self) -> float:
        return self.seconds

    def join_quietly(self) -> None:
        pass


def index_search(site, work: Path, root: Path) -> tuple[_in_thread | _finished, Wanted, bytes]:
    """Update the search and table database in the work folder (searchdb.py): an edit in
    place, now; a database written afresh, on a thread. Returns the work (joined for its
    result), the database's file of the site (searchdb.SITE_PATH, keyed by the keys of its
    rows, which are known before the rows are built; copied once the work is done) and the
    bytes of its version file (searchdb.VERSION_PATH)."""
    pages = []
    for page in site.pages:
        if page.standalone or page.template == "shell.md.j2":
            continue
        dataset = page.context.get("stem", "") if isinstance(page.context, dict) else ""
        title = page.title + (f" · {page.context.get('dataset_title')}" if page.context.get("dataset_title") else "")
        pages.append(
            (title, page.path, dataset or "", page.context.get("path", "") if page.template == "source.md.j2" else "")
        )
    for path in sorted((root / "docs").glob("*.md")):
        text = path.read_text(encoding="utf-8", errors="replace")
        title = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), path.stem)
        pages.append((title, path.name, "", text))
    db = work / "search" / "site.sqlite3"
    code = code_digest()
    planned = searchdb.rows_wanted(site.datasets, pages, code)
    key = planned[2]
    # An edit changes a few rows: done here and now, in milliseconds (on a thread, its many
    # short steps would wait for the interpreter lock behind this thread's work). A database
    # written afresh is seconds of SQLite, which lets go of the lock: that goes on a thread.
    t = time.perf_counter()
    done = searchdb.update_in_place(db, site.datasets, planned)
    if done is not None:
        indexing = _finished(done, time.perf_counter() - t)
    else:
        indexing = _in_thread(searchdb.write_afresh, db, site.datasets, planned)

    # The version file is the browser's cache key for the database.
    return indexing, Wanted("data:searchdb:" + key, path=db, ready=indexing.join), key.encode() + b"\n"


def check_data_names(gen: Generated) -> None:
    """The dataset download sits beside the site's table data: refuse a dataset file named
    like one of those files (a histogram) rather than let one overwrite the other."""
    clash = sorted(set(gen.copies) & set(gen.data))
    if clash:
        source = gen.copies[clash[0]][0]
        raise BuildError(
            f"{source}: a dataset file with this name would overwrite the site's own {clash[0]}; rename the dataset"
        )


def build_site(args, source_root, say=None) -> int:
    quiet = getattr(args, "quiet", False)
    say = say or (print if not quiet else (lambda *a, **k: None))
    root = project_root(getattr(args, "project", None))
    paths = discover(args.dataset, root)
    compare = getattr(args, "compare", None)
    from .against import AgainstError, as_file, check_against

    if compare is not None:
        check_against(compare, "--compare")
    if compare is not None and len(paths) > 1 and as_file(compare) is not None:
        raise AgainstError(f"--compare {compare}: a file compares with one dataset; name it with --dataset")
    site_url = getattr(args, "site_url", None)
    ok, results = build_once(
        paths, source_root, Path(args.work), Path(args.out), site_url, say, compare=compare, root=root
    )
    if not ok:
        return 1
    line_reports = [f for r in results for f in r.findings if f.on_dataset and f.rule in LOADER_RULES]
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
