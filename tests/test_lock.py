"""The lock: deterministic facts about the source, no source text; drift against a tree."""

import shutil

import orjson
import pytest
from conftest import CACHE, CFG, LOCK, QUEUE, RETRY, ROOT, WORKER, clean_records, dumps, make_dataset

from generator.__main__ import main
from generator.index import index_source
from generator.lock import LockError, drift, lock_data, read_lock

FILES = [RETRY, QUEUE, CACHE, WORKER, CFG]


def test_committed_lock_matches_the_corpus_and_holds_no_source_text(corpus):
    idx, _ = index_source(corpus, FILES)
    data = lock_data(idx, "https://github.com/svix/svix-webhooks", "4fc0cfb8b426c87ef7e2b937e7d896a71d456a47", FILES)
    committed = orjson.loads(LOCK.read_bytes())
    assert committed == orjson.loads(orjson.dumps(data))
    text = LOCK.read_text()
    assert "tokio::time::sleep(self.retry_schedule[0])" not in text and "Retrying after error" not in text
    lock_index, _ = read_lock(LOCK)
    assert drift(lock_index, idx, LOCK) == []


def test_lock_command_is_deterministic(tmp_path, corpus, monkeypatch):
    jsonl = make_dataset(tmp_path, "ds", [dumps(r) for r in clean_records()], lock=False)
    monkeypatch.chdir(ROOT)
    assert main(["lock", "--dataset", str(jsonl), "--source-root", str(corpus)]) == 0
    first = (tmp_path / "ds.lock.json").read_bytes()
    assert main(["lock", "--dataset", str(jsonl), "--source-root", str(corpus)]) == 0
    assert (tmp_path / "ds.lock.json").read_bytes() == first == LOCK.read_bytes()


def drifted_tree(tmp_path, corpus):
    root = tmp_path / "tree"
    for rel in FILES:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(corpus / rel, root / rel)
    retry = root / RETRY
    text = retry.read_text()
    # move everything down two lines, change Retry::new, remove nothing else
    text = "// header\n\n" + text.replace(
        "        Self {\n            retry_schedule,", "        Self {\n            retry_schedule: retry_schedule,"
    )
    retry.write_text(text)
    q = root / QUEUE
    q.write_text(
        q.read_text().replace(
            "fn should_retry(err: &Error) -> bool {\n    matches!(err.typ, ErrorType::Queue(_))\n}\n", ""
        )
    )
    (root / CFG).unlink()
    return root


def test_drift_reports_changed_moved_gone(tmp_path, corpus):
    root = drifted_tree(tmp_path, corpus)
    idx, problems = index_source(root, FILES)
    assert [p.message for p in problems] == ["source file no such file in the source root"]
    lock_index, _ = read_lock(LOCK)
    found = {(f.rule, f.message.split(" (")[0].split(" moved")[0]) for f in drift(lock_index, idx, LOCK)}
    assert ("drift.item-changed", "fn Retry::new changed") in found
    assert ("drift.item-moved", "fn run_with_retries") in found
    assert ("drift.item-gone", "fn should_retry") in found
    assert ("drift.file-missing", f"{CFG}: in the lock but not in the source root") in found
    assert ("drift.file-changed", f"{RETRY}: sha256 differs from the lock") in found


def test_check_against_a_drifted_tree_flags_examples(tmp_path, corpus, capsys, monkeypatch):
    root = drifted_tree(tmp_path, corpus)
    jsonl = make_dataset(tmp_path / "ds", "ds", [dumps(r) for r in clean_records()])
    monkeypatch.chdir(ROOT)
    assert main(["check", "--dataset", str(jsonl), "--source-root", str(root)]) == 1
    out = capsys.readouterr().out
    assert "drift.item-gone" in out
    assert (
        f"{jsonl}:2 drift.example error: segment 2 matched the pinned source but no longer matches the source root"
        in out
    )


@pytest.mark.parametrize(
    "content,needle",
    [
        (b"{not json", "not valid JSON"),
        (b'{"version": 99}', "lock version 99"),
        (b'{"version": 1, "files": [{"path": "x"}]}', "malformed lock"),
    ],
)
def test_bad_lock_is_a_one_line_error(tmp_path, content, needle, capsys, monkeypatch):
    jsonl = make_dataset(tmp_path, "ds", [dumps(r) for r in clean_records()])
    (tmp_path / "ds.lock.json").write_bytes(content)
    with pytest.raises(LockError, match=needle):
        read_lock(tmp_path / "ds.lock.json")
    monkeypatch.chdir(ROOT)
    assert main(["check", "--dataset", str(jsonl)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err and "ds.lock.json" in err


def test_lock_for_another_commit_is_an_error(tmp_path, capsys, monkeypatch):
    jsonl = make_dataset(tmp_path, "ds", [dumps(r) for r in clean_records()])
    cfg = jsonl.with_suffix(".toml")
    cfg.write_text(cfg.read_text().replace("4fc0cfb8b426c87ef7e2b937e7d896a71d456a47", "0" * 40))
    monkeypatch.chdir(ROOT)
    assert main(["check", "--dataset", str(jsonl)]) == 1
    assert (
        "drift.lock-commit error: lock pins commit 4fc0cfb8b426c87ef7e2b937e7d896a71d456a47 but the config pins 0000"
        in capsys.readouterr().out
    )


@pytest.mark.parametrize("field,value", [("start_line", "1"), ("name", 5), ("in_test", 1)])
def test_lock_with_wrong_field_types_is_a_one_line_error(tmp_path, capsys, monkeypatch, field, value):
    jsonl = make_dataset(tmp_path, "ds", [dumps(r) for r in clean_records()])
    lock = tmp_path / "ds.lock.json"
    data = orjson.loads(lock.read_bytes())
    data["files"][0]["items"][0][field] = value
    lock.write_bytes(orjson.dumps(data))
    monkeypatch.chdir(ROOT)
    assert main(["check", "--dataset", str(jsonl)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "malformed lock" in err and field in err
