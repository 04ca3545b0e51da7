"""build --compare: the Changes page and the changed-example box; without --compare the site
is the plain one, byte for byte; hostile record text stays text (HTML level and in Chromium)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ARTIFACTS, CORPUS, ROOT, Served, dumps, make_dataset, offline_page
from hostile import PAYLOADS, hostile_records
from sitecheck import broken_links, text_of
from test_diff import SCENARIOS, base_records
from test_site import digest_tree

from generator.__main__ import main

pytestmark = pytest.mark.slow


def build(work: Path, out: Path, *args: str) -> int:
    return main(["build", "--work", str(work), "--out", str(out), "--quiet", "--source-root", str(CORPUS), *args])


def _no_trace(site: Path) -> None:
    assert not (site / "assets" / "changes.css").exists()
    for page in site.rglob("*.html"):
        html = page.read_text()
        assert "change-box" not in html and "changes.css" not in html and "/changes/" not in html, page


def test_without_compare_the_site_is_the_plain_one(tmp_path, monkeypatch):
    """A build after a --compare build, without it, gives the very bytes of a plain build
    from nothing (page keys include the comparison), and nothing of it is left."""
    monkeypatch.chdir(ROOT)
    old = make_dataset(tmp_path / "old", "cmp", [dumps(r) for r in base_records()])
    jsonl = make_dataset(tmp_path / "new", "cmp", [dumps(r) for r in SCENARIOS["reworded request"][0]])
    assert build(tmp_path / "w1", tmp_path / "plain", "--dataset", str(jsonl)) == 0
    _no_trace(tmp_path / "plain")
    assert build(tmp_path / "w2", tmp_path / "site", "--dataset", str(jsonl), "--compare", str(old)) == 0
    assert (tmp_path / "site/datasets/cmp/changes/index.html").exists()
    assert "change-box" in (tmp_path / "site/datasets/cmp/examples/line-2/index.html").read_text()
    assert "change-box" not in (tmp_path / "site/datasets/cmp/examples/line-1/index.html").read_text()
    assert build(tmp_path / "w2", tmp_path / "site", "--dataset", str(jsonl)) == 0
    assert digest_tree(tmp_path / "site") == digest_tree(tmp_path / "plain")


def test_incremental_compare_builds_equal_fresh_ones(tmp_path, monkeypatch):
    """Comparing with another version rebuilds exactly the pages whose box changed."""
    monkeypatch.chdir(ROOT)
    jsonl = make_dataset(tmp_path / "new", "cmp", [dumps(r) for r in SCENARIOS["reworded request"][0]])
    other = tmp_path / "against" / "cmp.jsonl"
    other.parent.mkdir()
    other.write_bytes(b"".join(dumps(r) + b"\n" for r in base_records()))
    assert build(tmp_path / "w", tmp_path / "site", "--dataset", str(jsonl), "--compare", str(other)) == 0
    first = (tmp_path / "site/datasets/cmp/examples/line-2/index.html").read_text()
    other.write_bytes(
        b"".join(dumps(r) + b"\n" for r in SCENARIOS["rewritten reasoning"][0])
    )  # now line 1 and 2 differ
    assert build(tmp_path / "w", tmp_path / "site", "--dataset", str(jsonl), "--compare", str(other)) == 0
    assert build(tmp_path / "w-fresh", tmp_path / "fresh", "--dataset", str(jsonl), "--compare", str(other)) == 0
    assert digest_tree(tmp_path / "site") == digest_tree(tmp_path / "fresh")
    assert (tmp_path / "site/datasets/cmp/examples/line-2/index.html").read_text() == first  # the same change
    assert "change-box" in (tmp_path / "site/datasets/cmp/examples/line-1/index.html").read_text()


def test_compare_with_an_unknown_ref_exits_2_and_leaves_the_site(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    jsonl = make_dataset(tmp_path / "new", "cmp", [dumps(r) for r in base_records()])
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert build(tmp_path / "w", tmp_path / "site", "--dataset", str(jsonl), "--compare", "HEAD") == 2
    err = capsys.readouterr().err
    assert "not inside a git repository" in err and err.count("\n") == 1
    assert not (tmp_path / "site").exists()


# --- hostile text on the Changes page --------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_compare(tmp_path_factory):
    """New: the hostile records (payloads in request and reasoning). Old: the same records with
    harmless requests, plus a removed one carrying a payload, in a folder whose name is hostile."""
    tmp = tmp_path_factory.mktemp("hostile-compare")
    records = hostile_records()
    jsonl = make_dataset(tmp / "ds", "hostile", [dumps(r) for _, r in records])
    old_records = []
    for name, r in records:
        r = {**r, "messages": [dict(m) for m in r["messages"]]}
        r["messages"][1]["content"] = f"Request with {name}: harmless words only"
        old_records.append(r)
    gone = {**records[0][1], "messages": [dict(m) for m in records[0][1]["messages"]]}
    gone["messages"][1]["content"] = "Removed: " + PAYLOADS["img"] + " and " + PAYLOADS["script"]
    gone["messages"][2]["content"] = (
        "<think>\nnothing in common with anything else here, zebra quartz\n</think>\n\nfn gone() {}"
    )
    old_records.append(gone)
    old_dir = tmp / 'o<img src=x onerror="window.__pwned_dir=1">'
    old_dir.mkdir()
    old = old_dir / "hostile.jsonl"
    old.write_bytes(b"".join(dumps(r) + b"\n" for r in old_records))
    before = jsonl.read_bytes(), old.read_bytes()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        assert build(tmp / "w", tmp / "site", "--dataset", str(jsonl), "--compare", str(old)) == 0
    assert (jsonl.read_bytes(), old.read_bytes()) == before
    return tmp / "site", [name for name, _ in records]


def test_changes_page_escapes_everything(hostile_compare):
    site, names = hostile_compare
    page = site / "datasets/hostile/changes/index.html"
    body = page.read_text().split("<article", 1)[1]
    for live in (
        "<script>window.__pwned",
        '<img src="x" onerror',
        "<img src=x onerror",
        '<iframe src="javascript',
        "<svg onload",
        '<b id="escaped-bold">',
        'href="javascript:',
    ):
        assert live not in body, live
    text = text_of(page)
    assert "Removed: " + PAYLOADS["img"] in text
    assert 'onerror="window.__pwned_dir=1"' in text  # the hostile folder name, as text
    assert text.count("[added: ") >= len(names)  # every request's payload, marked for screen readers too
    assert broken_links(site) == []


@pytest.mark.browser
def test_changes_page_in_chromium(hostile_compare, browser):
    site, names = hostile_compare
    server = Served.under_subpath(site)
    try:
        page = offline_page(browser, viewport={"width": 1280, "height": 900})
        page.goto(f"{server.base}/site/datasets/hostile/changes/")
        page.wait_for_load_state("load")
        assert page.evaluate("Object.keys(window).filter(k => k.startsWith('__pwned'))") == []
        # diff marks: <ins>/<del>, underlined / struck through, with a hidden label (not colour alone)
        ins, dele = page.locator("article ins.diff-ins"), page.locator("article del.diff-del")
        assert ins.count() >= len(names) and dele.count() >= len(names)
        assert "underline" in ins.first.evaluate("e => getComputedStyle(e).textDecorationLine")
        assert "line-through" in dele.first.evaluate("e => getComputedStyle(e).textDecorationLine")
        label = ins.first.locator(".diff-sr")
        assert (
            label.first.text_content() == "[added: "
            and label.first.evaluate("e => e.getBoundingClientRect().width") <= 1
        )
        assert PAYLOADS["script"] in page.locator("article").inner_text()
        # the table: every example link opens that example's page, which shows its change
        rows = page.locator("#changes-table tbody tr")
        assert rows.count() == len(names) + 1  # each request reworded, one record removed
        hrefs = [a.get_attribute("href") for a in page.locator("#changes-table a.change-link").all()]
        assert len(hrefs) == len(names)
        for href in hrefs:
            assert not href.lower().startswith("javascript:")
        # sortable: by "Line", descending on the second click
        th = page.locator("#changes-table th", has_text="Line").first
        th.click()
        th.click()
        assert th.get_attribute("aria-sort") == "descending"
        first = rows.first.locator("a.change-link")
        assert first.text_content() == str(len(names))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "changes.png"), full_page=False)
        first.click()
        page.wait_for_load_state("load")
        assert page.url.endswith(f"/datasets/hostile/examples/line-{len(names)}/")
        box = page.locator(".change-box")
        assert box.is_visible() and box.locator("ins.diff-ins").count() >= 1
        assert page.evaluate("Object.keys(window).filter(k => k.startsWith('__pwned'))") == []
        box.locator("a.to-changes").click()
        page.wait_for_load_state("load")
        assert page.url.endswith(f"/changes/#change-{len(names)}")
        for line in range(1, len(names) + 1):
            page.goto(f"{server.base}/site/datasets/hostile/examples/line-{line}/")
            page.wait_for_load_state("load")
            assert page.locator(".change-box").count() == 1
            assert page.evaluate("Object.keys(window).filter(k => k.startsWith('__pwned'))") == [], line
        assert page.errors == [] and page.blocked == []
    finally:
        server.close()


def test_compare_with_a_git_ref(tmp_path, monkeypatch):
    import subprocess

    from test_diff import git

    monkeypatch.chdir(ROOT)
    repo = tmp_path / "repo"
    jsonl = make_dataset(repo / "dataset", "cmp", [dumps(r) for r in base_records()])
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    jsonl.write_bytes(b"".join(dumps(r) + b"\n" for r in SCENARIOS["deletion"][0]))
    assert build(tmp_path / "w", tmp_path / "site", "--dataset", str(jsonl), "--compare", "main") == 0
    html = (tmp_path / "site/datasets/cmp/changes/index.html").read_text()
    assert html.count('class="change-row row-removed"') == 1 and "change-row row-modified" not in html
    assert "<code>main</code>" in html
    assert (
        subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout
        == " M dataset/cmp.jsonl\n"
    )


def test_the_example_template_adds_nothing_without_a_comparison(tmp_path, monkeypatch):
    """Rendered with change=None, the example template gives the bytes of the template with
    the comparison's parts cut out: not a character (not a newline) more."""
    from generator.pipeline import run
    from generator.render import TEMPLATES, environment
    from generator.views import build_views, example_page

    monkeypatch.chdir(ROOT)
    jsonl = make_dataset(tmp_path / "ds", "cmp", [dumps(r) for r in base_records()])
    dv = build_views(run([jsonl], CORPUS)).datasets[0]
    source = (TEMPLATES / "example.html.j2").read_text()
    start = source.index("{% if change %}")
    end = source.index("{% endif %}", start) + len("{% endif %}")
    today = (
        source.replace('{% from "_change.j2" import change_body %}', "")[
            : start - len('{% from "_change.j2" import change_body %}')
        ]
        + source[end:]
    )
    assert "change" not in today
    template = environment().from_string(today)
    for i in range(len(dv.examples)):
        page = example_page(dv, i)
        assert page.view.change is None
        assert environment().get_template("example.html.j2").render(**page.context) == template.render(**page.context)


def test_changes_page_caps_inline_diffs_and_every_link_resolves(tmp_path, monkeypatch):
    from generator import diffview

    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(diffview, "MAX_DETAILS", 1)
    b = base_records()
    old = make_dataset(tmp_path / "old", "cap", [dumps(r) for r in b])
    new = [dict(r, messages=[dict(m) for m in r["messages"]]) for r in b]
    for r in new[:3]:
        r["messages"][1]["content"] += " Reworded a little."
    jsonl = make_dataset(tmp_path / "new", "cap", [dumps(r) for r in new])
    assert build(tmp_path / "w", tmp_path / "site", "--dataset", str(jsonl), "--compare", str(old)) == 0
    html = (tmp_path / "site/datasets/cap/changes/index.html").read_text()
    assert html.count('class="change-row') == 3 and html.count('class="change-detail"') == 1
    assert "the other 2 carry their diff on their own page" in html
    for line in (1, 2, 3):
        assert (
            f'href="../../changes/#change-{line}"'
            in (tmp_path / f"site/datasets/cap/examples/line-{line}/index.html").read_text()
        )
    assert broken_links(tmp_path / "site") == []
