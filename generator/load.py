"""JSONL → Records. Reads line by line with orjson, keeps file and line of every record.

A line that is not a valid record becomes a Finding (`file:line: reason`) and is skipped;
everything else still loads. The file is opened read-only and never written.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import orjson

from .model import Finding, Location, Record, Severity

BOM = b"\xef\xbb\xbf"
# Rules the loader reports: all of them are "line reports" (--strict fails on any); the
# SKIPPING ones mean the line was not a usable record and has no page.
SKIPPING_RULES = frozenset({"schema.utf8", "schema.json", "schema.shape", "schema.duplicate-key", "schema.blank-line"})
LOADER_RULES = SKIPPING_RULES | {
    "schema.bom",
    "schema.crlf",
    "schema.no-final-newline",
    "schema.large-line",
    "schema.extra-keys",
}
ROLES = ("system", "user", "assistant")
TOP_KEYS = ("type", "messages")
MESSAGE_KEYS = ("role", "content")
LARGE_LINE = 1 << 20  # a line above 1 MiB is reported (it still loads)
BLOCK = 1 << 24  # bytes read at a time


def line_digest(raw: bytes) -> bytes:
    """How later builds recognise a line (the memo's key for it)."""
    return hashlib.sha256(raw).digest()[:16]  # SHA-256 has CPU instructions on most machines


@dataclass
class LineMemo:
    """What one line's bytes determine (given the generator's code), whatever the context: the
    loader's part, and what the checks add. Kept between builds in the memo (memo.py)."""

    reports: tuple[tuple[str, str, str], ...]  # loader line reports (rule, severity, message)
    valid: bool  # a usable record (not skipped by the loader)
    extra_keys: tuple[str, ...] = ()
    content: bytes | None = (
        None  # digest of system, user and assistant (identical-record check); None until a check ran
    )
    shingles: bytes = b""  # the request's shingle hashes, as packed 64-bit integers
    sizes: tuple[int, int, int] = (0, 0, 0)  # words in the request, words in the reasoning, code lines
    phrases: bytes = b""  # the reasoning's phrase hashes (reasoning.boilerplate), packed signed 64-bit
    negated: bytes = b""  # the reasoning's negated-word hashes (reasoning.boilerplate), packed alike

    def as_tuple(self) -> tuple:
        return (
            self.reports,
            self.valid,
            self.extra_keys,
            self.content,
            self.shingles,
            self.sizes,
            self.phrases,
            self.negated,
        )


# One JSON string token, optionally followed by a colon (then it is an object key).
_STRING_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"(\s*:)?', re.S)


class DatasetUnreadable(Exception):
    """The dataset file itself cannot be read (missing, a directory, no permission)."""


def max_input_bytes() -> int:
    """How much of one input file (a dataset, its config or lock) is read at most: 2 GiB, or
    $GENERATOR_MAX_INPUT_BYTES."""
    try:
        return max(1, int(os.environ.get("GENERATOR_MAX_INPUT_BYTES", "")))
    except ValueError:
        return 2 << 30


def check_input(path: Path) -> None:
    """Refuse an input file (dataset, config, lock) that is a symbolic link leaving its own
    folder, or not a regular file (a device, a FIFO: /dev/zero never ends), or over the cap.
    A missing file or a folder is left to the reader, which says so."""
    try:
        if path.is_symlink():
            target = path.resolve()
            if not target.is_relative_to(path.parent.resolve()):
                raise DatasetUnreadable(f"{path}: is a symbolic link leaving its folder (to {target}); refused")
        st = path.stat()
    except OSError:
        return
    except RuntimeError:  # a link loop
        raise DatasetUnreadable(f"{path}: is a symbolic link loop; refused") from None
    if stat.S_ISDIR(st.st_mode):
        return
    if not stat.S_ISREG(st.st_mode):
        raise DatasetUnreadable(f"{path}: is not a regular file (a device, pipe or socket); refused")
    if st.st_size > max_input_bytes():
        raise DatasetUnreadable(
            f"{path}: has {st.st_size} bytes, more than the {max_input_bytes()} read at most "
            "(GENERATOR_MAX_INPUT_BYTES)"
        )


def read_input(path: Path) -> bytes:
    """An input file's bytes, after check_input (DatasetUnreadable, OSError)."""
    check_input(path)
    with open(path, "rb") as fh:
        data = fh.read(max_input_bytes() + 1)
    if len(data) > max_input_bytes():
        raise DatasetUnreadable(
            f"{path}: more than the {max_input_bytes()} bytes read at most (GENERATOR_MAX_INPUT_BYTES)"
        )
    return data


def _count_keys(value) -> int:
    """Keys in every object of a parsed value (iterative: nesting depth is the input's choice)."""
    count, stack = 0, [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            count += len(v)
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return count


def _duplicate_key(raw: bytes, parsed) -> str | None:
    """Name a key that occurs twice in one object, or None. orjson keeps the last silently."""
    if _plain_chatml_keys(raw, parsed):
        return None
    raw_keys = sum(1 for m in _STRING_TOKEN.finditer(raw) if m.group(1))
    if raw_keys == _count_keys(parsed):
        return None
    found: list[str] = []

    def hook(pairs):
        seen = set()
        for k, _ in pairs:
            if k in seen and not found:
                found.append(k)
            seen.add(k)
        return dict(pairs)

    try:
        json.loads(raw, object_pairs_hook=hook)
    except (ValueError, RecursionError):
        return None
    return found[0] if found else None


def _plain_chatml_keys(raw: bytes, obj) -> bool:
    """Fast path for the common record: exactly the schema's keys, each written once. A key
    repeated in the raw text would add an unescaped `"key"` (inside strings quotes are escaped)."""
    if len(obj) != 2 or b"\\u" in raw:  # an escaped key name would not be counted below
        return False
    msgs = obj["messages"]
    if any(len(m) != 2 for m in msgs):
        return False
    return (
        raw.count(b'"type"') == 1
        and raw.count(b'"messages"') == 1
        and raw.count(b'"role"') == len(msgs)
        and raw.count(b'"content"') == len(msgs)
    )


def _shape_problem(obj) -> str | None:
    """Why a parsed line is not a ChatML record, or None."""
    if not isinstance(obj, dict):
        return f"expected a JSON object, got {type(obj).__name__ if not isinstance(obj, list) else 'an array'}"
    if obj.get("type") != "chatml":
        if "type" not in obj:
            return "missing key 'type'"
        return f"'type' must be \"chatml\", got {orjson.dumps(obj['type']).decode()[:40]}"
    messages = obj.get("messages")
    if messages is None:
        return "missing key 'messages'"
    if not isinstance(messages, list):
        return f"'messages' must be an array, got {_json_type(messages)}"
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            return f"messages[{i}] must be an object, got {_json_type(m)}"
        for key in MESSAGE_KEYS:
            if key not in m:
                return f"messages[{i}] is missing '{key}'"
            if not isinstance(m[key], str):
                return f"messages[{i}].{key} must be a string, got {_json_type(m[key])}"
    roles = tuple(m["role"] for m in messages)
    if roles != ROLES:
        return (
            f"roles must be system, user, assistant in that order; got {', '.join(_shown(r) for r in roles) or 'none'}"
        )
    return None


def _shown(name: str, limit: int = 40) -> str:
    """A record-supplied name inside a message: quoted, escaped (no raw control characters)."""
    text = orjson.dumps(name[:limit]).decode()
    return text if len(name) <= limit else text[:-1] + '…"'


def _json_type(value) -> str:
    if value is None:
        return "null"
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


def _extra_keys(obj: dict) -> tuple[str, ...]:
    extra = [_shown(k) for k in obj if k not in TOP_KEYS]
    for i, m in enumerate(obj["messages"]):
        extra += [f"messages[{i}].{_shown(k)}" for k in m if k not in MESSAGE_KEYS]
    return tuple(extra)


def iter_lines(path: Path):
    """Yield (line_number, raw_bytes, ending) with the line ending split off; ending is b'' at EOF."""
    check_input(path)
    cap, total = max_input_bytes(), 0
    try:
        fh = open(path, "rb")
    except IsADirectoryError:
        raise DatasetUnreadable(f"{path}: is a directory, not a JSONL file") from None
    except FileNotFoundError:
        raise DatasetUnreadable(f"{path}: no such file") from None
    except OSError as e:
        raise DatasetUnreadable(f"{path}: cannot be read ({e.strerror})") from None
    with fh:
        n = 0
        carry: list[bytes] = []  # the unfinished line, in pieces (a line may span many blocks)
        while True:  # blocks split at once: much faster than line-by-line reads
            block = fh.read(BLOCK)
            if not block:
                break
            total += len(block)
            if total > cap:  # grew while read, or a size the file system does not tell
                raise DatasetUnreadable(f"{path}: more than the {cap} bytes read at most (GENERATOR_MAX_INPUT_BYTES)")
            lines = block.split(b"\n")
            if len(lines) == 1:
                carry.append(block)
                continue
            if carry:
                lines[0] = b"".join(carry) + lines[0]
            carry = [lines.pop()]
            for line in lines:
                n += 1
                if line.endswith(b"\r"):
                    yield n, line[:-1], b"\r\n"
                else:
                    yield n, line, b"\n"
        rest = b"".join(carry)
        if rest:
            yield n + 1, rest, b""


def load_dataset(path: Path, dataset: str | None = None) -> tuple[list[Record], list[Finding]]:
    """Read one JSONL file. Returns the valid records and the findings about its lines."""
    records, findings, _, _ = load_lines(path, dataset)
    return records, findings


def load_lines(path: Path, dataset: str | None = None, known: dict[bytes, LineMemo] | None = None):
    """load_dataset, plus what each line's bytes determined (by line digest) and a digest of the
    whole file (from the lines' digests). A line found in `known` (an earlier build's memo) is
    only parsed: its checks are not run again."""
    dataset = dataset or path.stem
    known = known or {}
    records: list[Record] = []
    findings: list[Finding] = []
    lines: dict[bytes, LineMemo] = {}
    where = str(path)

    def report(line: int, rule: str, severity: str, message: str) -> None:
        findings.append(Finding(rule, Severity(severity), Location.dataset(where, line), message, dataset))

    crlf_reported = False
    shared: dict[str, str] = {}  # one copy of a text many records repeat (the system prompt)
    whole = hashlib.sha256()
    for n, raw, ending in iter_lines(path):
        if n == 1 and raw.startswith(BOM):
            whole.update(BOM)
            report(n, "schema.bom", "warning", "file starts with a UTF-8 byte order mark (ignored)")
            raw = raw[len(BOM) :]
        if ending == b"\r\n" and not crlf_reported:
            report(n, "schema.crlf", "warning", "CRLF line ending (first of the file; read as LF)")
            crlf_reported = True
        if not raw.strip():
            whole.update(b"\0" + raw + ending)
            report(n, "schema.blank-line", "warning", "blank line (skipped)")
            continue
        if ending == b"":
            report(n, "schema.no-final-newline", "info", "last line has no final newline")
        # A line without a final newline is another line for the memo: its JSON errors say
        # "truncated" (no real line contains b"\n", so the two digests never meet).
        digest = line_digest(raw if ending else raw + b"\n(no final newline)")
        whole.update(b"\1" + digest + ending)
        memo = known.get(digest)
        obj = _parse_known(raw) if memo is not None and memo.valid else None
        if memo is None or (memo.valid and obj is None):
            obj, reports, extra = _check_line(raw, ending)
            memo = LineMemo(tuple(reports), obj is not None, extra)
        lines[digest] = memo
        for rule, severity, message in memo.reports:
            report(n, rule, severity, message)
        if obj is None:
            continue
        msgs = obj["messages"]
        records.append(
            Record(
                dataset=dataset,
                path=path,
                line=n,
                raw=raw,
                system=shared.setdefault(msgs[0]["content"], msgs[0]["content"]),
                user=msgs[1]["content"],
                assistant=msgs[2]["content"],
                extra_keys=memo.extra_keys,
                digest=digest,
            )
        )
    return records, findings, lines, whole.hexdigest()


def _parse_known(raw: bytes) -> dict | None:
    """A line the memo calls a valid record, parsed; None when it is not one after all (a
    damaged memo), so that it is checked afresh."""
    try:
        obj = orjson.loads(raw)
        if all(type(m["content"]) is str for m in obj["messages"]) and len(obj["messages"]) == 3:
            return obj
    except (orjson.JSONDecodeError, KeyError, TypeError, IndexError):
        pass
    return None


def excerpt(raw: bytes, pos: int, width: int = 40) -> str:
    """The bytes around position `pos` of a broken line, escaped: control, invisible and
    non-UTF-8 bytes are shown as escapes, so the excerpt is one readable line."""
    pos = max(0, min(pos, len(raw)))
    lo, hi = max(0, pos - width), min(len(raw), pos + width)
    text = raw[lo:hi].decode("utf-8", "backslashreplace")
    shown = "".join(
        c
        if c.isprintable() and c not in "\u2028\u2029"
        else (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
        for c in text
    )
    return f"near byte {pos}: {'…' if lo else ''}{shown}{'…' if hi < len(raw) else ''}"


def _check_line(raw: bytes, ending: bytes) -> tuple[dict | None, list[tuple[str, str, str]], tuple[str, ...]]:
    """(the parsed record or None when the line is skipped, line reports, extra keys)."""
    reports: list[tuple[str, str, str]] = []
    if len(raw) > LARGE_LINE:
        reports.append(("schema.large-line", "warning", f"line is {len(raw) / (1 << 20):.1f} MiB"))
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        reports.append(("schema.utf8", "error", f"invalid UTF-8 at byte {e.start} of the line (skipped)"))
        return None, reports, ()
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        msg = str(e).split(": line", 1)[0]
        truncated = ending == b"" and ("EOF" in msg or "end of" in msg.lower())
        reason = "truncated line (ends inside a JSON value)" if truncated else f"invalid JSON: {msg}"
        reports.append(("schema.json", "error", f"{reason} (skipped); {excerpt(raw, getattr(e, 'pos', 0))}"))
        return None, reports, ()
    problem = _shape_problem(obj)
    if problem:
        reports.append(("schema.shape", "error", f"{problem} (skipped)"))
        return None, reports, ()
    dup = _duplicate_key(raw, obj)
    if dup is not None:
        reports.append(
            (
                "schema.duplicate-key",
                "error",
                f"duplicate key {_shown(dup)} in one object (skipped: which value is meant is unknown)",
            )
        )
        return None, reports, ()
    extra = _extra_keys(obj)
    if extra:
        reports.append(("schema.extra-keys", "info", f"keys beyond the schema: {', '.join(extra)} (kept)"))
    return obj, reports, extra


THINK_OPEN = "<think>\n"
THINK_CLOSE = "\n</think>\n\n"


def split_assistant(content: str) -> tuple[str, str, bool]:
    """(think, code, well_formed). Lenient: a malformed answer still yields something to show."""
    if content.startswith(THINK_OPEN):
        close = content.find(THINK_CLOSE, len(THINK_OPEN))
        if close != -1:
            return content[len(THINK_OPEN) : close], content[close + len(THINK_CLOSE) :], True
        close = content.find("</think>")
        if close != -1:
            return content[len(THINK_OPEN) : close].strip("\n"), content[close + len("</think>") :].lstrip("\n"), False
    return "", content, False
