"""Feedback, the app's feedback list, suggested questions and end users (REFERENCE §5.5, §5.6, §6.3;
research/appkey_misc.md §5-§8)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from aiohttp import FormData

from mockserver.determinism import derive_uuid

UNKNOWN = "0b0e2f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$")  # naive: no Z, no offset
SUGGESTING = """
apps:
  app-suggest:
    mode: chat
    parameters:
      suggested_questions_after_answer: {enabled: true}
"""


def auth(key: str = "app-chat") -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "X-Mock-Session": "fb"}


async def chat(client: Any, user: str = "u1", key: str = "app-chat", query: str = "hi") -> dict[str, Any]:
    body = {"inputs": {}, "query": query, "user": user, "response_mode": "blocking"}
    resp = await client.post("/v1/chat-messages", json=body, headers=auth(key))
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def rate(client: Any, message_id: str, **body: Any) -> Any:
    return await client.post(f"/v1/messages/{message_id}/feedbacks", json={"user": "u1", **body}, headers=auth())


async def history_feedback(client: Any, conversation_id: str) -> Any:
    params = {"user": "u1", "conversation_id": conversation_id}
    resp = await client.get("/v1/messages", params=params, headers=auth())
    return (await resp.json())["data"][0]["feedback"]


async def test_a_rating_shows_in_the_history_and_the_apps_list(client):
    made = await chat(client)
    resp = await rate(client, made["message_id"], rating="like", content="great")
    assert resp.status == 200 and await resp.json() == {"result": "success"}
    assert await history_feedback(client, made["conversation_id"]) == {"rating": "like"}
    listed = await (await client.get("/v1/app/feedbacks", headers=auth())).json()
    (item,) = listed["data"]
    assert list(listed) == ["data"]
    assert list(item) == [
        "id",
        "app_id",
        "conversation_id",
        "message_id",
        "rating",
        "content",
        "from_source",
        "from_end_user_id",
        "from_account_id",
        "created_at",
        "updated_at",
    ]
    assert (item["message_id"], item["rating"], item["content"], item["from_source"]) == (
        made["message_id"],
        "like",
        "great",
        "user",
    )
    assert item["app_id"] == "4a1f6e52-8c1d-4f0e-9d57-1b2c3d4e5f60" and item["from_account_id"] is None
    assert ISO.match(item["created_at"]) and ISO.match(item["updated_at"])


async def test_a_new_rating_replaces_the_old_and_null_revokes(client):
    made = await chat(client)
    await rate(client, made["message_id"], rating="like", content="great")
    await rate(client, made["message_id"], rating="dislike")  # no content: it is cleared
    (item,) = (await (await client.get("/v1/app/feedbacks", headers=auth())).json())["data"]
    assert (item["rating"], item["content"]) == ("dislike", None)
    await rate(client, made["message_id"], rating=None)
    assert await history_feedback(client, made["conversation_id"]) is None
    assert (await (await client.get("/v1/app/feedbacks", headers=auth())).json())["data"] == []


async def test_feedback_refusals(client, expect_error):
    made = await chat(client)
    await expect_error(
        await rate(client, made["message_id"]),
        400,
        "invalid_param",
        "rating cannot be None when feedback not exists",
    )
    await expect_error(await rate(client, UNKNOWN, rating="like"), 404, "not_found", "Message Not Exists.")
    resp = await client.post(
        f"/v1/messages/{made['message_id']}/feedbacks", json={"user": "u2", "rating": "like"}, headers=auth()
    )
    await expect_error(resp, 404, "not_found", "Message Not Exists.")  # another user's message
    await expect_error(
        await rate(client, made["message_id"], rating="LIKE"),
        400,
        "invalid_param",
        "1 validation error for MessageFeedbackPayload\nrating\n  Input should be 'like' or 'dislike' "
        "[type=literal_error, input_value='LIKE', input_type=str]\n"
        "    For further information visit https://errors.pydantic.dev/2.12/v/literal_error",
    )
    resp = await client.post(f"/v1/messages/{made['message_id']}/feedbacks", json={"rating": "like"}, headers=auth())
    await expect_error(resp, 400, "invalid_param", "Arg user must be provided.")


async def test_a_completion_message_can_be_rated_too(client):
    body = {"inputs": {}, "user": "u1", "response_mode": "blocking"}
    made = await (await client.post("/v1/completion-messages", json=body, headers=auth("app-completion"))).json()
    resp = await client.post(
        f"/v1/messages/{made['message_id']}/feedbacks",
        json={"user": "u1", "rating": "like"},
        headers=auth("app-completion"),
    )
    assert resp.status == 200  # no mode guard


async def test_the_apps_list_pages_newest_first_and_checks_its_bounds(client, expect_error):
    ids = []
    for i in range(3):
        made = await chat(client, query=f"q{i}")
        await rate(client, made["message_id"], rating="like")
        ids.append(made["message_id"])
    page = await (await client.get("/v1/app/feedbacks", params={"page": "2", "limit": "2"}, headers=auth())).json()
    assert [f["message_id"] for f in page["data"]] == [ids[0]]
    resp = await client.get("/v1/app/feedbacks", params={"limit": "102"}, headers=auth())
    await expect_error(
        resp,
        400,
        "invalid_param",
        "1 validation error for FeedbackListQuery\nlimit\n  Input should be less than or equal to 101 "
        "[type=less_than_equal, input_value='102', input_type=str]\n"
        "    For further information visit https://errors.pydantic.dev/2.12/v/less_than_equal",
    )
    assert (await client.get("/v1/app/feedbacks", params={"limit": "101"}, headers=auth())).status == 200


async def test_suggested_questions_when_the_feature_is_on(make_client, tmp_path: Path, expect_error):
    (tmp_path / "_apps.yaml").write_text(SUGGESTING)
    client = await make_client(fixtures=(tmp_path,))
    made = await chat(client, key="app-suggest")
    url = f"/v1/messages/{made['message_id']}/suggested"
    first = await (await client.get(url, params={"user": "u1"}, headers=auth("app-suggest"))).json()
    assert list(first) == ["result", "data"] and first["result"] == "success"
    assert len(first["data"]) == 3 and all(isinstance(q, str) and q for q in first["data"])
    again = await (await client.get(url, params={"user": "u1"}, headers=auth("app-suggest"))).json()
    assert again == first  # deterministic for the message
    resp = await client.get(url, headers=auth("app-suggest"))
    await expect_error(resp, 400, "invalid_param", "Arg user must be provided.")
    off = await chat(client)  # app-chat: the feature is off
    resp = await client.get(f"/v1/messages/{off['message_id']}/suggested", params={"user": "u1"}, headers=auth())
    await expect_error(resp, 400, "bad_request", "Suggested Questions Is Disabled.")
    resp = await client.get(f"/v1/messages/{UNKNOWN}/suggested", params={"user": "u1"}, headers=auth())
    await expect_error(resp, 404, "not_found", "Message Not Exists.")


async def upload_as(client: Any, user: str | None) -> str:
    """The `created_by` of an upload: the id of the end user the request acted as."""
    form = FormData()
    if user is not None:
        form.add_field("user", user)
    form.add_field("file", b"hello", filename="a.txt", content_type="text/plain")
    return str((await (await client.post("/v1/files/upload", data=form, headers=auth())).json())["created_by"])


async def test_an_end_user_is_made_by_the_first_request_that_names_it(client, expect_error):
    created_by = await upload_as(client, "alice")
    resp = await client.get(f"/v1/end-users/{created_by}", headers=auth())
    assert resp.status == 200
    user = await resp.json()
    assert list(user) == [
        "id",
        "tenant_id",
        "app_id",
        "type",
        "external_user_id",
        "name",
        "is_anonymous",
        "session_id",
        "created_at",
        "updated_at",
    ]
    assert (user["id"], user["type"], user["external_user_id"], user["session_id"]) == (
        created_by,
        "service-api",
        "alice",
        "alice",
    )
    assert user["app_id"] == "4a1f6e52-8c1d-4f0e-9d57-1b2c3d4e5f60"
    assert user["is_anonymous"] is False and user["name"] is None and ISO.match(user["created_at"])
    resp = await client.get(f"/v1/end-users/{created_by}", headers=auth("app-advanced-chat"))
    await expect_error(resp, 404, "end_user_not_found", "End user not found.")
    resp = await client.get(f"/v1/end-users/{UNKNOWN}", headers=auth())
    await expect_error(resp, 404, "end_user_not_found", "End user not found.")


async def test_the_default_user_is_anonymous_and_1_12_has_no_end_user_route(make_client):
    client = await make_client()
    created_by = await upload_as(client, None)  # no user: DEFAULT-USER
    user = await (await client.get(f"/v1/end-users/{created_by}", headers=auth())).json()
    assert (user["session_id"], user["is_anonymous"]) == ("DEFAULT-USER", True)
    old = await make_client(dify_version="1.12")
    resp = await old.get(f"/v1/end-users/{created_by}", headers=auth())
    assert resp.status == 404 and resp.content_type == "text/html"


async def test_a_fault_on_feedback_changes_nothing(client):
    made = await chat(client)
    resp = await client.post(
        f"/v1/messages/{made['message_id']}/feedbacks",
        json={"user": "u1", "rating": "like"},
        headers={**auth(), "X-Mock-Fault": "outage"},
    )
    assert resp.status == 503
    assert (await (await client.get("/v1/app/feedbacks", headers=auth())).json())["data"] == []
    assert await history_feedback(client, made["conversation_id"]) is None


async def test_a_request_a_fault_refuses_makes_no_end_user(client, expect_error):
    ghost = derive_uuid((0, "s:fb", "end_user", "app-chat", "ghost"))  # the id the mock gives "ghost"
    headers = {**auth(), "X-Mock-Fault": "outage"}
    resp = await client.get("/v1/conversations", params={"user": "ghost"}, headers=headers)
    assert resp.status == 503
    await expect_error(await client.get(f"/v1/end-users/{ghost}", headers=auth()), 404, "end_user_not_found")
    # Refused by Dify's own rule (an unknown conversation), the request still made its end user.
    resp = await client.get("/v1/messages", params={"user": "ghost", "conversation_id": UNKNOWN}, headers=auth())
    assert resp.status == 404
    assert (await client.get(f"/v1/end-users/{ghost}", headers=auth())).status == 200


async def test_deleting_a_conversation_removes_its_feedback(client):
    made = await chat(client)
    await rate(client, made["message_id"], rating="dislike")
    resp = await client.delete(f"/v1/conversations/{made['conversation_id']}", json={"user": "u1"}, headers=auth())
    assert resp.status == 204
    assert (await (await client.get("/v1/app/feedbacks", headers=auth())).json())["data"] == []
