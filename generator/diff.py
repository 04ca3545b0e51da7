"""Two versions of a dataset → what changed: plain data, no I/O.

Records are matched in two passes. First by content (the identical-record digest of system,
request and answer): equal content is the same example. Then the rest by similarity of
request, reasoning and code: candidates come from an inverted index of the old records'
bottom-k sketches of their request shingles (checks.shingles, as the near-duplicate check
kept them) and reasoning shingles, where an entry shared by more than MAX_POSTING records is
not followed (a common phrase links everything to everything), and each new record scores at
most MAX_SCORED candidates. So the search is linear in the dataset's size, never all pairs.

A matched pair whose order relative to the other pairs is kept (the longest increasing run
of old positions, taken in new order) is "unchanged" even if its line number shifted; any
other exact pair is "moved". A similar pair is "modified" (and flagged `moved` when out of
order). The rest are "added" or "removed".

Findings are compared by an identity that survives line shifts: rule, severity, the message
with numbers masked, and what the finding is about (the matched example, a skipped line's
bytes, or a file other than the dataset).
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import re
from array import array
from bisect import bisect_left
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace

from . import checks
from .model import DatasetResult, Example, Finding, Place, Severity, target_items

STATUSES = ("modified", "moved", "added", "removed", "unchanged")
MAX_POSTING = 64  # a shingle in more old records than this is not used to find candidates
MAX_SCORED = 8  # candidates scored per new record (those sharing the most sketch entries)
SKETCH_REQUEST, SKETCH_REASONING = 12, 16  # entries per record in the candidate index
MIN_SCORE = 0.35  # weighted similarity for "modified" rather than "removed + added"
MIN_TEXT = 0.3  # ... and the request or the reasoning must be at least this similar
# Word and line diffs: the common head and tail are split off in linear time; a changed middle
# above this many tokens (or lines) a side is shown as one replacement (SequenceMatcher's cost
# grows with the product of the two sides, so an adversarial pair stays cheap).
MAX_TOKENS = 1500


@dataclass(frozen=True)
class Where:
    """Where one code segment of the new version was found."""

    index: int
    status: str  # verbatim | modified | not-found
    path: str
    start: int
    end: int


@dataclass
class ExampleChange:
    status: str  # one of STATUSES
    old_line: int | None
    new_line: int | None
    moved: bool = False  # modified and also out of its old order
    score: float = 1.0  # similarity of a modified pair
    fields: tuple[str, ...] = ()  # what changed: system, request, reasoning, code
    request: list = field(default_factory=list)  # word diff ops [(op, text)], op in "=", "-", "+"
    reasoning: list = field(default_factory=list)
    system: list = field(default_factory=list)
    code: list = field(default_factory=list)  # line diff ops [(op, line)]
    verbatim_before: bool | None = None
    verbatim_after: bool | None = None
    where: tuple[Where, ...] = ()  # the new code's segments
    duplicate_of: int | None = None  # an added record identical to the one at this new line
    title: str = ""  # first line of the request (new version, else old)


@dataclass
class FindingChange:
    finding: Finding
    line_changed: bool  # on a line of the new file that this change added or rewrote


@dataclass
class CoverageChange:
    ident: str
    kind: str
    name: str
    path: str
    before: str  # covered | partial | uncovered | absent
    after: str
    count_before: int
    count_after: int


@dataclass
class DatasetDiff:
    stem: str
    path: str  # the new JSONL as named
    against: str  # the ref or file compared with
    old_records: int
    new_records: int
    changes: list[ExampleChange]  # every changed pair and every unmatched record, in new-file order
    new_findings: list[FindingChange]
    fixed_findings: list[Finding]
    coverage: list[CoverageChange]
    unchanged: int = 0  # pairs of equal content in their old order (most of a dataset: counted only)

    def counts(self) -> dict[str, int]:
        c = Counter(ch.status for ch in self.changes)
        c["unchanged"] = self.unchanged
        return {s: c.get(s, 0) for s in STATUSES}

    def changed(self) -> list[ExampleChange]:
        return self.changes

    def by_new_line(self) -> dict[int, ExampleChange]:
        return {c.new_line: c for c in self.changes if c.new_line is not None}

    def new_errors(self) -> int:
        return sum(1 for f in self.new_findings if f.finding.severity == Severity.ERROR)


# --- matching ---------------------------------------------------------------------------------


def _features(ex: Example, code_cache: dict | None = None, request=None) -> tuple[frozenset, frozenset, frozenset]:
    """(request shingles, reasoning shingles, code line hashes). The request's are the ones
    the near-duplicate check made (checks.shingles, kept in the run's memo) when given. The
    reasoning's are word 3-grams hashed by Python (within one process that is all they need,
    and long texts cost a tenth of checks.shingles). Records share code blocks: `code_cache`
    holds each block's line hashes once."""
    code_lines = code_cache.get(ex.code) if code_cache is not None else None
    if code_lines is None:
        code_lines = frozenset(
            hashlib.blake2b(line.strip().encode("utf-8", "surrogatepass"), digest_size=8).digest()
            for line in ex.code.split("\n")
            if line.strip()
        )
        if code_cache is not None:
            code_cache[ex.code] = code_lines
    return (request if request is not None else checks.shingles(ex.record.user)), _word_grams(ex.think), code_lines


def _word_grams(text: str) -> frozenset:
    w = text.lower().split()
    if len(w) < 3:
        return frozenset([hash(tuple(w))]) if w else frozenset()
    return frozenset(map(hash, zip(w, w[1:], w[2:], strict=False)))


def _jac(a: frozenset, b: frozenset) -> float:
    if not a and not b:
        return 1.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter) if inter else 0.0


def similarity(fa, fb) -> tuple[float, float, float]:
    """(weighted score, request Jaccard, reasoning Jaccard) of two records' features."""
    jr, jt, jc = _jac(fa[0], fb[0]), _jac(fa[1], fb[1]), _jac(fa[2], fb[2])
    return 0.4 * jr + 0.4 * jt + 0.2 * jc, jr, jt


def match(
    old: list[Example],
    new: list[Example],
    old_contents: list[bytes] | None = None,
    new_contents: list[bytes] | None = None,
    request_shingles=None,
) -> list[tuple[int | None, int | None, str, float]]:
    """Pairs (old index, new index, "exact" | "similar" | "", score); an unmatched record has
    None on the other side. `request_shingles(example)` may give a request's shingles."""
    old_contents = old_contents or [checks.content_digest(e.record) for e in old]
    new_contents = new_contents or [checks.content_digest(e.record) for e in new]
    new_to_old = _exact(old_contents, new_contents)
    matched_old = set(new_to_old.values())
    rest_old = [i for i in range(len(old)) if i not in matched_old]
    rest_new = [j for j in range(len(new)) if j not in new_to_old]
    pairs: list[tuple[int | None, int | None, str, float]] = [(i, j, "exact", 1.0) for j, i in new_to_old.items()]
    similar = _similar(old, new, rest_old, rest_new, request_shingles or (lambda ex: None))
    sim_old = {i for i, _, _ in similar}
    sim_new = {j for _, j, _ in similar}
    pairs += [(i, j, "similar", s) for i, j, s in similar]
    pairs += [(i, None, "", 0.0) for i in rest_old if i not in sim_old]
    pairs += [(None, j, "", 0.0) for j in rest_new if j not in sim_new]
    return pairs


MAX_COPIES = 64  # copies of one content placed by position; above, the k-th goes with the k-th


def _exact(old_contents: list[bytes], new_contents: list[bytes]) -> dict[int, int]:
    """new index → old index of records with equal content. A content found once on each side
    pairs at once. Copies are then placed where the unique pairs around them say they belong
    (a copy inserted above its original is the added one, not the original moved)."""
    olds: dict[bytes, list[int]] = defaultdict(list)
    news: dict[bytes, list[int]] = defaultdict(list)
    for i, c in enumerate(old_contents):
        olds[c].append(i)
    for j, c in enumerate(new_contents):
        news[c].append(j)
    out: dict[int, int] = {}
    several = []
    for c, js in news.items():
        is_ = olds.get(c)
        if not is_:
            continue
        if len(is_) == 1 and len(js) == 1:
            out[js[0]] = is_[0]
        else:
            several.append((is_, js))
    anchors = sorted(in_order([(i, j) for j, i in out.items()]))
    anchor_old = [i for i, _ in anchors]

    def expected(i: int) -> int:
        k = bisect_left(anchor_old, i) - 1
        return anchors[k][1] + (i - anchors[k][0]) if k >= 0 else i

    for is_, js in several:
        if len(is_) + len(js) > MAX_COPIES:
            out.update(zip(js, is_, strict=False))
            continue
        free = list(js)
        for i in is_:
            if not free:
                break
            want = expected(i)
            j = min(free, key=lambda j: (abs(j - want), j))
            free.remove(j)
            out[j] = i
    return out


def _sketch(f) -> frozenset:
    """A record's entries in the candidate index: the SKETCH_REQUEST smallest hashes of its
    request shingles and the SKETCH_REASONING smallest of its reasoning's (bottom-k MinHash:
    two sets share about k·Jaccard of them). One field kept intact keeps its whole sketch."""
    r, t = f[0], f[1]
    r = r if len(r) <= SKETCH_REQUEST else sorted(r)[:SKETCH_REQUEST]
    t = t if len(t) <= SKETCH_REASONING else sorted(t)[:SKETCH_REASONING]
    return frozenset(r).union(t)


def _similar(
    old: list[Example], new: list[Example], rest_old: list[int], rest_new: list[int], request_shingles
) -> list[tuple[int, int, float]]:
    """Greedy best-first pairing of unmatched records by similarity. Candidates come from an
    inverted index of sketches (a bounded number of entries per record, entries shared by more
    than MAX_POSTING records not followed, MAX_SCORED candidates scored per record): linear
    in the number of records, never all pairs."""
    if not rest_old or not rest_new:
        return []
    code_cache: dict = {}
    feats_old = {i: _features(old[i], code_cache, request_shingles(old[i])) for i in rest_old}
    postings: dict[int, list[int]] = defaultdict(list)
    size: dict[int, int] = {}
    for i in rest_old:
        sk = _sketch(feats_old[i])
        size[i] = len(sk)
        for h in sk:
            postings[h].append(i)
    scored = []
    for j in rest_new:
        fj = _features(new[j], code_cache, request_shingles(new[j]))
        sk = _sketch(fj)
        shared: Counter[int] = Counter()
        for h in sk:
            olds = postings.get(h)
            if olds and len(olds) <= MAX_POSTING:
                shared.update(olds)
        # The best by the sketches' Jaccard; `shared` holds at most MAX_POSTING entries per
        # sketch entry of this record.
        best = sorted(shared.items(), key=lambda kv: (-kv[1] / (len(sk) + size[kv[0]] - kv[1]), kv[0]))[:MAX_SCORED]
        for i, _ in best:
            score, jr, jt = similarity(feats_old[i], fj)
            if score >= MIN_SCORE and max(jr, jt) >= MIN_TEXT:
                scored.append((score, i, j))
    scored.sort(key=lambda s: (-s[0], s[2], s[1]))
    used_old, used_new, out = set(), set(), []
    for score, i, j in scored:
        if i in used_old or j in used_new:
            continue
        used_old.add(i)
        used_new.add(j)
        out.append((i, j, score))
    return out


def in_order(pairs: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """The pairs (old, new) on a longest run whose old positions increase in new order
    (patience sorting, O(n log n)): those kept their place; the others moved."""
    seq = sorted(pairs, key=lambda p: p[1])
    tails: list[int] = []  # old position ending the best run of each length
    tail_at: list[int] = []  # index into seq of that end
    back = [-1] * len(seq)
    for k, (o, _) in enumerate(seq):
        pos = bisect_left(tails, o)
        if pos == len(tails):
            tails.append(o)
            tail_at.append(k)
        else:
            tails[pos] = o
            tail_at[pos] = k
        back[k] = tail_at[pos - 1] if pos else -1
    keep = set()
    k = tail_at[-1] if tail_at else -1
    while k != -1:
        keep.add(seq[k])
        k = back[k]
    return keep


# --- per-example diffs ------------------------------------------------------------------------

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]", re.U)


def word_diff(a: str, b: str) -> list[tuple[str, str]]:
    """Word-level ops: [("=" | "-" | "+", text)], adjacent ops of one kind merged. Each
    distinct pair is diffed once (a system prompt changed in every record)."""
    return list(_word_diff(a, b))


STEP_BUDGET = 300_000  # SequenceMatcher inner-loop steps one field's diff may take (about 50 ms)


class _OverBudget(Exception):
    pass


class _Budgeted(difflib.SequenceMatcher):
    """SequenceMatcher that counts, before each longest-match search, an upper bound of its
    inner loop (the candidate positions of every token in the range) and gives up past
    STEP_BUDGET: structured input (few distinct tokens, many short matches) costs far more
    than the product of the lengths, and this bounds it whatever the input."""

    spent = 0  # every step counted, over all instances (tests read it)

    def __init__(self, a, b):
        self.left = STEP_BUDGET
        super().__init__(None, a, b, autojunk=False)

    def find_longest_match(self, alo=0, ahi=None, blo=0, bhi=None):
        ahi = len(self.a) if ahi is None else ahi
        bhi = len(self.b) if bhi is None else bhi
        b2j = self.b2j
        cost = (ahi - alo) + sum(len(b2j.get(x, ())) for x in self.a[alo:ahi])
        self.left -= cost
        _Budgeted.spent += cost
        if self.left < 0:
            raise _OverBudget
        return super().find_longest_match(alo, ahi, blo, bhi)


def _trim(ta: list, tb: list) -> tuple[int, int]:
    """Lengths of the common head and tail of two token lists (not overlapping)."""
    n = min(len(ta), len(tb))
    head = 0
    while head < n and ta[head] == tb[head]:
        head += 1
    tail = 0
    while tail < n - head and ta[-1 - tail] == tb[-1 - tail]:
        tail += 1
    return head, tail


def _opcodes(ta: list, tb: list):
    """SequenceMatcher's opcodes after the common head and tail are split off; a middle over
    MAX_TOKENS a side is one replacement."""
    head, tail = _trim(ta, tb)
    ea, eb = len(ta) - tail, len(tb) - tail
    out = [("equal", 0, head, 0, head)] if head else []
    if ea - head > MAX_TOKENS or eb - head > MAX_TOKENS:
        out.append(("replace", head, ea, head, eb))
    elif ea > head or eb > head:
        try:
            middle = _Budgeted(ta[head:ea], tb[head:eb]).get_opcodes()
        except _OverBudget:
            middle = [("replace", 0, ea - head, 0, eb - head)]
        for tag, i1, i2, j1, j2 in middle:
            out.append((tag, i1 + head, i2 + head, j1 + head, j2 + head))
    if tail:
        out.append(("equal", ea, len(ta), eb, len(tb)))
    return out


@functools.lru_cache(maxsize=256)
def _word_diff(a: str, b: str) -> tuple[tuple[str, str], ...]:
    if a == b:
        return (("=", a),) if a else ()
    ta, tb = _TOKEN.findall(a), _TOKEN.findall(b)
    # (equal?, old text, new text) runs; whitespace alone between two changes joins them, so
    # "a few quick" → "several fast" reads as one replacement, not three.
    runs = []
    for tag, i1, i2, j1, j2 in _opcodes(ta, tb):
        runs.append((tag == "equal", "".join(ta[i1:i2]), "".join(tb[j1:j2])))
    joined: list[list] = []
    for k, (eq, x, y) in enumerate(runs):
        if eq and not x.strip() and 0 < k < len(runs) - 1 and not runs[k + 1][0] and joined and not joined[-1][0]:
            eq = False
        if joined and not eq and not joined[-1][0]:
            joined[-1][1] += x
            joined[-1][2] += y
        else:
            joined.append([eq, x, y])
    ops: list[tuple[str, str]] = []
    for eq, x, y in joined:
        if eq:
            ops.append(("=", x))
        else:
            ops += [("-", x), ("+", y)]
    return tuple(_merge(ops))


def _merge(ops):
    out: list[tuple[str, str]] = []
    for op, text in ops:
        if not text:
            continue
        if out and out[-1][0] == op:
            out[-1] = (op, out[-1][1] + text)
        else:
            out.append((op, text))
    return out


def line_diff(a: str, b: str) -> list[tuple[str, str]]:
    """Line ops [(" " | "-" | "+", line)] of two code blocks."""
    la, lb = a.split("\n"), b.split("\n")
    out = []
    for tag, i1, i2, j1, j2 in _opcodes(la, lb):
        if tag == "equal":
            out += [(" ", line) for line in la[i1:i2]]
        else:
            out += [("-", line) for line in la[i1:i2]] + [("+", line) for line in lb[j1:j2]]
    return out


def _verbatim(ex: Example) -> bool:
    return bool(ex.segments) and all(s.status == "verbatim" for s in ex.segments)


def _where(ex: Example) -> tuple[Where, ...]:
    return tuple(Where(s.index, s.status, s.path, s.start_line, s.end_line) for s in ex.segments)


def _title(ex: Example) -> str:
    for line in ex.record.user.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= 100 else line[:99] + "…"
    return "(empty request)"


def example_change(
    status: str, old: Example | None, new: Example | None, moved: bool = False, score: float = 1.0
) -> ExampleChange:
    ch = ExampleChange(status, old.record.line if old else None, new.record.line if new else None, moved, score)
    ch.title = _title(new or old)
    if new is not None:
        ch.verbatim_after = _verbatim(new)
        ch.where = _where(new)
    if old is not None:
        ch.verbatim_before = _verbatim(old)
    if status == "removed":  # it has no page left: its request is what identifies it
        ch.request = [("-", old.record.user)]
    if status == "modified":
        fields = []
        if old.record.system != new.record.system:
            fields.append("system")
            ch.system = word_diff(old.record.system, new.record.system)
        if old.record.user != new.record.user:
            fields.append("request")
            ch.request = word_diff(old.record.user, new.record.user)
        if old.think != new.think:
            fields.append("reasoning")
            ch.reasoning = word_diff(old.think, new.think)
        if old.code != new.code:
            fields.append("code")
            ch.code = line_diff(old.code, new.code)
        if not fields:
            fields.append("format")  # same texts, other JSON (keys, escapes, extra keys)
        ch.fields = tuple(fields)
    return ch


# --- findings and coverage --------------------------------------------------------------------

_NUMBER = re.compile(r"\d+")


def finding_identity(f: Finding, anchor_of_line) -> tuple:
    """What makes a finding the same one in both versions, whatever line it moved to."""
    place = f.at.place
    if place == Place.DATASET and not f.line:
        # about the whole dataset (one per rule); its message quotes records by their order
        return (f.rule, f.severity, ("file",))
    if place == Place.DATASET:
        where = anchor_of_line(f.line)
    elif place == Place.SOURCE:
        where = ("source", f.path)
    else:  # the config or the lock: each named differently in the two versions
        where = (place.value,)
    return (f.rule, f.severity, where, _NUMBER.sub("#", f.message))


def _anchors(result, examples_ids: dict[int, object], raw_lines: list[bytes]):
    """line → anchor: the pair id of the example on that line, else the line's bytes."""
    by_line = {ex.record.line: examples_ids[id(ex)] for ex in result.examples if id(ex) in examples_ids}

    def anchor(line: int):
        if line in by_line:
            return ("example", by_line[line])
        raw = raw_lines[line - 1] if 0 < line <= len(raw_lines) else b""
        return ("line", hashlib.blake2b(raw, digest_size=12).digest())

    return anchor


def item_state(result, ident: str) -> tuple[str, int]:
    full = result.covered.get(ident, ())
    if full:
        return "covered", len(full)
    return ("partial" if result.partly.get(ident) else "uncovered"), 0


def coverage_delta(old, new) -> list[CoverageChange]:
    old_items = {i.ident: i for i in target_items(old.config, old.index)}
    new_items = {i.ident: i for i in target_items(new.config, new.index)}
    out = []
    for ident in sorted(set(old_items) | set(new_items)):
        item = new_items.get(ident) or old_items[ident]
        before, cb = item_state(old, ident) if ident in old_items else ("absent", 0)
        after, ca = item_state(new, ident) if ident in new_items else ("absent", 0)
        if before != after or cb != ca:
            out.append(CoverageChange(ident, item.kind, item.name, item.path, before, after, cb, ca))
    return out


# --- the whole comparison ---------------------------------------------------------------------


def compare(
    old: DatasetResult, new: DatasetResult, old_raw: bytes, new_raw: bytes, against: str, path_label: str | None = None
) -> DatasetDiff:
    """Two pipeline results of the same dataset and the bytes each was
    loaded from → DatasetDiff. Finding paths are rewritten to the new file's name."""
    oex, nex = old.examples, new.examples
    old_contents, new_contents = _contents(old), _contents(new)
    pairs = match(oex, nex, old_contents, new_contents, _memo_shingles(old, new))
    ordered = in_order([(i, j) for i, j, kind, _ in pairs if i is not None and j is not None])
    changes: list[ExampleChange] = []
    unchanged = 0
    nid: dict[int, int] = {}  # id(example) → pair number: what a finding is about, both sides
    oid: dict[int, int] = {}
    copies: dict[bytes, list[int]] = defaultdict(list)  # content → its first two lines
    for ex, c in zip(nex, new_contents, strict=True):
        if len(copies[c]) < 2:
            copies[c].append(ex.record.line)
    for k, (i, j, kind, score) in enumerate(pairs):
        o = oex[i] if i is not None else None
        n = nex[j] if j is not None else None
        if o is not None:
            oid[id(o)] = k
        if n is not None:
            nid[id(n)] = k
        if o is not None and n is not None:
            out_of_order = (i, j) not in ordered
            if kind == "exact" and not out_of_order:
                unchanged += 1
                continue
            if kind == "exact":
                ch = example_change("moved", o, n)
            else:
                ch = example_change("modified", o, n, moved=out_of_order, score=score)
        elif n is not None:
            ch = example_change("added", None, n)
            others = [line for line in copies[new_contents[j]] if line != n.record.line]
            if others:
                ch.duplicate_of = others[0]
        else:
            ch = example_change("removed", o, None)
        changes.append(ch)
    changes.sort(key=lambda c: (c.new_line if c.new_line is not None else float("inf"), c.old_line or 0))

    # Findings: a multiset difference by identity.
    jsonl_new = str(new.config.jsonl)
    a_new = _anchors(new, nid, new_raw.split(b"\n"))
    a_old = _anchors(old, oid, old_raw.split(b"\n"))
    ident_new = [finding_identity(f, a_new) for f in new.findings]
    ident_old = [finding_identity(f, a_old) for f in old.findings]
    extra_new = Counter(ident_new) - Counter(ident_old)
    extra_old = Counter(ident_old) - Counter(ident_new)
    changed_lines = {c.new_line for c in changes if c.status in ("added", "modified", "moved")}
    record_lines = {ex.record.line for ex in nex}
    label = path_label or jsonl_new
    new_findings = []
    for f, key in zip(new.findings, ident_new, strict=True):
        if extra_new[key] > 0:
            extra_new[key] -= 1
            # on a changed record, or on a line that is no record (a broken line: new bytes)
            on_line = f.on_dataset and f.line > 0 and (f.line in changed_lines or f.line not in record_lines)
            new_findings.append(FindingChange(_relabel(f, {Place.DATASET: label}), on_line))
    # The old version was read from a temporary copy: its files are named as the new ones, at the ref.
    old_names = {
        Place.DATASET: f"{label}@{against}",
        Place.CONFIG: f"{new.config.config_path}@{against}",
        Place.LOCK: f"{new.config.lock_path}@{against}",
    }
    fixed = []
    for f, key in zip(old.findings, ident_old, strict=True):
        if extra_old[key] > 0:
            extra_old[key] -= 1
            fixed.append(_relabel(f, old_names))
    return DatasetDiff(
        new.config.stem,
        label,
        against,
        len(oex),
        len(nex),
        changes,
        new_findings,
        fixed,
        coverage_delta(old, new),
        unchanged,
    )


def _memo_shingles(*results):
    """example → its request's shingles as the runs' near-duplicate check kept them, or None."""
    lines = {}
    for r in results:
        if r.memo is not None:
            lines.update(r.memo.lines)

    def get(ex: Example):
        lm = lines.get(ex.record.digest)
        return frozenset(array("Q", lm.shingles)) if lm is not None and lm.shingles is not None else None

    return get


def _contents(result) -> list[bytes]:
    """Each example's identical-record digest: from the run's memo (computed there already)."""
    lines = result.memo.lines if result.memo is not None else {}
    out = []
    for ex in result.examples:
        lm = lines.get(ex.record.digest)
        out.append(lm.content if lm is not None and lm.content is not None else checks.content_digest(ex.record))
    return out


def _relabel(f: Finding, names: dict[Place, str]) -> Finding:
    """`f` with its file named as `names` says for its place (unchanged when not given)."""
    label = names.get(f.at.place, f.path)
    return f if label == f.path else replace(f, at=replace(f.at, path=label))
