"""The official PyPI SDK `dify-client==0.1.10` against a real `serve --port 0` process.

0.1.10 takes no base URL: the tests set `client.base_url` after construction (REFERENCE §15.2).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

dify_client = pytest.importorskip("dify_client")


@pytest.fixture(autouse=True)
def fresh_state(running_server: str) -> None:
    # The SDK cannot send X-Mock-Session, so its tenant is its key: reset them all between tests.
    resp = requests.post(f"{running_server}/_mock/reset", json={}, timeout=10)
    assert resp.status_code == 200, resp.text


def make(cls: type, url: str, key: str) -> Any:
    client = cls(key)
    client.base_url = f"{url}/v1"
    return client


def sse_events(response: requests.Response) -> Iterator[dict[str, Any]]:
    """Parsed `data: ` payloads, as an SDK user would read them (pings and blank lines skipped)."""
    for raw in response.iter_lines():
        line = raw.decode() if isinstance(raw, bytes) else raw
        if line.startswith("data: "):
            yield json.loads(line[len("data: ") :])


def message_stream(response: requests.Response) -> list[dict[str, Any]]:
    """The events of a 200 SSE answer, checked to be `message` events closed by one `message_end`."""
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    events = list(sse_events(response))
    names = [e["event"] for e in events]
    assert names[-1] == "message_end"
    assert set(names[:-1]) == {"message"}
    return events


def test_chat_blocking_then_follow_up_keeps_the_conversation(running_server):
    chat = make(dify_client.ChatClient, running_server, "app-chat")

    first = chat.create_chat_message(inputs={}, query="hello there", user="sdk-user")
    assert first.status_code == 200, first.text
    assert first.headers["Content-Type"].startswith("application/json")
    body = first.json()
    assert body["event"] == "message"
    assert body["mode"] == "chat"
    assert body["answer"] == "You asked: hello there"
    conversation_id = body["conversation_id"]
    assert conversation_id
    assert body["message_id"] == body["id"]
    assert set(body["metadata"]["usage"]) >= {"prompt_tokens", "completion_tokens", "total_tokens"}

    second = chat.create_chat_message(inputs={}, query="and again", user="sdk-user", conversation_id=conversation_id)
    assert second.status_code == 200, second.text
    follow = second.json()
    assert follow["conversation_id"] == conversation_id
    assert follow["message_id"] != body["message_id"]
    assert follow["answer"] == "You asked: and again"


def test_chat_follow_up_of_another_user_is_not_found(running_server):
    chat = make(dify_client.ChatClient, running_server, "app-chat")
    conversation_id = chat.create_chat_message(inputs={}, query="mine", user="alice").json()["conversation_id"]

    resp = chat.create_chat_message(inputs={}, query="theirs", user="bob", conversation_id=conversation_id)
    assert resp.status_code == 404
    assert resp.json()["code"] == "not_found" and resp.status_code == 404
    assert resp.json()["message"].startswith("Conversation Not Exists. You have requested this URI [/v1/chat-messages]")


def test_chat_streaming(running_server):
    chat = make(dify_client.ChatClient, running_server, "app-chat")

    resp = chat.create_chat_message(inputs={}, query="stream me please", user="sdk-user", response_mode="streaming")
    events = message_stream(resp)
    assert len(events) >= 2
    assert "".join(e["answer"] for e in events if e["event"] == "message") == "You asked: stream me please"
    conversation_ids = {e["conversation_id"] for e in events}
    assert len(conversation_ids) == 1
    assert "usage" in events[-1]["metadata"]

    # the streamed conversation can be continued in blocking mode
    follow = chat.create_chat_message(inputs={}, query="next", user="sdk-user", conversation_id=conversation_ids.pop())
    assert follow.status_code == 200, follow.text
    assert follow.json()["conversation_id"] == events[0]["conversation_id"]


def test_completion_blocking(running_server):
    completion = make(dify_client.CompletionClient, running_server, "app-completion")

    resp = completion.create_completion_message(inputs={"topic": "otters"}, response_mode="blocking", user="sdk-user")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["event"] == "message"
    assert body["mode"] == "completion"
    assert body["answer"] == "Here is a short text about otters."
    assert body["message_id"]
    assert "usage" in body["metadata"]


def test_completion_streaming(running_server):
    completion = make(dify_client.CompletionClient, running_server, "app-completion")

    resp = completion.create_completion_message(inputs={"topic": "otters"}, response_mode="streaming", user="sdk-user")
    events = message_stream(resp)
    assert "".join(e["answer"] for e in events[:-1]) == "Here is a short text about otters."
    assert len({e["message_id"] for e in events}) == 1


def test_application_parameters(running_server):
    client = make(dify_client.DifyClient, running_server, "app-chat")

    resp = client.get_application_parameters("sdk-user")
    assert resp.status_code == 200, resp.text
    params = resp.json()
    assert params["opening_statement"] == "Hello! How can I help you today?"
    form = params["user_input_form"]
    assert isinstance(form, list)
    assert form[0]["text-input"]["variable"] == "city"
    assert "file_upload" in params


@pytest.mark.parametrize(
    ("cls", "call"),
    [
        ("ChatClient", lambda c: c.create_chat_message(inputs={}, query="hi", user="u")),
        ("CompletionClient", lambda c: c.create_completion_message(inputs={}, response_mode="blocking", user="u")),
        ("DifyClient", lambda c: c.get_application_parameters("u")),
    ],
    ids=["chat", "completion", "parameters"],
)
def test_wrong_api_key_is_401_with_difys_body(running_server, cls, call):
    client = make(getattr(dify_client, cls), running_server, "app-not-a-real-key")

    resp = call(client)
    assert resp.status_code == 401
    assert resp.json() == {"code": "unauthorized", "message": "Access token is invalid", "status": 401}


def test_conversations_history_and_rename_through_the_sdk(running_server):
    chat = make(dify_client.ChatClient, running_server, "app-chat")
    first = chat.create_chat_message(inputs={}, query="first question", user="sdk-user").json()
    cid = first["conversation_id"]
    other = chat.create_chat_message(inputs={}, query="another topic", user="sdk-user").json()
    chat.create_chat_message(inputs={}, query="second question", user="sdk-user", conversation_id=cid)

    # the SDK sends `pinned` and `last_id` only when given; Dify ignores `pinned` on the Service API
    listed = chat.get_conversations("sdk-user", limit=1, pinned=False)
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert (page["limit"], page["has_more"]) == (1, True)
    assert [c["id"] for c in page["data"]] == [cid]  # its follow-up makes it the most recently updated
    rest = chat.get_conversations("sdk-user", last_id=cid).json()
    assert [c["id"] for c in rest["data"]] == [other["conversation_id"]] and rest["has_more"] is False

    history = chat.get_conversation_messages("sdk-user", conversation_id=cid, limit=1)
    assert history.status_code == 200, history.text
    newest = history.json()
    assert [m["query"] for m in newest["data"]] == ["second question"] and newest["has_more"] is True
    older = chat.get_conversation_messages("sdk-user", conversation_id=cid, first_id=newest["data"][0]["id"]).json()
    assert [m["query"] for m in older["data"]] == ["first question"] and older["has_more"] is False

    renamed = chat.rename_conversation(cid, "Renamed by the SDK", "sdk-user")
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Renamed by the SDK"
    assert chat.get_conversations("sdk-user").json()["data"][0]["name"] == "Renamed by the SDK"
    missing = chat.rename_conversation(cid, "x", "someone-else")
    assert missing.status_code == 404
    assert missing.json() == {"code": "not_found", "message": "Conversation Not Exists.", "status": 404}


def test_file_upload_through_the_sdk(running_server, tmp_path):
    client = make(dify_client.DifyClient, running_server, "app-chat")
    image = tmp_path / "cat.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x01" * 32)
    with image.open("rb") as fh:
        resp = client.file_upload("sdk-user", {"file": ("cat.png", fh, "image/png")})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert (body["name"], body["size"], body["extension"], body["mime_type"]) == ("cat.png", 40, "png", "image/png")
    with image.open("rb") as fh:
        empty_type = client.file_upload("sdk-user", {"file": ("cat.png", fh, "")})
    assert empty_type.status_code == 415
    assert empty_type.json()["code"] == "unsupported_file_type"


def test_message_feedback_through_the_sdk(running_server):
    chat = make(dify_client.ChatClient, running_server, "app-chat")
    message_id = chat.create_chat_message(inputs={}, query="rate me", user="sdk-user").json()["message_id"]
    resp = chat.message_feedback(message_id, "like", "sdk-user")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"result": "success"}
    listed = requests.get(
        f"{running_server}/v1/app/feedbacks", headers={"Authorization": "Bearer app-chat"}, timeout=10
    )
    assert [(f["message_id"], f["rating"]) for f in listed.json()["data"]] == [(message_id, "like")]
    wrong = chat.message_feedback(message_id, "love", "sdk-user")
    assert wrong.status_code == 400 and wrong.json()["code"] == "invalid_param"
