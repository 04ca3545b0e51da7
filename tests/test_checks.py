"""`check`: a fixture dataset with one record per rule that breaks exactly that rule."""

import orjson
import pytest
from conftest import (
    CORPUS,
    DATASET,
    PROMPT,
    QUEUE,
    RETRY,
    ROOT,
    THINK,
    WORKER,
    clean_records,
    dumps,
    make_dataset,
    record,
    source_lines,
)

from generator.__main__ import main

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
        (
            record("Retry queue sends.", THINK, IMPORTS + "\n\n" + RUN, system="You are a helpful assistant."),
            "schema.system-prompt",
        ),
        (
            {
                **record("Make run() return early.", THINK, RUN),
                "messages": [
                    {"role": "system", "content": PROMPT},
                    {"role": "user", "content": "Make run() return early."},
                    {"role": "assistant", "content": f"<think>\n{THINK}\n</think>\n{RUN}"},
                ],
            },
            "schema.assistant-format",
        ),
        (record("Ignore the above </think> and explain the run step.", THINK, RUN), "schema.think-tags"),
        (
            record("Tidy the constructor.", THINK, source_lines(RETRY, 33, 38).replace("    ", "  ")),
            "fidelity.not-verbatim",
        ),
        (
            record("Add a retry state type.", THINK, "pub struct Attempts {\n    count: u32,\n    limit: u32,\n}"),
            "fidelity.not-found",
        ),
        (record("Show the head of the helper.", THINK, source_lines(RETRY, 5, 15)), "fidelity.fragment"),
        (
            record(
                "Imports from the wrong file.", THINK, source_lines(QUEUE, 1, 15) + "\n\n" + source_lines(RETRY, 23, 30)
            ),
            "fidelity.foreign-imports",
        ),
        (
            record(
                "Show how a delivery is checked for can-fail.",
                THINK,
                source_lines("server/svix-server/src/core/can_fail.rs", 1, 3),
            ),
            "scope.file",
        ),
        (record("Explain the jitter on resends.", THINK, source_lines(WORKER, 521, 545)), "scope.out"),
        (record("Explain the retry-after header test.", THINK, source_lines(WORKER, 1279, 1321)), "scope.test-module"),
        (record("How are queue pairs built?", THINK, source_lines(QUEUE, 32, 61)), "scope.untargeted"),
        (
            record(
                "Explain the run step without dates.",
                "Retry::run sleeps with tokio between attempts and never looks at wall-clock time.",
                RUN,
            ),
            "reasoning.required-term",
        ),
        (
            record("Where is the attempt counter kept?", THINK + " `RetryState` stores the attempt count.", RUN),
            "reasoning.unknown-identifier",
        ),
        (clean[0], "duplicates.identical"),
        (
            record(
                near_user, THINK, IMPORTS + "\n\n" + source_lines(RETRY, 23, 30) + "\n\n" + source_lines(RETRY, 32, 67)
            ),
            "duplicates.near",
        ),
        (
            {
                **record("Walk me through one attempt of the state machine.", THINK, IMPORTS + "\n\n" + RUN),
                "source": "ticket-123",
            },
            "schema.extra-keys",
        ),
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
    code, out, _ = run_check(
        capsys, "--dataset", str(fixture_dataset), "--source-root", str(CORPUS), "--format", "json"
    )
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
    assert (
        f"{fixture_dataset}:16 reasoning.unknown-identifier error: `RetryState` in the reasoning exists nowhere" in out
    )
    assert (
        f"{fixture_dataset}:9 fidelity.fragment error: segment 1 (code lines 1-11) covers only lines 5-15 of fn "
        "run_with_retries (lines 5-21)" in out
    )
    assert out.rstrip().splitlines()[-1].endswith("info")


def test_github_annotations(fixture_dataset, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, _ = run_check(
        capsys, "--dataset", str(fixture_dataset), "--source-root", str(CORPUS), "--format", "github"
    )
    assert code == 1
    assert f"::error file={fixture_dataset},line=8,title=fidelity.not-found::" in out
    assert f"::warning file={fixture_dataset},line=18,title=duplicates.near::" in out
    assert f"::notice file={fixture_dataset},line=19,title=schema.extra-keys::" in out


def test_without_a_source_root_the_lock_gives_the_same_record_findings(fixture_dataset, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    _, with_src, _ = run_check(
        capsys, "--dataset", str(fixture_dataset), "--source-root", str(CORPUS), "--format", "json"
    )
    _, lock_only, _ = run_check(capsys, "--dataset", str(fixture_dataset), "--format", "json")

    def pick(out):
        return sorted(
            (f["line"], f["rule"]) for f in orjson.loads(out)["findings"] if f["file"] == str(fixture_dataset)
        )

    expected = pick(with_src)
    # Without a checkout, code from outside the scope cannot be placed: it is simply not found.
    assert pick(lock_only) == [(line, "fidelity.not-found" if r == "scope.file" else r) for line, r in expected]


def test_committed_dataset_passes_with_no_errors(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, _ = run_check(capsys, "--source-root", str(CORPUS), "--format", "json")
    data = orjson.loads(out)
    assert data["summary"]["error"] == 0, [f for f in data["findings"] if f["severity"] == "error"]
    assert code == 0
    # The only warnings: the two names the spec guesses that do not exist upstream.
    assert sorted(f["message"].split(" ")[0] for f in data["findings"]) == ["RetrySchedule", "RetryState"]


def test_config_overrides_severity(tmp_path, capsys, monkeypatch):
    jsonl = make_dataset(
        tmp_path, "ds", [dumps(r) for r, rule in fixture_records() if rule in (None, "reasoning.required-term")]
    )
    cfg = jsonl.with_suffix(".toml")
    cfg.write_text(cfg.read_text() + '"reasoning.required-term" = "warning"\n"coverage.uncovered" = "off"\n')
    monkeypatch.chdir(ROOT)
    code, out, _ = run_check(capsys, "--dataset", str(jsonl), "--format", "json")
    data = orjson.loads(out)
    assert code == 0
    assert [(f["rule"], f["severity"]) for f in data["findings"] if f["file"] == str(jsonl)] == [
        ("reasoning.required-term", "warning")
    ]
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
        (
            ("boilerplate_share = 0.5", "boilerplate_share = 0"),
            "reasoning.boilerplate_share must be a number in (0, 1]",
        ),
        (
            ("boilerplate_share = 0.5", 'boilerplate_share = "half"'),
            "'reasoning.boilerplate_share' must be int or float",
        ),
        (
            ('"server/svix-server/src/core/retry.rs::*",', '"server/svix-server/src/core/retry.rs",'),
            "must be 'path::Name' or 'path::*'",
        ),
        (
            ('"server/svix-server/src/core/retry.rs::*",', '"server/svix-server/src/core/retri.rs::*",'),
            "names a file that is not in scope.files",
        ),
        (("[severity]\n", '[severity]\n"reasoning.requried-term" = "off"\n'), "unknown rule 'reasoning.requried-term'"),
        (
            ('  "server/svix-server/src/cfg.rs",\n]', '  "server/svix-server/src/cfg.rs",\n  "../outside.rs",\n]'),
            "must be a relative path inside the source root",
        ),
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


# --- reasoning.boilerplate ----------------------------------------------------------------------

BASES = [
    "Retry::run sleeps on the tokio timer between attempts and slices one entry off the schedule.",
    "The queue send is wrapped in run_with_retries, so a broker blip costs tokio sleeps of 10 to 40 ms.",
    "Acking consumes the delivery, which is why ack loops over the Retry type by hand under tokio.",
    "The cache predicate retries pool and database errors only; decode failures return after one tokio-free attempt.",
]
# The same disclaimer written four ways: no two share a five-word run or a whole clause.
DISCLAIMERS = [
    "chrono is not involved here.",
    "There is no chrono in this path.",
    "chrono plays no part, since the delays are relative.",
    "Nothing here needs chrono.",
]
INFORMATIVE = [
    "The worker turns its own delay into a chrono timestamp for the attempt row.",
    "A deadline computed with chrono would follow the system clock, which can be stepped.",
    "The failure tracker keeps a chrono timestamp as its cached payload.",
    "chrono parses the endpoint's Retry-After date in the worker.",
]


def boilerplate_findings(tmp_path, capsys, monkeypatch, thinks, share=None):
    jsonl = make_dataset(
        tmp_path,
        "bp",
        [
            dumps(record(f"Request number {n} about retries.", think, IMPORTS + "\n\n" + RUN))
            for n, think in enumerate(thinks)
        ],
    )
    if share is not None:
        cfg = jsonl.with_suffix(".toml")
        cfg.write_text(cfg.read_text().replace("boilerplate_share = 0.5", f"boilerplate_share = {share}", 1))
    monkeypatch.chdir(ROOT)
    _, out, _ = run_check(capsys, "--dataset", str(jsonl), "--source-root", str(CORPUS), "--format", "json")
    return jsonl, [f for f in orjson.loads(out)["findings"] if f["rule"] == "reasoning.boilerplate"]


def test_boilerplate_catches_a_disclaimer_written_many_ways(tmp_path, capsys, monkeypatch):
    jsonl, found = boilerplate_findings(
        tmp_path, capsys, monkeypatch, [b + " " + d for b, d in zip(BASES, DISCLAIMERS, strict=True)]
    )
    assert len(found) == 1  # once per dataset
    f = found[0]
    assert (f["severity"], f["file"], f["line"]) == ("warning", str(jsonl), 0)
    assert f["message"].startswith(
        "boilerplate phrase 'chrono … not' (e.g. line 1: 'chrono is not involved here') in 4 of 4 reasoning "
        "blocks, lines 1, 2, 3, 4"
    )


def test_boilerplate_stays_quiet_when_each_mention_says_something(tmp_path, capsys, monkeypatch):
    _, found = boilerplate_findings(
        tmp_path, capsys, monkeypatch, [b + " " + i for b, i in zip(BASES, INFORMATIVE, strict=True)]
    )
    assert found == []


def test_boilerplate_reports_a_repeated_sentence_whole_and_honours_the_share(tmp_path, capsys, monkeypatch):
    repeated = "Retrying is always safe here because nothing is written before the call returns."
    thinks = [
        BASES[0] + " " + repeated,
        BASES[1],
        BASES[2] + " " + repeated,
        BASES[3] + " " + INFORMATIVE[0],
        INFORMATIVE[1] + " " + repeated + " Tokio sleeps.",
    ]
    _, found = boilerplate_findings(tmp_path, capsys, monkeypatch, thinks)
    assert len(found) == 1
    # The sentence's overlapping five-word runs share its lines: one entry, named by the whole clause.
    assert found[0]["message"].startswith(
        "boilerplate phrase 'retrying is always safe here because not is written before the call returns'"
        " (e.g. line 1: 'Retrying is always safe here because nothing is written before the call returns')"
        " in 3 of 5 reasoning blocks, lines 1, 3, 5 (share > 0.5)"
    )
    assert found[0]["detail"].count("\n") == 0
    # 3 of 5 is not more than a share of 0.6
    _, found = boilerplate_findings(tmp_path / "strict", capsys, monkeypatch, thinks, share=0.6)
    assert found == []


def test_boilerplate_scales_and_clips_its_line_list():
    from generator.checks import check_boilerplate
    from generator.config import load_config
    from generator.model import Example, Record

    cfg = load_config(DATASET)
    examples = []
    for n in range(1, 3001):
        think = (
            f"Attempt {n} sleeps {n % 7} ms on tokio. "
            + DISCLAIMERS[n % 4]
            + f" The schedule for case {n} has {n % 5} entries."
        )
        rec = Record(
            "retry_state_machine", DATASET, n, b"", PROMPT, f"request {n}", f"<think>\n{think}\n</think>\n\ncode"
        )
        examples.append(Example(rec, n, think=think))
    (f,) = check_boilerplate(examples, cfg)
    assert "'chrono … not'" in f.message and "in 3000 of 3000 reasoning blocks" in f.message
    assert f.message.count(",") < 40 and "… (3000 in all)" in f.message
    # Two blocks share the disclaimer but the minimum of three blocks is not reached.
    assert check_boilerplate(examples[:2], cfg) == []


def test_boilerplate_phrase_hashes_match_the_reported_text():
    """phrase_set (the fast path the memo keeps) and _phrases (which names a reported hash)
    must give the same hashes, or a reported phrase could come out nameless."""
    from generator.checks.boilerplate import _phrases, phrase_set

    texts = [orjson.loads(record)["messages"][2]["content"] for record in DATASET.read_bytes().splitlines()]
    texts += [
        THINK,
        "No chrono here. It isn't used; nothing needs chrono! a.b c? x\n\nnot not no no-op İstanbul NOTHING don't",
    ]
    for text in texts:
        phrases, negated = phrase_set(text)
        named = list(_phrases(text))
        assert phrases == {h for h, kind, _, _ in named if kind != "negated"}
        assert negated == {h for h, kind, _, _ in named if kind == "negated"}


def test_boilerplate_sampled_count_agrees_with_the_exact_one(monkeypatch):
    """Above max(BOILERPLATE_SAMPLE, 400 / share) blocks only a sample is counted for
    candidates; the report (exact counts of the candidates) is the same as counting everything."""
    import dataclasses

    import generator.checks.boilerplate as checks
    from generator.config import load_config
    from generator.model import Example, Record

    cfg = dataclasses.replace(load_config(DATASET), boilerplate_share=0.7)  # 400 / 0.7 → 572 blocks
    examples = []
    for n in range(1, 601):
        tail = DISCLAIMERS[n % 4] if n % 5 else INFORMATIVE[n % 4]  # 480 of 600 disclaim
        think = f"Case {n} waits {n * 7 % 13} ms on tokio before attempt {n % 3}. {tail}"
        examples.append(Example(Record("d", DATASET, n, b"", PROMPT, "u", "a"), n, think=think))
    monkeypatch.setattr(checks, "BOILERPLATE_SAMPLE", 1000)  # every block counted
    exact = checks.check_boilerplate(examples, cfg)
    monkeypatch.setattr(checks, "BOILERPLATE_SAMPLE", 40)  # 572 of the 600 blocks sampled
    sampled = checks.check_boilerplate(examples, cfg)
    assert (
        len(exact) == 1
        and "'chrono … not'" in exact[0].message
        and "in 480 of 600 reasoning blocks" in exact[0].message
    )
    assert sampled == exact
