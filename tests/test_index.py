from conftest import CACHE, QUEUE, RETRY, WORKER

from generator.index import index_source, parse_items


def spans(items):
    return [(i.kind, i.name, i.start_line, i.end_line) for i in items]


def test_retry_rs_items_literal(corpus):
    data = (corpus / RETRY).read_bytes()
    assert spans(parse_items(RETRY, data)) == [
        ("use", "use std::{future::Future, time::Duration}", 1, 1),
        ("use", "use tracing::warn", 3, 3),
        ("fn", "run_with_retries", 5, 21),
        ("struct", "Retry", 23, 30),  # doc comment lines 23-26 attached
        ("impl", "impl<'a, Re> Retry<'a, Re>", 32, 67),
        ("fn", "Retry::new", 33, 38),
        ("fn", "Retry::run", 40, 66),
    ]


def test_doc_attributes_comments_and_cfg_test_attach():
    src = b"""//! crate doc
use a::b;

// plain comment
/// Doc for Foo.
#[derive(Debug)]
#[allow(dead_code)]
pub struct Foo<T> {
    x: T,
}

impl<T: Clone> Clone for Foo<T> {
    fn clone(&self) -> Self { todo!() }
}

pub trait Beh {
    fn must(&self);
    fn provided(&self) {}
}

const N: usize = 3;
static S: &str = "s";
type Alias = Foo<u8>;
macro_rules! mac { () => {}; }

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn works() {}
}
"""
    items = parse_items("x.rs", src)
    assert spans(items) == [
        ("use", "use a::b", 2, 2),
        ("struct", "Foo", 5, 10),
        ("impl", "impl<T: Clone> Clone for Foo<T>", 12, 14),
        ("fn", "Foo::clone", 13, 13),
        ("trait", "Beh", 16, 19),
        ("fn", "Beh::must", 17, 17),
        ("fn", "Beh::provided", 18, 18),
        ("const", "N", 21, 21),
        ("static", "S", 22, 22),
        ("type", "Alias", 23, 23),
        ("macro", "mac", 24, 24),
        ("mod", "tests", 26, 31),
        ("use", "tests::use super::*", 28, 28),
        ("fn", "tests::works", 29, 30),
    ]
    by_name = {i.name: i for i in items}
    assert by_name["Foo"].lead_line == 4 and by_name["Foo"].decl_line == 8
    assert [i.name for i in items if i.in_test] == ["tests", "tests::use super::*", "tests::works"]
    assert by_name["Foo::clone"].parent == "Foo"


def test_queue_and_cache_names(corpus):
    idx, problems = index_source(corpus, [QUEUE, CACHE, WORKER])
    assert problems == []
    q = {i.name: i for i in idx.files[QUEUE].items}
    assert (
        q["SvixOmniProducer::send"].start_line,
        q["SvixOmniProducer::send"].decl_line,
        q["SvixOmniProducer::send"].end_line,
    ) == (169, 170, 187)
    assert (q["SvixOmniDelivery::ack"].start_line, q["SvixOmniDelivery::ack"].end_line) == (259, 287)
    assert (q["SvixOmniDelivery::nack"].start_line, q["SvixOmniDelivery::nack"].end_line) == (289, 321)
    assert (q["RETRY_SCHEDULE"].start_line, q["RETRY_SCHEDULE"].end_line) == (20, 24)
    c = {i.name: i for i in idx.files[CACHE].items}
    assert (c["CacheBehavior"].start_line, c["CacheBehavior"].decl_line, c["CacheBehavior"].end_line) == (139, 142, 258)
    assert (c["CacheBehavior::get"].start_line, c["CacheBehavior::get"].end_line) == (144, 160)
    assert c["string_kv_def"].in_test and not c["kv_def"].in_test
    w = {i.name: i for i in idx.files[WORKER].items}
    assert (w["handle_failed_dispatch"].start_line, w["handle_failed_dispatch"].end_line) == (547, 709)
    assert w["tests"].in_test and not w["calculate_retry_delay"].in_test
    assert "should_retry" in idx.files[QUEUE].identifiers


def test_unusable_source_files_are_findings(tmp_path, corpus):
    root = tmp_path / "src"
    root.mkdir()
    (root / "ok.rs").write_text("fn a() {}\n")
    (root / "latin1.rs").write_bytes(b"// caf\xe9\nfn b() {}\n")
    (root / "escape.rs").symlink_to(corpus / RETRY)
    (root / "dir.rs").mkdir()
    idx, problems = index_source(root, ["ok.rs", "latin1.rs", "escape.rs", "missing.rs", "dir.rs", "../up.rs"])
    assert list(idx.files) == ["ok.rs"]
    msgs = {p.path.rsplit("/", 1)[-1]: p.message for p in problems}
    assert "not UTF-8" in msgs["latin1.rs"]
    assert "leaves the source root" in msgs["escape.rs"]
    assert "no such file" in msgs["missing.rs"]
    assert "not a regular file" in msgs["dir.rs"]
    assert "leaves the source root" in msgs["up.rs"]
    assert all(p.rule == "source.unreadable" for p in problems)
