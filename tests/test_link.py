"""Linking code blocks to source spans: verbatim, modified, not found; coverage of items."""

import pytest
from conftest import CACHE, LOCK, QUEUE, RETRY, WORKER, source_lines

from generator.index import index_source
from generator.link import LineIndex, chunks, coverage_of, fragment_problems, locate
from generator.lock import read_lock

FILES = [RETRY, QUEUE, CACHE, WORKER]


@pytest.fixture(scope="module")
def index(corpus):
    idx, problems = index_source(corpus, FILES)
    assert not problems
    return idx


def seg_spans(segs):
    return [(s.status, s.path, s.start_line, s.end_line) for s in segs]


def test_chunks_split_at_blank_lines():
    assert [(c.start, c.lines) for c in chunks("a\nb\n\n\nc\n  \nd")] == [(0, ("a", "b")), (4, ("c",)), (6, ("d",))]


def test_imports_then_item_merge_into_one_span_when_contiguous(index):
    li = LineIndex.build(index)
    code = source_lines(RETRY, 1, 3) + "\n\n" + source_lines(RETRY, 5, 21)
    assert seg_spans(locate(li, code)) == [("verbatim", RETRY, 1, 21)]


def test_imports_and_distant_item_are_two_segments(index):
    li = LineIndex.build(index)
    code = source_lines(QUEUE, 1, 15) + "\n\n" + source_lines(QUEUE, 259, 287)
    assert seg_spans(locate(li, code)) == [("verbatim", QUEUE, 1, 15), ("verbatim", QUEUE, 259, 287)]


def test_identical_text_in_two_files_prefers_the_file_of_the_other_segments(index):
    li = LineIndex.build(index)
    # RETRY_SCHEDULE is byte-identical in queue/mod.rs and cache/mod.rs
    assert source_lines(QUEUE, 20, 24) == source_lines(CACHE, 133, 137)
    code = source_lines(QUEUE, 1, 15) + "\n\n" + source_lines(QUEUE, 20, 24)
    assert seg_spans(locate(li, code))[1] == ("verbatim", QUEUE, 20, 24)
    code = source_lines(CACHE, 4, 11) + "\n\n" + source_lines(CACHE, 133, 137)
    assert seg_spans(locate(li, code))[1] == ("verbatim", CACHE, 133, 137)


def test_whitespace_change_is_modified_with_a_diff(index):
    li = LineIndex.build(index)
    code = source_lines(RETRY, 33, 38).replace("    ", "  ")
    (seg,) = locate(li, code)
    assert (seg.status, seg.path, seg.start_line, seg.end_line) == ("modified", RETRY, 33, 38)
    assert seg.diff.startswith(f"--- {RETRY} (pinned)")


def test_a_few_changed_lines_is_modified(index):
    li = LineIndex.build(index)
    code = source_lines(RETRY, 40, 66).replace(
        "tokio::time::sleep(self.retry_schedule[0]).await;",
        "tokio::time::sleep(self.retry_schedule[0].min(MAX)).await;",
    )
    (seg,) = locate(li, code)
    assert (seg.status, seg.path, seg.start_line) == ("modified", RETRY, 40)
    assert "+                    tokio::time::sleep(self.retry_schedule[0].min(MAX)).await;" in seg.diff


def test_invented_code_is_not_found(index):
    li = LineIndex.build(index)
    (seg,) = locate(li, "pub struct RetryState {\n    attempts: u32,\n    next_at: Instant,\n}")
    assert seg.status == "not-found" and seg.path == ""


def test_coverage_full_and_partial(index):
    li = LineIndex.build(index)
    segs = locate(li, source_lines(RETRY, 40, 66))
    cov = coverage_of(index, segs)
    assert cov.full == (f"{RETRY}::Retry::run",)
    assert cov.partial == (f"{RETRY}::impl<'a, Re> Retry<'a, Re>",)
    assert cov.lines == ((RETRY, 40, 66),)


def test_fragments_are_detected(index):
    li = LineIndex.build(index)
    whole_method = locate(li, source_lines(RETRY, 40, 66))[0]
    assert fragment_problems(index, whole_method) == []
    truncated = locate(li, source_lines(RETRY, 40, 50))[0]
    assert truncated.status == "verbatim"
    assert fragment_problems(index, truncated) == [
        "covers only lines 40-50 of impl impl<'a, Re> Retry<'a, Re> (lines 32-67)",
        "covers only lines 40-50 of fn Retry::run (lines 40-66)",
    ]
    impl_cut = locate(li, source_lines(RETRY, 32, 38))[0]
    assert fragment_problems(index, impl_cut) == [
        "covers only lines 32-38 of impl impl<'a, Re> Retry<'a, Re> (lines 32-67)"
    ]
    straddling = locate(li, source_lines(RETRY, 15, 30))[0]
    assert fragment_problems(index, straddling) == ["cuts fn run_with_retries (lines 5-21) at its start"]
    struct_without_docs = locate(li, source_lines(RETRY, 27, 30))[0]
    assert fragment_problems(index, struct_without_docs) == ["covers only lines 27-30 of struct Retry (lines 23-30)"]


def test_linking_from_the_lock_equals_linking_from_the_checkout(index):
    lock_index, _ = read_lock(LOCK)
    code = source_lines(QUEUE, 1, 15) + "\n\n" + source_lines(QUEUE, 169, 187)
    assert seg_spans(locate(LineIndex.build(lock_index), code)) == seg_spans(locate(LineIndex.build(index), code))


def test_whitespace_between_chunks_must_match_the_source(index):
    li = LineIndex.build(index)
    exact = source_lines(RETRY, 1, 3)
    assert seg_spans(locate(li, exact)) == [("verbatim", RETRY, 1, 3)]
    # line 2 of retry.rs is empty; a tab-and-spaces line in its place is not verbatim
    tampered = exact.replace("\n\n", "\n\t  \n")
    assert seg_spans(locate(li, tampered)) == [("verbatim", RETRY, 1, 1), ("verbatim", RETRY, 3, 3)]
