"""Templates: typed whole-string expressions, text interpolation, filters, usage(), no eval."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.scenarios.template import TemplateSyntaxError, compile_value, usage


class Ctx:
    def __init__(self, **roots: Any) -> None:
        self.roots = roots
        self.fakes: list[tuple[str, str]] = []

    def root(self, name: str) -> Any:
        return self.roots.get(name)

    def request_part(self, name: str | int) -> Any:
        request = self.roots.get("request")
        return request.get(name) if isinstance(request, dict) and isinstance(name, str) else None

    def fake(self, label: str, provider: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        self.fakes.append((label, provider))
        return f"<{provider}{args}{sorted(kwargs.items())}>"


def render(value: Any, **roots: Any) -> Any:
    return compile_value(value, lambda path: "f:1:1").render(Ctx(**roots))


def test_whole_string_keeps_json_type() -> None:
    assert render("{{ request.body.inputs }}", request={"body": {"inputs": {"a": [1]}}}) == {"a": [1]}
    assert render("{{ n }}", n=3) == 3


def test_embedded_expression_becomes_text() -> None:
    assert render("n={{ n }} ok={{ request.ok }}", n=3, request={"ok": True}) == "n=3 ok=true"


def test_missing_values_are_null_and_default_filter() -> None:
    assert render("{{ request.body.nope.deeper }}", request={"body": {}}) is None
    assert render("{{ request.body.q | default('x') | upper }}", request={"body": {}}) == "X"
    assert render("{{ request.body.q | default(request.body.r) }}", request={"body": {"r": 5}}) == 5


def test_nested_structures_and_constants_are_shared() -> None:
    t = compile_value({"a": [1, {"b": "c"}]}, lambda p: "")
    assert t.constant and t.render(Ctx()) == {"a": [1, {"b": "c"}]}


def test_a_function_of_literals_is_constant_and_built_once() -> None:
    """`usage(...)` is worked out at load: the object around it is built once and is the same on every
    render (the blocking body's metadata is memoised on it)."""
    t = compile_value({"metadata": {"usage": "{{ usage(prompt_tokens=12) }}"}, "a": ["{{ usage() }}"]}, lambda p: "")
    first = t.render(Ctx())
    assert t.constant and first is t.render(Ctx())
    assert first == {"metadata": {"usage": usage(prompt_tokens=12)}, "a": [usage()]}
    assert not compile_value({"u": "{{ usage() }}", "n": "{{ n }}"}, lambda p: "").constant


def test_filters() -> None:
    assert render("{{ request.s | length }}", request={"s": "abcd"}) == 4
    assert render("{{ request.s | truncate(2) }}", request={"s": "abcd"}) == "ab"
    assert render("{{ request.o | json }}", request={"o": {"k": 1}}) == '{"k":1}'


def test_fake_calls_are_labelled_by_position() -> None:
    ctx = Ctx()
    t = compile_value({"x": "{{ fake.sentence(nb_words=3) }}"}, lambda path: f"file:{path}")
    assert t.render(ctx) == {"x": "<sentence()[('nb_words', 3)]>"}
    assert ctx.fakes == [("file:('x',)#0", "sentence")]


def test_usage_prices_are_dify_decimal_strings() -> None:
    u = usage(prompt_tokens=1033, completion_tokens=128)
    assert u["prompt_price"] == "0.0010330" and u["completion_price"] == "0.0002560"
    assert u["total_price"] == "0.0012890" and u["total_tokens"] == 1161
    assert len(u) == 12
    assert render("{{ usage(prompt_tokens=1) }}")["prompt_tokens"] == 1


@pytest.mark.parametrize(
    "source",
    [
        "{{ open('x') }}",
        "{{ request.__class__ }}",
        "{{ os.system }}",
        "{{ fake._private() }}",
        "{{ fake.seed_instance(1) }}",
        "{{ request.body[request.x] }}",
        "{{ 1 + }}",
        "{{ }}",
        "oops }}",
        "{{ usage(prompt_tokens=request.n) }}",
    ],
)
def test_unsafe_or_broken_templates_fail_at_compile(source: str) -> None:
    with pytest.raises(TemplateSyntaxError):
        compile_value(source, lambda p: "")


def test_a_record_an_action_bound_is_written_as_its_fields() -> None:
    """`{{ action.<record> | json }}` and a record in a list: its fields by name, `_private` ones left
    out, as orjson wrote the dataclasses the records were; an SSE event holding one likewise."""
    from mockserver.dify.apps import build_app
    from mockserver.render.sse import encode_event
    from mockserver.state.records import Annotation

    note = Annotation("a1", "app", "q?", "a.", 7)
    fields = '{"id":"a1","app":"app","question":"q?","answer":"a.","created_at":7,"hit_count":0,"created_seq":0}'
    assert render("{{ action.note | json }}", action={"note": note}) == fields
    assert render("[{{ action.notes }}]", action={"notes": [note]}) == f"[[{fields}]]"
    assert encode_event({"event": "x", "note": note}) == b'data: {"event":"x","note":' + fields.encode() + b"}\n\n"
    app = build_app("k", {"mode": "chat"})
    shown = render("{{ action.app | json }}", action={"app": app})
    assert '"_roots"' not in shown and '"memo":{}' in shown
