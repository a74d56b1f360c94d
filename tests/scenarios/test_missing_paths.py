"""F11: a template path that finds nothing at run time is recorded in the context's `missing`
(`FILE:LINE:COLUMN: {{ expr }} found nothing`), unless a `default` filter follows it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mockserver.app import load
from mockserver.scenarios.context import RequestContext
from mockserver.scenarios.template import compile_value
from mockserver.settings import Settings


class Ctx:
    def __init__(self, **roots: Any) -> None:
        self.roots = roots
        self.missing: list[str] = []

    def root(self, name: str) -> Any:
        return self.roots.get(name)

    def request_part(self, name: str | int) -> Any:
        request = self.roots.get("request")
        return request.get(name) if isinstance(request, dict) and isinstance(name, str) else None

    def fake(self, label: str, provider: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return provider


def missing(value: Any, **roots: Any) -> tuple[Any, list[str]]:
    ctx = Ctx(**roots)
    rendered = compile_value(value, lambda path: "", where=lambda path: f"f.yaml:{len(path)}:7").render(ctx)
    return rendered, ctx.missing


BODY = {"body": {"inputs": {}, "conversation_id": None, "files": [{"type": "image"}]}}


def test_a_path_that_finds_nothing_is_recorded_and_renders_empty() -> None:
    text = "Refunds take 5 business days, {{ request.body.inputs.customer.name }}."
    assert missing(text, request=BODY) == (
        "Refunds take 5 business days, .",
        ["f.yaml:0:7: {{ request.body.inputs.customer.name }} found nothing"],
    )


@pytest.mark.parametrize(
    "expr",
    [
        "request.body.conversation_id",  # present, null: found
        "request.body.files[0].type",
        "request.body.x | default('y')",
        "request.body.x | default('y') | upper",
        "request.body.x.y | default(request.body.inputs)",
        "n",
        "fake.name()",
    ],
)
def test_found_values_and_defaulted_paths_are_not_recorded(expr: str) -> None:
    assert missing("{{ " + expr + " }}", request=BODY, n=1)[1] == []


@pytest.mark.parametrize(
    "expr",
    [
        "request.body.x | upper",  # another filter keeps the nothing
        "request.body.files[3]",
        "request.body['nope']",
        "request.body.y | default(request.body.z)",  # the fallback itself is a lookup
        "app.name",  # no app root on this request
    ],
)
def test_each_kind_of_lookup_is_recorded(expr: str) -> None:
    assert missing("{{ " + expr + " }}", request=BODY)[1] == [f"f.yaml:0:7: {{{{ {expr} }}}} found nothing"]


def test_one_record_per_expression_and_position() -> None:
    value = {"a": "{{ request.q }} {{ request.q }}", "b": ["{{ request.q }}"]}
    ctx = Ctx(request={})
    template = compile_value(value, lambda path: "", where=lambda path: f"f.yaml:{len(path)}:1")
    template.render(ctx)
    template.render(ctx)  # rendered twice in one request: still one line per place
    assert ctx.missing == ["f.yaml:1:1: {{ request.q }} found nothing", "f.yaml:2:1: {{ request.q }} found nothing"]


def test_without_positions_nothing_is_recorded() -> None:
    ctx = SimpleNamespace(root=lambda name: {}, fake=None)  # no `missing` needed
    assert compile_value("{{ request.q }}", lambda path: "").render(ctx) is None  # type: ignore[arg-type]


def test_the_loader_gives_each_expression_its_file_line_and_column(tmp_path: Path) -> None:
    file = tmp_path / "service" / "send_chat_message.yaml"
    file.parent.mkdir()
    file.write_text(
        "vars:\n"
        "  who: '{{ request.body.inputs.customer.name }}'\n"
        "scenarios:\n"
        "  refund:\n"
        "    respond:\n"
        "      blocking: {answer: 'Hello {{ vars.who }}, {{ request.body.inputs.order }}'}\n"
    )
    _, book = load(Settings(fixtures=(tmp_path,)))
    fixture = book.fixtures["service.send_chat_message"]
    view = {"body": {"inputs": {}}}
    call = SimpleNamespace(
        view=lambda: view, part=view.get, app=None, release=SimpleNamespace(root={"version": "1.16"})
    )
    ctx = RequestContext(call, fixture, SimpleNamespace(), 0, 1, {})  # type: ignore[arg-type]
    assert fixture.rules[0].respond is not None and fixture.rules[0].respond.blocking is not None
    assert fixture.rules[0].respond.blocking.render(ctx) == {"answer": "Hello , "}
    # `vars.who` was found (it rendered to null); the path inside it is recorded where it is written.
    assert ctx.missing == [
        f"{file}:2:8: {{{{ request.body.inputs.customer.name }}}} found nothing",
        f"{file}:6:26: {{{{ request.body.inputs.order }}}} found nothing",
    ]
