"""Property-based tests: arbitrary lines and structures never crash the loader or the
renderer; every line is either a record or reported; record text always comes out as text."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.highlight import rust_lines, text_html
from generator.load import SKIPPING_RULES, load_dataset, split_assistant

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
messages = st.lists(
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(["system", "user", "assistant", "tool", ""]) | st.integers(),
            "content": st.text() | st.integers() | st.none(),
        }
    ),
    max_size=4,
)
records = st.fixed_dictionaries(
    {"type": st.sampled_from(["chatml", "other"]) | st.integers(), "messages": messages | json_values}
)


def _dump(value) -> bytes:
    # stdlib json: big integers and lone surrogates (→ invalid UTF-8) are part of the fuzz
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


lines = st.one_of(
    st.binary(max_size=200).filter(lambda b: b"\n" not in b and b"\r" not in b),
    json_values.map(_dump),
    records.map(_dump),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(lines, max_size=12), st.booleans(), st.booleans())
def test_loader_reports_every_bad_line(tmp_path, body, crlf, final_newline):
    sep = b"\r\n" if crlf else b"\n"
    data = sep.join(body) + (sep if final_newline and body else b"")
    path = tmp_path / "p.jsonl"
    path.write_bytes(data)
    recs, findings = load_dataset(path)
    n_lines = len(data.splitlines()) if data else 0
    skipped = {f.line for f in findings if f.rule in SKIPPING_RULES}
    loaded = {r.line for r in recs}
    assert not (skipped & loaded)
    assert skipped | loaded == set(range(1, n_lines + 1))
    for f in findings:
        assert "\n" not in f.message and f.path == str(path) and 1 <= f.line <= max(n_lines, 1)
    for r in recs:
        assert isinstance(r.user, str) and isinstance(r.assistant, str)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_text_is_escaped_and_only_invisible_characters_change(text):
    out = str(text_html(text))
    assert "<" not in re.sub(r'<span class="cc" title="U\+[0-9A-F]{4,6} [^"<>]*">U\+[0-9A-F]{4,6}</span>', "", out)
    plain = re.sub(
        r'<span class="cc" title="[^"]*">(U\+[0-9A-F]{4,6})</span>', lambda m: chr(int(m.group(1)[2:], 16)), out
    )
    assert html.unescape(plain) == text


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_highlighter_spans_balance_on_every_line(code):
    for line in rust_lines(code):
        assert line.count("<span") == line.count("</span>")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(st.text(max_size=300), st.text(max_size=300), st.text(max_size=300))
def test_example_pages_render_any_text(tmp_path, user, think, code):
    """The full views + templates path on a record with arbitrary text."""
    import shutil

    from conftest import CONFIG, LOCK, record

    from generator.config import load_config
    from generator.lock import read_lock
    from generator.pipeline import aggregate, link_examples
    from generator.render import render_page
    from generator.views import DatasetViews, example_page

    rec = record(user, think, code)
    raw = orjson.dumps(rec)
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_bytes(raw + b"\n")
    shutil.copy(CONFIG, tmp_path / "p.toml")
    config = load_config(jsonl)
    index, _ = read_lock(LOCK)
    recs, _ = load_dataset(jsonl)
    examples = link_examples(recs, index)
    covered, partly, lines = aggregate(examples)
    from generator.model import DatasetResult

    result = DatasetResult(
        config=config,
        examples=examples,
        findings=[],
        index=index,
        source=None,
        covered=covered,
        partly=partly,
        lines_covered=lines,
    )
    md = render_page(example_page(DatasetViews(result), 0))

    def shown(cls):
        inner = re.search(rf'<div class="ex-text {cls}">(.*?)</div>', md, re.S).group(1)
        inner = re.sub(
            r'<span class="cc" title="[^"]*">(U\+[0-9A-F]{4,6})</span>', lambda m: chr(int(m.group(1)[2:], 16)), inner
        )
        assert "<" not in inner  # no markup from the record
        return html.unescape(inner)

    assert shown("ex-user") == user
    assert shown("ex-think") == split_assistant(rec["messages"][2]["content"])[0]
    assert (
        html.unescape(re.search(r'<textarea id="jsonl-raw"[^>]*>(.*?)</textarea>', md, re.S).group(1)) == raw.decode()
    )


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from("a b c d e f g h".split()), min_size=0, max_size=12).map(" ".join), max_size=25),
    st.sampled_from([0.3, 0.5, 0.8, 1.0]),
)
def test_near_duplicates_equals_brute_force(texts, threshold):
    from generator.checks import near_duplicates, shingles

    expected = []
    sets = [shingles(t) for t in texts]
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            a, b = sets[i], sets[j]
            if a and b:
                score = len(a & b) / len(a | b)
                if score >= threshold:
                    expected.append((i, j, score))
    pairs, state = near_duplicates(sets, threshold)
    assert [(i, j) for i, j, _ in pairs] == [(i, j) for i, j, _ in expected]
    assert state["capped"] is False


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from("a b c d e f g h".split()), min_size=0, max_size=10).map(" ".join),
        min_size=1,
        max_size=20,
    ),
    st.data(),
    st.sampled_from([0.3, 0.5, 0.8]),
)
def test_near_duplicates_after_edits_equal_a_search_from_scratch(texts, data, threshold):
    """The incremental path (only edited texts compared with the rest) finds exactly the
    pairs a full search finds over the edited texts."""
    from generator.checks import near_duplicates, shingles

    keys = [(n, t) for n, t in enumerate(texts)]
    _, state = near_duplicates([shingles(t) for t in texts], threshold, keys)
    edited = list(texts)
    for i in data.draw(st.lists(st.integers(0, len(texts) - 1), max_size=4)):
        edited[i] = data.draw(st.lists(st.sampled_from("a b c d e f g h".split()), max_size=10).map(" ".join))
    sets = [shingles(t) for t in edited]
    new_keys = [(n, t) for n, t in enumerate(edited)]
    incremental, _ = near_duplicates(sets, threshold, new_keys, state)
    fresh, _ = near_duplicates(sets, threshold, new_keys)
    assert incremental == fresh


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_highlighter_loses_no_character(code):
    """Tag-stripped, unescaped highlighted lines give back the code (invisible characters as markers)."""
    out = rust_lines(code)
    plain = [
        re.sub(
            r'<span class="cc" title="[^"]*">(U\+[0-9A-F]{4,6})</span>', lambda m: chr(int(m.group(1)[2:], 16)), line
        )
        for line in out
    ]
    # only real tags: record text is escaped
    plain = [html.unescape(re.sub(r"</?span[^>]*>", "", line)) for line in plain]
    assert plain == code.split("\n")


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(list("aZb_9:!é `") + ["::", "Foo", "éX", "x::y", "Ab1Cd", " "]), max_size=30).map("".join)
)
def test_identifier_patterns_match_their_plain_definitions(text):
    """The fast forms of the reasoning rule's patterns find what the plain \\b forms find."""
    import re

    from generator.checks.reasoning import _CAMEL, _PATH

    assert _PATH.findall(text) == re.findall(r"\b[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)+!?", text)
    assert _CAMEL.findall(text) == re.findall(r"\b[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+\b", text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from("a b c retry Retry d'x é 9".split()), max_size=12).map(" ".join))
def test_shingles_unrolled_equal_the_general_form(text):
    from generator.checks.words import _WORD, _combine, _word_hash, shingles

    hashes = [_word_hash(w) for w in _WORD.findall(text.lower())]
    general = (
        frozenset(_combine(hashes[i : i + 3]) for i in range(len(hashes) - 2))
        if len(hashes) >= 3
        else (frozenset([_combine(hashes)]) if hashes else frozenset())
    )
    assert shingles(text) == general


@pytest.mark.slow
def test_near_duplicates_after_an_edit_near_the_candidate_cap_equal_a_search_from_scratch():
    """A flood of texts sharing one shingle: an edit that would make a search from scratch
    stop at MAX_CANDIDATES must not be answered by the (uncapped) incremental path."""
    from generator.checks import near_duplicates, shingles
    from generator.checks.duplicates import MAX_CANDIDATES

    n = MAX_CANDIDATES
    texts = (
        ["kappa lambda omega"]
        + [f"theta kappa lambda u{i}" for i in range(n)]
        + [f"p{i} q{i} r{i} kappa lambda omega" for i in range(n + 1)]
    )
    texts.append("a completely unrelated closing request")
    keys = list(enumerate(texts))
    _, state = near_duplicates([shingles(t) for t in texts], 0.5, keys)
    texts[-1] = "theta kappa lambda omega"
    keys = list(enumerate(texts))
    sets = [shingles(t) for t in texts]
    assert near_duplicates(sets, 0.5, keys, state)[0] == near_duplicates(sets, 0.5, keys)[0]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60).map(lambda b: bytes(b"ab\r\n"[x % 4] for x in b)), st.integers(1, 7))
def test_lines_read_in_blocks_equal_a_plain_split(data, block):
    """Lines spanning blocks, CRLF cut between blocks, files ending at a block's end."""
    import tempfile

    import generator.load as load

    expected = []
    parts = data.split(b"\n")
    last = parts.pop()
    for n, line in enumerate(parts, start=1):
        expected.append((n, line[:-1], b"\r\n") if line.endswith(b"\r") else (n, line, b"\n"))
    if last:
        expected.append((len(parts) + 1, last, b""))
    with tempfile.NamedTemporaryFile() as fh:
        fh.write(data)
        fh.flush()
        saved, load.BLOCK = load.BLOCK, block
        try:
            assert list(load.iter_lines(Path(fh.name))) == expected
        finally:
            load.BLOCK = saved


@given(st.text(alphabet=".;:!?\n\r\t\u2028 ab'", max_size=60))
def test_clauses_end_where_the_plain_pattern_says(text):
    """boilerplate's clause split is written to start with one set of characters (fast); it
    splits every text exactly as the plain alternation it replaced."""
    from generator.checks.boilerplate import _CLAUSE_END

    plain = re.compile(r"[.;:!?]+(?:\s+|$)|\n+")
    assert _CLAUSE_END.split(text) == plain.split(text)
