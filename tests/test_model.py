"""The typed model: severities are written as before, a finding says what its path names, and
the per-record findings an earlier run kept are plain values its memo can be read back with."""

import json

import orjson
from conftest import RETRY, THINK, clean_records, dumps, make_dataset, record, source_lines

from generator.model import Finding, Location, Severity, Status
from generator.pipeline import run_one
from generator.report import as_text
from generator.state import read_memo, write_memo


def test_severity_and_status_are_written_as_their_values():
    assert f"{Severity.ERROR}" == str(Severity.ERROR) == "error"
    assert orjson.dumps([Severity.WARNING, Status.OK]) == b'["warning","ok"]'
    assert json.dumps(Severity.INFO) == '"info"'
    assert [s.github_level for s in Severity] == ["error", "warning", "notice"]


def test_text_report_groups_by_what_the_path_names():
    """A dataset's findings are grouped per line whatever the file is called; another file's
    are grouped per file."""
    ats = [Location.dataset("data.txt", 1), Location.dataset("data.txt", 2)]
    ats += [Location.config("data.toml", 3), Location.config("data.toml", 5)]
    out = as_text([Finding("schema.json", Severity.ERROR, at, "m") for at in ats])
    assert out.split("\n\n")[:3] == [
        "data.txt:1 schema.json error: m",
        "data.txt:2 schema.json error: m",
        "data.toml:3 schema.json error: m\ndata.toml:5 schema.json error: m",
    ]


def test_memo_keeps_plain_values_and_gives_the_same_findings_back(tmp_path):
    """The memo is read back with an unpickler that refuses every class: what it keeps of a
    record's findings must be built-in values, and a run that reuses them must give the same
    findings (with typed severities) as a run that does not."""
    code = source_lines(RETRY, 40, 66)
    wrong_prompt = record("Explain the run step.", THINK, code, system="You are a helpful assistant.")
    jsonl = make_dataset(tmp_path, "typed", [dumps(r) for r in clean_records()] + [dumps(wrong_prompt)])
    first = run_one(jsonl, None)
    kept = [value for found in first.memo.findings.values() for f in found for value in f]
    assert kept and all(type(v) is str for v in kept)
    write_memo(tmp_path / "memo", first.memo)
    again = run_one(jsonl, None, memo=read_memo(tmp_path / "memo"))
    assert again.memo.hits == len(again.examples)
    assert again.findings == first.findings
    wrong = [f for f in again.findings if f.rule == "schema.system-prompt"]
    assert len(wrong) == 1 and wrong[0].severity is Severity.ERROR and wrong[0].on_dataset
    assert again.examples[-1].status is Status.ERROR and again.examples[-1].findings == tuple(wrong)
