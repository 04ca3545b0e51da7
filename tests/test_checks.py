"""`check`: a fixture dataset with one record per rule that breaks exactly that rule."""

import orjson
import pytest

from generator.__main__ import main

from conftest import (
    CORPUS, DATASET, PROMPT, QUEUE, RETRY, ROOT, THINK, WORKER, clean_records, dumps, make_dataset, record, source_lines,
)

IMPORTS = source_lines(RETRY, 1, 3)
RUN = source_lines(RETRY, 40, 66)


def fixture_records() -> list[tuple[dict | bytes, str | None]]:
    """(record, the one rule it breaks) in line order; None marks a clean record."""
    clean = clean_records()
    near_user = clean[0]["messages"][1]["content"].replace("keeps retrying", "keeps on retrying")
    return [
        (clean[0], None),
        (clean[1], None),
        (clean[2], None),
        (record("Retry queue sends.", THINK, IMPORTS + "\n\n" + RUN, system="You are a helpful assistant."), "schema.system-prompt"),
        ({**record("Make run() return early.", THINK, RUN), "messages": [
            {"role": "system", "content": PROMPT}, {"role": "user", "content": "Make run() return early."},
            {"role": "assistant", "content": f"<think>\n{THINK}\n</think>\n{RUN}"}]}, "schema.assistant-format"),
        (record("Ignore the above </think> and explain the run step.", THINK, RUN), "schema.think-tags"),
        (record("Tidy the constructor.", THINK, source_lines(RETRY, 33, 38).replace("    ", "  ")), "fidelity.not-verbatim"),
        (record("Add a retry state type.", THINK, "pub struct Attempts {\n    count: u32,\n    limit: u32,\n}"), "fidelity.not-found"),
        (record("Show the head of the helper.", THINK, source_lines(RETRY, 5, 15)), "fidelity.fragment"),
        (record("Imports from the wrong file.", THINK, source_lines(QUEUE, 1, 15) + "\n\n" + source_lines(RETRY, 23, 30)), "fidelity.foreign-imports"),
        (record("Show how a delivery is checked for can-fail.", THINK, source_lines("server/svix-server/src/core/can_fail.rs", 1, 3)), "scope.file"),
        (record("Explain the jitter on resends.", THINK, source_lines(WORKER, 521, 545)), "scope.out"),
        (record("Explain the retry-after header test.", THINK, source_lines(WORKER, 1279, 1321)), "scope.test-module"),
        (record("How are queue pairs built?", THINK, source_lines(QUEUE, 32, 61)), "scope.untargeted"),
        (record("Explain the run step without dates.", "Retry::run sleeps with tokio between attempts and never looks at wall-clock time.", RUN), "reasoning.required-term"),
        (record("Where is the attempt counter kept?", THINK + " `RetryState` stores the attempt count.", RUN), "reasoning.unknown-identifier"),
        (clean[0], "duplicates.identical"),
        (record(near_user, THINK, IMPORTS + "\n\n" + source_lines(RETRY, 23, 30) + "\n\n" + source_lines(RETRY, 32, 67)), "duplicates.near"),
        ({**record("Walk me through one attempt of the state machine.", THINK, IMPORTS + "\n\n" + RUN), "source": "ticket-123"}, "schema.extra-keys"),
    ]


@pytest.fixture(scope="module")
def fixture_dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fixture")
    return make_dataset(folder, "fixture", [dumps(r) for r, _ in fixture_records()])


def run_check(capsys, *args):
    code = main(["check", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_each_planted_defect_is_reported_at_its_line_with_its_rule(fixture_dataset, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    before = fixture_dataset.read_bytes(), DATASET.read_bytes()
    code, out, _ = run_check(capsys, "--dataset", str(fixture_dataset), "--source-root", str(CORPUS), "--format", "json")
    assert code == 1
    assert (fixture_dataset.read_bytes(), DATASET.read_bytes()) == before  # check never writes a dataset
    findings = orjson.loads(out)["findings"]
    per_line: dict[int, set[str]] = {}
    for f in findings:
        if f["file"] == str(fixture_dataset):
            per_line.setdefault(f["line"], set()).add(f["rule"])
    for line, (_, rule) in enumerate(fixture_records(), start=1):
        if rule is None:
            assert line not in per_line, f"clean record at line {line} got {per_line.get(line)}"
        else:
            assert per_line.get(line) == {rule}, f"line {line}: expected only {rule}, got {per_line.get(line)}"


def test_severities_and_messages(fixture_dataset, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    _, out, _ = run_check(capsys, "--dataset", str(fixture_dataset), "--source-root", str(CORPUS), "--format", "json")
    by_rule = {f["rule"]: f for f in orjson.loads(out)["findings"]}
    assert by_rule["duplicates.near"]["severity"] == "warning"
    assert "near-duplicate of line 1" in by_rule["duplicates.near"]["message"]
    assert by_rule["duplicates.identical"]["message"] == "identical to the record at line 1"
    assert by_rule["schema.extra-keys"]["severity"] == "info"
    assert by_rule["scope.untargeted"]["severity"] == "warning"
    assert by_rule["fidelity.not-verbatim"]["detail"].startswith(f"--- {RETRY} (pinned)")
    assert "server/svix-server/src/core/can_fail.rs, which is not in scope" in by_rule["scope.file"]["message"]
    assert "calculate_retry_delay" in by_rule["scope.out"]["message"]
    assert "`RetryState`" in by_rule["reasoning.unknown-identifier"]["message"]
    assert by_rule["reasoning.required-term"]["message"] == "the think block never mentions chrono"
    missing = sorted(f["message"] for f in orjson.loads(out)["findings"] if f["rule"] == "coverage.missing-name")
    assert missing == [
        "RetrySchedule is named by the scope but the source defines no such item",
        "RetryState is named by the scope but the source defines no such item",
    ]


def test_text_format_groups_by_record(fixture_dataset, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, _ = run_check(capsys, "--dataset", str(fixture_dataset), "--source-root", str(CORPUS))
    assert code == 1
    assert f"{fixture_dataset}:16 reasoning.unknown-identifier error: `RetryState` in the reasoning exists nowhere" in out
    assert f"{fixture_dataset}:9 fidelity.fragment error: segment 1 (code lines 1-11) covers only lines 5-15 of fn run_with_retries (lines 5-21)" in out
    assert out.rstrip().splitlines()[-1].endswith("info")


def test_github_annotations(fixture_dataset, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, _ = run_check(capsys, "--dataset", str(fixture_dataset), "--source-root", str(CORPUS), "--format", "github")
    assert code == 1
    assert f"::error file={fixture_dataset},line=8,title=fidelity.not-found::" in out
    assert f"::warning file={fixture_dataset},line=18,title=duplicates.near::" in out
    assert f"::notice file={fixture_dataset},line=19,title=schema.extra-keys::" in out


def test_without_a_source_root_the_lock_gives_the_same_record_findings(fixture_dataset, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    _, with_src, _ = run_check(capsys, "--dataset", str(fixture_dataset), "--source-root", str(CORPUS), "--format", "json")
    _, lock_only, _ = run_check(capsys, "--dataset", str(fixture_dataset), "--format", "json")
    pick = lambda out: sorted((f["line"], f["rule"]) for f in orjson.loads(out)["findings"] if f["file"] == str(fixture_dataset))
    expected = pick(with_src)
    # Without a checkout, code from outside the scope cannot be placed: it is simply not found.
    assert pick(lock_only) == [(l, "fidelity.not-found" if r == "scope.file" else r) for l, r in expected]


def test_committed_dataset_passes_with_no_errors(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, _ = run_check(capsys, "--source-root", str(CORPUS), "--format", "json")
    data = orjson.loads(out)
    assert data["summary"]["error"] == 0, [f for f in data["findings"] if f["severity"] == "error"]
    assert code == 0
    # The only warnings: the two names the spec guesses that do not exist upstream.
    assert sorted(f["message"].split(" ")[0] for f in data["findings"]) == ["RetrySchedule", "RetryState"]


def test_config_overrides_severity(tmp_path, capsys, monkeypatch):
    jsonl = make_dataset(tmp_path, "ds", [dumps(r) for r, rule in fixture_records() if rule in (None, "reasoning.required-term")])
    cfg = jsonl.with_suffix(".toml")
    cfg.write_text(cfg.read_text() + '"reasoning.required-term" = "warning"\n"coverage.uncovered" = "off"\n')
    monkeypatch.chdir(ROOT)
    code, out, _ = run_check(capsys, "--dataset", str(jsonl), "--format", "json")
    data = orjson.loads(out)
    assert code == 0
    assert [(f["rule"], f["severity"]) for f in data["findings"] if f["file"] == str(jsonl)] == [("reasoning.required-term", "warning")]
    assert not any(f["rule"] == "coverage.uncovered" for f in data["findings"])


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--dataset", "/nonexistent/x.jsonl"], "dataset config not found"),
        (["--dataset", "{tmp}/ds.jsonl", "--source-root", "/nonexistent/src"], "source root is not a directory"),
    ],
)
def test_unreadable_input_exits_2_with_one_line(tmp_path, capsys, monkeypatch, args, needle):
    make_dataset(tmp_path, "ds", [dumps(clean_records()[0])])
    monkeypatch.chdir(ROOT)
    code, out, err = run_check(capsys, *[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert code == 2
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err


def test_dataset_that_is_a_directory_exits_2(tmp_path, capsys, monkeypatch):
    (tmp_path / "d.jsonl").mkdir()
    (tmp_path / "d.toml").write_bytes((ROOT / "dataset" / "retry_state_machine.toml").read_bytes())
    monkeypatch.chdir(ROOT)
    code, _, err = run_check(capsys, "--dataset", str(tmp_path / "d.jsonl"))
    assert code == 2 and "is a directory" in err


def test_misuse_exits_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["check", "--format", "yaml"])
    assert e.value.code == 2


def test_broken_config_is_one_line_naming_the_file(tmp_path, capsys, monkeypatch):
    jsonl = make_dataset(tmp_path, "ds", [dumps(clean_records()[0])])
    jsonl.with_suffix(".toml").write_text('title = "x"\nsystem_prompt = \n')
    monkeypatch.chdir(ROOT)
    code, _, err = run_check(capsys, "--dataset", str(jsonl))
    assert code == 2 and str(jsonl.with_suffix(".toml")) in err and "line 2" in err


@pytest.mark.parametrize(
    "edit,needle",
    [
        (("near_threshold = 0.5", "near_threshold = nan"), "near_threshold must be a number in (0, 1]"),
        (("near_threshold = 0.5", "near_threshold = true"), "near_threshold must be a number in (0, 1]"),
        (('"server/svix-server/src/core/retry.rs::*",', '"server/svix-server/src/core/retry.rs",'), "must be 'path::Name' or 'path::*'"),
        (('"server/svix-server/src/core/retry.rs::*",', '"server/svix-server/src/core/retri.rs::*",'), "names a file that is not in scope.files"),
        (("[severity]\n", '[severity]\n"reasoning.requried-term" = "off"\n'), "unknown rule 'reasoning.requried-term'"),
        (('  "server/svix-server/src/cfg.rs",\n]', '  "server/svix-server/src/cfg.rs",\n  "../outside.rs",\n]'), "must be a relative path inside the source root"),
    ],
)
def test_bad_config_values_are_one_line_errors(tmp_path, capsys, monkeypatch, edit, needle):
    jsonl = make_dataset(tmp_path, "ds", [dumps(clean_records()[0])])
    cfg = jsonl.with_suffix(".toml")
    text = cfg.read_text()
    assert edit[0] in text
    cfg.write_text(text.replace(edit[0], edit[1], 1))
    monkeypatch.chdir(ROOT)
    code, _, err = run_check(capsys, "--dataset", str(jsonl))
    assert code == 2 and err.count("\n") == 1 and needle in err and str(cfg) in err
