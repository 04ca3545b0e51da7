"""Scale benchmark: synthesise datasets, build each with the full pipeline and with a naive
mkdocs baseline in the same run, measure the reader in Chromium (bench/reader.py: search,
tables, page loads), and print the figures.

    python bench/run.py                      # 1,000, 10,000 and 100,000 records (about 6 minutes)
    python bench/run.py --sizes 1000,10000   # the baseline's sizes only
    python bench/run.py --source-root ../shared/corpus/svix-webhooks
    python bench/run.py --scratch /dev/shm/bench   # on tmpfs: the CPU's share, without the disk's

It also times `diff` of each dataset against a copy with 100 changes (edits, inserts, deletes,
moves; bench/out/data/changed/) and prints that as a share of the full build.

Each measurement runs in a fresh process so peak memory is its own. Output goes to bench/out/
(ignored by git); dataset/ is never touched.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))


def peak_mb(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def dir_stats(site: Path) -> dict:
    total, largest, largest_name, pages = 0, 0, "", 0
    for p in site.rglob("*"):
        if p.is_file():
            size = p.stat().st_size
            total += size
            if p.suffix == ".html":
                pages += 1
                if size > largest:
                    largest, largest_name = size, str(p.relative_to(site))
    search = site / "search" / "site.sqlite3"  # the search and table database (the naive site: lunr's index)
    if not search.exists():
        search = site / "search" / "search_index.json"
    return {
        "site_bytes": total,
        "pages": pages,
        "largest_page_bytes": largest,
        "largest_page": largest_name,
        "search_bytes": search.stat().st_size if search.exists() else 0,
    }


def measure_pipeline(jsonl: Path, source_root: Path, work: Path, out: Path) -> dict:
    """The real build (build_once, as `python -m generator build` runs it), timed by stage;
    peak memory is the process's (mkdocs, a child, is measured on its own)."""
    from generator.build import build_once
    from generator.pipeline import Timings

    timings = Timings()
    t0 = time.perf_counter()
    rendered = []
    ok, _ = build_once([jsonl], source_root, work, out, None, say=lambda msg: rendered.append(msg), timings=timings)
    if not ok:
        raise SystemExit("build failed")
    total = time.perf_counter() - t0
    stages = {
        name: {"seconds": seconds, "peak_mb": timings.peaks.get(name, 0.0)} for name, seconds in timings.stages.items()
    }
    if "mkdocs build" in stages:  # mkdocs runs as a child process: its own peak
        stages["mkdocs build"]["peak_mb"] = max(stages["mkdocs build"]["peak_mb"], peak_mb(resource.RUSAGE_CHILDREN))
    placed = next((m for m in rendered if m.endswith(" the rest unchanged)")), "0 example pages (0 rendered")
    n_rendered = int(placed.split("(")[1].split()[0])
    return {"stages": stages, "total_seconds": total, "peak_mb": peak_mb(), "rendered": n_rendered, **dir_stats(out)}


def measure_diff(changed: Path, original: Path, source_root: Path) -> dict:
    """`python -m generator diff --dataset CHANGED --against file:ORIGINAL`, in process: both
    versions through the check pipeline, matched and compared."""
    from generator.against import compare_dataset

    t0 = time.perf_counter()
    d, _ = compare_dataset(changed, f"file:{original}", source_root)  # a file, never taken for a ref
    return {
        "total_seconds": time.perf_counter() - t0,
        "peak_mb": peak_mb(),
        "counts": d.counts(),
        "new_findings": len(d.new_findings),
        "fixed": len(d.fixed_findings),
    }


NAIVE_MKDOCS = """site_name: naive baseline
theme:
  name: material
  font: false
plugins:
  - search
nav:
  - Home: index.md
"""


def measure_naive(jsonl: Path, work: Path, out: Path) -> dict:
    """One plain Markdown page per record, code in a fenced block, same theme, bounded nav."""
    import orjson

    docs = work / "docs"
    shutil.rmtree(work, ignore_errors=True)
    docs.mkdir(parents=True)
    (work / "mkdocs.yml").write_text(NAIVE_MKDOCS)
    (docs / "index.md").write_text("# Naive baseline\n")
    t0 = time.perf_counter()
    with open(jsonl, "rb") as fh:
        for n, line in enumerate(fh, start=1):
            rec = orjson.loads(line)
            user, assistant = rec["messages"][1]["content"], rec["messages"][2]["content"]
            think, _, code = assistant.partition("\n</think>\n\n")
            (docs / f"r{n}.md").write_text(
                f"# Record {n}\n\n## Request\n\n{user}\n\n## Reasoning\n\n{think[len('<think>') :]}"
                f"\n\n## Code\n\n````rust\n{code}\n````\n"
            )
    write_s = time.perf_counter() - t0
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(work / "mkdocs.yml"), "-d", str(out)],
        capture_output=True,
        text=True,
    )
    if proc.returncode:
        raise SystemExit(proc.stderr)
    return {
        "stages": {
            "write markdown": {"seconds": write_s},
            "mkdocs build": {"seconds": time.perf_counter() - t, "peak_mb": peak_mb(resource.RUSAGE_CHILDREN)},
        },
        "total_seconds": time.perf_counter() - t0,
        "peak_mb": max(peak_mb(), peak_mb(resource.RUSAGE_CHILDREN)),
        **dir_stats(out),
    }


EDIT_RUNS = 3  # rebuilds after an edit, each in a fresh process; the median is reported


def edit_one_record(jsonl: Path) -> None:
    """Change the request of the middle record (a reviewer's typical edit)."""
    lines = jsonl.read_bytes().split(b"\n")
    mid = len(lines) // 2
    lines[mid] = lines[mid].replace(b'"role":"user","content":"', b'"role":"user","content":"(edited) ', 1)
    jsonl.write_bytes(b"\n".join(lines))


def child(args) -> None:
    global OUT
    OUT = Path(args.scratch)
    size, kind = args.child.split(":")
    jsonl = OUT / "data" / f"bench_{size}.jsonl"
    flavour = "naive" if kind == "naive" else "pipeline"
    work, out = OUT / f"work-{flavour}-{size}", OUT / f"site-{flavour}-{size}"
    if kind == "naive":
        res = measure_naive(jsonl, work, out)
    elif kind == "diff":
        res = measure_diff(
            OUT / "data" / "changed" / jsonl.name, OUT / "data" / "original" / jsonl.name, Path(args.source_root)
        )
    else:
        if kind == "full":
            shutil.rmtree(work, ignore_errors=True)
        res = measure_pipeline(jsonl, Path(args.source_root), work, out)
    print(json.dumps(res))


def spawn(spec: str, source_root: str) -> dict:
    # Each measurement starts with the disk's write-back done: otherwise it pays for the
    # previous one's writes (a rebuild right after a 350 MB full build, say).
    os.sync()
    proc = subprocess.run(
        [sys.executable, __file__, "--child", spec, "--source-root", source_root, "--scratch", str(OUT)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if proc.returncode:
        raise SystemExit(f"{spec} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def print_reader(rd: dict) -> None:
    """The browser figures (bench/reader.py): cold cache per query; engine = the vendored
    SQLite worker + WebAssembly (fetched once per reader, then cached), data = database reads."""
    print("search, cold cache (typed → results shown; bytes beyond the page itself):")
    for q, v in rd["queries"].items():
        print(
            f"  {q:<20}{v['seconds']:>6.2f} s {v['results']:>7} results  {v['bytes'] / 1e3:>6.0f} KB = engine "
            f"{v['engine_bytes'] / 1e3:.0f} KB + data {v['data_bytes'] / 1e3:.0f} KB"
        )
    print(
        f"  median {rd['search_median_seconds']:.2f} s; most bytes {rd['search_max_bytes'] / 1e3:.0f} KB (data "
        f"{rd['search_max_data_bytes'] / 1e3:.0f} KB)"
    )
    print(
        f"examples table: first page interactive {rd['table_interactive_seconds']:.2f} s after navigation "
        f"({rd['table_page_bytes'] / 1e3:.0f} KB with the theme)"
    )
    for name in ("sort", "filter", "next_page"):
        v = rd[name]
        print(
            f"  {name:<10}{v['seconds']:>6.2f} s  {v['bytes'] / 1e3:>6.0f} KB (engine "
            f"{v['engine_bytes'] / 1e3:.0f} KB, data {v['data_bytes'] / 1e3:.0f} KB)"
        )
    print(f"page loads beyond the theme's assets: max {rd['max_page_load_bytes'] / 1e3:.0f} KB ({rd['max_page_load']})")


def fmt_mb(b: float) -> str:
    return f"{b / 1e6:.1f} MB"


def main() -> None:
    global OUT
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument(
        "--source-root",
        default=os.environ.get("DATASET_SOURCE_ROOT", str(ROOT.parent / "shared" / "corpus" / "svix-webhooks")),
    )
    ap.add_argument("--no-naive", action="store_true", help="skip the naive baseline (e.g. for 100,000)")
    ap.add_argument("--no-diff", action="store_true", help="skip the diff of two versions")
    ap.add_argument(
        "--scratch",
        default=str(OUT),
        metavar="DIR",
        help="where datasets, work folders and sites go (default: bench/out/)",
    )
    ap.add_argument(
        "--no-reader", action="store_true", help="skip the browser measurements (search, tables, page loads)"
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    OUT = Path(args.scratch)
    from synth import write_changed, write_dataset

    sizes = [int(s) for s in args.sizes.split(",")]
    rows = {}
    for n in sizes:
        print(f"== {n:,} records", flush=True)
        jsonl = write_dataset(OUT / "data", n, Path(args.source_root))
        full = spawn(f"{n}:full", args.source_root)
        rows[n] = {"full": full}
        print(f"  pipeline: {full['total_seconds']:.1f} s, peak {full['peak_mb']:.0f} MB", flush=True)
        if not args.no_reader:
            from reader import measure

            rows[n]["reader"] = measure(OUT / f"site-pipeline-{n}", f"bench_{n}")
            print(f"  reader: first results {rows[n]['reader']['search_median_seconds']:.2f} s (median)", flush=True)
        if not args.no_diff:
            original = OUT / "data" / "original" / jsonl.name
            original.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(jsonl, original)
            shutil.copy(jsonl.with_suffix(".toml"), original.with_suffix(".toml"))
            shutil.copy(jsonl.with_name(jsonl.stem + ".lock.json"), original.with_name(jsonl.stem + ".lock.json"))
            _, made = write_changed(original, OUT / "data" / "changed", 100)
            dif = spawn(f"{n}:diff", args.source_root)
            dif["made"] = made
            rows[n]["diff"] = dif
            print(f"  diff of 100 changes: {dif['total_seconds']:.2f} s", flush=True)
        runs = []  # a rebuild is short: one run is at the mercy of the machine, so report the median of a few
        for _ in range(EDIT_RUNS):
            edit_one_record(jsonl)
            runs.append(spawn(f"{n}:incremental", args.source_root))
        inc = sorted(runs, key=lambda r: r["total_seconds"])[len(runs) // 2]
        inc["runs_seconds"] = [r["total_seconds"] for r in runs]
        rows[n]["incremental"] = inc
        print(
            f"  one record edited, rebuilt: {inc['total_seconds']:.1f} s median of {len(runs)} "
            f"({inc['rendered']} pages rendered)",
            flush=True,
        )
        if not args.no_naive and n <= 20000:
            naive = spawn(f"{n}:naive", args.source_root)
            rows[n]["naive"] = naive
            print(f"  naive baseline: {naive['total_seconds']:.1f} s", flush=True)
    print()
    for n, r in rows.items():
        f = r["full"]
        print(f"## {n:,} records")
        print(f"{'stage':<16}{'seconds':>10}{'peak MB':>10}   (peak so far at the end of each stage)")
        for name, st in f["stages"].items():
            peak = f"{st['peak_mb']:>10.0f}" if "peak_mb" in st else f"{'':>10}"
            print(f"{name:<16}{st['seconds']:>10.2f}{peak}")
        print(f"{'total':<16}{f['total_seconds']:>10.2f}{f['peak_mb']:>10.0f}")
        print(f"pages/s: {f['pages'] / f['total_seconds']:.0f}   per record: {1000 * f['total_seconds'] / n:.2f} ms")
        print(
            f"site: {fmt_mb(f['site_bytes'])} in {f['pages']} pages; largest page "
            f"{f['largest_page_bytes'] / 1e3:.0f} KB ({f['largest_page']})"
        )
        idx_s = f["stages"].get("search index", {}).get("seconds", 0.0)
        print(
            f"search database: {fmt_mb(f['search_bytes'])} ({f['search_bytes'] / n:.0f} bytes per record), "
            f"built in {idx_s:.2f} s ({1e6 * idx_s / n:.0f} µs per record, beside mkdocs)"
        )
        print(f"site bytes per record: {f['site_bytes'] / n / 1e3:.1f} KB")
        if "reader" in r:
            print_reader(r["reader"])
        inc = r["incremental"]
        print(
            f"edit one record + rebuild: {inc['total_seconds']:.2f} s = "
            f"{100 * inc['total_seconds'] / f['total_seconds']:.1f}% of a full build (median of "
            + ", ".join(f"{x:.2f}" for x in inc.get("runs_seconds", [inc["total_seconds"]]))
            + " s)"
        )
        print("  by stage: " + ", ".join(f"{name} {st['seconds']:.2f}" for name, st in inc["stages"].items()))
        if "diff" in r:
            dif = r["diff"]
            ratio = dif["total_seconds"] / f["total_seconds"]
            print(
                f"diff of two versions, 100 changes ({', '.join(f'{v} {k}' for k, v in dif['made'].items())} "
                f"made): {dif['total_seconds']:.2f} s = {ratio:.2f}x a full build (target <= 0.5x: "
                f"{'met' if ratio <= 0.5 else 'NOT met'}), peak {dif['peak_mb']:.0f} MB"
            )
            print("  found: " + ", ".join(f"{v} {k}" for k, v in dif["counts"].items()))
        if "naive" in r:
            nv = r["naive"]
            print(
                f"naive baseline: {nv['total_seconds']:.2f} s (mkdocs "
                f"{nv['stages']['mkdocs build']['seconds']:.2f} s), site {fmt_mb(nv['site_bytes'])}, search "
                f"index {fmt_mb(nv['search_bytes'])}"
            )
            print(f"ratio pipeline / naive: {f['total_seconds'] / nv['total_seconds']:.2f}x")
        print()
    if len(rows) >= 2:
        small, big = sizes[0], sizes[1]
        a = rows[small]["full"]["total_seconds"] / small
        b = rows[big]["full"]["total_seconds"] / big
        print(f"per-record cost at {big:,} / at {small:,}: {b / a:.2f}x")


if __name__ == "__main__":
    main()
