"""GET /v1/workspaces/current/models/model-types/{model_type}: the workspace's active models of a
type, from the mock's model catalogue (controllers/service_api/workspace/models.py and
services/model_provider_service.py get_models_by_model_type at dify 1.12.0, 1.14.2 and 1.16.1;
research/knowledge_datasets.md §9)."""

from __future__ import annotations

from typing import Any

from mockserver.actions import ActContext, Action
from mockserver.actions.serialize import body
from mockserver.actions.users import workspace_id
from mockserver.dify.model_catalogue import parse_model_type, providers_with_models
from mockserver.errors import DifyError


def _the_type(ctx: ActContext) -> None:
    """The path's model type, or Dify's ValueError as 400 invalid_param (its text is the release's)."""
    try:
        ctx.bound["model_type"] = parse_model_type(ctx.call.path["model_type"], ctx.call.release.model_type_aliases)
    except ValueError as exc:
        raise DifyError("invalid_param", str(exc)) from None


def by_type(ctx: ActContext) -> dict[str, Any]:
    providers = providers_with_models(ctx.bound["model_type"], workspace_id(ctx))
    return {"result": {"data": [body(ctx, p) for p in providers]}}


ACTIONS = (Action("models.by_type", by_type, checks=(("model_type", _the_type),)),)
