"""Examples × source index → located segments and coverage. Pure: no I/O.

A code block is split into chunks at blank lines; each chunk is located through a hash index of
source lines (never a scan of every file), and chunks that are contiguous in one file merge into
one segment. Works the same from a checkout or from the lock (which carries the line hashes).
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from dataclasses import dataclass

from .index import line_hash, normalise
from .model import Coverage, Segment, SourceIndex


@dataclass
class LineIndex:
    exact: dict[str, list[tuple[str, int]]]  # line hash → [(path, 0-based line)]
    norm: dict[str, list[tuple[str, int]]]
    index: SourceIndex

    @classmethod
    def build(cls, index: SourceIndex) -> "LineIndex":
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
    return "\n".join(
        difflib.unified_diff(source, list(lines), f"{path} (pinned)", "example", lineterm="", n=1)
    )


def locate(li: LineIndex, code: str) -> list[Segment]:
    """Segments of one code block, located in the source."""
    cks = chunks(code)
    code_lines = code.split("\n")
    cand = []
    for ck in cks:
        hashes = tuple(line_hash(l) for l in ck.lines)
        cand.append((hashes, _exact_candidates(li, hashes)))
    weight: dict[str, int] = defaultdict(int)
    for ck, (_, cs) in zip(cks, cand):
        for path in {p for p, _ in cs}:
            weight[path] += len(ck.lines)
    preferred = max(sorted(weight), key=lambda p: weight[p]) if weight else None

    located: list[tuple[_Chunk, str, str, int, str]] = []  # chunk, status, path, start0, diff
    prev: tuple[str, int] | None = None  # (path, 0-based line after the previous chunk + gap)
    for i, (ck, (hashes, cs)) in enumerate(zip(cks, cand)):
        if cs:
            pick = None
            if prev is not None:
                gap = ck.start - (cks[i - 1].start + len(cks[i - 1].lines))
                want = (prev[0], prev[1] + gap)
                pick = want if want in cs else None
            if pick is None:
                same = [c for c in cs if c[0] == preferred]
                pick = (same or cs)[0]
            located.append((ck, "verbatim", pick[0], pick[1], ""))
            prev = (pick[0], pick[1] + len(ck.lines))
            continue
        norm_hashes = tuple(line_hash(normalise(l)) for l in ck.lines)
        ns = _norm_candidates(li, norm_hashes)
        if ns:
            same = [c for c in ns if c[0] == preferred]
            path, start = (same or ns)[0]
        else:
            near = _closest(li, norm_hashes)
            if near is None:
                located.append((ck, "not-found", "", 0, ""))
                prev = None
                continue
            path, start, _ = near
        located.append((ck, "modified", path, start, _diff(li, path, start, ck.lines)))
        prev = None

    # Merge verbatim chunks that are contiguous in the same file (blank lines included).
    segments: list[Segment] = []
    run: list[tuple[_Chunk, str, str, int, str]] = []

    def flush():
        if not run:
            return
        first, last = run[0], run[-1]
        ck0, status, path, start0, diff = first
        end_code = last[0].start + len(last[0].lines)
        text = "\n".join(code_lines[ck0.start : end_code])
        n_lines = end_code - ck0.start
        if status == "not-found":
            segments.append(Segment(len(segments), text, ck0.start, status))
        else:
            segments.append(Segment(len(segments), text, ck0.start, status, path, start0 + 1, start0 + n_lines, diff))
        run.clear()

    for entry in located:
        if run:
            ck, status, path, start0, _ = entry
            pck, pstatus, ppath, pstart0, _ = run[-1]
            gap = ck.start - (pck.start + len(pck.lines))
            gap_lines = code_lines[pck.start + len(pck.lines) : ck.start]
            contiguous = (
                status == pstatus == "verbatim"
                and path == ppath
                and start0 == pstart0 + len(pck.lines) + gap
                and _same_source_lines(li, path, pstart0 + len(pck.lines), gap_lines)
            )
            if not contiguous:
                flush()
        run.append(entry)
    flush()
    return segments


def _same_source_lines(li: LineIndex, path: str, start0: int, lines: list[str]) -> bool:
    """The blank lines between two chunks are byte-for-byte the source's (whitespace too)."""
    return list(li.index.files[path].line_hashes[start0 : start0 + len(lines)]) == [line_hash(l) for l in lines]


def coverage_of(index: SourceIndex, segments: list[Segment]) -> Coverage:
    full: list[str] = []
    partial: list[str] = []
    lines = []
    for seg in segments:
        if seg.status != "verbatim":  # code quoted with changes does not cover the source
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
    if f is None or seg.status == "not-found":
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
            children = [c for c in f.items if c.parent and item.start_line <= c.start_line and c.end_line <= item.end_line and c is not item]
            starts = {c.start_line for c in children} | {l for c in children for l in range(c.lead_line, c.start_line + 1)}
            ends = {c.end_line for c in children}
            if s in starts and e in ends:
                continue
            problems.append(f"covers only lines {s}-{e} of {item.kind} {item.name} (lines {item.start_line}-{item.end_line})")
        else:
            problems.append(f"cuts {item.kind} {item.name} (lines {item.start_line}-{item.end_line}) at its {'start' if item.start_line < s else 'end'}")
    return problems
