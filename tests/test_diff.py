"""`diff`: fixture pairs, each change made by the test and checked against what it made (the
oracle); git refs in a repository the test makes; the github format's exact lines."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import orjson
import pytest
from conftest import CORPUS, QUEUE, RETRY, ROOT, clean_records, dumps, make_dataset, record, source_lines

from generator.__main__ import main
from generator.diff import in_order, match, word_diff

IMPORTS = source_lines(RETRY, 1, 3)


def base_records() -> list[dict]:
    return clean_records() + [
        record(
            "Explain how one attempt of the retry loop decides to stop or go on.",
            "`Retry::run` calls the future, asks the predicate, then sleeps with tokio for the next delay of "
            "the schedule; chrono is not needed for relative delays.",
            IMPORTS + "\n\n" + source_lines(RETRY, 32, 67),
        ),
        record(
            "What does the queue consider a retryable failure?",
            "Only queue errors are worth a retry: `should_retry` matches `ErrorType::Queue`, and the delays "
            "come from a tokio-friendly const slice; chrono is unused.",
            source_lines(QUEUE, 20, 24) + "\n\n" + source_lines(QUEUE, 28, 30),
        ),
    ]


def _set(rec: dict, role: str, value: str) -> dict:
    rec = copy.deepcopy(rec)
    for m in rec["messages"]:
        if m["role"] == role:
            m["content"] = value
    return rec


def _parts(rec: dict) -> tuple[str, str]:
    a = rec["messages"][2]["content"]
    think, _, code = a[len("<think>\n") :].partition("\n</think>\n\n")
    return think, code


def with_think(rec, think):
    return _set(rec, "assistant", f"<think>\n{think}\n</think>\n\n{_parts(rec)[1]}")


def with_code(rec, code):
    return _set(rec, "assistant", f"<think>\n{_parts(rec)[0]}\n</think>\n\n{code}")


def scenarios():
    """name → (new records, oracle: {(old line, new line): status} for every record that is
    not unchanged, extra checks on the changes)."""
    b = base_records()
    out = {}
    new = list(b)
    new[1] = _set(b[1], "user", b[1]["messages"][1]["content"].replace("a few quick retries", "several fast retries"))
    out["reworded request"] = (new, {(2, 2): ("modified", ("request",))})
    new = list(b)
    new[0] = with_think(
        b[0],
        "Entirely new reasoning: tokio drives the sleeps and chrono stays out; nothing else from before survives here.",
    )
    out["rewritten reasoning"] = (new, {(1, 1): ("modified", ("reasoning",))})
    new = list(b)
    new[3] = with_code(b[3], IMPORTS + "\n\n" + source_lines(RETRY, 23, 30))
    out["code replaced by another verbatim block"] = (new, {(4, 4): ("modified", ("code",))})
    new = list(b)
    new[3] = with_code(b[3], _parts(b[3])[1].replace("    ", "  "))
    out["code made not verbatim"] = (new, {(4, 4): ("modified", ("code",))})
    new = b[:2] + b[3:]
    out["deletion"] = (new, {(3, None): ("removed", ())})
    inserted = record(
        "Add a helper that logs each retry attempt with its delay.",
        "A new angle on the same code: tokio sleeps, chrono absent, one log line per attempt.",
        IMPORTS + "\n\n" + source_lines(RETRY, 5, 21),
    )
    new = b[:2] + [inserted] + b[2:]
    out["insertion"] = (new, {(None, 3): ("added", ())})
    new = b[1:] + [b[0]]
    out["reorder"] = (new, {(1, 5): ("moved", ())})
    new = b + [b[1]]
    out["duplicate"] = (new, {(None, 6): ("added", ())})
    new = [b[3]] + b
    out["duplicate above its original"] = (new, {(None, 1): ("added", ())})
    new = list(b)
    new[2] = _set(b[2], "system", "You are a helpful assistant.")
    out["changed system prompt"] = (new, {(3, 3): ("modified", ("system",))})
    out["identical"] = (list(b), {})
    return out


SCENARIOS = scenarios()


def run_diff(capsys, *args):
    code = main(["diff", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    root = tmp_path_factory.mktemp("diff")
    old = make_dataset(root / "old", "pair", [dumps(r) for r in base_records()])
    made = {}
    for k, (name, (records, _)) in enumerate(SCENARIOS.items()):
        made[name] = make_dataset(root / f"new{k}", "pair", [dumps(r) for r in records])
    return old, made


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_each_change_gets_the_status_the_oracle_expects(name, pairs, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    old, made = pairs
    new = made[name]
    before = new.read_bytes(), old.read_bytes()
    code, out, err = run_diff(
        capsys, "--dataset", str(new), "--against", str(old), "--source-root", str(CORPUS), "--format", "json"
    )
    assert code == 0, err
    d = orjson.loads(out)["datasets"][0]
    got = {(c["old_line"], c["new_line"]): (c["status"], tuple(c["fields"])) for c in d["changes"]}
    assert got == SCENARIOS[name][1]
    n_old, n_new = len(base_records()), len(SCENARIOS[name][0])
    assert d["records"] == {"old": n_old, "new": n_new}
    assert (
        sum(d["counts"].values())
        == n_old + n_new - sum(1 for s, _ in got.values() if s in ("modified", "moved")) - d["counts"]["unchanged"]
    )
    assert (new.read_bytes(), old.read_bytes()) == before  # the JSONL is never written


def _one(capsys, pairs, name):
    old, made = pairs
    _, out, _ = run_diff(
        capsys, "--dataset", str(made[name]), "--against", str(old), "--source-root", str(CORPUS), "--format", "json"
    )
    return orjson.loads(out)["datasets"][0]


def test_reworded_request_gives_a_word_diff(pairs, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    c = _one(capsys, pairs, "reworded request")["changes"][0]
    ops = [tuple(o) for o in c["request"]]
    assert ("-", "a few quick") in ops and ("+", "several fast") in ops
    assert "".join(t for o, t in ops if o != "+") == base_records()[1]["messages"][1]["content"]
    assert c["reasoning"] == [] and c["code"] == []


def test_code_changes_say_whether_the_new_code_is_verbatim_and_where(pairs, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    c = _one(capsys, pairs, "code replaced by another verbatim block")["changes"][0]
    assert c["verbatim_before"] is True and c["verbatim_after"] is True
    assert [(w["status"], w["path"], w["start"], w["end"]) for w in c["where"]] == [
        ("verbatim", RETRY, 1, 3),
        ("verbatim", RETRY, 23, 30),
    ]
    assert ("+", "pub struct Retry<'a, Re> {") in [tuple(o) for o in c["code"]] or any(
        o == "+" and "Retry" in t for o, t in c["code"]
    )
    d = _one(capsys, pairs, "code made not verbatim")
    c = d["changes"][0]
    assert c["verbatim_before"] is True and c["verbatim_after"] is False
    assert any(o == "-" for o, _ in c["code"]) and any(o == "+" for o, _ in c["code"])
    rules = {(f["rule"], f["on_changed_line"]) for f in d["new_findings"]}
    # the items the verbatim code covered are now uncovered (reported on the source, not the line)
    assert rules == {("fidelity.not-verbatim", True), ("coverage.uncovered", False)}


def test_findings_new_and_fixed_follow_the_examples_not_the_line_numbers(pairs, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    # a reorder shifts every record's line: no finding may look new or fixed for that
    d = _one(capsys, pairs, "reorder")
    assert d["new_findings"] == [] and d["fixed_findings"] == []
    # a deletion shifts later lines too: only the coverage it took away is new
    d = _one(capsys, pairs, "deletion")
    assert [(f["rule"], f["message"]) for f in d["new_findings"]] == [
        ("coverage.uncovered", "struct Retry is in scope but no example covers it")
    ]
    assert d["fixed_findings"] == []
    d = _one(capsys, pairs, "duplicate")
    assert [(f["rule"], f["line"]) for f in d["new_findings"]] == [("duplicates.identical", 6)]
    assert d["changes"][0]["duplicate_of"] == 2
    d = _one(capsys, pairs, "duplicate above its original")
    assert d["changes"][0]["duplicate_of"] == 5
    assert [(f["rule"], f["line"]) for f in d["new_findings"]] == [("duplicates.identical", 5)]
    d = _one(capsys, pairs, "changed system prompt")
    assert [f["rule"] for f in d["new_findings"]] == ["schema.system-prompt"]
    c = d["changes"][0]
    assert ("+", "helpful") in [tuple(o) for o in c["system"]] or any(
        o == "+" and "helpful" in t for o, t in c["system"]
    )


def test_fixing_a_finding_is_reported_as_fixed(pairs, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    old, made = pairs
    # the other direction: the not-verbatim version is the old one
    code, out, _ = run_diff(
        capsys,
        "--dataset",
        str(old),
        "--against",
        str(made["code made not verbatim"]),
        "--source-root",
        str(CORPUS),
        "--format",
        "json",
    )
    d = orjson.loads(out)["datasets"][0]
    assert {f["rule"] for f in d["fixed_findings"]} == {"fidelity.not-verbatim", "coverage.uncovered"}
    assert {f["file"] for f in d["fixed_findings"] if f["rule"] == "fidelity.not-verbatim"} == {
        f"{old}@{made['code made not verbatim']}"
    }
    assert d["new_findings"] == []


def test_coverage_gained_and_lost_per_item(pairs, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    d = _one(capsys, pairs, "deletion")  # the record quoting Retry (struct) went away
    lost = {c["item"]: (c["before"], c["after"]) for c in d["coverage"]}
    assert lost[f"{RETRY}::Retry"] == ("covered", "uncovered")
    d = _one(capsys, pairs, "insertion")  # a second example of retry_with_backoff
    gained = {c["item"]: (c["examples_before"], c["examples_after"]) for c in d["coverage"]}
    assert gained == {f"{RETRY}::run_with_retries": (1, 2)}


def test_fail_on_new_errors(pairs, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    old, made = pairs
    args = ["--against", str(old), "--source-root", str(CORPUS), "--fail-on", "new-errors"]
    assert run_diff(capsys, "--dataset", str(made["code made not verbatim"]), *args)[0] == 1
    assert run_diff(capsys, "--dataset", str(made["reworded request"]), *args)[0] == 0
    assert run_diff(capsys, "--dataset", str(made["code made not verbatim"]), *args[:-2])[0] == 0


def test_text_format(pairs, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    old, made = pairs
    code, out, _ = run_diff(
        capsys, "--dataset", str(made["reworded request"]), "--against", str(old), "--source-root", str(CORPUS)
    )
    assert code == 0
    assert "1 modified, 0 moved, 0 added, 0 removed, 4 unchanged" in out
    assert "request: Queue operations should get [-a few quick-]{+several fast+} retries" in out


def test_github_format_exact_lines(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    b = base_records()
    old = make_dataset(tmp_path / "o%1", "gh", [dumps(r) for r in b])
    new_records = list(b)
    new_records[3] = with_code(b[3], _parts(b[3])[1].replace("    ", "  "))  # line 4: not verbatim
    new_records.append(
        _set(b[0], "user", "A new request, with a comma: and a colon\nand 100% a second line.")
    )  # line 6: added
    folder = tmp_path / "n,e:w%"
    new = make_dataset(folder, "gh", [dumps(r) for r in new_records] + [b'{"type": "chatml", broken'])  # line 7
    code, out, _ = run_diff(
        capsys, "--dataset", str(new), "--against", str(old), "--source-root", str(CORPUS), "--format", "github"
    )
    assert code == 0
    f = str(new).replace("%", "%25").replace(":", "%3A").replace(",", "%2C")
    lines = out.splitlines()
    assert (
        lines[0]
        == f"::notice file={f},line=4,title=dataset diff%3A modified::modified (code); code is not verbatim; was "
        f"line 4 at {str(old).replace('%', '%25')}"
    )
    assert (
        lines[1] == f"::error file={f},line=4,title=fidelity.not-verbatim::segment 2 (code lines 5-11) differs from "
        f"{RETRY}:32-38"
    )
    assert (
        lines[2] == f"::error file={f},line=4,title=fidelity.not-verbatim::segment 3 (code lines 13-40) differs from "
        f"{RETRY}:40-67"
    )
    assert lines[3] == f"::notice file={f},line=6,title=dataset diff%3A added::added"
    assert (
        lines[4]
        == f"::error file={f},line=7,title=schema.json::invalid JSON: unexpected character, expected a string key "
        "(skipped); near byte 19: {" + '"type": "chatml", broken'
    )
    assert len(lines) == 5  # unchanged lines get nothing, and so do findings elsewhere


def test_similarity_search_is_not_all_pairs():
    """Unrelated records are never matched, and the candidates scored per record are bounded:
    a flood of near-identical requests does not make the search score every pair."""
    from generator import diff
    from generator.load import split_assistant
    from generator.model import Example, Record

    def ex(i, user, think, code="fn a() {}"):
        a = f"<think>\n{think}\n</think>\n\n{code}"
        t, c, _ = split_assistant(a)
        return Example(Record("d", ROOT, i + 1, b"", "s", user, a), i + 1, think=t, code=c)

    old = [
        ex(i, f"please review the retry loop number {i} today", f"reasoning about case {i} alone") for i in range(600)
    ]
    new = [
        ex(i, f"please review the retry loop number {i} tomorrow", f"reasoning about case {i} alone")
        for i in range(600)
    ]
    calls = []
    real = diff.similarity
    diff.similarity = lambda a, b: calls.append(1) or real(a, b)
    try:
        pairs = match(old, new)
    finally:
        diff.similarity = real
    assert len(calls) <= diff.MAX_SCORED * len(new)
    assert all(kind == "similar" for _, _, kind, _ in pairs)
    assert sorted((i, j) for i, j, _, _ in pairs) == [(k, k) for k in range(600)]
    unrelated = [ex(i, f"completely different words {i} here zebra", f"nothing shared {i} at all") for i in range(5)]
    assert all(kind == "" for _, _, kind, _ in match(old[:5], unrelated))


def test_in_order_keeps_the_longest_run():
    assert in_order([(0, 1), (1, 2), (2, 0)]) == {(0, 1), (1, 2)}
    assert in_order([]) == set()


def test_word_diff_round_trips():
    a, b = "The quick brown fox\njumps.", "The slow brown fox\n\njumps!"
    ops = word_diff(a, b)
    assert "".join(t for o, t in ops if o != "+") == a
    assert "".join(t for o, t in ops if o != "-") == b


# --- git refs -------------------------------------------------------------------------------


def git(cwd, *args):
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture()
def repo(tmp_path):
    r = tmp_path / "repo"
    jsonl = make_dataset(r / "dataset", "gitted", [dumps(x) for x in base_records()])
    git(r, "init", "-q", "-b", "main")
    git(r, "add", "-A")
    git(r, "commit", "-qm", "base")
    return r, jsonl


def test_against_a_git_ref_reads_the_committed_version_without_touching_the_worktree(repo, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    r, jsonl = repo
    b = base_records()
    jsonl.write_bytes(b"".join(dumps(x) + b"\n" for x in b[1:] + [b[0]]))
    git(r, "add", "-A")
    git(r, "commit", "-qm", "reorder")
    git(r, "branch", "feature")
    extra = record(
        "A brand new request about backoff ceilings.",
        "tokio sleeps and chrono stays out of it, a new thought.",
        IMPORTS + "\n\n" + source_lines(RETRY, 5, 21),
    )
    jsonl.write_bytes(jsonl.read_bytes() + dumps(extra) + b"\n")  # uncommitted
    status = subprocess.run(["git", "status", "--porcelain"], cwd=r, capture_output=True, text=True).stdout
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=r, capture_output=True, text=True).stdout
    code, out, err = run_diff(
        capsys, "--dataset", str(jsonl), "--against", "HEAD~1", "--source-root", str(CORPUS), "--format", "json"
    )
    assert code == 0, err
    d = orjson.loads(out)["datasets"][0]
    assert {(c["old_line"], c["new_line"]): c["status"] for c in d["changes"]} == {(1, 5): "moved", (None, 6): "added"}
    _, out, _ = run_diff(capsys, "--dataset", str(jsonl), "--against", "feature", "--format", "json")
    d = orjson.loads(out)["datasets"][0]
    assert {(c["old_line"], c["new_line"]): c["status"] for c in d["changes"]} == {(None, 6): "added"}
    assert subprocess.run(["git", "status", "--porcelain"], cwd=r, capture_output=True, text=True).stdout == status
    assert subprocess.run(["git", "rev-parse", "HEAD"], cwd=r, capture_output=True, text=True).stdout == head


def test_a_dataset_not_in_the_ref_is_all_added(repo, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    r, _ = repo
    fresh = make_dataset(r / "dataset", "fresh", [dumps(x) for x in base_records()[:2]])
    code, out, err = run_diff(capsys, "--dataset", str(fresh), "--against", "HEAD", "--format", "json")
    assert code == 0, err
    d = orjson.loads(out)["datasets"][0]
    assert d["counts"]["added"] == 2 and d["records"]["old"] == 0


@pytest.mark.parametrize(
    "make_args, needle",
    [
        (lambda r, j, t: ["--dataset", str(j), "--against", "no-such-ref"], "no-such-ref: unknown git ref"),
        (lambda r, j, t: ["--dataset", str(j), "--against=--upload-pack=evil"], "not a usable git ref"),
        (
            lambda r, j, t: [
                "--dataset",
                str(make_dataset(t / "outside", "o", [dumps(base_records()[0])])),
                "--against",
                "HEAD",
            ],
            "not inside a git repository",
        ),
        (lambda r, j, t: ["--dataset", str(t / "missing.jsonl"), "--against", "HEAD"], "missing.jsonl"),
        (lambda r, j, t: ["--dataset", str(j), "--against", str(t)], "is a folder"),
    ],
)
def test_unusable_input_exits_2_with_one_line(repo, tmp_path, capsys, monkeypatch, make_args, needle):
    monkeypatch.chdir(ROOT)
    r, jsonl = repo
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    code, out, err = run_diff(capsys, *make_args(r, jsonl, outside))
    assert code == 2
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err, err


def test_unreadable_against_file_exits_2(repo, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    _, jsonl = repo
    bad = tmp_path / "old.jsonl"
    bad.write_bytes(b"{}\n")
    bad.chmod(0)
    try:
        bad.read_bytes()
        readable = True  # running as root: permissions do not stop reads
    except OSError:
        readable = False
    if readable:
        bad = Path("/proc/self/mem")  # a regular file whose read fails, for root too
        if not bad.is_file():
            pytest.skip("no file here that root cannot read")
    code, _, err = run_diff(capsys, "--dataset", str(jsonl), "--against", str(bad))
    assert code == 2 and "cannot be read" in err and err.count("\n") == 1 and str(bad) in err, err


def test_text_format_never_prints_control_characters(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    b = base_records()
    old = make_dataset(tmp_path / "o", "ctl", [dumps(r) for r in b])
    new_records = list(b)
    new_records[0] = _set(b[0], "user", b[0]["messages"][1]["content"] + " \x1b[2J\x1b]0;pwned\x07 \u202eevil")
    new = make_dataset(tmp_path / "n", "ctl", [dumps(r) for r in new_records])
    code, out, _ = run_diff(capsys, "--dataset", str(new), "--against", str(old), "--source-root", str(CORPUS))
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "⟨U+001B⟩[2J" in out and "⟨U+202E⟩evil" in out


def test_a_broken_config_at_the_ref_is_one_line(repo, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    r, jsonl = repo
    toml = jsonl.with_suffix(".toml")
    good = toml.read_bytes()
    toml.write_bytes(b"title = [unclosed\n")
    git(r, "commit", "-qam", "broken config")
    toml.write_bytes(good)
    code, _, err = run_diff(capsys, "--dataset", str(jsonl), "--against", "HEAD")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert f"{jsonl}@HEAD: HEAD:dataset/gitted.toml:" in err and "dataset-diff-" not in err


def test_similarity_search_finds_every_rewrite_among_many():
    """Recall of the sketch index: 400 records of random words, 60 rewritten in the ways the
    issue names (a few words, the whole request, the whole reasoning), each with its pair."""
    import random

    from generator.load import split_assistant
    from generator.model import Example, Record

    rng = random.Random(5)
    vocab = [f"w{k}" for k in range(3000)]

    def words(n):
        return " ".join(rng.choice(vocab) for _ in range(n))

    def ex(i, user, think):
        a = f"<think>\n{think}\n</think>\n\nfn a() {{}}"
        t, c, _ = split_assistant(a)
        return Example(Record("d", ROOT, i + 1, b"", "s", user, a), i + 1, think=t, code=c)

    texts = [
        (words(rng.randint(10, 50)), "Shared opening sentence of every reasoning. " + words(rng.randint(40, 200)))
        for _ in range(400)
    ]
    old = [ex(i, u, t) for i, (u, t) in enumerate(texts)]
    new_texts = list(texts)
    rewritten = rng.sample(range(400), 60)
    for k, i in enumerate(rewritten):
        u, t = texts[i]
        if k % 3 == 0:
            w = u.split()
            w[rng.randrange(len(w))] = "changed"
            u = " ".join(w)
            w = t.split()
            w[rng.randrange(len(w))] = "changed"
            t = " ".join(w)
        elif k % 3 == 1:
            u = words(20)
        else:
            t = words(100)
        new_texts[i] = (u, t)
    new = [ex(i, u, t) for i, (u, t) in enumerate(new_texts)]
    got = {(i, j): kind for i, j, kind, _ in match(old, new)}
    assert all(got[(i, i)] == "similar" for i in rewritten)
    assert sum(1 for kind in got.values() if kind == "exact") == 340
