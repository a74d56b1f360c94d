"""The six annotation operations of the Service API (app key): list, create, update, delete, and the
annotation-reply jobs with their status polls, as Dify 1.12.0, 1.14.2 and 1.16.1 answer them
(research/annotations_audio.md §0-§6, §8, §9)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from dify_facts import NOT_FOUND_HTML, UNKNOWN_UUID, auth, is_int, is_uuid4

ANNOTATIONS = "/v1/apps/annotations"
REPLY = "/v1/apps/annotation-reply"
KEYS = ["id", "question", "answer", "hit_count", "created_at"]
PAGE_KEYS = ["data", "has_more", "limit", "total", "page"]
NOT_FOUND = "Annotation not found"
NO_JOB = "The job does not exist."
SETTING = {"score_threshold": 0.9, "embedding_provider_name": "openai", "embedding_model_name": "text-embedding-3"}
INTERNAL = b'{"message":"Internal Server Error","code":"unknown","status":500}\n'


def h(key: str = "app-chat", session: str = "ann") -> dict[str, str]:
    return auth(key, **{"X-Mock-Session": session})


def missing(model: str, body: Any, *names: str, version: str = "2.12") -> str:
    lines = [f"{len(names)} validation error{'s' if len(names) != 1 else ''} for {model}"]
    for name in names:
        lines += [
            name,
            f"  Field required [type=missing, input_value={body!r}, input_type=dict]",
            f"    For further information visit https://errors.pydantic.dev/{version}/v/missing",
        ]
    return "\n".join(lines)


async def create(client: Any, question: str, answer: str = "A.", key: str = "app-chat", **kw: str) -> dict[str, Any]:
    resp = await client.post(ANNOTATIONS, json={"question": question, "answer": answer}, headers=h(key, **kw))
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())


async def listing(client: Any, key: str = "app-chat", session: str = "ann", **params: Any) -> dict[str, Any]:
    resp = await client.get(ANNOTATIONS, params=params, headers=h(key, session))
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    assert list(body) == PAGE_KEYS
    return body


async def test_create_answers_201_and_the_list_shows_it_newest_first(client):
    first = await create(client, "Opening hours?", "9 to 5.")
    assert list(first) == KEYS
    assert is_uuid4(first["id"]) and is_int(first["created_at"])
    assert (first["question"], first["answer"], first["hit_count"]) == ("Opening hours?", "9 to 5.", 0)
    second = await create(client, "", "")  # no length rule: empty texts are fine
    body = await listing(client)
    assert body == {"data": [second, first], "has_more": False, "limit": 20, "total": 2, "page": 1}
    assert all(list(item) == KEYS for item in body["data"])


async def test_keyword_is_a_case_insensitive_literal_substring_of_question_or_answer(client):
    a = await create(client, "Where is the Office?", "Oslo")
    b = await create(client, "Parking", "Behind the OFFICE building")
    c = await create(client, "100% refund?", "Within 30_days")
    await create(client, "Unrelated", "nothing")
    assert [x["id"] for x in (await listing(client, keyword="office"))["data"]] == [b["id"], a["id"]]
    found = await listing(client, keyword="office")
    assert (found["total"], found["has_more"]) == (2, False)
    assert [x["id"] for x in (await listing(client, keyword="0%"))["data"]] == [c["id"]]  # % is literal
    assert [x["id"] for x in (await listing(client, keyword="0_d"))["data"]] == [c["id"]]  # _ too
    assert (await listing(client, keyword="o_f"))["data"] == []
    assert (await listing(client, keyword="zzz"))["total"] == 0


async def test_paging_echoes_the_request_and_a_full_page_says_has_more(client):
    made = [await create(client, f"q{i}") for i in range(4)]
    newest = [m["id"] for m in reversed(made)]
    first = await listing(client, page=1, limit=2)
    assert ([x["id"] for x in first["data"]], first["has_more"], first["total"]) == (newest[:2], True, 4)
    second = await listing(client, page=2, limit=2)
    assert ([x["id"] for x in second["data"]], second["has_more"], second["page"]) == (newest[2:], True, 2)
    third = await listing(client, page=3, limit=2)  # the full last page said has_more: the next is empty
    assert (third["data"], third["has_more"], third["total"], third["page"]) == ([], False, 4, 3)
    short = await listing(client, page=2, limit=3)
    assert ([x["id"] for x in short["data"]], short["has_more"]) == (newest[3:], False)


async def test_a_limit_over_100_fetches_100_rows_and_never_has_more(client):
    for i in range(101):
        await create(client, f"q{i}")
    body = await listing(client, limit=500)
    assert (len(body["data"]), body["limit"], body["has_more"], body["total"]) == (100, 500, False, 101)
    body = await listing(client, limit=100)
    assert (len(body["data"]), body["has_more"]) == (100, True)
    assert [len((await listing(client, page=2, limit=100))["data"])] == [1]


async def test_update_replaces_both_texts_and_keeps_the_rest(client):
    made = await create(client, "Q", "old")
    resp = await client.put(
        f"{ANNOTATIONS}/{made['id'].upper()}", json={"question": "Q2", "answer": "new"}, headers=h()
    )
    assert resp.status == 200
    updated = await resp.json()
    assert list(updated) == KEYS
    assert updated == {**made, "question": "Q2", "answer": "new"}
    assert (await listing(client))["data"] == [updated]


async def test_delete_is_204_with_no_body_and_a_json_content_type(client, expect_error):
    made = await create(client, "Q")
    resp = await client.delete(f"{ANNOTATIONS}/{made['id']}", headers=h())
    assert resp.status == 204
    assert resp.headers["Content-Type"] == "application/json"
    assert await resp.read() == b""
    assert (await listing(client))["total"] == 0
    await expect_error(await client.delete(f"{ANNOTATIONS}/{made['id']}", headers=h()), 404, "not_found", NOT_FOUND)


async def test_an_unknown_id_is_404_without_a_route_hint(client, expect_error):
    body = {"question": "q", "answer": "a"}
    await expect_error(
        await client.put(f"{ANNOTATIONS}/{UNKNOWN_UUID}", json=body, headers=h()), 404, "not_found", NOT_FOUND
    )
    await expect_error(await client.delete(f"{ANNOTATIONS}/{UNKNOWN_UUID}", headers=h()), 404, "not_found", NOT_FOUND)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", f"{ANNOTATIONS}/not-a-uuid"),
        ("DELETE", f"{ANNOTATIONS}/not-a-uuid"),
        ("GET", f"{REPLY}/enable/status/not-a-uuid"),
    ],
)
async def test_a_non_uuid_id_is_flasks_html_404(client, method: str, path: str):
    resp = await client.request(method, path, json={"question": "q", "answer": "a"}, headers=h())
    assert resp.status == 404
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    assert await resp.text() == NOT_FOUND_HTML


async def test_body_validation_is_pydantics_text(client, expect_error):
    resp = await client.post(ANNOTATIONS, json={}, headers=h())
    await expect_error(resp, 400, "invalid_param", missing("AnnotationCreatePayload", {}, "question", "answer"))
    resp = await client.post(ANNOTATIONS, data="null", headers={**h(), "Content-Type": "application/json"})
    await expect_error(resp, 400, "invalid_param", missing("AnnotationCreatePayload", {}, "question", "answer"))
    resp = await client.post(ANNOTATIONS, json={"question": 1, "answer": None}, headers=h())
    await expect_error(
        resp,
        400,
        "invalid_param",
        "2 validation errors for AnnotationCreatePayload\n"
        "question\n  Input should be a valid string [type=string_type, input_value=1, input_type=int]\n"
        "    For further information visit https://errors.pydantic.dev/2.12/v/string_type\n"
        "answer\n  Input should be a valid string [type=string_type, input_value=None, input_type=NoneType]\n"
        "    For further information visit https://errors.pydantic.dev/2.12/v/string_type",
    )
    resp = await client.post(ANNOTATIONS, json=[1], headers=h())
    await expect_error(
        resp,
        400,
        "invalid_param",
        "1 validation error for AnnotationCreatePayload\n"
        "  Input should be a valid dictionary or instance of AnnotationCreatePayload "
        "[type=model_type, input_value=[1], input_type=list]\n"
        "    For further information visit https://errors.pydantic.dev/2.12/v/model_type",
    )
    resp = await client.post(
        ANNOTATIONS, data="q=1", headers={**h(), "Content-Type": "application/x-www-form-urlencoded"}
    )
    await expect_error(resp, 415, "unsupported_media_type")
    # the update checks its body before the lookup: an unknown id with a bad body is a 400
    resp = await client.put(f"{ANNOTATIONS}/{UNKNOWN_UUID}", json={"question": "q"}, headers=h())
    await expect_error(resp, 400, "invalid_param", missing("AnnotationCreatePayload", {"question": "q"}, "answer"))
    assert (await listing(client))["total"] == 0


@pytest.mark.parametrize("version", ["1.12", "1.14"])
async def test_before_1_15_the_list_query_falls_back_and_never_refuses(make_client, version: str):
    client = await make_client(dify_version=version)
    made = [await create(client, f"q{i}") for i in range(25)]
    body = await listing(client, page="abc", limit="1.5")  # unreadable: the defaults, echoed as such
    assert (len(body["data"]), body["page"], body["limit"], body["has_more"]) == (20, 1, 20, True)
    body = await listing(client, limit=0)  # per_page < 1 is 20 rows; has_more compares with 0
    assert (len(body["data"]), body["limit"], body["has_more"]) == (20, 0, False)
    body = await listing(client, limit=-5, page=-1)  # page < 1 is the first page, echoed as given
    assert (len(body["data"]), body["limit"], body["page"]) == (20, -5, -1)
    assert body["data"][0]["id"] == made[-1]["id"]
    body = await listing(client, page=2, limit="")  # empty: the default
    assert (len(body["data"]), body["limit"], body["has_more"]) == (5, 20, False)
    body = await listing(client, limit=" 3 ")  # int() reads it
    assert len(body["data"]) == 3


async def test_from_1_15_the_list_query_is_pydantics(client, expect_error):
    resp = await client.get(ANNOTATIONS, params={"page": "0", "limit": "abc"}, headers=h())
    await expect_error(
        resp,
        400,
        "invalid_param",
        "2 validation errors for AnnotationListQuery\n"
        "page\n  Input should be greater than or equal to 1 "
        "[type=greater_than_equal, input_value='0', input_type=str]\n"
        "    For further information visit https://errors.pydantic.dev/2.12/v/greater_than_equal\n"
        "limit\n  Input should be a valid integer, unable to parse string as an integer "
        "[type=int_parsing, input_value='abc', input_type=str]\n"
        "    For further information visit https://errors.pydantic.dev/2.12/v/int_parsing",
    )
    resp = await client.get(ANNOTATIONS, params={"limit": ""}, headers=h())
    body = await expect_error(resp, 400, "invalid_param")
    assert "input_value=''" in body["message"]
    assert (await listing(client, limit=1000, unknown="x"))["limit"] == 1000  # no upper bound, extras ignored


@pytest.mark.parametrize("version", ["1.12", "1.14"])
async def test_before_1_16_any_app_key_edits_and_deletes_any_annotation(make_client, version: str):
    client = await make_client(dify_version=version)
    theirs = await create(client, "Q", "theirs", key="app-completion")
    resp = await client.put(f"{ANNOTATIONS}/{theirs['id']}", json={"question": "Q", "answer": "mine"}, headers=h())
    assert resp.status == 200
    assert (await listing(client, key="app-completion"))["data"][0]["answer"] == "mine"
    assert (await listing(client))["total"] == 0  # still the other app's
    assert (await client.delete(f"{ANNOTATIONS}/{theirs['id']}", headers=h())).status == 204
    assert (await listing(client, key="app-completion"))["total"] == 0


async def test_1_16_finds_annotations_only_in_the_calling_app(client, expect_error):
    theirs = await create(client, "Q", "theirs", key="app-completion")
    url = f"{ANNOTATIONS}/{theirs['id']}"
    await expect_error(
        await client.put(url, json={"question": "Q", "answer": "x"}, headers=h()), 404, "not_found", NOT_FOUND
    )
    await expect_error(await client.delete(url, headers=h()), 404, "not_found", NOT_FOUND)
    assert (await listing(client, key="app-completion"))["data"] == [theirs]


async def test_annotations_belong_to_their_app_and_tenant(client):
    mine = await create(client, "Q", key="app-chat")
    other = await create(client, "Q", key="app-agent-chat")
    assert (await listing(client, key="app-chat"))["data"] == [mine]
    assert (await listing(client, key="app-agent-chat"))["data"] == [other]
    assert (await listing(client, key="app-chat", session="elsewhere"))["total"] == 0
    resp = await client.get(ANNOTATIONS, headers=auth("app-chat"))  # the shared default tenant
    assert (await resp.json())["total"] == 0


@pytest.mark.parametrize("key", ["app-workflow", "app-completion", "app-advanced-chat", "app-agent"])
async def test_no_mode_guard(client, key: str):
    made = await create(client, "Q", key=key)
    assert (await listing(client, key=key))["data"] == [made]
    resp = await client.post(f"{REPLY}/enable", json=SETTING, headers=h(key))
    assert resp.status == 200


async def test_a_faulted_write_changes_nothing(client, expect_error):
    fault = {"X-Mock-Fault": "outage"}
    resp = await client.post(ANNOTATIONS, json={"question": "q", "answer": "a"}, headers={**h(), **fault})
    await expect_error(resp, 503, "app_unavailable")
    assert (await listing(client))["total"] == 0
    made = await create(client, "q", "a")
    resp = await client.put(
        f"{ANNOTATIONS}/{made['id']}", json={"question": "x", "answer": "y"}, headers={**h(), **fault}
    )
    await expect_error(resp, 503, "app_unavailable")
    resp = await client.delete(f"{ANNOTATIONS}/{made['id']}", headers={**h(), **fault})
    await expect_error(resp, 503, "app_unavailable")
    assert (await listing(client))["data"] == [made]
    resp = await client.post(f"{REPLY}/enable", json=SETTING, headers={**h(), **fault})
    await expect_error(resp, 503, "app_unavailable")
    assert (await parameters(client))["annotation_reply"] == {"enabled": False}


async def test_a_reset_empties_annotations_and_jobs(client, expect_error):
    await create(client, "q")
    job = await reply(client, "enable")
    assert (await client.post("/_mock/reset", json={"tenant": "s:ann"})).status == 200
    assert (await listing(client))["total"] == 0
    resp = await client.get(f"{REPLY}/enable/status/{job}", headers=h())
    await expect_error(resp, 400, "invalid_param", NO_JOB)


# --- annotation reply -------------------------------------------------------------------------------


async def reply(client: Any, action: str, key: str = "app-chat", **body: Any) -> str:
    resp = await client.post(f"{REPLY}/{action}", json={**SETTING, **body}, headers=h(key))
    assert resp.status == 200, await resp.text()
    raw = await resp.read()
    found = json.loads(raw)
    assert list(found) == ["job_id", "job_status"] and found["job_status"] == "waiting"
    assert is_uuid4(found["job_id"])
    return str(found["job_id"])


async def poll(client: Any, action: str, job: str, key: str = "app-chat") -> str:
    resp = await client.get(f"{REPLY}/{action}/status/{job}", headers=h(key))
    assert resp.status == 200, await resp.text()
    found = await resp.json()
    assert list(found) == ["job_id", "job_status", "error_msg"]
    assert (found["job_id"], found["error_msg"]) == (job.lower(), "")
    return str(found["job_status"])


async def parameters(client: Any, key: str = "app-chat") -> dict[str, Any]:
    resp = await client.get("/v1/parameters", headers=h(key))
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def test_enable_then_poll_waiting_then_completed(client):
    job = await reply(client, "enable")
    assert await poll(client, "enable", job) == "waiting"
    assert await poll(client, "enable", job.upper()) == "completed"
    assert await poll(client, "enable", job) == "completed"


async def test_enabling_and_disabling_shows_in_the_apps_parameters(client):
    assert (await parameters(client))["annotation_reply"] == {"enabled": False}
    await reply(client, "enable", score_threshold="0.8")  # numeric text is read as a number
    shown = (await parameters(client))["annotation_reply"]
    assert list(shown) == ["id", "enabled", "score_threshold", "embedding_model"]
    assert is_uuid4(shown["id"])
    assert shown == {
        "id": shown["id"],
        "enabled": True,
        "score_threshold": 0.8,
        "embedding_model": {"embedding_provider_name": "openai", "embedding_model_name": "text-embedding-3"},
    }
    await reply(client, "enable", score_threshold=0.5)  # updates the same setting
    again = (await parameters(client))["annotation_reply"]
    assert (again["id"], again["score_threshold"]) == (shown["id"], 0.5)
    assert (await parameters(client, "app-agent-chat"))["annotation_reply"] == {"enabled": False}  # per app
    job = await reply(client, "disable")
    assert (await parameters(client))["annotation_reply"] == {"enabled": False}
    assert [await poll(client, "disable", job) for _ in range(2)] == ["waiting", "completed"]


async def test_a_workflow_apps_parameters_never_show_the_setting(client):
    await reply(client, "enable", key="app-workflow")
    assert (await parameters(client, "app-workflow"))["annotation_reply"] == {"enabled": False}


async def test_a_disable_while_reply_is_off_stays_waiting(client):
    job = await reply(client, "disable")
    assert [await poll(client, "disable", job) for _ in range(3)] == ["waiting"] * 3
    await reply(client, "enable")
    assert await poll(client, "disable", job) == "waiting"  # that task returned early: its key never changes


async def test_a_job_is_found_by_its_action_and_id_only(client, expect_error):
    job = await reply(client, "enable")
    resp = await client.get(f"{REPLY}/disable/status/{job}", headers=h())
    await expect_error(resp, 400, "invalid_param", NO_JOB)
    resp = await client.get(f"{REPLY}/foo/status/{job}", headers=h())
    await expect_error(resp, 400, "invalid_param", NO_JOB)
    resp = await client.get(f"{REPLY}/enable/status/{UNKNOWN_UUID}", headers=h())
    await expect_error(resp, 400, "invalid_param", NO_JOB)
    # the redis key holds no app: another app of the workspace polls it too, another tenant does not
    assert await poll(client, "enable", job, key="app-completion") == "waiting"
    resp = await client.get(f"{REPLY}/enable/status/{job}", headers=auth("app-chat", **{"X-Mock-Session": "other"}))
    await expect_error(resp, 400, "invalid_param", NO_JOB)


async def test_a_completed_job_expires_after_600_seconds(client, expect_error):
    job = await reply(client, "enable")
    assert [await poll(client, "enable", job) for _ in range(2)] == ["waiting", "completed"]
    assert (await client.post("/_mock/clock", json={"tenant": "s:ann", "advance": 600})).status == 200
    resp = await client.get(f"{REPLY}/enable/status/{job}", headers=h())
    await expect_error(resp, 400, "invalid_param", NO_JOB)
    waiting = await reply(client, "disable")
    await client.post("/_mock/clock", json={"tenant": "s:ann", "advance": 3600})
    assert await poll(client, "disable", waiting) == "waiting"  # a waiting key has no TTL


@pytest.mark.parametrize("action", ["Enable", "foo", "enable-x"])
async def test_a_bad_action_is_difys_500_after_the_body_check(client, expect_error, action: str):
    resp = await client.post(f"{REPLY}/{action}", json=SETTING, headers=h())
    assert resp.status == 500
    assert await resp.read() == INTERNAL
    resp = await client.post(f"{REPLY}/{action}", json={}, headers=h())
    await expect_error(resp, 400, "invalid_param")


async def test_the_reply_body_needs_all_three_fields_for_disable_too(client, expect_error):
    resp = await client.post(f"{REPLY}/disable", json={}, headers=h())
    names = ("score_threshold", "embedding_provider_name", "embedding_model_name")
    await expect_error(resp, 400, "invalid_param", missing("AnnotationReplyActionPayload", {}, *names))
    resp = await client.post(f"{REPLY}/enable", json={**SETTING, "score_threshold": "abc"}, headers=h())
    await expect_error(
        resp,
        400,
        "invalid_param",
        "1 validation error for AnnotationReplyActionPayload\nscore_threshold\n"
        "  Input should be a valid number, unable to parse string as a number "
        "[type=float_parsing, input_value='abc', input_type=str]\n"
        "    For further information visit https://errors.pydantic.dev/2.12/v/float_parsing",
    )


async def test_1_12_names_its_pydantic_in_the_texts(make_client, expect_error):
    client = await make_client(dify_version="1.12")
    resp = await client.post(f"{REPLY}/enable", json={}, headers=h())
    names = ("score_threshold", "embedding_provider_name", "embedding_model_name")
    await expect_error(resp, 400, "invalid_param", missing("AnnotationReplyActionPayload", {}, *names, version="2.11"))


async def test_the_reply_setting_outlives_other_apps_jobs(client):
    body = {
        "score_threshold": 0.9,
        "embedding_provider_name": "openai",
        "embedding_model_name": "text-embedding-3-small",
    }
    headers = {"Authorization": "Bearer app-chat"}
    assert (await client.post("/v1/apps/annotation-reply/enable", json=body, headers=headers)).status == 200
    other = {"Authorization": "Bearer app-completion"}
    for _ in range(201):  # more than the 200 jobs a tenant keeps
        await client.post("/v1/apps/annotation-reply/disable", json=body, headers=other)
    params = await (await client.get("/v1/parameters", headers=headers)).json()
    assert params["annotation_reply"]["enabled"] is True
