"""Review rules → Findings. Pure functions over linked examples; every rule id is stable.

Severity defaults live in RULES; a dataset's config may override any of them (or turn it off).
"""

from __future__ import annotations

import hashlib
import math
import random
import re
import zlib
from collections import Counter, defaultdict

from .config import DatasetConfig
from .hidden import char_name, code_point, find_hidden
from .link import fragment_problems
from .load import THINK_CLOSE, THINK_OPEN
from .model import Example, Finding, SourceIndex

RULES: dict[str, tuple[str, str]] = {
    # rule id: (default severity, what it means)
    "schema.bom": ("warning", "file starts with a UTF-8 byte order mark"),
    "schema.crlf": ("warning", "CRLF line endings"),
    "schema.blank-line": ("warning", "blank line"),
    "schema.no-final-newline": ("info", "last line without a final newline"),
    "schema.large-line": ("warning", "a line over 1 MiB"),
    "schema.utf8": ("error", "line is not valid UTF-8"),
    "schema.json": ("error", "line is not valid JSON (or is truncated)"),
    "schema.shape": ("error", "not the ChatML shape: type, roles system → user → assistant, string contents"),
    "schema.duplicate-key": ("error", "a key occurs twice in one object"),
    "schema.extra-keys": ("info", "keys beyond the schema (kept)"),
    "schema.system-prompt": ("error", "system prompt differs from the dataset's config"),
    "schema.assistant-format": ("error", "assistant is not <think>\\n…\\n</think>\\n\\n followed by code"),
    "schema.think-tags": ("error", "a <think> or </think> tag outside its place"),
    "schema.hidden-chars": ("error", "invisible characters (bidi or format controls, TAG characters, zero-width or blank fillers, control characters) in the record's text"),
    "fidelity.not-verbatim": ("error", "code differs from the pinned source"),
    "fidelity.not-found": ("error", "code not found in the pinned source"),
    "fidelity.fragment": ("error", "code covers only part of an item"),
    "fidelity.foreign-imports": ("error", "imports given as context are not the quoted file's own"),
    "fidelity.ambiguous": ("info", "identical text exists in more than one place"),
    "scope.file": ("error", "code from a file outside the dataset's scope"),
    "scope.out": ("error", "code from an item the config marks out of scope"),
    "scope.test-module": ("error", "code from a test module"),
    "scope.untargeted": ("warning", "code from an item the scope does not name"),
    "reasoning.required-term": ("error", "the think block lacks a required term"),
    "reasoning.unknown-identifier": ("error", "an identifier that exists nowhere (hallucination)"),
    "reasoning.boilerplate": ("warning", "a phrase recurs in more than the configured share of reasoning blocks"),
    "duplicates.identical": ("error", "identical records"),
    "duplicates.near": ("warning", "near-duplicate requests"),
    "coverage.uncovered": ("warning", "an in-scope item no example covers"),
    "coverage.missing-name": ("warning", "a name the config expects that the source does not define"),
    "coverage.scope-unmatched": ("warning", "a scope selector that matches no item"),
    "drift.lock-commit": ("error", "the lock pins another commit than the config"),
    "drift.file-missing": ("error", "a locked file is missing from the source root"),
    "drift.file-changed": ("warning", "a source file differs from the lock"),
    "drift.item-gone": ("error", "a locked item no longer exists"),
    "drift.item-changed": ("warning", "a locked item's text changed"),
    "drift.item-moved": ("warning", "a locked item moved"),
    "drift.item-new": ("info", "an item not in the lock"),
    "drift.file-new": ("info", "a scoped file not in the lock"),
    "drift.example": ("error", "an example's code no longer matches the source root"),
    "source.unreadable": ("error", "a source file cannot be used"),
    "source.too-large": ("error", "a source file over source.max_file_bytes (skipped)"),
    "source.parse-timeout": ("error", "tree-sitter gave up parsing a source file in time (skipped)"),
}

_RUST_KEYWORDS = frozenset(
    "as async await break const continue crate dyn else enum extern false fn for if impl in let loop match mod move mut "
    "pub ref return self Self static struct super trait true type unsafe use where while bool u8 u16 u32 u64 usize i32 i64 f32 f64 str char".split()
)
_BACKTICK = re.compile(r"`([^`\n]+)`")
# `\bX…` written as `X(?<!\wX)…`: same matches, but a pattern that starts with a character
# class lets the regex engine skip ahead to candidates (three times faster on prose).
_PATH = re.compile(r"[A-Za-z_](?<!\w[A-Za-z_])[A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)+!?")
_CAMEL = re.compile(r"[A-Z](?<!\w[A-Z])[a-z0-9]+(?:[A-Z][a-z0-9]*)+\b")
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*!?")
_QUOTE_OR_BACKSLASH = re.compile(r'["\\]')
_WORD = re.compile(r"[a-z0-9']+")


def apply_severity(config: DatasetConfig | None, findings: list[Finding]) -> list[Finding]:
    """Config overrides; 'off' drops the finding."""
    overrides = config.severity if config is not None else {}
    out = []
    for f in findings:
        sev = overrides.get(f.rule, f.severity)
        if sev == "off":
            continue
        out.append(f if sev == f.severity else Finding(f.rule, sev, f.path, f.line, f.message, f.dataset, f.detail))
    return out


def _record_finding(ex: Example, rule: str, message: str, detail: str = "") -> Finding:
    r = ex.record
    return Finding(rule, RULES[rule][0], str(r.path), r.line, message, r.dataset, detail)


# --- per-record rules -------------------------------------------------------------------------


def check_schema(ex: Example, config: DatasetConfig) -> list[Finding]:
    r = ex.record
    out = []
    if r.system != config.system_prompt:
        out.append(_record_finding(ex, "schema.system-prompt", f"system prompt differs from {config.config_path.name}: {_clip(r.system)!r}"))
    a = r.assistant
    if not a.startswith(THINK_OPEN):
        out.append(_record_finding(ex, "schema.assistant-format", "assistant content must start with '<think>\\n'"))
    elif THINK_CLOSE not in a:
        out.append(_record_finding(ex, "schema.assistant-format", "no '\\n</think>\\n\\n' closing the think block"))
    else:
        if not ex.think.strip():
            out.append(_record_finding(ex, "schema.assistant-format", "empty think block"))
        if not ex.code.strip():
            out.append(_record_finding(ex, "schema.assistant-format", "no code after the think block"))
    for role, text in (("system", r.system), ("user", r.user)):
        if "<think>" in text or "</think>" in text:
            out.append(_record_finding(ex, "schema.think-tags", f"think tag in the {role} message"))
    if "<think>" in ex.think or "</think>" in ex.think:
        out.append(_record_finding(ex, "schema.think-tags", "nested think tag inside the think block"))
    if "<think>" in ex.code or "</think>" in ex.code:
        out.append(_record_finding(ex, "schema.think-tags", "think tag inside the code"))
    for role, text in (("system prompt", r.system), ("request", r.user), ("reasoning", ex.think), ("code", ex.code)):
        found = find_hidden(text)
        if found:
            kinds = sorted(set(found), key=ord)
            names = ", ".join(f"{code_point(c)} {char_name(c)}" for c in kinds[:5]) + (f" and {len(kinds) - 5} more kinds" if len(kinds) > 5 else "")
            out.append(_record_finding(ex, "schema.hidden-chars", f"the {role} holds {len(found)} invisible character(s): {names}"))
    return out


def check_fidelity_scope(ex: Example, config: DatasetConfig, index: SourceIndex, cache: dict | None = None) -> list[Finding]:
    """Fidelity and scope depend only on the code block: computed once per distinct block."""
    key = ex.code
    if cache is not None and key in cache:
        problems = cache[key]
    else:
        problems = [(f.rule, f.message, f.detail) for f in _fidelity_scope(ex, config, index)]
        if cache is not None:
            cache[key] = problems
    return [_record_finding(ex, rule, message, detail) for rule, message, detail in problems]


def _fidelity_scope(ex: Example, config: DatasetConfig, index: SourceIndex) -> list[Finding]:
    out = []
    item_files: set[str] = set()
    import_only: list[tuple[int, str]] = []
    for seg in ex.segments:
        label = f"segment {seg.index + 1} (code lines {seg.code_start + 1}-{seg.code_start + seg.text.count(chr(10)) + 1})"
        if seg.status == "not-found":
            out.append(_record_finding(ex, "fidelity.not-found", f"{label} is not in the pinned source: {_clip(seg.text.strip().splitlines()[0])!r}"))
            continue
        where = f"{seg.path}:{seg.start_line}-{seg.end_line}"
        if seg.status == "modified":
            out.append(_record_finding(ex, "fidelity.not-verbatim", f"{label} differs from {where}", seg.diff))
        if seg.path not in config.scope_files:
            out.append(_record_finding(ex, "scope.file", f"{label} quotes {seg.path}, which is not in scope"))
        for problem in fragment_problems(index, seg) if seg.status == "verbatim" else ():
            out.append(_record_finding(ex, "fidelity.fragment", f"{label} {problem}"))
        f = index.files.get(seg.path)
        items = [i for i in (f.items if f else ()) if seg.start_line <= i.start_line and i.end_line <= seg.end_line]
        top = [i for i in items if not any(o is not i and o.start_line <= i.start_line and i.end_line <= o.end_line for o in items)]
        if top and all(i.kind == "use" for i in top):
            import_only.append((seg.index, seg.path))
        elif top:
            item_files.add(seg.path)
        for item in items:
            if config.is_out(item.ident):
                out.append(_record_finding(ex, "scope.out", f"{label} quotes {item.kind} {item.name}, which the config marks out of scope"))
            elif config.exclude_test_modules and item.in_test:
                out.append(_record_finding(ex, "scope.test-module", f"{label} quotes {item.kind} {item.name} from a #[cfg(test)] module"))
        targeted = [i for i in top if i.kind != "use" and not i.in_test and not config.is_out(i.ident)]
        if seg.path in config.scope_files and targeted and not any(config.in_scope(i.ident) or _has_scoped_child(config, index, i) for i in targeted):
            names = ", ".join(i.name for i in targeted)
            out.append(_record_finding(ex, "scope.untargeted", f"{label} quotes {names}, which the scope does not name"))
    for seg_index, path in import_only:
        if item_files and path not in item_files:
            out.append(_record_finding(ex, "fidelity.foreign-imports", f"segment {seg_index + 1} gives imports of {path}, but the quoted item is from {', '.join(sorted(item_files))}"))
    return out


def _has_scoped_child(config: DatasetConfig, index: SourceIndex, item) -> bool:
    f = index.files[item.path]
    return any(config.in_scope(c.ident) for c in f.items if item.start_line <= c.start_line and c.end_line <= item.end_line)


def required_terms_missing(think: str, terms) -> list[str]:
    return [t for t in terms if not re.search(rf"(?<![A-Za-z0-9_]){re.escape(t)}(?![A-Za-z0-9_])", think, re.I)]


def string_literals(text: str, steps: list[int] | None = None) -> list[tuple[int, int]]:
    """The spans (start, end exclusive) of what the regex `"(?:[^"\\]|\\.)*"` finds, in one
    linear pass: that regex retries from every quote, so 80 KB of `\\"` took 42 s.

    Only quotes and backslashes matter. Right to left, each of them gets the quote where a
    string scan reaching it would close (a backslash skips the next character; one before a
    line feed or at the end stops the scan: `.` matches no line feed). Left to right, each
    quote then opens a literal when the scan from the character after it closes. `steps`, when
    given, counts the loop iterations (tests bound them)."""
    marks = [m.start() for m in _QUOTE_OR_BACKSLASH.finditer(text)]
    n, count = len(text), len(marks)
    close = [-1] * (count + 1)  # mark index → index of the closing quote's mark, or -1
    for k in range(count - 1, -1, -1):
        p = marks[k]
        if text[p] == '"':
            close[k] = k
        elif p + 1 < n and text[p + 1] != "\n":
            nxt = k + 2 if k + 1 < count and marks[k + 1] == p + 1 else k + 1
            close[k] = close[nxt]
    spans = []
    k = 0
    while k < count:
        p = marks[k]
        end = close[k + 1] if text[p] == '"' else -1
        if end >= 0:
            spans.append((p, marks[end] + 1))
            k = end + 1
        else:
            k += 1
    if steps is not None:
        steps[0] += 2 * count
    return spans


def without_strings(text: str) -> str:
    """`text` with every string literal's content dropped (`"…"` → `""`)."""
    spans = string_literals(text)
    if not spans:
        return text
    out, last = [], 0
    for start, end in spans:
        out.append(text[last:start])
        out.append('""')
        last = end
    out.append(text[last:])
    return "".join(out)


def code_names(code: str) -> tuple[set[str], set[str]]:
    """Identifiers a code block defines or uses (string literals excluded), and their parts."""
    names = set(_TOKEN.findall(without_strings(code)))
    return names, {p for n in names for p in n.rstrip("!").split("::")}


def check_reasoning(ex: Example, config: DatasetConfig, known: "KnownNames", cache: dict | None = None) -> list[Finding]:
    out = []
    for term in required_terms_missing(ex.think, config.required_terms):
        out.append(_record_finding(ex, "reasoning.required-term", f"the think block never mentions {term}"))
    if cache is not None:
        if ex.code not in cache:
            cache[ex.code] = code_names(ex.code)
        names_in_code, code_parts = cache[ex.code]
    else:
        names_in_code, code_parts = code_names(ex.code)
    seen: set[str] = set()
    for role, text in (("request", ex.record.user), ("reasoning", ex.think)):
        for name in sorted(set(mentioned_identifiers(text))):
            if name in seen:
                continue
            if not known.exists(name, names_in_code, code_parts):
                seen.add(name)
                out.append(_record_finding(ex, "reasoning.unknown-identifier", f"`{name}` in the {role} exists nowhere in the source, the quoted code or the allowlist"))
    return out


def mentioned_identifiers(text: str) -> list[str]:
    """Identifiers written as code: backticked tokens, Type::method paths, CamelCase types."""
    names: list[str] = []
    rest = []
    last = 0
    for m in _BACKTICK.finditer(text):
        rest.append(text[last : m.start()])
        last = m.end()
        inner = without_strings(m.group(1))
        for tok in _TOKEN.findall(inner):
            if len(tok) >= 2 and tok not in _RUST_KEYWORDS and not tok[0].isdigit():
                names.append(tok)
    rest.append(text[last:])
    prose = " ".join(rest)
    if "::" in prose:
        names += _PATH.findall(prose)
    names += _CAMEL.findall(prose)
    return names


class KnownNames:
    """Everything an identifier may legitimately refer to, for one dataset."""

    def __init__(self, index: SourceIndex, config: DatasetConfig):
        self.idents: set[str] = set()
        self.qualified: set[str] = set()
        for f in index.files.values():
            self.idents |= f.identifiers
            for item in f.items:
                if item.kind not in ("use", "impl"):
                    self.qualified.add(item.name)
                    self.idents.update(item.name.split("::"))
        self.allow = set(config.allow)
        self.allow_parts = {p for a in config.allow for p in a.rstrip("!").split("::")}
        self.roots = {"std", "core", "crate", "self", "super", "alloc"}

    def exists(self, name: str, code_names: set[str], code_parts: set[str]) -> bool:
        if name in self.allow or name in self.qualified or name in code_names:
            return True
        bare = name.rstrip("!")
        if bare in self.allow or bare in self.qualified:
            return True
        parts = bare.split("::")
        return all(p in self.idents or p in self.allow_parts or p in code_parts or p in self.roots for p in parts)


# --- whole-dataset rules ----------------------------------------------------------------------


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
_CLAUSE_END = re.compile(r"[.;:!?]+(?:\s+|$)|\n+")
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
            near.update(j for j in range(max(0, i - NEGATION_REACH), min(len(words), i + NEGATION_REACH + 1)) if words[j] != "not")
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
    terms = {hash((_NEGATED_TAG, _word_hash(t.lower()))) for t in config.required_terms if _PHRASE_WORD.fullmatch(t.lower())}
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
    for ex, (phrases, negated) in zip(examples, sets):
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
        example = f" (e.g. line {where[0]}: {_clip(clause)!r})" if clause else ""
        return f"{text!r}{example} in {len(where)} of {n} reasoning blocks, lines {_line_list(where)}"

    message = f"boilerplate phrase {describe(*ordered[0])} (share > {share:g})"
    if len(ordered) > 1:
        message += f"; {len(ordered) - 1} more in the detail"
    detail = "\n".join(describe(where, h) for where, h in ordered)
    return [Finding("reasoning.boilerplate", RULES["reasoning.boilerplate"][0], str(config.jsonl), 0, message, config.stem, detail)]


def _line_list(lines: tuple[int, ...], limit: int = 30) -> str:
    shown = ", ".join(map(str, lines[:limit]))
    return shown if len(lines) <= limit else f"{shown}, … ({len(lines)} in all)"


def check_duplicates(examples: list[Example], config: DatasetConfig, contents: list[bytes] | None = None, sets: list | None = None, previous: dict | None = None) -> tuple[list[Finding], dict]:
    """Identical records and near-duplicate requests. `contents` (identical-record digests)
    and `sets` (request shingles) may come from the memo; `previous` is the near-duplicate
    state of the last run, which lets an edit be checked against the rest only. Returns the
    findings and this run's state."""
    out = []
    if contents is None:
        contents = [content_digest(ex.record) for ex in examples]
    first: dict[bytes, Example] = {}
    for ex, key in zip(examples, contents):
        if key in first:
            out.append(_record_finding(ex, "duplicates.identical", f"identical to the record at line {first[key].record.line}"))
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
        out.append(_record_finding(eb, "duplicates.near", f"request is a near-duplicate of line {ea.record.line} (Jaccard {score:.2f} ≥ {config.near_threshold})"))
    return out, state


def content_digest(r) -> bytes:
    return hashlib.sha256("\x00".join((r.system, r.user, r.assistant)).encode("utf-8", "surrogatepass")).digest()


_MASK = (1 << 64) - 1
_word_hashes: dict[str, int] = {}  # a dataset's vocabulary is small; each word is hashed once


def _word_hash(word: str) -> int:
    """64 bits that are the same in every process (CRC-32 and Adler-32 side by side), so a
    build can keep shingles for the next one; Python's hash() is salted per process."""
    h = _word_hashes.get(word)
    if h is None:
        if len(_word_hashes) > 1_000_000:
            _word_hashes.clear()
        b = word.encode("utf-8", "surrogatepass")
        h = _word_hashes[word] = zlib.crc32(b) << 32 | zlib.adler32(b)
    return h


def shingles(text: str, k: int = 3) -> frozenset[int]:
    """The text's k-word shingles, as 64-bit hashes combined from the words' hashes (100,000
    requests' shingles as strings would cost hundreds of MB)."""
    hashes = [_word_hash(w) for w in _WORD.findall(text.lower())]
    if len(hashes) < k:
        return frozenset([_combine(hashes)]) if hashes else frozenset()
    if k == 3:  # _combine unrolled: the hot path of a 100,000-record check
        m, c0 = _MULT, 3 * _MULT
        return frozenset((((c0 + a) * m + b) * m + c) & _MASK for a, b, c in zip(hashes, hashes[1:], hashes[2:]))
    return frozenset(_combine(hashes[i : i + k]) for i in range(len(hashes) - k + 1))


_MULT = 0x9E3779B97F4A7C15


def _combine(hashes: list[int]) -> int:
    h = len(hashes)
    for x in hashes:
        h = (h * _MULT + x) & _MASK
    return h


MAX_CANDIDATES = 2000  # per text; only a flood of templated near-copies ever reaches it
MAX_EDITED = 16  # edited texts above which one search from scratch is cheaper (measured at 100,000)


def near_duplicates(sets: list, threshold: float, keys: list | None = None, previous: dict | None = None) -> tuple[list[tuple[int, int, float]], dict]:
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
    edited = [i for i, (k, old) in enumerate(zip(keys, previous["keys"])) if k != old] if usable else []
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
    state = {"threshold": threshold, "keys": keys, "pairs": pairs, "capped": capped, "heaviest": heaviest, "longest": longest, "edits": 0, "sharing": 0}
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


def check_coverage(config: DatasetConfig, index: SourceIndex, covered: dict[str, list[str]]) -> list[Finding]:
    out = []
    where = str(config.config_path)
    for item in index.items():
        if item.path not in config.scope_files or item.kind == "use":
            continue
        if config.in_scope(item.ident) and not config.is_out(item.ident) and not (config.exclude_test_modules and item.in_test):
            if not covered.get(item.ident):
                out.append(Finding("coverage.uncovered", RULES["coverage.uncovered"][0], item.path, item.start_line, f"{item.kind} {item.name} is in scope but no example covers it", config.stem))
    defined = {i.name.rsplit("::", 1)[-1] for i in index.items()} | {i.name for i in index.items()}
    for name in config.expected_names:
        if name not in defined:
            out.append(Finding("coverage.missing-name", RULES["coverage.missing-name"][0], where, 0, f"{name} is named by the scope but the source defines no such item", config.stem))
    idents = {i.ident for i in index.items()}
    for sel in config.scope_items + config.out_items:
        path, _, name = sel.partition("::")
        if path not in index.files:
            continue
        if name != "*" and sel not in idents and not any(i.startswith(sel + "::") for i in idents):
            out.append(Finding("coverage.scope-unmatched", RULES["coverage.scope-unmatched"][0], where, 0, f"scope selector {sel} matches no item in the source", config.stem))
    return out


def _clip(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
