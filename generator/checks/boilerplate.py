"""The whole-dataset boilerplate rule: phrases that recur across reasoning blocks."""

from __future__ import annotations

import math
import random
import re
from collections import Counter, defaultdict
from typing import TYPE_CHECKING

from ..model import Example, Finding, Location
from ..rules import finding
from .common import clip
from .words import _word_hash, _word_hashes

if TYPE_CHECKING:
    from ..config import DatasetConfig


# Boilerplate: phrases that recur across reasoning blocks. A block's text is cut into clauses
# (at . ; : ! ? and line breaks), lowercased and split into words; words of negation or absence
# become one word, "not". Three kinds of phrase are hashed per block, each counted once:
#   - a whole clause of at least 3 words ("chrono has no role");
#   - the first and the last PHRASE_WORDS words of a longer clause, where stock phrases sit
#     ("chrono is not involved because …", "…, which is negligible next to a round trip");
#   - a word within NEGATION_REACH words of a negation in the same clause ("chrono … not"), which
#     catches a disclaimer written many ways ("chrono is not involved", "no chrono here"). Only
#     the config's required terms count in this kind: they are the words a writer must mention
#     and is tempted to dismiss; "not retried" and the like are ordinary prose.
# A phrase's hash is Python's hash of a tuple of word hashes: computed in C, and the same in
# every process (ints are not salted; the memo is void under another Python). A block yields a
# few dozen hashes, whatever its length. Counting never compares blocks pairwise (see
# check_boilerplate).
PHRASE_WORDS = 5
NEGATION_REACH = 3
BOILERPLATE_MIN_BLOCKS = 3  # a phrase in fewer blocks is never reported, whatever the share
_NEGATION = re.compile(
    r"(?<![a-z0-9'])(?:no|not|never|none|nothing|neither|nor|without|cannot|irrelevant|absent|unused|unneeded"
    r"|unnecessary|[a-z0-9]+n't)(?![a-z0-9'])"
)
# A clause ends at a run of . ; : ! ? followed by white space or the end, or at a run of line
# breaks (written to start with one set of characters: re then skips ahead to the next of
# them; as `[.;:!?]+(?:\s+|$)|\n+` it tried both at every character, a quarter of the check).
_CLAUSE_END = re.compile(r"[.;:!?\n](?:(?<=\n)\n*|(?<!\n)[.;:!?]*(?:\s+|$))")
_PHRASE_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_CLAUSE_TAG = 0x1F3A5_C1A05E  # first element of a whole clause's tuple
_NEGATED_TAG = 0x3D4E9_0E6A7E  # first element of a negated word's pair


def _normalised(text: str) -> str:
    return _NEGATION.sub("not", text.lower())


def _clause_words(text: str):
    """(clause text, its normalised words) for each clause of a reasoning block."""
    for clause in _CLAUSE_END.split(text):
        words = _PHRASE_WORD.findall(_normalised(clause))
        if words:
            yield clause.strip(), words


def _negated_near(words: list[str]) -> list[int]:
    """Indexes of the words within NEGATION_REACH of a negation (negations excluded)."""
    near = set()
    for i, w in enumerate(words):
        if w == "not":
            near.update(
                j
                for j in range(max(0, i - NEGATION_REACH), min(len(words), i + NEGATION_REACH + 1))
                if words[j] != "not"
            )
    return sorted(near)


def _phrases_of(words: list[str], wh: list[int]):
    """(hash, kind, normalised phrase, index of the negated word or -1) of one clause."""
    if len(wh) >= 3:
        yield hash((_CLAUSE_TAG, *wh)), "clause", " ".join(words), -1
    if len(wh) > PHRASE_WORDS:
        yield hash(tuple(wh[:PHRASE_WORDS])), "words", " ".join(words[:PHRASE_WORDS]), -1
        yield hash(tuple(wh[-PHRASE_WORDS:])), "words", " ".join(words[-PHRASE_WORDS:]), -1
    if "not" in words:
        for j in _negated_near(words):
            yield hash((_NEGATED_TAG, wh[j])), "negated", f"{words[j]} … not", j


def phrase_set(text: str) -> tuple[frozenset[int], frozenset[int]]:
    """A reasoning block's distinct phrase hashes: (clauses and word runs, negated words).
    What the memo keeps per line."""
    phrases: set[int] = set()
    negated: set[int] = set()
    get = _word_hashes.get
    for clause in _CLAUSE_END.split(_normalised(text)):  # as _clause_words, normalised once
        words = _PHRASE_WORD.findall(clause)
        if not words:
            continue
        wh = list(map(get, words))
        if None in wh:
            wh = [_word_hash(w) for w in words]
        for h, kind, _, _ in _phrases_of(words, wh):
            (negated if kind == "negated" else phrases).add(h)
    return frozenset(phrases), frozenset(negated)


def _phrases(text: str):
    """(hash, kind, normalised phrase, clause) for every phrase of a block: the hashes of
    phrase_set with the text behind them (for the report)."""
    for clause, words in _clause_words(text):
        for h, kind, phrase, _ in _phrases_of(words, [_word_hash(w) for w in words]):
            yield h, kind, phrase, clause


BOILERPLATE_SAMPLE = 4000  # blocks whose phrases are all counted; beyond that, a sample (see below)


def check_boilerplate(examples: list[Example], config: DatasetConfig, sets: list | None = None) -> list[Finding]:
    """One finding per dataset when some phrase recurs in more than `boilerplate_share` of its
    reasoning blocks (and in at least BOILERPLATE_MIN_BLOCKS): the most widespread phrase and its
    lines in the message, every such phrase (one per distinct set of lines) in the detail.
    `sets` holds each block's (phrases, negated words) hashes, from phrase_set or the memo.

    Memory stays bounded: the phrases of at most max(BOILERPLATE_SAMPLE, 400 / share) blocks
    are counted in a dict (all of them in a dataset that small, so the result is exact);
    in a larger dataset those blocks are a fixed pseudo-random sample, and a phrase that
    reaches half its expected count there (at least 200 for a reportable phrase) becomes a
    candidate. Candidates are then counted exactly over every block, in C (set intersection).
    A reportable phrase falls short of half its expected sample count with probability below
    e^-25 (Chernoff), so in practice nothing is missed, and nothing is reported that is not
    exactly counted."""
    if sets is None:
        sets = [phrase_set(ex.think) for ex in examples]
    n = len(examples)
    share = config.boilerplate_share
    need = max(BOILERPLATE_MIN_BLOCKS, math.floor(share * n) + 1)
    if n < need:
        return []
    terms = {
        hash((_NEGATED_TAG, _word_hash(t.lower()))) for t in config.required_terms if _PHRASE_WORD.fullmatch(t.lower())
    }
    m = max(BOILERPLATE_SAMPLE, math.ceil(400 / share))
    sample = range(n) if n <= m else sorted(random.Random(n).sample(range(n), m))
    counts: Counter[int] = Counter()
    for i in sample:
        phrases, negated = sets[i]
        counts.update(phrases)  # counted in C
        counts.update(terms.intersection(negated))
    bar = need if n <= m else share * m / 2
    candidates = {h for h, c in counts.items() if c >= bar}
    if not candidates:
        return []
    lines: dict[int, list[int]] = defaultdict(list)
    for ex, (phrases, negated) in zip(examples, sets, strict=True):
        for h in candidates.intersection(phrases):
            lines[h].append(ex.record.line)
        for h in candidates.intersection(negated):
            lines[h].append(ex.record.line)
    frequent = {h for h, where in lines.items() if len(where) >= need}
    if not frequent:
        return []
    # One phrase per distinct set of lines (a clause and its own first and last words share
    # theirs): a whole clause names them best, then a negated term, then a word run.
    rank = {"clause": 0, "negated": 1, "words": 2}
    texts: dict[int, tuple[str, str, str]] = {}
    by_line = {ex.record.line: ex for ex in examples}
    groups: dict[tuple[int, ...], int] = {}
    for h in sorted(frequent, key=lambda h: (-len(lines[h]), lines[h], h)):
        key = tuple(lines[h])
        if h not in texts:  # the text behind a hash, from the first block that has it
            for ph, kind, text, clause in _phrases(by_line[key[0]].think):
                if ph in frequent and ph not in texts:
                    texts[ph] = (kind, text, clause)
            texts.setdefault(h, ("words", "(phrase)", ""))  # only a hash collision gets here
        best = groups.get(key)
        if best is None or (rank[texts[h][0]], -len(texts[h][1])) < (rank[texts[best][0]], -len(texts[best][1])):
            groups[key] = h
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[0]), kv[0]))

    def describe(where: tuple[int, ...], h: int) -> str:
        _, text, clause = texts[h]
        example = f" (e.g. line {where[0]}: {clip(clause)!r})" if clause else ""
        return f"{text!r}{example} in {len(where)} of {n} reasoning blocks, lines {_line_list(where)}"

    message = f"boilerplate phrase {describe(*ordered[0])} (share > {share:g})"
    if len(ordered) > 1:
        message += f"; {len(ordered) - 1} more in the detail"
    detail = "\n".join(describe(where, h) for where, h in ordered)
    return [finding("reasoning.boilerplate", Location.dataset(config.jsonl), message, config.stem, detail)]


def _line_list(lines: tuple[int, ...], limit: int = 30) -> str:
    shown = ", ".join(map(str, lines[:limit]))
    return shown if len(lines) <= limit else f"{shown}, … ({len(lines)} in all)"
