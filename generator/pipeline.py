"""Run the stages for a set of datasets: load → index/lock → link → check.

The result is plain data that `check` prints and `build` renders. Nothing here writes a file.
Each stage below returns new values (an example is never changed once made); only the memo
this run leaves for the next build, and the per-line entries in it, fill in as the checks run.
"""

from __future__ import annotations

import os
import time
from array import array
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import orjson

from . import checks, halves
from .config import ConfigError, DatasetConfig, load_config
from .index import SourceError, index_source
from .link import LineIndex, coverage_of, locate
from .load import DatasetUnreadable, LineMemo, check_input, load_lines, split_assistant
from .lock import LockError, drift, read_lock
from .memo import Memo, code_digest, context_digest
from .model import DatasetResult, Example, Finding, Location, Match, Record, Segment, Severity, SourceIndex
from .rules import finding

# DatasetResult is defined in model; it is named here too for callers that import it from the pipeline.
__all__ = ["DatasetResult", "PipelineError", "Timings", "discover", "has_errors", "run", "run_one"]


class PipelineError(Exception):
    """Input that cannot be used at all (exit 2)."""


@dataclass
class Timings:
    """Seconds per stage, and the process's peak memory (MB) when each stage ended."""

    stages: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    peaks: dict[str, float] = field(default_factory=dict)

    def add(self, stage: str, seconds: float) -> None:
        import resource

        self.stages[stage] += seconds
        self.peaks[stage] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    @contextmanager
    def timed(self, stage: str):
        """Adds the time the block took (when it does not raise)."""
        t = time.perf_counter()
        yield
        self.add(stage, time.perf_counter() - t)


def discover(dataset_args: list[str] | None, root: Path) -> list[Path]:
    if dataset_args:
        found = [Path(d) for d in dataset_args]
    else:
        found = sorted(_relative(root / "dataset").glob("*.jsonl"))
        if not found:
            raise PipelineError(f"{root / 'dataset'}: no *.jsonl datasets found (name one with --dataset)")
    for path in found:
        try:
            str(path).encode("utf-8")
        except UnicodeEncodeError:  # undecodable bytes of the name, kept by the file system encoding
            raise PipelineError(
                f"{os.fsencode(path)!r}: a dataset file name must be UTF-8 (its pages and links are named after "
                "it); rename the file"
            ) from None
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


def run_one(
    path: Path, source_root: Path | None, progress=None, timings: Timings | None = None, memo: Memo | None = None
) -> DatasetResult:
    """One dataset through the stages. `memo` is an earlier build's, whose per-line work is reused."""
    timings = timings or Timings()
    say = progress or (lambda msg: None)
    with timings.timed("load"):
        config, stat, loaded = load_stage(path, memo)
        say(f"{path}: read {len(loaded.records)} records ({len(loaded.findings)} line reports)")
    with timings.timed("index"):
        sources = index_stage(path, config, source_root)
        index = sources.index
        counted = f"{sum(len(f.items) for f in index.files.values())} items in {len(index.files)} files"
        say(f"{path}: indexed {counted}" + (" (from the lock)" if index.from_lock else ""))
    with timings.timed("link"):
        examples = link_examples(loaded.records, index)
        if source_root is not None:
            examples = find_outside_scope(examples, source_root, set(config.scope_files), config.max_file_bytes)
        drift_findings = examples_drifted(examples, sources, config.stem)
        covered, partly, lines_covered = aggregate(examples)
    with timings.timed("check"):
        fresh = Memo(check_context(config, sources), loaded.line_memos)
        found, sizes = rule_findings(examples, config, index, covered, loaded.line_memos, memo, fresh)
        all_findings = checks.apply_severity(config, loaded.findings + sources.findings + drift_findings + found)
        all_findings.sort(key=lambda f: (f.path, f.line, f.rule, f.message))
        examples = with_findings(examples, all_findings, sizes)
    reused = f" (checks of {fresh.hits} unchanged records reused)" if memo is not None and memo.lines else ""
    say(f"{path}: {len(all_findings)} findings{reused}")
    return DatasetResult(
        config=config,
        examples=examples,
        findings=all_findings,
        index=index,
        source=sources.checkout,
        covered=covered,
        partly=partly,
        lines_covered=lines_covered,
        lock_present=sources.lock is not None,
        memo=fresh,
        file_digest=loaded.file_digest,
        file_stat=stat,
        card=read_card(path),
    )


# --- load -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    records: list[Record]
    findings: list[Finding]  # the loader's line reports
    line_memos: dict[bytes, LineMemo]  # by line digest
    file_digest: str


def load_stage(path: Path, memo: Memo | None) -> tuple[DatasetConfig, tuple[int, int] | None, Loaded]:
    """The dataset's config, the file's (size, mtime) before reading, and its records."""
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
    return config, stat, Loaded(records, findings, line_memos, file_digest)


# --- index ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sources:
    index: SourceIndex  # what the examples are linked against
    lock: SourceIndex | None  # the committed lock's, when there is one
    checkout: SourceIndex | None  # the source root's (with text), when one was given
    findings: list[Finding]  # the lock's commit, unusable source files, drift since the lock


def index_stage(path: Path, config: DatasetConfig, source_root: Path | None) -> Sources:
    lock, findings = read_dataset_lock(config)
    checkout = None
    if source_root is not None:
        try:
            checkout, source_findings = index_source(
                source_root, list(config.scope_files), config.max_file_bytes, config.parse_timeout
            )
        except SourceError as e:
            raise PipelineError(str(e)) from None
        findings += [replace(f, dataset=config.stem) for f in source_findings]
        if lock is not None:
            findings += [replace(f, dataset=config.stem) for f in drift(lock, checkout, config.lock_path)]
    if lock is None and checkout is None:
        raise PipelineError(
            f"{path}: no source to link against: give --source-root DIR (or DATASET_SOURCE_ROOT), or commit "
            f"{config.lock_path.name}"
        )
    return Sources(merged_index(lock, checkout), lock, checkout, findings)


def read_dataset_lock(config: DatasetConfig) -> tuple[SourceIndex | None, list[Finding]]:
    """The lock beside the dataset (None when there is none), and a finding when it pins
    another commit than the config."""
    if not config.lock_path.exists():
        return None, []
    try:
        lock, meta = read_lock(config.lock_path)
    except LockError as e:
        raise PipelineError(str(e)) from None
    if meta.get("commit") == config.commit:
        return lock, []
    message = (
        f"lock pins commit {meta.get('commit')} but the config pins {config.commit}; "
        "rewrite it with `python -m generator lock`"
    )
    return lock, [finding("drift.lock-commit", Location.lock(config.lock_path), message, config.stem)]


def merged_index(lock: SourceIndex | None, checkout: SourceIndex | None) -> SourceIndex:
    """The lock when there is one, else the checkout. With both, a file whose bytes are as
    pinned comes from the checkout, which also carries the text (for diffs); a scoped file the
    lock does not know yet (drift.file-new) is linked from the checkout."""
    if lock is None or checkout is None:
        return lock if lock is not None else checkout
    merged = {p: f for p, f in checkout.files.items() if p not in lock.files}
    for p, f in lock.files.items():
        now = checkout.files.get(p)
        merged[p] = now if now is not None and now.sha256 == f.sha256 else f
    return SourceIndex(dict(sorted(merged.items())), from_lock=True)


# --- link -------------------------------------------------------------------------------------


def link_examples(records, index: SourceIndex) -> list[Example]:
    li = LineIndex.build(index)
    cache: dict[str, tuple] = {}  # identical code blocks are located once
    examples = []
    for n, rec in enumerate(records, start=1):
        think, code, _ = split_assistant(rec.assistant)
        hit = cache.get(code)
        if hit is None:
            segs = tuple(locate(li, code))
            hit = (code, segs, coverage_of(index, segs))
            cache[code] = hit
        # hit[0]: one shared copy of a code block that many records quote
        examples.append(Example(record=rec, number=n, think=think, code=hit[0], segments=hit[1], coverage=hit[2]))
    return examples


def find_outside_scope(
    examples: list[Example], source_root: Path, scoped: set[str], max_bytes: int = 1_000_000
) -> list[Example]:
    """Segments not found in the scoped files are looked up in every other .rs file of the
    source root (hashes only, built once and only when needed); a hit becomes a located
    segment in that file, which the scope rule then reports. Returns the examples with those
    segments located."""
    not_found = Match.NOT_FOUND  # looked up once: an enum member's lookup is slow
    missing = [k for k, ex in enumerate(examples) if any(s.status == not_found for s in ex.segments)]
    if not missing:
        return examples
    from .index import index_lines_only

    wide = index_lines_only(source_root, scoped, max_bytes=max_bytes)
    if not wide.files:
        return examples
    li = LineIndex.build(wide)
    out = list(examples)
    for k in missing:
        ex = out[k]
        segments = tuple(_located_outside(li, s) if s.status == Match.NOT_FOUND else s for s in ex.segments)
        out[k] = replace(ex, segments=segments)
    return out


def _located_outside(li: LineIndex, seg: Segment) -> Segment:
    """`seg` located in the wide index when it is there verbatim, once; else `seg`."""
    found = [s for s in locate(li, seg.text) if s.status == Match.VERBATIM]
    if len(found) == 1 and found[0].text == seg.text:
        hit = found[0]
        return Segment(seg.index, seg.text, seg.code_start, Match.VERBATIM, hit.path, hit.start_line, hit.end_line)
    return seg


def examples_drifted(examples: list[Example], sources: Sources, stem: str) -> list[Finding]:
    """With a lock and a checkout that differ: each segment that matched the pinned source
    but does not match the checkout's."""
    lock, checkout = sources.lock, sources.checkout
    if lock is None or checkout is None:
        return []
    if all(checkout.files.get(p) is not None and checkout.files[p].sha256 == f.sha256 for p, f in lock.files.items()):
        return []
    current = LineIndex.build(checkout)
    located_now: dict[str, list[Segment]] = {}
    out = []
    for ex in examples:
        now = located_now.get(ex.code)
        if now is None:
            now = located_now[ex.code] = locate(current, ex.code)
        was = {(s.index, s.status) for s in ex.segments}
        for seg in now:
            if seg.status != Match.VERBATIM and (seg.index, Match.VERBATIM) in was:
                message = f"segment {seg.index + 1} matched the pinned source but no longer matches the source root"
                at = Location.dataset(ex.record.path, ex.record.line)
                out.append(finding("drift.example", at, message, stem, seg.diff))
    return out


# --- check ------------------------------------------------------------------------------------


def check_context(config: DatasetConfig, sources: Sources) -> str:
    """What per-record findings of the schema and reasoning rules depend on besides the record:
    an earlier build's are reused while it is the same."""
    lock_bytes = config.lock_path.read_bytes() if sources.lock is not None else b""
    return context_digest(code_digest(), config.fingerprint(), lock_bytes, index_digest(sources.index))


def rule_findings(
    examples: list[Example],
    config: DatasetConfig,
    index: SourceIndex,
    covered: dict[str, list[str]],
    line_memos: dict[bytes, LineMemo],
    memo: Memo | None,
    fresh: Memo,
) -> tuple[list[Finding], list[tuple[int, int, int]]]:
    """Every rule family's findings, before the config's severity overrides, and each example's
    sizes. `memo` is an earlier run's; `fresh` keeps what the next run may reuse."""
    out = record_rules(examples, config, index, memo, fresh)
    contents, sets, phrases, sizes = remember_lines(examples, line_memos)
    dups, fresh.near = checks.check_duplicates(
        examples, config, contents, sets, memo.near if memo is not None else None
    )
    out += dups
    out += checks.check_boilerplate(examples, config, phrases)
    out += checks.check_coverage(config, index, covered)
    return out, sizes


def record_rules(
    examples: list[Example], config: DatasetConfig, index: SourceIndex, memo: Memo | None, fresh: Memo
) -> list[Finding]:
    """Every record's schema, reasoning, fidelity and scope findings, in file order. Schema
    and reasoning findings come from `memo` when its context is `fresh`'s, else are computed
    (on both cores: halves.py); `fresh` keeps them."""
    known = checks.KnownNames(index, config)
    names_per_code: dict = {}

    def own_findings(ex: Example) -> tuple:
        own = checks.check_schema(ex, config) + checks.check_reasoning(ex, config, known, names_per_code)
        # plain values: the memo is read back with an unpickler that refuses every class
        return tuple((f.rule, str(f.severity), f.message, f.detail) for f in own)

    found: dict[bytes, tuple] = {}
    todo: dict[bytes, Example] = {}
    for ex in examples:
        digest = ex.record.digest
        if digest in found or digest in todo:
            continue
        cached = memo.findings_for(digest, fresh.context) if memo is not None else None
        if cached is None:
            todo[digest] = ex
        else:
            found[digest] = cached
    fresh.hits += sum(ex.record.digest in found for ex in examples)  # lines, as the summary counts them
    found.update(zip(todo, halves.map_in_two(own_findings, list(todo.values())), strict=True))
    out: list[Finding] = []
    per_code: dict = {}
    for ex in examples:
        r = ex.record
        cached = fresh.findings[r.digest] = found[r.digest]
        at = Location.dataset(r.path, r.line)
        out += [Finding(rule, Severity(sev), at, message, r.dataset, detail) for rule, sev, message, detail in cached]
        out += checks.check_fidelity_scope(ex, config, index, per_code)
    return out


def with_findings(examples: list[Example], findings: list[Finding], sizes: list[tuple[int, int, int]]) -> list[Example]:
    """The examples again, each with the findings on its line and its sizes."""
    by_line: dict[int, list[Finding]] = defaultdict(list)
    for f in findings:
        if f.on_dataset:
            by_line[f.line].append(f)
    return [
        Example(ex.record, ex.number, ex.think, ex.code, ex.segments, ex.coverage, tuple(by_line[ex.record.line]), size)
        for ex, size in zip(examples, sizes, strict=True)
    ]


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
        parts.append(
            [
                path,
                f.sha256,
                sorted(f.identifiers),
                [[i.kind, i.name, i.start_line, i.end_line, i.in_test] for i in f.items],
            ]
        )
    return context_digest(orjson.dumps(parts))


def remember_lines(examples: list[Example], line_memos) -> tuple[list[bytes], list, list, list[tuple[int, int, int]]]:
    """Each example's identical-record digest, request shingles, reasoning phrase hashes and
    sizes (as packed arrays: 8 bytes a hash, where a frozenset costs ~60), from the memo or
    computed (on both cores: halves.py) and then kept in it."""
    missing = {}
    for ex in examples:
        if line_memos[ex.record.digest].content is None:
            missing.setdefault(ex.record.digest, ex)
    for digest, facts in zip(missing, halves.map_in_two(line_facts, list(missing.values())), strict=True):
        lm = line_memos[digest]
        lm.content, lm.shingles, lm.phrases, lm.negated, lm.sizes = facts
    contents, sets, phrases, sizes = [], [], [], []
    for ex in examples:
        lm = line_memos[ex.record.digest]
        sets.append(array("Q", lm.shingles))
        phrases.append((array("q", lm.phrases), array("q", lm.negated)))
        contents.append(lm.content)
        sizes.append(lm.sizes)
    return contents, sets, phrases, sizes


def line_facts(ex: Example) -> tuple[bytes, bytes, bytes, bytes, tuple[int, int, int]]:
    """What the duplicate and boilerplate rules need of one record, as plain values: its
    content digest, request shingles, reasoning phrase and negated-word hashes, and sizes."""
    phrase_hashes, negated = checks.phrase_set(ex.think)
    return (
        checks.content_digest(ex.record),
        array("Q", sorted(checks.shingles(ex.record.user))).tobytes(),
        array("q", sorted(phrase_hashes)).tobytes(),
        array("q", sorted(negated)).tobytes(),
        (len(ex.record.user.split()), len(ex.think.split()), ex.code.count("\n") + 1),
    )


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
    return any(f.severity == Severity.ERROR for r in results for f in r.findings)
