"""The whole-dataset duplicate rules: identical records, near-duplicate requests."""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from typing import TYPE_CHECKING

from ..model import Example, Finding
from .common import record_finding
from .words import shingles

if TYPE_CHECKING:
    from ..config import DatasetConfig


def check_duplicates(
    examples: list[Example],
    config: DatasetConfig,
    contents: list[bytes] | None = None,
    sets: list | None = None,
    previous: dict | None = None,
) -> tuple[list[Finding], dict]:
    """Identical records and near-duplicate requests. `contents` (identical-record digests)
    and `sets` (request shingles) may come from the memo; `previous` is the near-duplicate
    state of the last run, which lets an edit be checked against the rest only. Returns the
    findings and this run's state."""
    out = []
    if contents is None:
        contents = [content_digest(ex.record) for ex in examples]
    first: dict[bytes, Example] = {}
    for ex, key in zip(examples, contents, strict=True):
        if key in first:
            out.append(
                record_finding(ex, "duplicates.identical", f"identical to the record at line {first[key].record.line}")
            )
        else:
            first[key] = ex
    if sets is None:
        sets = [shingles(ex.record.user) for ex in examples]
    keys = [(ex.record.line, ex.record.digest) for ex in examples]
    pairs, state = near_duplicates(sets, config.near_threshold, keys, previous)
    for a, b, score in pairs:
        ea, eb = examples[a], examples[b]
        if ea.record.user == eb.record.user and ea.record.assistant == eb.record.assistant:
            continue  # already identical
        out.append(
            record_finding(
                eb,
                "duplicates.near",
                f"request is a near-duplicate of line {ea.record.line} (Jaccard {score:.2f} ≥ {config.near_threshold})",
            )
        )
    return out, state


def content_digest(r) -> bytes:
    return hashlib.sha256("\x00".join((r.system, r.user, r.assistant)).encode("utf-8", "surrogatepass")).digest()


MAX_CANDIDATES = 2000  # per text; only a flood of templated near-copies ever reaches it
MAX_EDITED = 16  # edited texts above which one search from scratch is cheaper (measured at 100,000)


def near_duplicates(
    sets: list, threshold: float, keys: list | None = None, previous: dict | None = None
) -> tuple[list[tuple[int, int, float]], dict]:
    """Pairs (i < j) whose shingle Jaccard ≥ threshold, and a state for the next run. Each
    of `sets` holds one text's distinct shingle hashes (a frozenset, or an array from the memo).

    With `previous` (the state of a run over as many texts, keyed alike), only the texts whose
    key changed are compared, each with every other text; pairs between unchanged texts are
    kept. That is taken only while the search from scratch provably would not hit
    MAX_CANDIDATES (see _may_cap): then both give the same pairs. Otherwise all pairs are
    searched afresh (_all_pairs)."""
    keys = keys if keys is not None else list(range(len(sets)))
    usable = (
        previous is not None
        and previous.get("threshold") == threshold
        and not previous.get("capped")
        and all(k in previous for k in ("pairs", "heaviest", "longest", "edits", "sharing"))
        and len(previous.get("keys", ())) == len(keys)
    )
    edited = [i for i, (k, old) in enumerate(zip(keys, previous["keys"], strict=True)) if k != old] if usable else []
    if usable and len(edited) <= MAX_EDITED:
        gone = set(edited)
        pairs = [tuple(p) for p in previous["pairs"] if p[0] not in gone and p[1] not in gone]
        state = dict(previous, keys=keys, edits=previous["edits"] + len(edited))
        for c in edited:
            a = frozenset(sets[c])
            sharing = 0  # texts with a shingle in common: bounds c's candidates in a full search
            for j, b in enumerate(sets):
                if j == c or not a or not b:
                    continue
                inter = len(a.intersection(b))
                if inter:
                    sharing += 1
                if (j in gone and j < c) or _sizes_rule_out(a, b, threshold):  # an edited pair is scored once
                    continue
                score = _score(a, b, inter, threshold)
                if score is not None:
                    pairs.append((min(c, j), max(c, j), score))
            state["longest"] = max(state["longest"], _prefix_length(len(a), threshold))
            state["sharing"] = max(state["sharing"], sharing - state["edits"])
        if not _may_cap(state):
            pairs.sort()
            return pairs, dict(state, pairs=pairs)
    pairs, capped, heaviest, longest = _all_pairs(sets, threshold)
    pairs.sort()
    state = {
        "threshold": threshold,
        "keys": keys,
        "pairs": pairs,
        "capped": capped,
        "heaviest": heaviest,
        "longest": longest,
        "edits": 0,
        "sharing": 0,
    }
    return pairs, state


def _may_cap(state: dict) -> bool:
    """Whether a search from scratch over the current texts could reach MAX_CANDIDATES.

    A text's candidates are earlier texts sharing one of its prefix shingles, so they number
    at most the sum of its prefix shingles' document frequencies. The last full search saw at
    most `heaviest` for that sum; each edit since moves any frequency by at most one, and the
    prefix is the cheapest choice, so a sum grows by at most `longest` (prefix length) per edit.
    An edited text's candidates are at most the texts it shares a shingle with, counted when
    it was edited (`sharing` is that count less the edits made before it), plus one per edit."""
    e = state["edits"]
    return max(state["heaviest"] + state["longest"] * e, state["sharing"] + e) >= MAX_CANDIDATES


def _prefix_length(size: int, threshold: float) -> int:
    return size - math.ceil(threshold * size - 1e-9) + 1


def _jaccard(a: frozenset, b, threshold: float) -> float | None:
    """Jaccard of a and b (any collection of distinct values) when it is ≥ threshold, else None."""
    if _sizes_rule_out(a, b, threshold):
        return None
    return _score(a, b, len(a.intersection(b)), threshold)


def _sizes_rule_out(a, b, threshold: float) -> bool:
    return min(len(a), len(b)) < threshold * max(len(a), len(b))


def _score(a, b, inter: int, threshold: float) -> float | None:
    """Jaccard from the intersection's size, when it is ≥ threshold, else None."""
    score = inter / (len(a) + len(b) - inter)
    return score if score >= threshold else None


def _all_pairs(sets: list, threshold: float) -> tuple[list[tuple[int, int, float]], bool, int, int]:
    """Every pair with Jaccard ≥ threshold, found exactly with prefix filtering (the all-pairs
    similarity-join trick): order each text's shingles rarest first; two texts with Jaccard
    ≥ t must share a shingle within the first |A| - ceil(t·|A|) + 1 of each. Only those
    prefixes are indexed, so common phrases never produce candidate pairs. A text whose prefix
    already gathered MAX_CANDIDATES earlier texts stops collecting (a dataset of templated
    copies would otherwise cost n²); it is reported against those it did collect.

    Returns (pairs, whether that happened, the largest sum of a prefix's shingle frequencies,
    the longest prefix): the last two bound what later edits can do (see _may_cap)."""
    df: Counter[int] = Counter()
    for s in sets:
        df.update(s)  # counted in C
    postings: dict[int, list[int]] = {}
    out = []
    capped = False
    heaviest = longest = 0
    for i, s in enumerate(sets):
        if not s:
            continue
        # Rarest first, ties by value (sorted() is stable and keeps the values' order).
        ordered = sorted(sorted(s), key=df.__getitem__)
        prefix = ordered[: _prefix_length(len(ordered), threshold)]
        longest = max(longest, len(prefix))
        heaviest = max(heaviest, sum(map(df.__getitem__, prefix)))
        prefix = [sh for sh in prefix if df[sh] > 1]  # a shingle of one text pairs it with none
        if not prefix:
            continue
        candidates: set[int] = set()
        for sh in prefix:
            earlier = postings.get(sh)
            if earlier:
                candidates.update(earlier)
                if len(candidates) >= MAX_CANDIDATES:
                    capped = True
                    break
        if candidates:
            s = frozenset(s)  # one at a time: 100,000 frozensets would cost ~250 MB
            for j in sorted(candidates):
                score = _jaccard(s, sets[j], threshold)
                if score is not None:
                    out.append((j, i, score))
        for sh in prefix:
            postings.setdefault(sh, []).append(i)
    return out, capped, heaviest, longest
