"""Human input (REFERENCE §9.4; research/workflow_runs.md §4, §5): a run that pauses at a Human Input
node, its form read and submitted with the app's key at /v1/form/human_input/{form_token}, and the run
the submission resumes (the mock finishes it at once with the submitted inputs as its outputs)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from mockserver.keys import TENANTS

SESSION = "hitl"
RUN_BODY = {"inputs": {"query": "draft"}, "user": "alice"}
FORM = "/v1/form/human_input"
V1_RULE = "/v1/form/human_input/<string:form_token>"
OTHER_RULES = ("/api/form/human_input/<string:form_token>", "/console/api/form/human_input/<string:form_token>")
PAUSED_KEYS = [
    "id",
    "workflow_id",
    "status",
    "outputs",
    "error",
    "elapsed_time",
    "total_tokens",
    "total_steps",
    "created_at",
    "finished_at",
    "paused_nodes",
    "reasons",
]


def auth(key: str = "app-workflow", session: str = SESSION, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "X-Mock-Session": session, **extra}


async def pause(client: Any, mode: str = "blocking", **extra: str) -> Any:
    headers = auth(**{"X-Mock-Scenario": "human_input"}, **extra)
    return await client.post("/v1/workflows/run", json={**RUN_BODY, "response_mode": mode}, headers=headers)


async def paused_run(client: Any) -> tuple[str, str, str]:
    """A blocking run that paused: (run id, form token, form id)."""
    resp = await pause(client)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    reason = body["data"]["reasons"][0]
    return body["workflow_run_id"], reason["form_token"], reason["form_id"]


async def submit(client: Any, token: str, body: Any, **headers: str) -> Any:
    return await client.post(f"{FORM}/{token}", json=body, headers=auth(**headers))


async def paused_with(client: Any, form: dict[str, Any]) -> str:
    """A blocking run of a stub scenario that pauses at `form` (the fields of human_input_required):
    the form's token."""
    events = [{"event": "workflow_started"}, {"event": "human_input_required", "data": form}]
    scenario = {"respond": {"stream": {"events": [*events, {"event": "workflow_paused"}]}}}
    made = await client.post(
        "/_mock/scenarios", json={"endpoint": "service.run_workflow", "scenario": scenario, "tenant": f"s:{SESSION}"}
    )
    assert made.status == 201, await made.text()
    resp = await client.post("/v1/workflows/run", json={**RUN_BODY, "response_mode": "blocking"}, headers=auth())
    assert resp.status == 200, await resp.text()
    return str((await resp.json())["data"]["reasons"][0]["form_token"])


def not_found(path: str, *rules: str) -> str:
    if not rules:
        return "Form not found"
    return f"Form not found. You have requested this URI [{path}] but did you mean {' or '.join(rules)} ?"


# --- the pause --------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.14", "1.16"])
async def test_the_stream_ends_with_the_form_and_the_pause(make_client, sse_with_pings, version):
    client = await make_client(dify_version=version)
    resp = await pause(client, mode="streaming")
    assert resp.status == 200
    events, pings = sse_with_pings(await resp.read())
    assert pings == 1  # the relay's first frame
    assert [e["event"] for e in events][-2:] == ["human_input_required", "workflow_paused"]
    required, paused = events[-2]["data"], events[-1]["data"]
    keys = ["form_id", "node_id", "node_title", "form_content", "inputs", "actions", "display_in_ui", "form_token"]
    keys += ["approval_channels"] if version == "1.16" else []  # 1.15+
    assert list(required) == [*keys, "resolved_default_values", "expiration_time"]
    assert re.fullmatch(r"[A-Za-z0-9]{22}", required["form_token"])
    assert (required["node_id"], required["node_title"]) == ("review", "Review")
    assert required["inputs"] == [{"output_variable_name": "comment", "type": "paragraph", "default": None}]
    assert required["actions"] == [
        {"id": "approve", "title": "Approve", "button_style": "primary"},
        {"id": "reject", "title": "Reject", "button_style": "default"},
    ]
    started = events[0]["data"]
    assert required["expiration_time"] > started["created_at"] + 35 * 3600  # 36 hours by default
    assert list(paused) == [
        "workflow_run_id",
        "paused_nodes",
        "outputs",
        "reasons",
        "status",
        "created_at",
        "elapsed_time",
        "total_tokens",
        "total_steps",
    ]
    assert paused["workflow_run_id"] == events[-1]["workflow_run_id"] == started["id"]
    assert (paused["paused_nodes"], paused["outputs"], paused["status"]) == (["review"], {}, "paused")
    assert (paused["created_at"], paused["total_steps"]) == (started["created_at"], 1)
    reason = paused["reasons"][0]
    assert reason["TYPE"] == "human_input_required"
    assert {k: reason[k] for k in ("form_id", "form_token", "expiration_time", "inputs", "actions")} == {
        k: required[k] for k in ("form_id", "form_token", "expiration_time", "inputs", "actions")
    }


async def test_a_blocking_run_that_pauses_answers_paused(client):
    resp = await pause(client)
    assert resp.status == 200
    body = await resp.json()
    assert list(body) == ["task_id", "workflow_run_id", "data"]
    data = body["data"]
    assert list(data) == PAUSED_KEYS
    assert data["id"] == body["workflow_run_id"]
    assert (data["status"], data["outputs"], data["error"], data["finished_at"]) == ("paused", {}, None, None)
    assert data["paused_nodes"] == ["review"] and len(data["reasons"]) == 1
    assert data["reasons"][0]["node_id"] == "review" and len(data["reasons"][0]["form_token"]) == 22


async def test_the_paused_run_is_stored_paused(client):
    run_id, _, _ = await paused_run(client)
    detail = await (await client.get(f"/v1/workflows/run/{run_id}", headers=auth())).json()
    assert (detail["status"], detail["outputs"], detail["error"]) == ("paused", {}, None)
    assert (detail["finished_at"], detail["elapsed_time"], detail["total_steps"]) == (None, 0.0, 1)
    logs = await (await client.get("/v1/workflows/logs", headers=auth())).json()
    assert [(i["workflow_run"]["id"], i["workflow_run"]["status"]) for i in logs["data"]] == [(run_id, "paused")]
    # An unfinished run's events: the relay's ping (the mock has no live events to follow).
    resp = await client.get(f"/v1/workflow/{run_id}/events", params={"user": "alice"}, headers=auth())
    assert await resp.read() == b"event: ping\n\n"


# --- reading the form -------------------------------------------------------------------------------


async def test_the_form_is_written_as_json_dumps_without_ascii_escapes(client):
    _, token, _ = await paused_run(client)
    resp = await client.get(f"{FORM}/{token}", headers=auth())
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/json"  # Flask's mimetype: no charset
    raw = await resp.read()
    body = json.loads(raw)
    assert list(body) == ["form_content", "inputs", "resolved_default_values", "user_actions", "expiration_time"]
    assert raw == json.dumps(body, ensure_ascii=False).encode()  # spaced, raw UTF-8, no newline
    assert "Please review the draft — Processed: draft".encode() in raw
    assert body["inputs"] == [{"output_variable_name": "comment", "type": "paragraph", "default": None}]
    assert body["resolved_default_values"] == {}
    assert [a["id"] for a in body["user_actions"]] == ["approve", "reject"]


async def test_default_values_are_strings(client):
    """stringify_form_default_values: None is "", objects and lists their JSON text, the rest str()."""
    values = {"a": None, "b": {"k": "é"}, "c": [1, 2], "d": 3, "e": True, "f": "x"}
    token = await paused_with(client, {"node_id": "n", "resolved_default_values": values})
    raw = await (await client.get(f"{FORM}/{token}", headers=auth())).read()
    assert json.loads(raw)["resolved_default_values"] == {
        "a": "",
        "b": '{"k": "é"}',
        "c": "[1, 2]",
        "d": "3",
        "e": "True",
        "f": "x",
    }


async def test_unknown_tokens_are_404_with_restx_hint_by_length(client, expect_error):
    await paused_run(client)
    cases = {
        "Z" * 22: (V1_RULE,),  # a real token's length: the route alone comes close enough
        "Z" * 28: (V1_RULE,),
        "Z" * 29: (),
        "Z" * 36: (),
        "Z" * 20: (V1_RULE, OTHER_RULES[0]),
        "Z" * 12: (V1_RULE, *OTHER_RULES),
    }
    for token, rules in cases.items():
        path = f"{FORM}/{token}"
        resp = await client.get(path, headers=auth())
        body = await expect_error(resp, 404, "not_found", not_found(path, *rules))
        assert json.dumps(body["message"]).replace("/", "\\/").encode() in (await resp.read())
        resp = await submit(client, token, {"inputs": {}, "action": "approve", "user": "alice"})
        await expect_error(resp, 404, "not_found", not_found(path, *rules))


async def test_a_form_is_the_apps_and_the_tenants_own(client, expect_error):
    _, token, _ = await paused_run(client)
    path = f"{FORM}/{token}"
    resp = await client.get(path, headers=auth("app-advanced-chat"))  # no mode guard: just not this app's
    await expect_error(resp, 404, "not_found", not_found(path, V1_RULE))
    resp = await client.get(path, headers=auth(session="elsewhere"))
    await expect_error(resp, 404, "not_found", not_found(path, V1_RULE))


async def test_releases_before_1_14_have_no_such_route(make_client):
    old = await make_client(dify_version="1.12")
    for method in ("GET", "POST"):
        resp = await old.request(method, f"{FORM}/{'a' * 22}", json={"user": "u"}, headers=auth())
        assert resp.status == 404 and resp.content_type == "text/html"


# --- submitting it ----------------------------------------------------------------------------------


async def test_the_body_is_checked_before_the_token(client, expect_error):
    prefix = "https://errors.pydantic.dev/2.12/v"
    token = "Z" * 22  # unknown: the model's errors come first
    resp = await submit(client, token, {"user": "alice"})
    await expect_error(
        resp,
        400,
        "invalid_param",
        "2 validation errors for HumanInputFormSubmitPayload\n"
        "inputs\n  Field required [type=missing, input_value={'user': 'alice'}, input_type=dict]\n"
        f"    For further information visit {prefix}/missing\n"
        "action\n  Field required [type=missing, input_value={'user': 'alice'}, input_type=dict]\n"
        f"    For further information visit {prefix}/missing",
    )
    resp = await submit(client, token, {"inputs": [], "action": 1, "user": "alice"})
    await expect_error(
        resp,
        400,
        "invalid_param",
        "2 validation errors for HumanInputFormSubmitPayload\n"
        "inputs\n  Input should be a valid dictionary [type=dict_type, input_value=[], input_type=list]\n"
        f"    For further information visit {prefix}/dict_type\n"
        "action\n  Input should be a valid string [type=string_type, input_value=1, input_type=int]\n"
        f"    For further information visit {prefix}/string_type",
    )
    resp = await submit(client, token, {"inputs": {}, "action": "approve"})
    await expect_error(resp, 400, "invalid_param", "Arg user must be provided.")


async def test_the_action_then_every_input_must_be_given(client, expect_error):
    _, token, _ = await paused_run(client)
    resp = await submit(client, token, {"inputs": {}, "action": "publish", "user": "bob"})
    await expect_error(resp, 400, "invalid_form_data", "Invalid action: publish")
    resp = await submit(client, token, {"inputs": {"other": "x"}, "action": "approve", "user": "bob"})
    await expect_error(resp, 400, "invalid_form_data", "Missing required inputs: comment")


async def test_missing_inputs_are_listed_in_the_forms_order(client, expect_error):
    inputs = [{"output_variable_name": n, "type": "paragraph"} for n in ("a", "b", "c")]
    token = await paused_with(client, {"node_id": "n", "inputs": inputs, "actions": [{"id": "go", "title": "Go"}]})
    resp = await submit(client, token, {"inputs": {"b": "x"}, "action": "go", "user": "bob"})
    await expect_error(resp, 400, "invalid_form_data", "Missing required inputs: a, c")


async def test_a_submission_resumes_the_run_once(client, expect_error):
    run_id, token, form_id = await paused_run(client)
    resp = await submit(client, token, {"inputs": {"comment": "Looks good ✓"}, "action": "approve", "user": "bob"})
    assert resp.status == 200 and resp.content_type == "application/json"
    assert await resp.read() == b"{}\n"  # ujson's
    submitted = f"This form has already been submitted by another user, form_id={form_id}"
    resp = await submit(client, token, {"inputs": {"comment": "again"}, "action": "reject", "user": "alice"})
    await expect_error(resp, 412, "human_input_form_submitted", submitted)
    resp = await client.get(f"{FORM}/{token}", headers=auth())
    await expect_error(resp, 412, "human_input_form_submitted", submitted)

    detail = await (await client.get(f"/v1/workflows/run/{run_id}", headers=auth())).json()
    assert (detail["status"], detail["outputs"], detail["error"]) == ("succeeded", {"comment": "Looks good ✓"}, None)
    assert detail["finished_at"] >= detail["created_at"] and detail["elapsed_time"] > 0
    logs = await (await client.get("/v1/workflows/logs", params={"status": "succeeded"}, headers=auth())).json()
    assert [i["workflow_run"]["id"] for i in logs["data"]] == [run_id]
    assert logs["data"][0]["workflow_run"]["finished_at"] == detail["finished_at"]
    # The first reader after the submission sees the resumed part as the worker published it.
    resp = await client.get(f"/v1/workflow/{run_id}/events", params={"user": "alice"}, headers=auth())
    raw = await resp.read()
    assert raw.startswith(b"event: ping\n\n")
    live = [json.loads(f.removeprefix(b"data: ")) for f in raw.split(b"\n\n")[1:] if f]
    assert [e["event"] for e in live] == ["workflow_started", "human_input_form_filled", "workflow_finished"]
    assert {e["workflow_run_id"] for e in live} == {run_id} and live[0]["data"]["reason"] == "resumption"
    filled = live[1]["data"]
    assert (filled["action_id"], filled["action_text"], filled["submitted_data"]) == (
        "approve",
        "Approve",
        {"comment": "Looks good ✓"},
    )
    assert live[2]["data"]["outputs"] == {"comment": "Looks good ✓"}
    assert live[2]["data"]["finished_at"] == detail["finished_at"]
    # Later readers find a finished run: one frame from the stored row.
    resp = await client.get(f"/v1/workflow/{run_id}/events", params={"user": "alice"}, headers=auth())
    raw = await resp.read()
    frame = json.loads(raw.removeprefix(b"data: "))
    assert frame["event"] == "workflow_finished" and frame["workflow_run_id"] == run_id
    assert (frame["data"]["status"], frame["data"]["outputs"]) == ("succeeded", {"comment": "Looks good ✓"})
    assert frame["data"]["finished_at"] == detail["finished_at"]


async def test_an_expired_form_is_412(client, expect_error):
    _, token, form_id = await paused_run(client)
    clock = await client.post("/_mock/clock", json={"tenant": f"s:{SESSION}", "advance": 35 * 3600})
    assert clock.status == 200
    assert (await client.get(f"{FORM}/{token}", headers=auth())).status == 200
    await client.post("/_mock/clock", json={"tenant": f"s:{SESSION}", "advance": 3600})
    expired = f"This form has expired, form_id={form_id}"
    await expect_error(await client.get(f"{FORM}/{token}", headers=auth()), 412, "human_input_form_expired", expired)
    resp = await submit(client, token, {"inputs": {"comment": "late"}, "action": "approve", "user": "bob"})
    await expect_error(resp, 412, "human_input_form_expired", expired)


async def test_a_fault_on_the_submission_changes_nothing(client, expect_error):
    run_id, token, _ = await paused_run(client)
    body = {"inputs": {"comment": "ok"}, "action": "approve", "user": "bob"}
    resp = await submit(client, token, body, **{"X-Mock-Fault": "rate_limit"})
    await expect_error(resp, 429, "rate_limit_exceeded")
    detail = await (await client.get(f"/v1/workflows/run/{run_id}", headers=auth())).json()
    assert detail["status"] == "paused"
    assert (await client.get(f"{FORM}/{token}", headers=auth())).status == 200
    assert (await submit(client, token, body)).status == 200


async def test_a_run_that_fails_before_its_pause_leaves_no_form(client, parse_sse):
    resp = await pause(client, mode="streaming", **{"X-Mock-Fault": "stream_error;after=2"})
    events = parse_sse(await resp.read())
    assert events[-1]["event"] == "workflow_finished" and events[-1]["data"]["status"] == "failed"
    run_id = events[-1]["workflow_run_id"]
    detail = await (await client.get(f"/v1/workflows/run/{run_id}", headers=auth())).json()
    assert detail["status"] == "failed"
    assert [e for e in events if e["event"] == "human_input_required"] == []
    # Nor does the store keep the form the run would have made.
    assert len(client.app[TENANTS].get(f"s:{SESSION}").state.human_input_forms) == 0


async def test_1_16_checks_a_selects_value_before_the_action(make_client, expect_error):
    select = {
        "output_variable_name": "level",
        "type": "select",
        "option_source": {"type": "constant", "value": ["low", "high"]},
    }
    form = {"node_id": "n", "inputs": [select], "actions": [{"id": "go", "title": "Go"}]}
    for version, first in (("1.16", "Invalid value for select input 'level': max"), ("1.14", "Invalid action: no")):
        client = await make_client(dify_version=version)
        token = await paused_with(client, form)
        resp = await submit(client, token, {"inputs": {"level": "max"}, "action": "no", "user": "bob"})
        await expect_error(resp, 400, "invalid_form_data", first)
        if version == "1.16":
            resp = await submit(client, token, {"inputs": {"level": 1}, "action": "go", "user": "bob"})
            await expect_error(
                resp, 400, "invalid_form_data", "Invalid value for select input 'level': expected string"
            )
        assert (await submit(client, token, {"inputs": {"level": "high"}, "action": "go", "user": "bob"})).status == 200


def test_the_strict_check_reads_the_forms_json(builtin_book):
    """The form's bytes are JSON its schema's contentSchema describes: --strict checks them too."""
    catalogue, _ = builtin_book
    validator = catalogue.endpoints["service.get_human_input_form"].content_validator
    assert validator is not None
    good = {"form_content": "", "inputs": [], "resolved_default_values": {}, "user_actions": [], "expiration_time": 1}
    assert list(validator.iter_errors(good)) == []
    assert list(validator.iter_errors({**good, "resolved_default_values": {"a": None}}))
