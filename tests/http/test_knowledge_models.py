"""GET /v1/workspaces/current/models/model-types/{model_type} with a knowledge key: the mock's model
catalogue in Dify's shape, and each release's answer to an unknown type (research/knowledge_datasets.md §9)."""

from __future__ import annotations

from typing import Any

import pytest
from dify_facts import auth, is_uuid4

MODELS = "/v1/workspaces/current/models/model-types"
PROVIDER_KEYS = ["tenant_id", "provider", "label", "icon_small", "icon_small_dark", "status", "models"]
MODEL_KEYS = [
    "model", "label", "model_type", "features", "fetch_from", "model_properties", "deprecated", "status",
    "load_balancing_enabled", "has_invalid_load_balancing_configs",
]  # fmt: skip


def h(key: str = "dataset-demo", session: str = "kmodels") -> dict[str, str]:
    return auth(key, **{"X-Mock-Session": session})


async def providers(client: Any, model_type: str) -> list[dict[str, Any]]:
    resp = await client.get(f"{MODELS}/{model_type}", headers=h())
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert list(body) == ["data"]
    for provider in body["data"]:
        assert list(provider) == PROVIDER_KEYS
        assert all(list(m) == MODEL_KEYS for m in provider["models"])
    data: list[dict[str, Any]] = body["data"]
    return data


async def test_text_embedding_lists_openais_embedding_models_in_difys_shape(client):
    (openai,) = await providers(client, "text-embedding")
    tenant = openai["tenant_id"]
    assert is_uuid4(tenant)
    icons = f"/console/api/workspaces/{tenant}/model-providers/langgenius/openai/openai/icon_small"
    assert openai == {
        "tenant_id": tenant,
        "provider": "langgenius/openai/openai",
        "label": {"zh_Hans": "OpenAI", "en_US": "OpenAI"},
        "icon_small": {"zh_Hans": f"{icons}/zh_Hans", "en_US": f"{icons}/en_US"},
        "icon_small_dark": None,
        "status": "active",
        "models": [
            {
                "model": name,
                "label": {"zh_Hans": name, "en_US": name},
                "model_type": "text-embedding",
                "features": None,
                "fetch_from": "predefined-model",
                "model_properties": {"context_size": 8191, "max_chunks": 32},
                "deprecated": False,
                "status": "active",
                "load_balancing_enabled": False,
                "has_invalid_load_balancing_configs": False,
            }
            for name in ("text-embedding-3-small", "text-embedding-3-large")
        ],
    }
    raw = await (await client.get(f"{MODELS}/text-embedding", headers=h())).read()
    assert b'"provider":"langgenius\\/openai\\/openai"' in raw  # ujson's escaped slashes


async def test_each_type_lists_its_own_providers(client):
    assert [p["provider"] for p in await providers(client, "rerank")] == ["langgenius/cohere/cohere"]
    (llm,) = await providers(client, "llm")
    assert [m["model"] for m in llm["models"]] == ["gpt-4o", "gpt-4o-mini"]
    assert llm["models"][0]["model_properties"] == {"mode": "chat", "context_size": 128000}
    assert "vision" in llm["models"][0]["features"]
    for kind in ("tts", "speech2text", "moderation"):
        (one,) = await providers(client, kind)
        assert [m["model_type"] for m in one["models"]] == [kind]


async def test_the_catalogue_is_what_datasets_embed_with(client):
    resp = await client.post("/v1/datasets", json={"name": "HQ", "indexing_technique": "high_quality"}, headers=h())
    made = await resp.json()
    (openai,) = await providers(client, "text-embedding")
    assert (made["embedding_model_provider"], made["embedding_model"]) == (
        openai["provider"],
        openai["models"][0]["model"],
    )


async def test_from_1_15_an_unknown_type_is_modeltypes_valueerror(client, expect_error):
    for name in ("foo", "embeddings", "text-generation", "reranking", "LLM"):
        resp = await client.get(f"{MODELS}/{name}", headers=h())
        await expect_error(resp, 400, "invalid_param", f"'{name}' is not a valid ModelType")


@pytest.mark.parametrize("version", ["1.12", "1.14"])
async def test_before_1_15_the_origin_names_are_read_and_others_refused(make_client, expect_error, version):
    client = await make_client(dify_version=version)
    for origin, kind in (("text-generation", "llm"), ("embeddings", "text-embedding"), ("reranking", "rerank")):
        assert await providers(client, origin) == await providers(client, kind)
    resp = await client.get(f"{MODELS}/foo", headers=h())
    await expect_error(resp, 400, "invalid_param", "invalid origin model type foo")


async def test_an_app_key_or_no_key_is_refused(client, expect_error):
    resp = await client.get(f"{MODELS}/llm", headers=h("app-chat"))
    await expect_error(resp, 401, "unauthorized", "Access token is invalid")
    resp = await client.get(f"{MODELS}/llm")
    await expect_error(resp, 401, "unauthorized", "Authorization header must be provided and start with 'Bearer'")
