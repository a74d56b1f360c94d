"""The workspace's embedding models, as the Knowledge API's model checks see them: the emulated
workspace's model catalogue (dify/model_catalogue.py, a choice of the mock; the model-types route
lists the same; research/knowledge_datasets.md §9).
Provider names are plugin ids; ModelProviderID turns a short name into one (`openai` ->
`langgenius/openai/openai`, `google` -> `langgenius/gemini/google`)."""

from __future__ import annotations

from typing import Final

from mockserver.dify import model_catalogue
from mockserver.errors import DifyError

# (provider plugin id, model) of every active text-embedding model; the first is the workspace default.
EMBEDDING_MODELS: Final = tuple(model_catalogue.embedding_models())
_RENAMED: Final = {"google": "langgenius/gemini/google"}


def embedding_models() -> tuple[tuple[str, str], ...]:
    return EMBEDDING_MODELS


def provider_id(name: str) -> str:
    """ModelProviderID(name): a bare provider name is langgenius's plugin of that name."""
    if "/" in name:
        return name
    return _RENAMED.get(name, f"langgenius/{name}/{name}")


def require_provider(name: str) -> str:
    """check_embedding_model_setting: the provider must be installed (an unknown model under it is not
    refused there); a malformed plugin id is its own error."""
    if name.count("/") not in (0, 2) or any(not part for part in name.split("/")):
        raise DifyError("invalid_param", f"Invalid plugin id {name}")
    full = provider_id(name)
    if full not in {p for p, _ in EMBEDDING_MODELS}:
        raise DifyError("invalid_param", f"Provider {full} does not exist.")
    return full


def embedding_model(provider: str | None, model: str | None) -> tuple[str, str]:
    """A high_quality dataset's model: the given one, else the workspace default."""
    if provider and model:
        return require_provider(provider), model
    return EMBEDDING_MODELS[0]
