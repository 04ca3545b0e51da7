"""The loader: every malformed line is reported at its line and skipped; good records load."""

import orjson
import pytest
from conftest import clean_records, dumps, record

from generator.load import load_dataset, split_assistant


def load_bytes(tmp_path, data: bytes):
    p = tmp_path / "d.jsonl"
    p.write_bytes(data)
    return load_dataset(p)


def rules_at(findings):
    return [(f.line, f.rule) for f in findings]


def test_every_malformed_kind_is_reported_and_good_records_survive(tmp_path):
    good = dumps(clean_records()[0])
    rec = clean_records()[0]
    wrong_types = dict(rec, messages="not a list")
    content_number = orjson.loads(good)
    content_number["messages"][1]["content"] = 42
    out_of_order = orjson.loads(good)
    out_of_order["messages"] = [out_of_order["messages"][1], out_of_order["messages"][0], out_of_order["messages"][2]]
    missing_role = orjson.loads(good)
    del missing_role["messages"][2]
    dup = good[:-1] + b',"type":"chatml"}'
    lines = [
        b"\xef\xbb\xbf" + good,  # 1 BOM (still loads)
        good,  # 2
        b"",  # 3 blank
        b"   ",  # 4 blank (spaces)
        b'{"type": "chatml", "messages": [',  # 5 invalid JSON
        b'{"type":"chatml","messages":[{"role":"system","content":"caf\xe9"}]}',  # 6 invalid UTF-8
        b"[1, 2, 3]",  # 7 not an object
        b'"just a string"',  # 8 not an object
        dumps(wrong_types),  # 9 messages a string
        dumps(content_number),  # 10 content a number
        dumps(out_of_order),  # 11 roles out of order
        dumps(missing_role),  # 12 missing assistant
        dup,  # 13 duplicate key
        dumps(dict(rec, source="x")),  # 14 extra key: kept, info
        good,  # 15
    ]
    data = b"\n".join(lines) + b"\n" + good[: len(good) // 2]  # 16 truncated, no final newline
    records, findings = load_bytes(tmp_path, data)
    assert [r.line for r in records] == [1, 2, 14, 15]
    assert rules_at(findings) == [
        (1, "schema.bom"),
        (3, "schema.blank-line"),
        (4, "schema.blank-line"),
        (5, "schema.json"),
        (6, "schema.utf8"),
        (7, "schema.shape"),
        (8, "schema.shape"),
        (9, "schema.shape"),
        (10, "schema.shape"),
        (11, "schema.shape"),
        (12, "schema.shape"),
        (13, "schema.duplicate-key"),
        (14, "schema.extra-keys"),
        (16, "schema.no-final-newline"),
        (16, "schema.json"),
    ]
    msgs = {f.line: f.message for f in findings}
    assert "truncated" in msgs[16]
    assert "'messages' must be an array, got a string" in msgs[9]
    assert "messages[1].content must be a string, got a number" in msgs[10]
    assert '"user", "system", "assistant"' in msgs[11]
    assert 'duplicate key "type"' in msgs[13]
    assert "an array" in msgs[7]
    assert all(f.path == str(tmp_path / "d.jsonl") for f in findings)
    # the BOM is not part of the record's raw line
    assert records[0].raw == good


def test_crlf_is_read_as_lf_and_reported_once(tmp_path):
    good = dumps(clean_records()[0])
    records, findings = load_bytes(tmp_path, good + b"\r\n" + good + b"\r\n")
    assert [r.raw for r in records] == [good, good]
    assert rules_at(findings) == [(1, "schema.crlf")]


def test_multi_megabyte_line_loads_and_is_reported(tmp_path):
    big = record("x" * (3 << 20), "tokio chrono", "fn a() {}")
    records, findings = load_bytes(tmp_path, dumps(big) + b"\n")
    assert len(records) == 1 and len(records[0].user) == 3 << 20
    assert rules_at(findings) == [(1, "schema.large-line")]


@pytest.mark.slow  # a 100,000-line input
def test_hundred_thousand_lines(tmp_path):
    good = dumps(clean_records()[1])
    bad_every = 1000
    lines = [b"{broken" if n % bad_every == 0 else good for n in range(1, 100_001)]
    records, findings = load_bytes(tmp_path, b"\n".join(lines) + b"\n")
    assert len(records) == 100_000 - 100
    assert [f.line for f in findings] == list(range(1000, 100_001, 1000))


def test_split_assistant():
    assert split_assistant("<think>\nA\nB\n</think>\n\ncode") == ("A\nB", "code", True)
    assert split_assistant("no think here") == ("", "no think here", False)
    assert split_assistant("<think>\nA</think>code") == ("A", "code", False)


def test_the_file_is_never_written(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_bytes(b"{bad\n")
    before = p.stat().st_mtime_ns
    load_dataset(p)
    assert p.read_bytes() == b"{bad\n" and p.stat().st_mtime_ns == before


def test_deep_nesting_and_escaped_duplicate_keys(tmp_path):
    good = dumps(clean_records()[0])
    deep = good[:-1] + b',"x":' + b"[" * 900 + b"]" * 900 + b"}"
    escaped_dup = good.replace(b'"role":"user","content":', b'"role":"user","cont\\u0065nt":"SHADOWED","content":', 1)
    control_key = good[:-1] + b',"note\\r\\u001b[2K":1}'
    records, findings = load_bytes(tmp_path, b"\n".join([deep, escaped_dup, control_key]) + b"\n")
    assert [r.line for r in records] == [1, 3]
    assert rules_at(findings) == [(1, "schema.extra-keys"), (2, "schema.duplicate-key"), (3, "schema.extra-keys")]
    assert 'duplicate key "content"' in findings[1].message
    assert "\r" not in findings[2].message and "\x1b" not in findings[2].message
