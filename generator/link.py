"""Examples × source index → located segments and coverage. Pure: no I/O.

A code block is split into chunks at blank lines; each chunk is located through a hash index of
source lines (never a scan of every file), and chunks that are contiguous in one file merge into
one segment. Works the same from a checkout or from the lock (which carries the line hashes).
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple

from .index import line_hash, normalise
from .model import Coverage, Match, Segment, SourceIndex


@dataclass
class LineIndex:
    exact: dict[str, list[tuple[str, int]]]  # line hash → [(path, 0-based line)]
    norm: dict[str, list[tuple[str, int]]]
    index: SourceIndex

    @classmethod
    def build(cls, index: SourceIndex) -> LineIndex:
        exact: dict[str, list] = defaultdict(list)
        norm: dict[str, list] = defaultdict(list)
        for path in sorted(index.files):
            f = index.files[path]
            for n, h in enumerate(f.line_hashes):
                exact[h].append((path, n))
            for n, h in enumerate(f.norm_hashes):
                norm[h].append((path, n))
        return cls(dict(exact), dict(norm), index)


@dataclass(frozen=True)
class _Chunk:
    start: int  # 0-based line within the code block
    lines: tuple[str, ...]


def chunks(code: str) -> list[_Chunk]:
    """Maximal runs of non-blank lines."""
    out: list[_Chunk] = []
    cur: list[str] = []
    start = 0
    for n, line in enumerate(code.split("\n")):
        if line.strip():
            if not cur:
                start = n
            cur.append(line)
        elif cur:
            out.append(_Chunk(start, tuple(cur)))
            cur = []
    if cur:
        out.append(_Chunk(start, tuple(cur)))
    return out


def _exact_candidates(li: LineIndex, hashes: tuple[str, ...]) -> list[tuple[str, int]]:
    out = []
    for path, n in li.exact.get(hashes[0], ()):
        fh = li.index.files[path].line_hashes
        if tuple(fh[n : n + len(hashes)]) == hashes:
            out.append((path, n))
    return out


def _norm_candidates(li: LineIndex, hashes: tuple[str, ...]) -> list[tuple[str, int]]:
    out = []
    for path, n in li.norm.get(hashes[0], ()):
        fh = li.index.files[path].norm_hashes
        if tuple(fh[n : n + len(hashes)]) == hashes:
            out.append((path, n))
    return out


def _closest(li: LineIndex, hashes: tuple[str, ...]) -> tuple[str, int, int] | None:
    """Source span sharing most (normalised) lines with the chunk at one offset: (path, start, votes)."""
    votes: dict[tuple[str, int], int] = defaultdict(int)
    for i, h in enumerate(hashes):
        positions = li.norm.get(h, ())
        if len(positions) > 50:  # braces and blank-ish lines vote for everything
            continue
        for path, n in positions:
            votes[(path, n - i)] += 1
    if not votes:
        return None
    (path, start), best = max(sorted(votes.items()), key=lambda kv: kv[1])
    if best * 2 < len(hashes) or best < 2 and len(hashes) > 1:
        return None
    return path, max(start, 0), best


def _diff(li: LineIndex, path: str, start: int, lines: tuple[str, ...]) -> str:
    f = li.index.files[path]
    if f.text is None:
        return ""
    source = f.lines()[start : start + len(lines)]
    return "\n".join(difflib.unified_diff(source, list(lines), f"{path} (pinned)", "example", lineterm="", n=1))


class _Placed(NamedTuple):
    """Where one chunk of a code block was found."""

    chunk: _Chunk
    status: Match
    path: str
    start0: int  # 0-based first line in the file
    diff: str


def locate(li: LineIndex, code: str) -> list[Segment]:
    """Segments of one code block, located in the source: each chunk placed, then runs of
    chunks contiguous in one file merged."""
    cks = chunks(code)
    hashes = [tuple(line_hash(line) for line in ck.lines) for ck in cks]
    exact = [_exact_candidates(li, h) for h in hashes]
    placed = _place_chunks(li, cks, exact, _preferred_file(cks, exact))
    return _merge_runs(li, code.split("\n"), placed)


def _preferred_file(cks: list[_Chunk], exact: list[list[tuple[str, int]]]) -> str | None:
    """The file where most of the code's lines are found verbatim (ties: the first by name)."""
    weight: dict[str, int] = defaultdict(int)
    for ck, cs in zip(cks, exact, strict=True):
        for path in {p for p, _ in cs}:
            weight[path] += len(ck.lines)
    return max(sorted(weight), key=lambda p: weight[p]) if weight else None


def _place_chunks(li: LineIndex, cks: list[_Chunk], exact: list, preferred: str | None) -> list[_Placed]:
    """Each chunk placed: verbatim where found (continuing the previous chunk when it can,
    else in the preferred file), else as modified at the closest span, else not found."""
    placed: list[_Placed] = []
    prev: tuple[str, int] | None = None  # (path, 0-based line after the previous chunk)
    for i, (ck, cs) in enumerate(zip(cks, exact, strict=True)):
        if cs:
            pick = None
            if prev is not None:
                gap = ck.start - (cks[i - 1].start + len(cks[i - 1].lines))
                want = (prev[0], prev[1] + gap)
                pick = want if want in cs else None
            if pick is None:
                same = [c for c in cs if c[0] == preferred]
                pick = (same or cs)[0]
            placed.append(_Placed(ck, Match.VERBATIM, pick[0], pick[1], ""))
            prev = (pick[0], pick[1] + len(ck.lines))
        else:
            placed.append(_place_changed(li, ck, preferred))
            prev = None
    return placed


def _place_changed(li: LineIndex, ck: _Chunk, preferred: str | None) -> _Placed:
    """A chunk not found verbatim: where it is found with whitespace normalised, else the
    closest span; "not-found" when neither."""
    norm_hashes = tuple(line_hash(normalise(line)) for line in ck.lines)
    ns = _norm_candidates(li, norm_hashes)
    if ns:
        same = [c for c in ns if c[0] == preferred]
        path, start = (same or ns)[0]
    else:
        near = _closest(li, norm_hashes)
        if near is None:
            return _Placed(ck, Match.NOT_FOUND, "", 0, "")
        path, start, _ = near
    return _Placed(ck, Match.MODIFIED, path, start, _diff(li, path, start, ck.lines))


def _merge_runs(li: LineIndex, code_lines: list[str], placed: list[_Placed]) -> list[Segment]:
    """Verbatim chunks that are contiguous in the same file (the blank lines between them
    included) become one segment; every other chunk is a segment of its own."""
    segments: list[Segment] = []
    run: list[_Placed] = []
    for entry in placed:
        if run and not _continues(li, code_lines, run[-1], entry):
            segments.append(_segment(len(segments), code_lines, run))
            run = []
        run.append(entry)
    if run:
        segments.append(_segment(len(segments), code_lines, run))
    return segments


def _continues(li: LineIndex, code_lines: list[str], prev: _Placed, cur: _Placed) -> bool:
    pck, ck = prev.chunk, cur.chunk
    gap = ck.start - (pck.start + len(pck.lines))
    gap_lines = code_lines[pck.start + len(pck.lines) : ck.start]
    return (
        cur.status == prev.status == Match.VERBATIM
        and cur.path == prev.path
        and cur.start0 == prev.start0 + len(pck.lines) + gap
        and _same_source_lines(li, cur.path, prev.start0 + len(pck.lines), gap_lines)
    )


def _segment(index: int, code_lines: list[str], run: list[_Placed]) -> Segment:
    first, last = run[0], run[-1]
    ck0 = first.chunk
    end_code = last.chunk.start + len(last.chunk.lines)
    text = "\n".join(code_lines[ck0.start : end_code])
    if first.status == Match.NOT_FOUND:
        return Segment(index, text, ck0.start, first.status)
    n_lines = end_code - ck0.start
    start, end = first.start0 + 1, first.start0 + n_lines
    return Segment(index, text, ck0.start, first.status, first.path, start, end, first.diff)


def _same_source_lines(li: LineIndex, path: str, start0: int, lines: list[str]) -> bool:
    """The blank lines between two chunks are byte-for-byte the source's (whitespace too)."""
    return list(li.index.files[path].line_hashes[start0 : start0 + len(lines)]) == [line_hash(line) for line in lines]


def coverage_of(index: SourceIndex, segments: list[Segment]) -> Coverage:
    full: list[str] = []
    partial: list[str] = []
    lines = []
    for seg in segments:
        if seg.status != Match.VERBATIM:  # code quoted with changes does not cover the source
            continue
        lines.append((seg.path, seg.start_line, seg.end_line))
        f = index.files.get(seg.path)
        if f is None:
            continue
        for item in f.items:
            if item.end_line < seg.start_line or item.start_line > seg.end_line:
                continue
            if seg.start_line <= item.start_line and item.end_line <= seg.end_line:
                full.append(item.ident)
            else:
                partial.append(item.ident)
    full_set = set(full)
    return Coverage(
        tuple(dict.fromkeys(full)),
        tuple(i for i in dict.fromkeys(partial) if i not in full_set),
        tuple(lines),
    )


def fragment_problems(index: SourceIndex, seg: Segment) -> list[str]:
    """Ways a located segment cuts through an item instead of quoting whole items."""
    f = index.files.get(seg.path)
    if f is None or seg.status == Match.NOT_FOUND:
        return []
    s, e = seg.start_line, seg.end_line
    problems = []
    for item in f.items:
        if item.end_line < s or item.start_line > e:
            continue
        contains_seg = item.start_line <= s and e <= item.end_line and (item.start_line, item.end_line) != (s, e)
        inside_seg = s <= item.start_line and item.end_line <= e
        lead_inside = s <= item.end_line and item.lead_line <= s <= item.start_line and item.end_line <= e
        if inside_seg or lead_inside:
            continue
        if contains_seg:
            # Fine only when the segment is made of whole child items of this container.
            children = [
                c
                for c in f.items
                if c.parent and item.start_line <= c.start_line and c.end_line <= item.end_line and c is not item
            ]
            starts = {c.start_line for c in children} | {
                number for c in children for number in range(c.lead_line, c.start_line + 1)
            }
            ends = {c.end_line for c in children}
            if s in starts and e in ends:
                continue
            problems.append(
                f"covers only lines {s}-{e} of {item.kind} {item.name} (lines {item.start_line}-{item.end_line})"
            )
        else:
            problems.append(
                f"cuts {item.kind} {item.name} (lines {item.start_line}-{item.end_line}) at its "
                f"{'start' if item.start_line < s else 'end'}"
            )
    return problems
