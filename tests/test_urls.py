from generator import urls


def test_relative_hrefs_literal():
    cases = [
        (
            "datasets/x/examples/line-3.md",
            "datasets/x/source/server/a.rs.md",
            "L3-L5",
            "../../source/server/a.rs/#L3-L5",
        ),
        ("datasets/x/index.md", "datasets/x/examples.md", "", "examples/"),
        ("index.md", "datasets/x/index.md", "", "datasets/x/"),
        ("datasets/x/examples.md", "datasets/x/data/examples.json", "", "../data/examples.json"),
        ("datasets/x/examples/line-3.md", "datasets/x/examples/line-4.md", "", "../line-4/"),
        ("datasets/x/index.md", "index.md", "", "../../"),
        ("datasets/x/examples.md", "assets/site.css", "", "../../../assets/site.css"),
        ("index.md", "index.md", "", "./"),
        ("datasets/x/examples/line-3.md", "datasets/x/examples/line-3.md", "a", "./#a"),
        ("datasets/x/source/a/b.rs.md", "datasets/x/examples/line-1.md", "", "../../../examples/line-1/"),
    ]
    assert [urls.href(a, b, c) for a, b, c, _ in cases] == [want for *_, want in cases]


def test_paths_and_anchors():
    assert urls.example("retry_state_machine", 12) == "datasets/retry_state_machine/examples/line-12.md"
    assert (
        urls.source("s", "server/svix-server/src/core/retry.rs")
        == "datasets/s/source/server/svix-server/src/core/retry.rs.md"
    )
    assert urls.page_url("datasets/s/examples/line-1.md") == "datasets/s/examples/line-1/"
    assert urls.range_anchor(5, 5) == "L5" and urls.range_anchor(5, 21) == "L5-L21"
    assert urls.item_anchor("impl<'a, Re> Retry<'a, Re>", 32) == "item-impl-a-re-retry-a-re-32"


def test_example_folder_links():
    table, example, source = "datasets/x/examples.md", "datasets/x/examples/line-3.md", "datasets/x/source/a/b.rs.md"
    assert [urls.examples_href(p, "x") for p in (table, example, source)] == ["", "../", "../../../examples/"]
    for page in (table, example, source):
        assert urls.example_hrefs(page, "x")(12) == urls.href(page, urls.example("x", 12))
    assert (
        urls.examples_folder("x") == "datasets/x/examples/"
        and urls.example_shell("x") == "datasets/x/examples/line-0.md"
    )
    assert (
        urls.site_file(example) == "datasets/x/examples/line-3/index.html"
        and urls.site_file("index.md") == "index.html"
    )


def test_anchors():
    assert urls.line_anchor(7) == "L7"
    assert urls.line_anchor_base("../../source/a.rs/#L5-L9") == "../../source/a.rs/#L"
    assert urls.segment_anchor(2) == "segment-2"
    assert urls.change_anchor(4) == "change-4" and urls.removed_anchor(4) == "removed-4"
    assert urls.diff_anchor("change-4") == "diff-change-4"
