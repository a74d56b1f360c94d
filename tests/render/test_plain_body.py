"""A blocking chat or completion's body, worked out without events (endings.plain_body), is the body the
event builder folds the same scenario events to (blocking_body), in every release and mode, whatever the
message_end's metadata holds, and the same on a second request that reuses the scenario's objects; its
bytes are json.dumps of it."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from mockserver.determinism import Draws, FakerSource
from mockserver.dify.versions import RELEASES
from mockserver.render.builder import EventBuilder
from mockserver.render.endings import blocking_body, plain_body
from mockserver.render.envelope import Envelope, family_of
from mockserver.scenarios.template import usage

USAGE = usage(prompt_tokens=12, completion_tokens=9)
METADATA: list[Any] = [
    None,
    {},
    {"usage": USAGE},
    {"usage": {**USAGE, "latency": None}, "annotation_reply": None},  # nulls 1.16 drops from message_end
    {"retriever_resources": None, "usage": None},
    {"retriever_resources": [{"position": 1, "content": "x"}], "note": {"a": None, "b": [None, {"c": None}]}},
]
BOUND = {"task_id": "task", "message_id": "msg", "conversation_id": "conv"}


def folded(mode: str, release: str, raw: list[Any], given: Any) -> dict[str, Any]:
    """What the event path gives: every non-answer event built, then blocking_body over them."""
    env = Envelope(
        family=family_of(mode),
        mode=mode,
        release=RELEASES[release],
        task_id="task",
        created_at=1000,
        draws=Draws(0, "t", "app:k", "e", 0, FakerSource()),
        message_id="msg",
        conversation_id="conv" if mode != "completion" else None,
    )
    builder = EventBuilder(env)
    answers = [str(f.get("answer", "")) for name, f, _, _ in raw if name == "message"]
    ends = [builder.build(name, f, 0.0) for name, f, _, _ in raw if name == "message_end"]
    return blocking_body(env, builder, ends, given, answers)


def plain(mode: str, release: str, raw: list[Any], given: Any) -> dict[str, Any]:
    """plain_body's body, once its bytes are checked to be json.dumps of it (the generate dialect)."""
    made = plain_body(BOUND, mode, RELEASES[release], 1000, raw, given)
    assert made is not None
    body, encoded = made
    assert encoded == json.dumps(body).encode()
    return body


@pytest.mark.parametrize("release", sorted(RELEASES))
@pytest.mark.parametrize("mode", ["chat", "agent-chat", "completion"])
@pytest.mark.parametrize("metadata", range(len(METADATA)))
def test_plain_body_is_the_folded_body(release: str, mode: str, metadata: int) -> None:
    end = {} if METADATA[metadata] is None else {"metadata": METADATA[metadata]}
    raw = [("message", {"answer": "You"}, None, None), ("message", {"answer": " asked"}, None, None)]
    raw += [("message_end", end, None, None), ("message_end", {"metadata": {"usage": None}}, None, None)]
    expected = folded(mode, release, copy.deepcopy(raw), None)
    for _ in range(2):  # the second time from the memo, as a constant scenario's next request
        assert plain(mode, release, raw, None) == expected
    assert raw[2][1] == ({} if METADATA[metadata] is None else {"metadata": METADATA[metadata]})  # never changed


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_given_body_fields_and_no_message_end(release: str) -> None:
    raw = [("message", {"answer": "a"}, None, None)]
    given = {"answer": "replaced", "metadata": {"usage": USAGE}}
    assert plain("chat", release, raw, given) == folded("chat", release, raw, given)
    assert plain("chat", release, raw, None) == folded("chat", release, raw, None)
    odd = {"answer": ["not", "text", "é/\u2028"], "metadata": {"usage": {"latency": float("nan")}}}
    assert plain("completion", release, raw, odd) == folded("completion", release, raw, odd)
    escaped = {"answer": 'a "quoted" \\ é\n\u2028\x00 </script>'}  # text json must escape
    assert plain("chat", release, raw, escaped) == folded("chat", release, raw, escaped)


def test_other_shapes_take_the_event_path() -> None:
    """A split message_end or any other event is not a plain answer: None, the builder decides."""
    release = RELEASES["1.16"]
    split_end = [("message", {"answer": "a"}, None, None), ("message_end", {"answer": "x y"}, "words", None)]
    assert plain_body(BOUND, "chat", release, 1000, split_end, None) is None
    thought = [("agent_thought", {"thought": "t"}, None, None), ("message_end", {}, None, None)]
    assert plain_body(BOUND, "agent-chat", release, 1000, thought, None) is None


def test_ids_that_are_not_text_are_written_as_json_writes_them() -> None:
    """An action that bound no message id (null) takes the general path: the bytes are still json.dumps."""
    raw = [("message", {"answer": "a"}, None, None), ("message_end", {}, None, None)]
    made = plain_body({"task_id": "t", "conversation_id": None}, "chat", RELEASES["1.16"], 1000, raw, None)
    assert made is not None
    body, encoded = made
    assert body["message_id"] is None and body["conversation_id"] is None
    assert encoded == json.dumps(body).encode()
