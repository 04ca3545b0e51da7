"""Run the stages for a set of datasets: load → index/lock → link → check.

The result is plain data that `check` prints and `build` renders. Nothing here writes a file.
"""

from __future__ import annotations

import os
import time
from array import array
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from . import checks
from .config import ConfigError, DatasetConfig, load_config
from .index import SourceError, index_source
from .link import LineIndex, coverage_of, locate
from .load import DatasetUnreadable, check_input, load_lines, split_assistant
from .lock import LockError, drift, read_lock
from .memo import Memo, code_digest, context_digest
from .model import Example, Finding, Segment, SourceIndex


class PipelineError(Exception):
    """Input that cannot be used at all (exit 2)."""


@dataclass
class DatasetResult:
    config: DatasetConfig
    examples: list[Example]
    findings: list[Finding]  # every finding of this dataset, per-record ones included
    index: SourceIndex  # what the examples were linked against (lock when present)
    source: SourceIndex | None  # the checkout's index (with text) when a source root was given
    covered: dict[str, list[str]]  # item ident → example keys that cover it wholly
    partly: dict[str, list[str]]  # item ident → example keys that cover part of it
    lines_covered: dict[str, set[int]]  # source path → covered line numbers
    lock_present: bool = False
    memo: Memo | None = None  # what this run learnt, for the next build (build saves it)
    file_digest: str = ""  # of the dataset file's bytes as loaded
    file_stat: tuple[int, int] | None = None  # its (size, mtime) just before loading
    card: str | None = None  # the dataset card's Markdown (README.md beside the dataset), if any

    def text_for(self, path: str) -> str | None:
        """Source text usable for pages: only when it is the pinned (locked) text."""
        if self.source is None or path not in self.source.files or path not in self.index.files:
            return None
        src = self.source.files[path]
        if self.index.files[path].sha256 != src.sha256:
            return None
        return src.text


@dataclass
class Timings:
    """Seconds per stage, and the process's peak memory (MB) when each stage ended."""

    stages: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    peaks: dict[str, float] = field(default_factory=dict)

    def add(self, stage: str, seconds: float) -> None:
        import resource

        self.stages[stage] += seconds
        self.peaks[stage] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def discover(dataset_args: list[str] | None, root: Path) -> list[Path]:
    if dataset_args:
        found = [Path(d) for d in dataset_args]
    else:
        found = sorted(_relative((root / "dataset")).glob("*.jsonl"))
        if not found:
            raise PipelineError(f"{root / 'dataset'}: no *.jsonl datasets found (name one with --dataset)")
    for path in found:
        try:
            str(path).encode("utf-8")
        except UnicodeEncodeError:  # undecodable bytes of the name, kept by the file system encoding
            raise PipelineError(f"{os.fsencode(path)!r}: a dataset file name must be UTF-8 (its pages and links are named after it); rename the file") from None
        if "\0" in str(path):
            raise PipelineError(f"{str(path)!r}: a dataset file name cannot hold a NUL")
    return found


def _relative(path: Path) -> Path:
    """Shorter paths in messages: relative to the working directory when inside it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def run(
    jsonl_paths: list[Path],
    source_root: Path | None,
    progress=None,
    timings: Timings | None = None,
    memos: dict[str, Memo] | None = None,
) -> list[DatasetResult]:
    """Every dataset through the stages. `memos` (by dataset stem) are earlier builds' memos."""
    timings = timings or Timings()
    results = []
    for path in jsonl_paths:
        results.append(run_one(path, source_root, progress, timings, (memos or {}).get(path.stem)))
    return results


def run_one(path: Path, source_root: Path | None, progress=None, timings: Timings | None = None, memo: Memo | None = None) -> DatasetResult:
    timings = timings or Timings()
    say = progress or (lambda msg: None)
    t = time.perf_counter()
    try:  # links out of the dataset's folder, devices, files over the cap
        for p in (path, path.with_suffix(".toml"), path.with_name(path.stem + ".lock.json")):
            check_input(p)
    except DatasetUnreadable as e:
        raise PipelineError(str(e)) from None
    try:
        config = load_config(path)
    except ConfigError as e:
        raise PipelineError(str(e)) from None
    try:
        st = path.stat()
        stat = (st.st_size, st.st_mtime_ns)
    except OSError:
        stat = None  # load_dataset says why
    try:
        records, findings, line_memos, file_digest = load_lines(path, config.stem, memo.lines if memo else None)
    except DatasetUnreadable as e:
        raise PipelineError(str(e)) from None
    say(f"{path}: read {len(records)} records ({len(findings)} line reports)")
    timings.add("load", time.perf_counter() - t)

    t = time.perf_counter()
    lock_index = None
    if config.lock_path.exists():
        try:
            lock_index, lock_meta = read_lock(config.lock_path)
        except LockError as e:
            raise PipelineError(str(e)) from None
        if lock_meta.get("commit") != config.commit:
            findings.append(Finding("drift.lock-commit", "error", str(config.lock_path), 0, f"lock pins commit {lock_meta.get('commit')} but the config pins {config.commit}; rewrite it with `python -m generator lock`", config.stem))
    source_index = None
    if source_root is not None:
        try:
            source_index, source_findings = index_source(source_root, list(config.scope_files), config.max_file_bytes, config.parse_timeout)
        except SourceError as e:
            raise PipelineError(str(e)) from None
        findings += [_with_dataset(f, config.stem) for f in source_findings]
        if lock_index is not None:
            findings += [_with_dataset(f, config.stem) for f in drift(lock_index, source_index, config.lock_path)]
    if lock_index is None and source_index is None:
        raise PipelineError(f"{path}: no source to link against: give --source-root DIR (or DATASET_SOURCE_ROOT), or commit {config.lock_path.name}")
    index = lock_index if lock_index is not None else source_index
    if lock_index is not None and source_index is not None:
        # Same bytes as pinned: use the checkout's entry, which also carries the text (for diffs).
        # A scoped file the lock does not know yet (drift.file-new) is linked from the checkout.
        merged = {p: f for p, f in source_index.files.items() if p not in lock_index.files}
        merged.update({p: (source_index.files[p] if p in source_index.files and source_index.files[p].sha256 == f.sha256 else f) for p, f in lock_index.files.items()})
        index = SourceIndex(dict(sorted(merged.items())), from_lock=True)
    say(f"{path}: indexed {sum(len(f.items) for f in index.files.values())} items in {len(index.files)} files" + (" (from the lock)" if index.from_lock else ""))
    timings.add("index", time.perf_counter() - t)

    t = time.perf_counter()
    examples = link_examples(records, index)
    if source_root is not None:
        find_outside_scope(examples, source_root, set(config.scope_files), config.max_file_bytes)
    drifted_source = source_index is not None and lock_index is not None and any(
        source_index.files.get(p) is None or source_index.files[p].sha256 != f.sha256 for p, f in lock_index.files.items()
    )
    drift_findings = []
    if drifted_source:
        current = LineIndex.build(source_index)
        located_now: dict[str, list] = {}
        for ex in examples:
            if ex.code not in located_now:
                located_now[ex.code] = locate(current, ex.code)
            now = located_now[ex.code]
            was = {(s.index, s.status) for s in ex.segments}
            for seg in now:
                if seg.status != "verbatim" and (seg.index, "verbatim") in was:
                    drift_findings.append(Finding("drift.example", "error", str(ex.record.path), ex.record.line, f"segment {seg.index + 1} matched the pinned source but no longer matches the source root", config.stem, seg.diff))
    covered, partly, lines_covered = aggregate(examples)
    timings.add("link", time.perf_counter() - t)

    t = time.perf_counter()
    # Per-record findings of the schema and reasoning rules depend on the record and on this
    # context only: an earlier build's are reused while the context is the same.
    lock_bytes = config.lock_path.read_bytes() if lock_index is not None else b""
    context = context_digest(code_digest(), config.fingerprint(), lock_bytes, index_digest(index))
    fresh = Memo(context, line_memos)
    known = checks.KnownNames(index, config)
    record_findings: list[Finding] = []
    per_code: dict = {}
    names_per_code: dict = {}
    for ex in examples:
        r = ex.record
        cached = memo.findings_for(r.digest, context) if memo is not None else None
        if cached is None:
            own = checks.check_schema(ex, config) + checks.check_reasoning(ex, config, known, names_per_code)
            cached = tuple((f.rule, f.severity, f.message, f.detail) for f in own)
        else:
            fresh.hits += 1
            own = [Finding(rule, severity, str(r.path), r.line, message, r.dataset, detail) for rule, severity, message, detail in cached]
        fresh.findings[r.digest] = cached
        record_findings += own
        record_findings += checks.check_fidelity_scope(ex, config, index, per_code)
    contents, sets, phrases = remember_lines(examples, line_memos)
    dups, fresh.near = checks.check_duplicates(examples, config, contents, sets, memo.near if memo is not None else None)
    record_findings += dups
    record_findings += checks.check_boilerplate(examples, config, phrases)
    whole = checks.check_coverage(config, index, covered)
    all_findings = checks.apply_severity(config, findings + drift_findings + record_findings + whole)
    all_findings.sort(key=lambda f: (f.path, f.line, f.rule, f.message))
    by_record: dict[tuple[str, int], list[Finding]] = defaultdict(list)
    for f in all_findings:
        by_record[(f.path, f.line)].append(f)
    for ex in examples:
        ex.findings = by_record.get((str(ex.record.path), ex.record.line), [])
    timings.add("check", time.perf_counter() - t)
    reused = f" (checks of {fresh.hits} unchanged records reused)" if memo is not None and memo.lines else ""
    say(f"{path}: {len(all_findings)} findings{reused}")
    return DatasetResult(config, examples, all_findings, index, source_index, covered, partly, lines_covered, lock_index is not None, fresh, file_digest, stat, read_card(path))


def read_card(jsonl: Path) -> str | None:
    """The README.md beside a dataset (its card), when it is a readable UTF-8 file."""
    card = jsonl.parent / "README.md"
    try:
        if card.is_file() and not card.is_symlink():
            return card.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        pass
    return None


def index_digest(index: SourceIndex) -> str:
    """Everything per-record findings read from the index: each file's hash, identifiers and
    items. The same file gives other names from the lock than from a checkout when the lock
    was written by another version of the indexer."""
    parts = []
    for path in sorted(index.files):
        f = index.files[path]
        parts.append([path, f.sha256, sorted(f.identifiers), [[i.kind, i.name, i.start_line, i.end_line, i.in_test] for i in f.items]])
    return context_digest(orjson.dumps(parts))


def remember_lines(examples: list[Example], line_memos) -> tuple[list[bytes], list, list]:
    """Each example's identical-record digest, request shingles and reasoning phrase hashes
    (as packed arrays: 8 bytes a hash, where a frozenset costs ~60), from the memo or computed
    and then kept in it; its sizes are set on the example for the views."""
    contents, sets, phrases = [], [], []
    for ex in examples:
        lm = line_memos[ex.record.digest]
        if lm.content is None:
            lm.content = checks.content_digest(ex.record)
            lm.shingles = array("Q", sorted(checks.shingles(ex.record.user))).tobytes()
            phrase_hashes, negated = checks.phrase_set(ex.think)
            lm.phrases = array("q", sorted(phrase_hashes)).tobytes()
            lm.negated = array("q", sorted(negated)).tobytes()
            lm.sizes = (len(ex.record.user.split()), len(ex.think.split()), ex.code.count("\n") + 1)
        sets.append(array("Q", lm.shingles))
        phrases.append((array("q", lm.phrases), array("q", lm.negated)))
        contents.append(lm.content)
        ex.sizes = lm.sizes
    return contents, sets, phrases


def _with_dataset(f: Finding, stem: str) -> Finding:
    return Finding(f.rule, f.severity, f.path, f.line, f.message, stem, f.detail)


def link_examples(records, index: SourceIndex) -> list[Example]:
    li = LineIndex.build(index)
    cache: dict[str, tuple] = {}  # identical code blocks are located once
    examples = []
    for n, rec in enumerate(records, start=1):
        think, code, _ = split_assistant(rec.assistant)
        hit = cache.get(code)
        if hit is None:
            segs = locate(li, code)
            hit = (code, segs, coverage_of(index, segs))
            cache[code] = hit
        # hit[0]: one shared copy of a code block that many records quote
        examples.append(Example(record=rec, number=n, think=think, code=hit[0], segments=list(hit[1]), coverage=hit[2]))
    return examples


def find_outside_scope(examples: list[Example], source_root: Path, scoped: set[str], max_bytes: int = 1_000_000) -> None:
    """Segments not found in the scoped files are looked up in every other .rs file of the
    source root (hashes only, built once and only when needed); a hit becomes a located
    segment in that file, which the scope rule then reports."""
    missing = [(ex, i) for ex in examples for i, s in enumerate(ex.segments) if s.status == "not-found"]
    if not missing:
        return
    from .index import index_lines_only

    wide = index_lines_only(source_root, scoped, max_bytes=max_bytes)
    if not wide.files:
        return
    li = LineIndex.build(wide)
    for ex, i in missing:
        seg = ex.segments[i]
        found = [s for s in locate(li, seg.text) if s.status == "verbatim"]
        if len(found) == 1 and found[0].text == seg.text:
            hit = found[0]
            ex.segments[i] = Segment(seg.index, seg.text, seg.code_start, "verbatim", hit.path, hit.start_line, hit.end_line)


def aggregate(examples: list[Example]):
    covered: dict[str, list[str]] = defaultdict(list)
    partly: dict[str, list[str]] = defaultdict(list)
    lines: dict[str, set[int]] = defaultdict(set)
    by_block: dict[int, tuple] = {}  # examples quoting one code block share its Coverage object
    for ex in examples:
        cov = ex.coverage
        block = by_block.get(id(cov))
        if block is None:
            block = by_block[id(cov)] = (cov, [])
        block[1].append(ex.record.key)
    for cov, keys in by_block.values():  # blocks in order of first use, keys in file order
        for ident in cov.full:
            covered[ident] += keys
        for ident in cov.partial:
            partly[ident] += keys
        for path, s, e in cov.lines:
            lines[path].update(range(s, e + 1))
    return dict(covered), dict(partly), dict(lines)


def has_errors(results: list[DatasetResult]) -> bool:
    return any(f.severity == "error" for r in results for f in r.findings)
