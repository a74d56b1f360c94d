"""Apps made from Dify DSL exports over HTTP: /v1/parameters, /v1/info and /v1/site as Dify builds them
(DSL.md §A.1.4, §A.2.4), input validation by the DSL's form, and runs answered by the default scenarios."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from dify_facts import PARAMETER_ORDER

from mockserver.dify.dsl.load import load_file
from tests.support.dsl_examples import COURSE, TOD_AGENT, TRANSLATION, example

FILES = Path(__file__).parents[1] / "dify" / "dsl_files"
EVERY_INPUT = str(FILES / "every_input.yml")
BASIC_CHAT = str(FILES / "basic_chat.yml")
SYSTEM_PARAMETERS = {
    "image_file_size_limit": 10,
    "video_file_size_limit": 100,
    "audio_file_size_limit": 50,
    "file_size_limit": 15,
    "workflow_file_upload_limit": 10,
}
OFF = {"enabled": False}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def get(client: TestClient, path: str, key: str) -> Any:
    resp = await client.get(path, headers=auth(key))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def run(client: TestClient, key: str, inputs: dict[str, Any]) -> tuple[int, Any]:
    body = {"inputs": inputs, "user": "u", "response_mode": "blocking"}
    resp = await client.post("/v1/workflows/run", json=body, headers=auth(key))
    return resp.status, await resp.json()


@pytest.fixture
async def shared(make_client: Any) -> TestClient:
    paths = [example(TRANSLATION), example(COURSE), example(TOD_AGENT)]
    return await make_client(dsl=(str(paths[0]), f"{paths[1]}=app-course", f"{paths[2]}=app-tod"))


async def test_translation_workflow_parameters_are_its_features_and_start_variables(shared: TestClient) -> None:
    params = await get(shared, "/v1/parameters", "app-translation-workflow")
    assert list(params) == PARAMETER_ORDER

    def text(name: str, kind: str, length: int, required: bool = True) -> dict[str, Any]:
        item = {"label": name, "max_length": length, "options": [], "required": required, "type": kind}
        return {kind: {**item, "variable": name}}

    assert params == {
        "opening_statement": "",
        "suggested_questions": [],
        "suggested_questions_after_answer": OFF,
        "speech_to_text": OFF,
        "text_to_speech": {"enabled": False, "language": "", "voice": ""},
        "retriever_resource": {"enabled": True},
        "annotation_reply": OFF,  # absent from the export: the mapping's fallback
        "more_like_this": OFF,
        "user_input_form": [
            text("target_lang", "text-input", 48),
            text("source_text", "paragraph", 50000),
            text("source_lang", "text-input", 48),
            text("country", "text-input", 48, required=False),
        ],
        "sensitive_word_avoidance": OFF,  # raw, as the export has it
        "file_upload": {
            "image": {"enabled": False, "number_limits": 3, "transfer_methods": ["local_file", "remote_url"]}
        },
        "system_parameters": SYSTEM_PARAMETERS,
    }


async def test_info_and_site_come_from_the_app_block(shared: TestClient) -> None:
    info = await get(shared, "/v1/info", "app-course")
    assert info == {
        "name": "自动化教程生成-演示版",
        "description": "可以自动化生成全套教程。\n开始时输入想要生成的教程名称。",
        "tags": [],
        "mode": "workflow",
        "author_name": "",
    }
    site = await get(shared, "/v1/site", "app-course")
    assert site == {
        "title": "自动化教程生成-演示版",
        "chat_color_theme": None,
        "chat_color_theme_inverted": False,
        "icon_type": "emoji",
        "icon": "🤖",
        "icon_background": "#FFEAD5",
        "description": None,  # the site Dify makes on import has none
        "copyright": None,
        "privacy_policy": None,
        "input_placeholder": None,
        "custom_disclaimer": "",
        "default_language": "en-US",
        "show_workflow_steps": True,
        "use_icon_as_answer_icon": False,
        "icon_url": None,
    }


async def test_a_chatflow_without_start_variables_has_an_empty_form(shared: TestClient) -> None:
    params = await get(shared, "/v1/parameters", "app-tod")
    assert params["user_input_form"] == []
    assert params["file_upload"]["fileUploadConfig"]["batch_count_limit"] == 5  # passed through raw
    assert (await get(shared, "/v1/info", "app-tod"))["mode"] == "advanced-chat"
    body = {"inputs": {}, "query": "hi", "user": "u", "response_mode": "blocking"}
    resp = await shared.post("/v1/chat-messages", json=body, headers=auth("app-tod"))
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["mode"] == "advanced-chat"


async def test_translation_workflow_validates_its_inputs(shared: TestClient) -> None:
    key = "app-translation-workflow"
    assert await run(shared, key, {"target_lang": "en"}) == (
        400,
        {"code": "invalid_param", "message": "source_text is required in input form", "status": 400},
    )
    too_long = {"target_lang": "x" * 49, "source_text": "t", "source_lang": "zh"}
    assert (await run(shared, key, too_long))[1][
        "message"
    ] == "target_lang in input form must be less than 48 characters"
    status, body = await run(shared, key, {"target_lang": "en", "source_text": "t", "source_lang": "zh"})
    assert status == 200 and body["data"]["status"] == "succeeded"
    # The workflow id is derived from the file's bytes: the same on every load.
    assert body["data"]["workflow_id"] == load_file(example(TRANSLATION)).entry["workflow_id"]


@pytest.fixture
async def own(make_client: Any) -> TestClient:
    return await make_client(dsl=(EVERY_INPUT, BASIC_CHAT))


FILE = {"type": "image", "transfer_method": "remote_url", "url": "https://example.com/a.png"}
DOC = {"type": "document", "transfer_method": "remote_url", "url": "https://example.com/a.pdf"}


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({}, "name is required in input form"),
        ({"name": "Annabel"}, "name in input form must be less than 5 characters"),
        ({"name": 5}, "(type 'text-input') name in input form must be a string"),
        ({"name": "Ann", "story": "x" * 21}, "story in input form must be less than 20 characters"),
        ({"name": "Ann", "color": "blue"}, "color in input form must be one of the following: ['red', 'green']"),
        ({"name": "Ann", "count": "many"}, "count in input form must be a valid number"),
        ({"name": "Ann", "photo": "a.png"}, "photo in input form must be a file"),
        ({"name": "Ann", "papers": [DOC, DOC, DOC]}, "papers in input form must be less than 2 files"),
        ({"name": "Ann", "papers": "a.pdf"}, "papers in input form must be a list of files"),
        ({"name": "Ann", "meta": "x"}, "meta in input form must be a dict"),
        ({"name": {"first": "Ann"}}, "(type 'text-input') name in input form must be a string"),
    ],
)
async def test_every_input_type_is_validated_as_dify_does(own: TestClient, inputs: dict, message: str) -> None:
    status, body = await run(own, "app-every-input", inputs)
    assert (status, body) == (400, {"code": "invalid_param", "message": message, "status": 400})


async def test_defaults_and_normalised_values_reach_the_run(own: TestClient) -> None:
    body = {"inputs": {"name": "Ann", "count": "2.5", "agree": "yes", "photo": FILE, "papers": [DOC]}, "user": "u"}
    resp = await own.post(
        "/v1/workflows/run", json={**body, "response_mode": "streaming"}, headers=auth("app-every-input")
    )
    text = await resp.text()
    started = next(line for line in text.splitlines() if '"workflow_started"' in line)
    assert (
        '"inputs":{"name":"Ann","story":"once upon","color":null,"count":2.5,"agree":true,'
        '"photo":{"type":"image","transfer_method":"remote_url","url":"https://example.com/a.png"},'
        '"papers":[{"type":"document","transfer_method":"remote_url","url":"https://example.com/a.pdf"}],'
        '"meta":null,' in started
    )


async def test_every_input_form_passes_each_item_through_whole(own: TestClient) -> None:
    form = (await get(own, "/v1/parameters", "app-every-input"))["user_input_form"]
    assert [next(iter(item)) for item in form] == [
        "text-input",
        "paragraph",
        "select",
        "number",
        "checkbox",
        "file",
        "file-list",
        "json_object",
    ]
    assert form[5]["file"] == {
        "type": "file",
        "variable": "photo",
        "label": "Photo",
        "required": False,
        "allowed_file_types": ["image"],
        "allowed_file_extensions": [],
        "allowed_file_upload_methods": ["remote_url", "local_file"],
    }
    assert form[7] == {
        "json_object": {
            "type": "json_object",
            "variable": "meta",
            "label": "Meta",
            "required": False,
            "hint": "an object",
        }
    }
    site = await get(own, "/v1/site", "app-every-input")
    assert (site["icon"], site["icon_background"], site["title"]) == ("🧪", "#E4FBCC", "Every Input")


async def test_a_basic_app_takes_its_form_and_features_from_model_config(own: TestClient) -> None:
    params = await get(own, "/v1/parameters", "app-basic-chat")
    assert params["opening_statement"] == "Hi {{name}}!"
    assert params["suggested_questions"] == ["What is new?"]
    assert params["speech_to_text"] == {"enabled": True}
    # Absent or null columns take AppModelConfig.to_dict's defaults, as for any basic app.
    assert params["more_like_this"] == OFF
    assert params["retriever_resource"] == {"enabled": True}
    assert params["sensitive_word_avoidance"] == {"enabled": False, "type": "", "config": {}}
    assert params["file_upload"] == {
        "image": {
            "enabled": False,
            "number_limits": 3,
            "detail": "high",
            "transfer_methods": ["remote_url", "local_file"],
        }
    }
    assert params["user_input_form"][1] == {
        "select": {
            "label": "Tone",
            "variable": "tone",
            "required": False,
            "options": ["calm", "bold"],
            "default": "calm",
        }
    }
    body = {"inputs": {}, "query": "hi", "user": "u", "response_mode": "blocking"}
    resp = await own.post("/v1/chat-messages", json=body, headers=auth("app-basic-chat"))
    assert (await resp.json())["message"] == "name is required in input form"
    # An external data tool is no input: whatever is sent for it is dropped, never validated.
    inputs = {"name": "Bo", "weather": {"not": "checked"}}
    resp = await own.post("/v1/chat-messages", json={**body, "inputs": inputs}, headers=auth("app-basic-chat"))
    assert resp.status == 200
    assert (await resp.json())["mode"] == "chat"


async def test_a_chatflow_s_conversation_variables_and_warnings_come_from_the_dsl(make_client: Any) -> None:
    source = str(FILES / "chatflow_vars.yml")
    client = await make_client(dsl=(source,))
    key = "app-chatflow-vars"
    body = {"inputs": {}, "query": "hi", "user": "u", "response_mode": "blocking"}
    resp = await client.post("/v1/chat-messages", json=body, headers=auth(key))
    conversation = (await resp.json())["conversation_id"]
    listed = await get(client, f"/v1/conversations/{conversation}/variables?user=u", key)
    assert [(v["id"], v["name"], v["value_type"], v["value"], v["description"]) for v in listed["data"]] == [
        ("5d1c7a52-0a4e-4f7e-9f5b-1c2d3e4f5a60", "topic", "string", "weather", "what we talk about")
    ]
    assert (await get(client, "/v1/parameters", key))["opening_statement"] == "Ask me anything"
    apps = {a["key"]: a for a in (await (await client.get("/_mock/apps")).json())["data"]}
    assert apps[key]["warnings"] == [
        f"{source}:19:7: unknown node type 'my-plugin-node' of node 'custom': Dify fails it at run time "
        "(No class mapping found for node type: my-plugin-node)"
    ]
    assert apps[key]["notes"] == []  # an answer node is emulated, not imitated


async def test_what_a_dsl_app_only_imitates_is_listed_in_its_notes(make_client: Any) -> None:
    source = str(example(TOD_AGENT))
    client = await make_client(dsl=(f"{source}=app-tod",))
    apps = {a["key"]: a for a in (await (await client.get("/_mock/apps")).json())["data"]}
    assert apps["app-tod"]["notes"] == [
        f"{source}: outputs synthesised, not computed (set them with graph: outputs): llm (LLM); agent (Agent)",
        f"{source}: feature retriever_resource is reported in /v1/parameters but not simulated",
    ]


async def test_the_app_record_keeps_the_parsed_graph(make_client: Any) -> None:
    client = await make_client(dsl=(str(example(TRANSLATION)),))
    from mockserver.keys import BOOK

    app = client.app[BOOK].current.apps.apps["app-translation-workflow"]
    assert app.graph is not None and app.graph.root is not None
    assert app.graph.root.id == "1721117927142"
    assert [n.type for n in app.graph.nodes].count("llm") == 4
    assert app.graph.by_title("COUNTRY IS NULL") is not None
    assert app.graph.by_title("COUNTRY IS NULL").type == "if-else"


@pytest.mark.parametrize(
    ("release", "version", "outcome"),
    [
        ("1.16", "0.7.0", "ok"),
        ("1.16", "0.6.0", "warned"),
        ("1.14", "0.6.0", "ok"),
        ("1.14", "0.7.0", "pending"),
        ("1.12", "0.6.0", "pending"),
        ("1.12", "0.5.0", "ok"),
    ],
)
async def test_the_current_dsl_version_is_the_emulated_releases(
    make_client: Any, release: str, version: str, outcome: str
) -> None:
    """Release.dsl_version: 1.12 imports 0.5.x, 1.14 0.6.0, 1.16 0.7.0 without a warning (VERSIONS.md V14)."""
    client = await make_client(dify_version=release)
    text = (FILES / "review_gate.yml").read_text(encoding="utf-8").replace("version: 0.7.0", f"version: {version}")
    resp = await client.post("/_mock/apps", json={"key": "app-gate", "dsl": text})
    current = {"1.12": "0.5.0", "1.14": "0.6.0", "1.16": "0.7.0"}[release]
    if outcome == "pending":
        assert resp.status == 400
        assert (
            f'DSL {version} needs confirmation (Dify status "pending"; current {current})'
            in (await resp.json())["message"]
        )
        return
    assert resp.status == 200, await resp.text()
    warnings = (await resp.json())["warnings"]
    expected = [f"completed-with-warnings: DSL {version} is older than {current}"] if outcome == "warned" else []
    assert [w.split(": ", 1)[1] for w in warnings] == expected


async def test_an_agent_app_from_a_dsl_is_served_like_the_built_in_agent(make_client: Any, parse_sse: Any) -> None:
    """DSL 0.7.0's `agent` mode (Dify 1.16): the record from the DSL, answers from the agent scenarios;
    a request without response_mode streams (DSL.md §B.2)."""
    client = await make_client()
    dsl = (
        "version: 0.7.0\nkind: app\napp: {name: Trip Agent, mode: agent, description: Plans trips}\n"
        "agent: {package_ref: trips}\nagent_packages: {trips: {schema_version: 1, metadata: {name: trips}}}\n"
    )
    resp = await client.post("/_mock/apps", json={"key": "app-trips", "dsl": dsl})
    assert resp.status == 200 and (await resp.json())["mode"] == "agent"
    info = await get(client, "/v1/info", "app-trips")
    assert (info["name"], info["mode"], info["description"]) == ("Trip Agent", "agent", "Plans trips")
    body = {"inputs": {}, "query": "Lisbon?", "user": "u"}
    resp = await client.post("/v1/chat-messages", json=body, headers=auth("app-trips"))
    assert resp.status == 200 and resp.content_type == "text/event-stream"
    events = parse_sse(await resp.read())
    assert events[-1]["event"] == "message_end" and any(e["event"] == "agent_message" for e in events)
