"""The app record a DSL document gives: info, site, and /v1/parameters with its input form (DSL.md §A.1.4, §A.2.4).

`AppParameterApi` (api/controllers/service_api/app/app.py@1.14.2): a workflow or chatflow takes its
features from `workflow.features` and its form from the first node whose `data.type` is `start`, each of
its `data.variables` wrapped `{<type>: <item>}` whole (`Workflow.user_input_form(to_old_structure=True)`,
api/models/workflow.py); a basic app takes both from `model_config`. The defaults of absent features and
the key order are mockserver/dify/apps.py's `parameters_for`, which every app's /v1/parameters goes through."""

from __future__ import annotations

import copy
from typing import Any, Final

from mockserver.dify.apps import DEFAULT_PARAMETERS, DEFAULT_SITE

JsonPath = tuple[str | int, ...]

# VariableEntityType (graphon/variables/input_entities.py@v0.5.1).
INPUT_TYPES: Final = frozenset(
    {
        "text-input",
        "select",
        "paragraph",
        "number",
        "external_data_tool",
        "file",
        "file-list",
        "checkbox",
        "json_object",
    }
)
# What a basic app's form may hold (core/app/app_config/easy_ui_based_app/variables/manager.py).
BASIC_INPUT_TYPES: Final = frozenset({"text-input", "paragraph", "number", "select", "checkbox", "external_data_tool"})
# The features /v1/parameters reads (get_parameters_from_feature_dict); the form and limits come elsewhere.
FEATURE_KEYS: Final = tuple(k for k in DEFAULT_PARAMETERS if k not in ("user_input_form", "system_parameters"))
_ICON_TYPES: Final = frozenset({"emoji", "image", "link"})


def controls(data: dict[str, Any], graph_mode: bool) -> list[tuple[Any, JsonPath]]:
    """The raw input controls with their JSON paths: a start node's variables (unwrapped), or a basic
    app's `model_config.user_input_form` items (wrapped)."""
    if not graph_mode:
        form = (data.get("model_config") or {}).get("user_input_form") or []
        return [
            (item, ("model_config", "user_input_form", j))
            for j, item in enumerate(form if isinstance(form, list) else [])
        ]
    nodes = ((data.get("workflow") or {}).get("graph") or {}).get("nodes") or []
    for i, node in enumerate(nodes):
        node_data = node.get("data") if isinstance(node, dict) else None
        if isinstance(node_data, dict) and node_data.get("type") == "start":
            variables = node_data.get("variables") or []
            path = ("workflow", "graph", "nodes", i, "data", "variables")
            return [(v, (*path, j)) for j, v in enumerate(variables if isinstance(variables, list) else [])]
    return []


def wrapped(item: Any, graph_mode: bool) -> tuple[str | None, Any]:
    """(control type, control body) of one raw control; (None, item) when it has no readable type."""
    if graph_mode:
        kind = item.get("type") if isinstance(item, dict) else None
        return (kind, item) if isinstance(kind, str) and kind else (None, item)
    if isinstance(item, dict) and len(item) == 1:
        kind, body = next(iter(item.items()))
        return (str(kind), body)
    return None, item


def parameters(features: dict[str, Any], form: list[dict[str, Any]], graph_mode: bool) -> dict[str, Any]:
    """What the app sets over Dify's defaults: the features present in the DSL, and the form. A basic
    app's absent or null column takes `to_dict`'s default, as an unset feature of a workflow does."""
    given = {k: copy.deepcopy(features[k]) for k in FEATURE_KEYS if k in features}
    if not graph_mode:
        given = {k: v for k, v in given.items() if v is not None}
    return {**given, "user_input_form": form}


def entry_for(app: dict[str, Any], data: dict[str, Any], graph_mode: bool) -> dict[str, Any]:
    """An `_apps.yaml`-style entry from the DSL's `app` block and its features/form."""
    body = (data.get("workflow") if graph_mode else data.get("model_config")) or {}
    features = (body.get("features") or {}) if graph_mode else body
    form = []
    for item, _path in controls(data, graph_mode):
        kind, control = wrapped(item, graph_mode)
        if kind is not None and isinstance(control, dict) and control.get("variable"):
            form.append({kind: copy.deepcopy(control)})
    name = str(app.get("name") or "")
    description = str(app.get("description") or "")
    icon_type = app.get("icon_type") if app.get("icon_type") in _ICON_TYPES else "emoji"
    # The site Dify makes for a new app (events/event_handlers/create_site_record_when_app_created.py):
    # title and icon from the app, no description, the rest the Site columns' defaults.
    site = {
        "title": name,
        "icon_type": icon_type,
        "icon": app.get("icon") or DEFAULT_SITE["icon"],
        "icon_background": app.get("icon_background") or DEFAULT_SITE["icon_background"],
        "description": None,
    }
    entry: dict[str, Any] = {
        "mode": app["mode"],
        "name": name,
        "description": description,
        "site": site,
        "parameters": parameters(features if isinstance(features, dict) else {}, form, graph_mode),
    }
    if graph_mode and body.get("conversation_variables"):
        entry["conversation_variables"] = copy.deepcopy(body["conversation_variables"])
    return entry
