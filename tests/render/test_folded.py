"""A blocking chat's scenario stream that folds to its answer alone (Respond.folded) renders only its
answers' templates; the body, the bytes and the "found nothing" reports are those of rendering every
event and folding them (endings.plain_body over the rendered events). Any other shape has no fold."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.dify.versions import RELEASES
from mockserver.render.endings import plain_body
from mockserver.scenarios.context import render_events
from mockserver.scenarios.model import EventTemplate, Respond
from mockserver.scenarios.template import compile_value, usage

BOUND = {"task_id": "task", "message_id": "msg", "conversation_id": "conv"}
END = {"metadata": {"usage": "{{ usage(prompt_tokens=12, completion_tokens=9) }}"}}


class Ctx:
    """A template context with a request body, recording what found nothing."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.missing: list[str] = []

    def root(self, name: str) -> Any:
        return {"body": self.body} if name == "request" else None

    def request_part(self, name: str | int) -> Any:
        return self.body if name == "body" else None

    def fake(self, label: str, provider: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return provider


def respond(*events: dict[str, Any]) -> Respond:
    items = []
    for i, event in enumerate(events):
        fields = {k: v for k, v in event.items() if k not in ("event", "split")}
        where = f"f.yaml:{i}:1"
        template = compile_value(fields, lambda path: "", where=lambda path, where=where: where)
        items.append(EventTemplate(event["event"], template, event.get("split")))
    return Respond(events=tuple(items))


FOLDING = {
    "one templated answer": [
        {"event": "message", "answer": "You asked: {{ request.body.query }}", "split": "words"},
        {"event": "message_end", **END},
    ],
    "two answers, one constant": [
        {"event": "message", "answer": "Hello, "},
        {"event": "agent_message", "answer": "{{ request.body.query }}"},
        {"event": "message_end", **END},
    ],
    "an answer that finds nothing": [
        {"event": "message", "answer": "{{ request.body.nope }}"},
        {"event": "message_end"},
    ],
    "a whole-value answer that is null": [{"event": "message", "answer": "{{ request.body.none }}"}],
    "a constant field beside the answer": [{"event": "message", "answer": "{{ request.body.query }}", "id": "m1"}],
    "no answer field": [{"event": "message", "note": "x"}, {"event": "message_end", **END}],
    "two message_ends": [
        {"event": "message", "answer": "a"},
        {"event": "message_end", **END},
        {"event": "message_end"},
    ],
    "no events": [],
}


@pytest.mark.parametrize("release", sorted(RELEASES))
@pytest.mark.parametrize("shape", sorted(FOLDING))
def test_the_fold_gives_what_rendering_every_event_gives(shape: str, release: str) -> None:
    scenario = respond(*FOLDING[shape])
    assert scenario.folded is not None
    body = {"query": "refunds?", "none": None}
    everything, alone = Ctx(body), Ctx(body)
    assert scenario.events is not None
    rendered = render_events(scenario.events, everything)  # type: ignore[arg-type]
    for mode in ("chat", "completion"):
        expected = plain_body(BOUND, mode, RELEASES[release], 1000, rendered, None)
        assert expected is not None
        assert plain_body(BOUND, mode, RELEASES[release], 1000, scenario.folded.render(alone), None) == expected
    assert alone.missing == everything.missing


def test_what_the_fold_shows() -> None:
    folded = respond(*FOLDING["two answers, one constant"]).folded
    assert folded is not None
    reply = folded.render(Ctx({"query": "refunds?"}))
    assert reply.answer == "Hello, refunds?"
    assert reply.end == {"usage": usage(prompt_tokens=12, completion_tokens=9)} and reply.ended
    assert respond(*FOLDING["a whole-value answer that is null"]).folded.render(Ctx({"none": None})).answer == "None"  # type: ignore[union-attr]
    missing = Ctx({})
    respond(*FOLDING["an answer that finds nothing"]).folded.render(missing)  # type: ignore[union-attr]
    assert missing.missing == ["f.yaml:0:1: {{ request.body.nope }} found nothing"]


@pytest.mark.parametrize(
    "events",
    [
        # A field beside the answer that varies: rendering it could find nothing, so every event renders.
        [{"event": "message", "answer": "a", "id": "{{ request.body.query }}"}],
        [
            {"event": "message", "answer": "a"},
            {"event": "message_end", "metadata": {"note": "{{ request.body.query }}"}},
        ],
        [{"event": "message", "answer": "a"}, {"event": "message_end", "split": 2}],  # plain_body's None
        [{"event": "agent_thought", "thought": "t"}, {"event": "message", "answer": "a"}],
        [{"event": "workflow_started"}],
    ],
)
def test_other_shapes_render_every_event(events: list[dict[str, Any]]) -> None:
    assert respond(*events).folded is None


def test_a_blocking_body_or_an_error_block_has_no_fold() -> None:
    events = respond({"event": "message", "answer": "a"}).events
    assert Respond(blocking=compile_value({"answer": "b"}, lambda path: ""), events=events).folded is None
    assert Respond(error=compile_value({"code": "bad_request"}, lambda path: ""), events=events).folded is None
