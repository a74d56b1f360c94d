"""The workspace's model providers: a fixed catalogue standing in for the plugins a Dify workspace has
installed and configured. GET /v1/workspaces/current/models/model-types/{model_type} lists it, and the
Knowledge API's datasets read their embedding models from it (`embedding_available`, the default
embedding model, the create/update model checks).

The catalogue is the mock's choice, not Dify's: a workspace with the OpenAI plugin (LLMs, embeddings,
speech, moderation) and Cohere's rerank model (research/knowledge_datasets.md §9). Its shape is
Dify's `ProviderWithModelsResponse` (services/entities/model_provider_entities.py) and graphon's
`ProviderModel` (core/model_runtime/entities/model_entities.py at 1.12.0)."""

from __future__ import annotations

from typing import Any, Final

Model = dict[str, Any]  # ProviderModel's fields; the route's schema adds the status ones

# ModelType values (graphon model_entities.py): what 1.15+ parses with ModelType(value).
MODEL_TYPES: Final = ("llm", "text-embedding", "rerank", "speech2text", "moderation", "tts")
# ModelType.value_of (1.12-1.14) also reads these origin names.
ORIGIN_ALIASES: Final = {"text-generation": "llm", "embeddings": "text-embedding", "reranking": "rerank"}


def _model(model: str, model_type: str, properties: dict[str, Any], features: list[str] | None = None) -> Model:
    return {
        "model": model,
        "label": {"zh_Hans": model, "en_US": model},  # I18nObject copies en_US into a missing zh_Hans
        "model_type": model_type,
        "features": features,
        "fetch_from": "predefined-model",
        "model_properties": properties,
    }


_CHAT_FEATURES: Final = ["multi-tool-call", "agent-thought", "stream-tool-call", "vision"]
_EMBEDDING: Final = {"context_size": 8191, "max_chunks": 32}
_WHISPER: Final = {"file_upload_limit": 25, "supported_file_extensions": "mp3,mp4,mpeg,mpga,m4a,wav,webm"}
_TTS: Final = {"default_voice": "alloy", "word_limit": 3500, "audio_type": "mp3", "max_workers": 5}

# Providers in configuration order, each with its models in the provider's own order.
PROVIDERS: Final[tuple[dict[str, Any], ...]] = (
    {
        "provider": "langgenius/openai/openai",
        "label": {"zh_Hans": "OpenAI", "en_US": "OpenAI"},
        "icon": True,
        "models": (
            _model("gpt-4o", "llm", {"mode": "chat", "context_size": 128000}, _CHAT_FEATURES),
            _model("gpt-4o-mini", "llm", {"mode": "chat", "context_size": 128000}, _CHAT_FEATURES),
            _model("text-embedding-3-small", "text-embedding", dict(_EMBEDDING)),
            _model("text-embedding-3-large", "text-embedding", dict(_EMBEDDING)),
            _model("whisper-1", "speech2text", dict(_WHISPER)),
            _model("tts-1", "tts", dict(_TTS)),
            _model("omni-moderation-latest", "moderation", {"max_chunks": 32, "max_characters_per_chunk": 2000}),
        ),
    },
    {
        "provider": "langgenius/cohere/cohere",
        "label": {"zh_Hans": "Cohere", "en_US": "Cohere"},
        "icon": True,
        "models": (_model("rerank-v3.5", "rerank", {"context_size": 4096}),),
    },
)


def parse_model_type(value: str, aliases: bool) -> str:
    """The ModelType a path names, or Dify's ValueError text: 1.12-1.14's ModelType.value_of reads the
    origin aliases and says "invalid origin model type X"; 1.15+'s ModelType(X) says "'X' is not a
    valid ModelType" (services/model_provider_service.py get_models_by_model_type)."""
    if value in MODEL_TYPES:
        return value
    if aliases:
        if value in ORIGIN_ALIASES:
            return ORIGIN_ALIASES[value]
        raise ValueError(f"invalid origin model type {value}")
    raise ValueError(f"{value!r} is not a valid ModelType")


def providers_with_models(model_type: str, tenant_id: str) -> list[dict[str, Any]]:
    """`{"data": ...}` of the route: each provider that has active models of the type, with them;
    icons as the console URLs Dify rewrites them to (CONSOLE_API_URL empty: a path)."""
    out = []
    for provider in PROVIDERS:
        models = [m for m in provider["models"] if m["model_type"] == model_type]
        if not models:
            continue  # a provider left with no models is dropped
        name = provider["provider"]
        prefix = f"/console/api/workspaces/{tenant_id}/model-providers/{name}"
        icon = {"zh_Hans": f"{prefix}/icon_small/zh_Hans", "en_US": f"{prefix}/icon_small/en_US"}
        out.append(
            {
                "tenant_id": tenant_id,
                "provider": name,
                "label": dict(provider["label"]),
                "icon_small": icon if provider["icon"] else None,
                "icon_small_dark": None,
                "status": "active",
                "models": models,  # the schema adds deprecated, status and the load-balancing flags
            }
        )
    return out


def models_of(model_type: str) -> list[tuple[str, str]]:
    """(provider id, model name) of every active model of the type, in the route's order."""
    return [(p["provider"], m["model"]) for p in PROVIDERS for m in p["models"] if m["model_type"] == model_type]


def embedding_models() -> list[tuple[str, str]]:
    """(provider id, model) of the workspace's text-embedding models; the first is the default one
    (a high_quality dataset created without a model gets it)."""
    return models_of("text-embedding")


def rerank_models() -> list[tuple[str, str]]:
    """(provider id, model) of the workspace's rerank models."""
    return models_of("rerank")
