"""Second round of hardening (an attacker's findings on main): --against refs vs files, links
and devices as inputs, a work folder or site folder arriving with the pull request, mkdocs.yml
as code, the diff's cost on adversarial input and its escaping."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import orjson
import pytest
from conftest import CORPUS, ROOT, dumps, make_dataset, record
from test_diff import base_records, git, run_diff
from test_guards import build, one_error
from test_site import copy_project

from generator.__main__ import main


def broken_record() -> dict:
    """A record with an error-level finding (code that is not in the source)."""
    return record(
        "Make the retry loop faster.",
        "tokio sleeps; chrono is not involved here at all.",
        "fn not_in_the_source() -> u32 { 42 }",
    )


# --- 1, 10: --against takes a ref; a file only in a path form ---------------------------------------


@pytest.fixture()
def pr_repo(tmp_path):
    """A repository whose main has a clean dataset, and a pull request adding a broken record
    and a file named `main` holding the new version (the attack)."""
    r = tmp_path / "repo"
    jsonl = make_dataset(r / "dataset", "pr", [dumps(x) for x in base_records()])
    git(r, "init", "-q", "-b", "main")
    git(r, "add", "-A")
    git(r, "commit", "-qm", "base")
    jsonl.write_bytes(jsonl.read_bytes() + dumps(broken_record()) + b"\n")
    return r, jsonl


def test_a_file_named_like_the_ref_cannot_stand_in_for_the_old_version(pr_repo, capsys, monkeypatch):
    r, jsonl = pr_repo
    monkeypatch.chdir(r)
    code, _, err = run_diff(capsys, "--dataset", str(jsonl), "--against", "main", "--fail-on", "new-errors")
    assert code == 1, err  # the ref: the broken record is new
    shutil.copy(jsonl, r / "main")  # the pull request adds a file named like the ref
    code, out, err = run_diff(capsys, "--dataset", str(jsonl), "--against", "main", "--fail-on", "new-errors")
    assert code == 2 and "names a path here, and a bare value is a git ref" in err and err.count("\n") == 1, err
    (r / "main").unlink()
    (r / "origin").mkdir()
    shutil.copy(jsonl, r / "origin" / "main")
    code, _, err = run_diff(capsys, "--dataset", str(jsonl), "--against", "origin/main")
    assert code == 2 and "names a path here, and a bare value is a git ref" in err, err


def test_a_file_is_given_in_a_path_form(pr_repo, capsys, monkeypatch):
    r, jsonl = pr_repo
    monkeypatch.chdir(r)
    old = make_dataset(r / "old", "pr", [dumps(x) for x in base_records()])
    for form in ("./old/pr.jsonl", str(old), "file:old/pr.jsonl"):
        code, out, err = run_diff(
            capsys, "--dataset", str(jsonl), "--against", form, "--format", "json", "--source-root", str(CORPUS)
        )
        assert code == 0, (form, err)
        assert orjson.loads(out)["datasets"][0]["counts"]["added"] == 1
    code, _, err = run_diff(capsys, "--dataset", str(jsonl), "--against", "no/such.jsonl")  # bare: a ref
    assert code == 2 and "unknown git ref" in err and "./PATH" in err, err
    code, _, err = run_diff(capsys, "--dataset", str(jsonl), "--against", "old/pr.jsonl")  # bare and a path
    assert code == 2 and "write ./old/pr.jsonl or file:old/pr.jsonl for the file" in err, err


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_against_is_a_clear_error(pr_repo, capsys, monkeypatch, value):
    r, jsonl = pr_repo
    monkeypatch.chdir(r)
    code, _, err = run_diff(capsys, "--dataset", str(jsonl), "--against", value)
    assert code == 2 and "--against is empty" in err and err.count("\n") == 1, err


def test_an_empty_compare_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert build(tmp_path / "w", tmp_path / "site", "--compare", "") == 2
    assert "--compare is empty" in one_error(capsys)
    assert not (tmp_path / "w").exists()


# --- 2: links, devices and size of inputs ---------------------------------------------------------


def check(capsys, *args) -> tuple[int, str]:
    code = main(["check", *args])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("which", [".jsonl", ".toml", ".lock.json"])
def test_an_input_linked_out_of_its_folder_is_refused(tmp_path, capsys, monkeypatch, which):
    monkeypatch.chdir(ROOT)
    jsonl = make_dataset(tmp_path / "ds", "d", [dumps(x) for x in base_records()])
    outside = tmp_path / "outside"
    outside.mkdir()
    target = jsonl.with_name("d" + which)
    moved = outside / target.name
    target.rename(moved)
    target.symlink_to(moved)
    code, err = check(capsys, "--dataset", str(jsonl))
    assert code == 2 and f"{target}: is a symbolic link leaving its folder" in err and err.count("\n") == 1, err
    target.unlink()
    target.symlink_to("/proc/self/environ")
    code, err = check(capsys, "--dataset", str(jsonl))
    assert code == 2 and "leaving its folder" in err and "PATH=" not in err, err


def test_a_link_inside_the_folder_is_read(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    jsonl = make_dataset(tmp_path / "ds", "d", [dumps(x) for x in base_records()])
    real = jsonl.with_name("real.data")
    jsonl.rename(real)
    jsonl.symlink_to(real.name)
    code, err = check(capsys, "--dataset", str(jsonl), "--source-root", str(CORPUS))
    assert code in (0, 1) and "symbolic link" not in err, err


def test_an_input_that_is_not_a_regular_file_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    jsonl = make_dataset(tmp_path / "ds", "d", [dumps(x) for x in base_records()])
    jsonl.unlink()
    os.mkfifo(jsonl)  # reading it would block for ever (a device like /dev/zero never ends)
    code, err = check(capsys, "--dataset", str(jsonl))
    assert code == 2 and f"{jsonl}: is not a regular file" in err, err


def test_a_dataset_over_the_cap_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    jsonl = make_dataset(tmp_path / "ds", "d", [dumps(x) for x in base_records()])
    monkeypatch.setenv("GENERATOR_MAX_INPUT_BYTES", "1000")
    code, err = check(capsys, "--dataset", str(jsonl))
    assert code == 2 and "read at most" in err and err.count("\n") == 1, err


def test_an_against_file_linked_to_a_device_is_refused(pr_repo, capsys, monkeypatch):
    r, jsonl = pr_repo
    monkeypatch.chdir(r)
    (r / "old.jsonl").symlink_to("/dev/zero")
    code, _, err = run_diff(capsys, "--dataset", str(jsonl), "--against", "./old.jsonl")
    assert code == 2 and "symbolic link leaving its folder" in err, err


def test_docs_as_a_link_is_refused(tmp_path, capsys, monkeypatch):
    project = copy_project(tmp_path)
    shutil.move(project / "docs", tmp_path / "elsewhere")
    (project / "docs").symlink_to(tmp_path / "elsewhere")
    monkeypatch.chdir(project)
    assert build("build", "site") == 2
    assert "docs: is a symbolic link" in one_error(capsys)
    assert not (project / "site").exists()


# --- 3, 6: work and site folders from the pull request --------------------------------------------


def test_a_link_inside_the_work_folder_is_refused_and_not_written_through(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    work = tmp_path / "w"
    (work).mkdir()
    (work / ".generated-work").write_text("x")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    (work / "docs").symlink_to(victim)
    assert build(work, tmp_path / "site") == 1
    assert "a symbolic link in the work folder" in one_error(capsys)
    assert (victim / "precious.txt").read_text() == "keep me" and len(list(victim.iterdir())) == 1


def in_git(project: Path, *tracked: str) -> None:
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-f", "--", *tracked)
    git(project, "commit", "-qm", "pr")


@pytest.mark.parametrize("folder,mark", [("build", ".generated-work"), ("site", ".generated-site")])
def test_a_work_or_site_folder_tracked_by_git_is_refused(tmp_path, capsys, monkeypatch, folder, mark):
    project = copy_project(tmp_path)
    (project / folder).mkdir()
    (project / folder / mark).write_text("x")
    in_git(project, "mkdocs.yml", folder)
    monkeypatch.chdir(project)
    assert build("build", "site") == 1
    assert f"{folder}: is tracked by git" in one_error(capsys)


@pytest.mark.parametrize("option", ["out", "work"])
def test_a_dangling_link_as_site_or_work_is_refused(tmp_path, capsys, monkeypatch, option):
    monkeypatch.chdir(ROOT)
    link = tmp_path / option
    link.symlink_to(tmp_path / "x" / "deep")
    args = (tmp_path / "w", link) if option == "out" else (link, tmp_path / "site")
    assert build(*args) == 1
    assert "is a symbolic link to nothing" in one_error(capsys)
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_mkdocs_output_from_another_machine_is_not_reused(tmp_path, monkeypatch, capsys):
    """A work folder copied from elsewhere (a checkout) with a forged mkdocs-out: its key
    cannot be made without this machine's secret, so mkdocs runs again."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache-a"))
    assert build(tmp_path / "w", tmp_path / "site-a") == 0
    assert main(["build", "--work", str(tmp_path / "w"), "--out", str(tmp_path / "site-a")]) == 0
    assert "mkdocs inputs unchanged: reusing its last output" in capsys.readouterr().out  # on this machine
    secret = tmp_path / "cache-a/dataset-generator/secret"
    assert secret.is_file() and secret.stat().st_mode & 0o077 == 0
    forged = tmp_path / "forged"
    shutil.copytree(tmp_path / "w", forged, symlinks=True)
    (forged / ".lock").unlink()
    index = forged / "mkdocs-out/index.html"
    index.write_text(index.read_text().replace("</body>", "<script>PWNED()</script></body>"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache-b"))
    assert main(["build", "--work", str(forged), "--out", str(tmp_path / "site-b")]) == 0
    assert "running mkdocs build" in capsys.readouterr().out
    assert "PWNED" not in (tmp_path / "site-b/index.html").read_text()
    assert "PWNED" not in index.read_text()


# --- 4: mkdocs.yml is input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra, needle, marker",
    [
        ("hooks:\n  - ../evil.py\n", "key 'hooks' is not allowed", "hooks"),
        ("copyright: !ENV [MY_SECRET]\n", "the tag '!ENV' is not allowed", "!ENV"),
        ("extra:\n  x: !!python/object/apply:os.system [touch pwned]\n", "is not allowed", "!!python"),
        ("plugins:\n  - search\n  - macros\n", "'macros' is not allowed", "macros"),
    ],
)
def test_mkdocs_yml_outside_the_allowlist_is_refused(tmp_path, capsys, monkeypatch, extra, needle, marker):
    project = copy_project(tmp_path)
    (tmp_path / "evil.py").write_text(f"open({str(tmp_path / 'PWNED')!r}, 'w').write('x')\n")
    cfg = project / "mkdocs.yml"
    text = cfg.read_text()
    if extra.startswith("plugins"):
        text = without_plugins(text)
    cfg.write_text(text + extra)
    line = next(n for n, text_line in enumerate((text + extra).splitlines(), 1) if marker in text_line)
    monkeypatch.setenv("MY_SECRET", "hunter2")
    monkeypatch.chdir(project)
    assert build("build", "site") == 2
    err = one_error(capsys)
    assert needle in err and f"mkdocs.yml:{line}:" in err, err
    assert not (tmp_path / "PWNED").exists() and not (project / "site").exists()


def without_plugins(text: str) -> str:
    """mkdocs.yml without its plugins entry (`plugins: []` or a block list)."""
    import re

    return re.sub(r"(?m)^plugins:.*\n(?:[ \t]+-.*\n)*", "", text)


@pytest.mark.parametrize(
    "plugins", [None, "", "plugins: []\n", "plugins:\n  - search\n", "plugins:\n  - search:\n      lang: en\n"]
)
def test_the_projects_mkdocs_yml_and_no_plugins_pass(tmp_path, plugins):
    from generator.mkconfig import check_mkdocs_yml

    text = (ROOT / "mkdocs.yml").read_text()
    cfg = tmp_path / "mkdocs.yml"
    cfg.write_text(text if plugins is None else without_plugins(text) + plugins)
    check_mkdocs_yml(cfg)


@pytest.mark.parametrize(
    "text, needle",
    [
        ("theme:\n  name: material\n  custom_dir: overrides\n", "'theme.custom_dir' is not allowed"),
        ("theme:\n  name: readthedocs\n", "theme.name must be material"),
        ("extra_css:\n  - ../../etc/passwd\n", "must be a relative path inside docs/"),
        ("extra_javascript:\n  - https://evil.example/x.js\n", "must be a relative path inside docs/"),
        ("markdown_extensions:\n  - pymdownx.snippets:\n      base_path: /\n", "'pymdownx.snippets' is not allowed"),
        ("site_name: &a x\nsite_description: *a\n", "anchors and aliases"),
        ("INHERIT: ../other.yml\n", "key 'INHERIT' is not allowed"),
        ("copyright: <script>alert(1)</script>\n", "copyright may not hold <"),
        (
            "theme:\n  name: material\n  palette:\n    primary: 'x\" onmouseover=\"alert(1)'\n",
            "theme.palette.primary may not hold <",
        ),
        ('theme:\n  name: material\n  language: "en\\u202e"\n', "theme.language may not hold <"),
        ("extra:\n  analytics:\n    provider: google\n", "extra.analytics must be"),
    ],
)
def test_mkdocs_yml_allowlist(tmp_path, text, needle):
    from generator.mkconfig import MkdocsConfigError, check_mkdocs_yml

    cfg = tmp_path / "mkdocs.yml"
    cfg.write_text("site_name: x\n" + text)
    with pytest.raises(MkdocsConfigError, match=needle.replace("(", r"\(").replace(".", r"\.")):
        check_mkdocs_yml(cfg)


# --- 7: the diff's cost is bounded; a pair is diffed once -----------------------------------------


def test_an_adversarial_pair_costs_a_bounded_number_of_steps():
    from generator import diff

    # few distinct tokens, many short matches: SequenceMatcher's worst case (seconds per field before)
    a = "x " + " ".join(str(i % 3) for i in range(700))
    b = "y " + " ".join(str((i * 7) % 5) for i in range(700)) + " z"
    before = diff._Budgeted.spent
    ops = diff.word_diff(a, b)
    spent = diff._Budgeted.spent - before
    assert spent <= 2 * diff.STEP_BUDGET, spent
    assert "".join(t for o, t in ops if o != "+") == a and "".join(t for o, t in ops if o != "-") == b
    lines = diff.line_diff("\n".join(a.split()), "\n".join(b.split()))
    assert [word for o, word in lines if o != "+"] == a.split()
    assert diff._Budgeted.spent - before <= 4 * diff.STEP_BUDGET


def test_a_long_text_with_one_edit_still_gets_a_word_diff():
    from generator.diff import word_diff

    words = [f"w{i}" for i in range(6000)]  # 12,000 tokens: over any cap, one word changed
    a = " ".join(words)
    b = " ".join(words[:3000] + ["CHANGED"] + words[3001:])
    ops = word_diff(a, b)
    assert [(o, t) for o, t in ops if o != "="] == [("-", "w3000"), ("+", "CHANGED")]


def test_each_distinct_pair_is_diffed_once(monkeypatch):
    import difflib
    import uuid

    from generator.diff import word_diff

    calls = []
    real = difflib.SequenceMatcher.get_opcodes
    monkeypatch.setattr(difflib.SequenceMatcher, "get_opcodes", lambda self: calls.append(1) or real(self))
    tag = uuid.uuid4().hex
    old, new = f"You are an expert {tag} in Rust.", f"You are a careful expert {tag} in Rust and tokio."
    results = [word_diff(old, new) for _ in range(50)]  # the system prompt of every record
    assert len(calls) == 1 and all(r == results[0] for r in results)
    results[0].append(("=", "mutated"))  # a caller's copy: the cache is not changed
    assert word_diff(old, new) == results[1]


# --- 8: one escaping for every line diff prints ------------------------------------------------------


def test_diff_output_shows_hidden_characters_in_paths_names_and_annotations(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    b = base_records()
    folder = tmp_path / "n\x1b[31m\u202eevil"
    old = make_dataset(tmp_path / "o", "pr", [dumps(r) for r in b])
    changed = list(b)
    changed[0] = record(
        "Retry \u2066isolated\u2069 request \u00ad here",
        "tokio sleeps; chrono is not involved.",
        b[0]["messages"][2]["content"].split("</think>\n\n", 1)[1],
    )
    new = make_dataset(folder, "pr", [dumps(r) for r in changed])
    for fmt in ("text", "github"):
        code, out, err = run_diff(
            capsys, "--dataset", str(new), "--against", str(old), "--format", fmt, "--source-root", str(CORPUS)
        )
        assert code == 0, err
        for ch in ("\x1b", "\u202e", "\u2066", "\u2069", "\u00ad"):
            assert ch not in out, (fmt, repr(ch))
        assert "⟨U+001B⟩" in out and "⟨U+202E⟩" in out, out


def test_a_lock_item_name_with_control_characters_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    jsonl = make_dataset(tmp_path / "ds", "d", [dumps(x) for x in base_records()])
    lock = jsonl.with_name("d.lock.json")
    data = orjson.loads(lock.read_bytes())
    data["files"][0]["items"][0]["name"] = "run\x1b]0;pwned\x07"
    lock.write_bytes(orjson.dumps(data))
    code, err = check(capsys, "--dataset", str(jsonl))
    assert code == 2 and "hidden or control character" in err and "\x1b" not in err and err.count("\n") == 1, err


# --- 9: messages name the right file ------------------------------------------------------------------


def test_a_broken_config_beside_the_against_file_is_named(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    new = make_dataset(tmp_path / "n", "pr", [dumps(x) for x in base_records()])
    old = make_dataset(tmp_path / "o", "old", [dumps(x) for x in base_records()])
    old.with_suffix(".toml").write_text("title = [unclosed\n")
    code, _, err = run_diff(capsys, "--dataset", str(new), "--against", str(old))
    assert code == 2 and f"{old.with_suffix('.toml')}:" in err and "pr.toml" not in err and err.count("\n") == 1, err


def test_a_missing_source_root_is_not_blamed_on_the_against_version(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    new = make_dataset(tmp_path / "n", "pr", [dumps(x) for x in base_records()])
    old = make_dataset(tmp_path / "o", "old", [dumps(x) for x in base_records()])
    code, _, err = run_diff(
        capsys, "--dataset", str(new), "--against", str(old), "--source-root", str(tmp_path / "nonexistent")
    )
    assert code == 2 and f"{tmp_path / 'nonexistent'}" in err and "@" not in err and err.count("\n") == 1, err


# --- 5: the project folder is not on mkdocs' import path ---------------------------------------------


def test_a_mkdocs_package_in_the_project_is_not_imported(tmp_path, monkeypatch):
    project = copy_project(tmp_path)
    (project / "mkdocs").mkdir()
    (project / "mkdocs/__init__.py").write_text("")
    (project / "mkdocs/__main__.py").write_text(f"open({str(tmp_path / 'PWNED')!r}, 'w').write('x')\n")
    monkeypatch.chdir(project)
    build("build", "site")
    assert not (tmp_path / "PWNED").exists()
