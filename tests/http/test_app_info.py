"""GET /v1/info, /v1/parameters, /v1/meta, /v1/site for the built-in apps (REFERENCE §7)."""

from __future__ import annotations

import pytest
from dify_facts import PARAMETER_ORDER, auth

# key -> (mode, name, description) as in fixtures/_apps.yaml
APPS = {
    "app-chat": ("chat", "Demo Chat", "Built-in chat app"),
    "app-advanced-chat": ("advanced-chat", "Demo Chatflow", "Built-in advanced-chat (chatflow) app"),
    "app-agent-chat": ("agent-chat", "Demo Agent", "Built-in agent-chat app (streaming only)"),
    "app-agent": ("agent", "Demo New Agent", "Built-in agent app (the newer agent mode; streaming only)"),
    "app-completion": ("completion", "Demo Completion", "Built-in completion app"),
    "app-workflow": ("workflow", "Demo Workflow", "Built-in workflow app"),
}
# the /v1/parameters features that are objects with an "enabled" flag
FEATURE_KEYS = [k for k in PARAMETER_ORDER[2:] if k not in ("user_input_form", "file_upload", "system_parameters")]
SYSTEM_PARAMETER_ORDER = [
    "image_file_size_limit",
    "video_file_size_limit",
    "audio_file_size_limit",
    "file_size_limit",
    "workflow_file_upload_limit",
]
SITE_ORDER = [
    "title",
    "chat_color_theme",
    "chat_color_theme_inverted",
    "icon_type",
    "icon",
    "icon_background",
    "description",
    "copyright",
    "privacy_policy",
    "input_placeholder",
    "custom_disclaimer",
    "default_language",
    "show_workflow_steps",
    "use_icon_as_answer_icon",
    "icon_url",
]
FORM_CONTROLS = {"text-input", "paragraph", "select", "number", "file", "file-list", "checkbox", "json_object"}
QUERIES = ["", "?user=x"]  # the SDKs send ?user=; Dify ignores it


async def get_json(client, path: str, key: str) -> dict:
    resp = await client.get(path, headers=auth(key))
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "application/json"
    return await resp.json()


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("key", list(APPS))
async def test_info(client, key, query):
    info = await get_json(client, f"/v1/info{query}", key)
    mode, name, description = APPS[key]
    assert set(info) == {"name", "description", "tags", "mode", "author_name"}
    assert info["mode"] == mode
    assert info["name"] == name
    assert info["description"] == description
    assert isinstance(info["tags"], list) and all(isinstance(t, str) for t in info["tags"])
    assert info["author_name"] == "Dify Mock"


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("key", list(APPS))
async def test_parameters(client, key, query):
    params = await get_json(client, f"/v1/parameters{query}", key)
    # The Parameters model's order: user_input_form before sensitive_word_avoidance
    # (controllers/common/fields.py, dify 1.16.1 :158-170).
    assert list(params) == PARAMETER_ORDER
    assert params["opening_statement"] is None or isinstance(params["opening_statement"], str)
    assert isinstance(params["suggested_questions"], list)
    for feature in FEATURE_KEYS:
        assert isinstance(params[feature]["enabled"], bool), feature
    assert list(params["system_parameters"]) == SYSTEM_PARAMETER_ORDER
    assert all(isinstance(v, int) for v in params["system_parameters"].values())
    assert isinstance(params["file_upload"], dict)
    for item in params["user_input_form"]:
        assert len(item) == 1, item  # one-key objects keyed by control type
        (control, spec), *_ = item.items()
        assert control in FORM_CONTROLS
        assert {"label", "variable", "required", "default"} <= set(spec)


async def test_parameters_reflect_the_app_configuration(client):
    chat = await get_json(client, "/v1/parameters", "app-chat")
    assert chat["opening_statement"] == "Hello! How can I help you today?"
    assert chat["suggested_questions"] == ["What can you do?", "Tell me about your features."]
    assert chat["user_input_form"] == [
        {"text-input": {"label": "City", "variable": "city", "required": False, "max_length": 48, "default": ""}}
    ]
    completion = await get_json(client, "/v1/parameters", "app-completion")
    assert completion["user_input_form"] == [
        {"paragraph": {"label": "Topic", "variable": "topic", "required": False, "max_length": 1000, "default": ""}}
    ]
    workflow = await get_json(client, "/v1/parameters", "app-workflow")
    assert [next(iter(item.values()))["variable"] for item in workflow["user_input_form"]] == ["query"]
    agent = await get_json(client, "/v1/parameters", "app-agent")
    assert agent["user_input_form"] == []


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("key", list(APPS))
async def test_meta(client, key, query):
    meta = await get_json(client, f"/v1/meta{query}", key)
    assert set(meta) == {"tool_icons"}
    assert isinstance(meta["tool_icons"], dict)
    for icon in meta["tool_icons"].values():
        assert isinstance(icon, str) or set(icon) == {"background", "content"}


async def test_meta_lists_the_agent_tools(client):
    # A built-in tool's icon is a URL string, an API tool's an emoji object (audit E3;
    # app_definition_query_service.py :110-127, dify 1.16.1); ujson escapes the slashes.
    resp = await client.get("/v1/meta", headers=auth("app-agent-chat"))
    raw = await resp.read()
    assert b'"current_time":"\\/console\\/api\\/workspaces\\/current\\/tool-provider\\/builtin\\/time\\/icon"' in raw
    assert await resp.json() == {
        "tool_icons": {
            "current_time": "/console/api/workspaces/current/tool-provider/builtin/time/icon",
            "weather_lookup": {"background": "#252525", "content": "🌤"},
        }
    }


@pytest.mark.parametrize(
    ("key", "release", "expected"),
    [
        # An easy-UI app that configured nothing (models/model.py AppModelConfig.to_dict).
        (
            "app-agent-chat",
            "1.16",
            {
                "opening_statement": None,
                "text_to_speech": {"enabled": False},
                "retriever_resource": {"enabled": True},
                "sensitive_word_avoidance": {"enabled": False, "type": "", "config": {}},
            },
        ),
        ("app-agent-chat", "1.12", {"sensitive_word_avoidance": {"enabled": False, "type": "", "configs": []}}),
        # A workflow's missing features take the parameters mapping's fallbacks
        # (core/app/app_config/common/parameters_mapping/__init__.py :41-72): citations off.
        (
            "app-workflow",
            "1.16",
            {
                "opening_statement": None,
                "retriever_resource": {"enabled": False},
                "sensitive_word_avoidance": {"enabled": False, "type": "", "configs": []},
            },
        ),
        ("app-advanced-chat", "1.14", {"retriever_resource": {"enabled": False}, "suggested_questions": []}),
    ],
)
async def test_parameter_defaults_by_mode_and_release(make_client, key, release, expected):
    # Audit E1.
    client = await make_client(dify_version=release)
    params = await get_json(client, "/v1/parameters", key)
    assert {k: params[k] for k in expected} == expected
    assert params["file_upload"] == {
        "image": {
            "enabled": False,
            "number_limits": 3,
            "detail": "high",
            "transfer_methods": ["remote_url", "local_file"],
        }
    }


async def test_the_new_agents_upload_settings_come_from_its_agent_config(client):
    params = await get_json(client, "/v1/parameters", "app-agent")
    assert params["file_upload"]["enabled"] is True
    assert params["file_upload"]["allowed_file_types"] == ["document", "image", "audio", "video"]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("key", list(APPS))
async def test_site(client, key, query):
    site = await get_json(client, f"/v1/site{query}", key)
    _, name, description = APPS[key]
    assert list(site) == SITE_ORDER  # controllers/common/fields.py Site, dify 1.16.1 :173-196
    assert site["title"] == name
    assert site["description"] == description
    assert isinstance(site["chat_color_theme_inverted"], bool)
    assert isinstance(site["show_workflow_steps"], bool)
    assert isinstance(site["use_icon_as_answer_icon"], bool)
    assert site["icon_type"] in ("emoji", "image", "link", None)


async def test_site_of_the_chat_app(client):
    site = await get_json(client, "/v1/site", "app-chat")
    assert site["icon_type"] == "emoji" and site["icon"] == "🤖" and site["icon_background"] == "#FFEAD5"


@pytest.mark.parametrize("path", ["/v1/info", "/v1/parameters", "/v1/meta", "/v1/site"])
async def test_app_info_needs_an_app_key(client, expect_error, path):
    resp = await client.get(path)
    await expect_error(resp, 401, "unauthorized", "Authorization header must be provided and start with 'Bearer'")
    resp = await client.get(path, headers=auth("dataset-demo"))
    await expect_error(resp, 401, "unauthorized", "Access token is invalid")


@pytest.mark.parametrize("path", ["/v1/info", "/v1/parameters", "/v1/meta", "/v1/site"])
async def test_user_query_does_not_change_the_answer(client, path):
    plain = await get_json(client, path, "app-chat")
    with_user = await get_json(client, f"{path}?user=someone-else", "app-chat")
    assert plain == with_user


async def test_an_app_without_a_site_is_forbidden_with_werkzeugs_full_text(make_client, tmp_path):
    # site.py raises Forbidden() (dify 1.16.1 :52-55): werkzeug's description, in full (audit E4).
    (tmp_path / "_apps.yaml").write_text("apps:\n  app-nosite: {mode: chat, site: null}\n")
    client = await make_client(fixtures=(tmp_path,))
    resp = await client.get("/v1/site", headers=auth("app-nosite"))
    assert resp.status == 403
    assert await resp.json() == {
        "code": "forbidden",
        "message": "You don't have the permission to access the requested resource. It is either read-protected "
        "or not readable by the server.",
        "status": 403,
    }
