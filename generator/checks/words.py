"""Word hashes that are the same in every process, and request shingles built from them
(the near-duplicate check and `diff` use the shingles, the boilerplate check the hashes)."""

from __future__ import annotations

import re
import zlib

_WORD = re.compile(r"[a-z0-9']+")

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
        return frozenset(
            (((c0 + a) * m + b) * m + c) & _MASK for a, b, c in zip(hashes, hashes[1:], hashes[2:], strict=False)
        )
    return frozenset(_combine(hashes[i : i + k]) for i in range(len(hashes) - k + 1))


_MULT = 0x9E3779B97F4A7C15


def _combine(hashes: list[int]) -> int:
    h = len(hashes)
    for x in hashes:
        h = (h * _MULT + x) & _MASK
    return h
