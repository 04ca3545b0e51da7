"""Template contexts (contexts.py): every field says what it is for, and a context's digest
(an example page's key) changes with anything the page shows."""

from __future__ import annotations

import dataclasses

import pytest
from markupsafe import Markup

from generator import contexts
from generator.contexts import CardContext, Context, Shared


def context_classes() -> list[type]:
    found, todo = [], [Context]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            found.append(sub)
            todo.append(sub)
    return found


def test_every_template_has_a_context_class():
    names = {cls.__name__ for cls in context_classes()}
    assert {"HomeContext", "DatasetContext", "TableContext", "CoverageContext", "SourceContext"} <= names
    assert {"CardContext", "ShellContext", "ChangesContext", "ExampleContext"} <= names


@pytest.mark.parametrize("cls", context_classes(), ids=lambda c: c.__name__)
def test_context_class_fields_all_have_help(cls):
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    no_help = [f.name for f in dataclasses.fields(cls) if not str(f.metadata.get("help", "")).strip()]
    assert no_help == [], f"{cls.__name__} fields without help: {no_help}"


def card(**changes) -> CardContext:
    return dataclasses.replace(CardContext(title="Card", body=Markup("<p>x</p>"), dataset_title="Data"), **changes)


def test_a_digest_changes_with_any_field_and_tells_safe_html_from_text():
    base = contexts.digest(card())
    assert contexts.digest(card()) == base
    assert contexts.digest(card(dataset_title="Data ")) != base
    assert contexts.digest(card(body="<p>x</p>")) != base  # text the template would escape
    assert contexts.digest(card(body=Markup("<p>y</p>"))) != base


def test_shared_parts_are_digested_by_content():
    rows = [{"text": "fn a() {}", "index": 1}]
    one, same = card(body=Shared(rows)), card(body=Shared([dict(r) for r in rows]))
    assert contexts.digest(one) == contexts.digest(same)
    assert contexts.digest(card(body=Shared([{"text": "fn b() {}", "index": 1}]))) != contexts.digest(one)
    assert contexts.digest(card(body=Shared(rows))) != contexts.digest(card(body=tuple(rows)))
    assert contexts.digest(card(body=b"x")) != contexts.digest(card(body="x"))


def test_a_record_line_is_keyed_by_its_digest():
    from generator.contexts import Digested
    from generator.load import line_digest

    line = b'{"type": "chatml"}'
    assert Digested(line, line_digest(line)) == line  # the template sees the bytes
    assert contexts.digest(card(body=Digested(line, line_digest(line)))) == contexts.digest(
        card(body=Digested(line, b""))
    )
    assert contexts.digest(card(body=Digested(line, line_digest(line)))) != contexts.digest(
        card(body=Digested(line + b" ", line_digest(line + b" ")))
    )
