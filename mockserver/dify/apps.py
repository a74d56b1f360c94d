"""App records from _apps.yaml, completed with Dify's defaults for info, site, meta and parameters.

/v1/parameters and /v1/site differ by app mode and Dify release, so an app's template root is built
per release (`root_for`). Defaults read at dify 1.12.0, 1.14.2 and 1.16.1: models/model.py
AppModelConfig.to_dict for easy-UI apps, core/app/app_config/common/parameters_mapping for workflow
and chatflow apps, controllers/common/fields.py Parameters/Site for the key order."""

from __future__ import annotations

import copy
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final

from msgspec import Struct, field

if TYPE_CHECKING:
    from mockserver.dify.dsl.graph_model import Graph
    from mockserver.dify.versions import Release

RUN_MODES: Final = frozenset({"workflow", "advanced-chat"})  # features come from the workflow graph

_OFF: Final = {"enabled": False}
_IMAGE_UPLOAD: Final = {
    "image": {"enabled": False, "number_limits": 3, "detail": "high", "transfer_methods": ["remote_url", "local_file"]}
}
# An easy-UI app (chat, agent-chat, completion) that configured nothing beyond its mode, at 1.16.
DEFAULT_PARAMETERS: Final[dict[str, Any]] = {
    "opening_statement": None,  # the raw column
    "suggested_questions": [],
    "suggested_questions_after_answer": _OFF,
    "speech_to_text": _OFF,
    "text_to_speech": _OFF,
    "retriever_resource": {"enabled": True},  # the property's default
    "annotation_reply": _OFF,
    "more_like_this": _OFF,
    "user_input_form": [],
    "sensitive_word_avoidance": {"enabled": False, "type": "", "config": {}},  # "configs": [] before 1.13.1
    "file_upload": _IMAGE_UPLOAD,
    "system_parameters": {
        "image_file_size_limit": 10,
        "video_file_size_limit": 100,
        "audio_file_size_limit": 50,
        "file_size_limit": 15,
        "workflow_file_upload_limit": 10,
    },
}
_LEGACY_AVOIDANCE: Final = {"enabled": False, "type": "", "configs": []}
# A workflow or chatflow's missing features get the mapping's fallbacks: citations off too.
_RUN_DEFAULTS: Final = {"retriever_resource": _OFF, "sensitive_word_avoidance": _LEGACY_AVOIDANCE}
# The New Agent (1.16) takes its upload settings from its agent config's defaults (agent_config_entities.py).
_AGENT_UPLOAD: Final = {
    "enabled": True,
    "allowed_file_extensions": ["JPG", "JPEG", "PNG", "GIF", "WEBP", "SVG"],
    "allowed_file_types": ["document", "image", "audio", "video"],
    "allowed_file_upload_methods": ["local_file", "remote_url"],
    "image": {"enabled": True},
    "number_limits": 3,
}

DEFAULT_SITE: Final[dict[str, Any]] = {
    "title": "",
    "chat_color_theme": None,
    "chat_color_theme_inverted": False,
    "icon_type": "emoji",
    "icon": "🤖",
    "icon_background": "#FFEAD5",
    "description": None,
    "copyright": None,
    "privacy_policy": None,
    "input_placeholder": None,  # new in 1.16
    "custom_disclaimer": "",
    "default_language": "en-US",
    "show_workflow_steps": True,
    "use_icon_as_answer_icon": False,
    "icon_url": None,  # a computed field, dumped last
}


def parameters_for(mode: str, release: Release, given: dict[str, Any]) -> dict[str, Any]:
    """/v1/parameters of an app of `mode` under `release`: Dify's defaults, then what _apps.yaml sets."""
    out = copy.deepcopy(DEFAULT_PARAMETERS)
    if mode in RUN_MODES:
        out.update(copy.deepcopy(_RUN_DEFAULTS))
    elif release.name == "1.12":
        out["sensitive_word_avoidance"] = dict(_LEGACY_AVOIDANCE)
    if mode == "agent":
        out["file_upload"] = copy.deepcopy(_AGENT_UPLOAD)
    out.update(copy.deepcopy(given))
    return out


def site_for(release: Release, site: dict[str, Any]) -> dict[str, Any]:
    if release.name == "1.16":
        return site
    return {k: v for k, v in site.items() if k != "input_placeholder"}


class App(Struct, eq=False):
    """An app of _apps.yaml (or a DSL file): its key, mode, identity and parameters."""

    key: Final[str]
    mode: Final[str]
    id: Final[str]
    name: Final[str]
    description: Final[str]
    workflow_id: Final[str | None]
    info: Final[dict[str, Any]]
    site: Final[dict[str, Any] | None]  # None: the app has no site (/v1/site answers 403); 1.16's shape
    site_code: Final[str | None]
    meta: Final[dict[str, Any]]
    parameters: Final[dict[str, Any]]  # what _apps.yaml sets; its user_input_form drives input validation
    extra: Final[dict[str, Any]] = field(default_factory=dict)
    source: Final[str] = ""  # the _apps.yaml (or DSL file) it came from
    dsl: Final[str] = ""  # the DSL file it was made from ("<POST /_mock/apps>" for a posted one); "" otherwise
    graph: Final[Graph | None] = None  # a DSL workflow or chatflow's graph (mockserver/dify/dsl/graph_model.py)
    warnings: Final[tuple[str, ...]] = ()  # the DSL's load warnings, each `FILE:LINE:COLUMN: text`
    notes: Final[tuple[str, ...]] = ()  # what the mock only imitates in this DSL app (DSL.md §A.2.5 "info")
    _roots: Final[dict[str, dict[str, Any]]] = field(default_factory=dict)
    # What requests work out of the app once (validation's input form), by name.
    memo: Final[dict[str, Any]] = field(default_factory=dict)

    def root_for(self, release: Release) -> dict[str, Any]:
        """What `{{ app.* }}` and `match: {app.*: ...}` see under `release`: every _apps.yaml field,
        completed. Built once per release; every request reads it, none writes it."""
        root = self._roots.get(release.name)
        if root is None:
            root = self._roots[release.name] = {
                **self.extra,
                "key": self.key,
                "mode": self.mode,
                "id": self.id,
                "name": self.name,
                "description": self.description,
                "workflow_id": self.workflow_id,
                "info": self.info,
                "site": site_for(release, self.site) if self.site is not None else None,
                "meta": self.meta,
                "parameters": parameters_for(self.mode, release, self.parameters),
            }
        return root


class AppsBook(Struct, eq=False, dict=True):
    """The apps, accounts and dataset keys the fixtures define."""

    apps: Final[dict[str, App]]
    accounts: Final[dict[str, dict[str, Any]]]
    dataset_keys: Final[dict[str, dict[str, Any]]]

    @cached_property
    def account_names(self) -> dict[str, str]:
        """Each account's display name by email, in file order (the first is the workspace owner)."""
        return {email: str((raw or {}).get("name") or email.partition("@")[0]) for email, raw in self.accounts.items()}


def build_app(key: str, raw: dict[str, Any], source: str = "") -> App:
    """An App from one validated `_apps.yaml` entry of the file `source`."""
    mode = raw["mode"]
    name = raw.get("name", key)
    description = raw.get("description", "")
    info = {"name": name, "description": description, "tags": [], "mode": mode, "author_name": ""}
    info.update(raw.get("info") or {})
    site: dict[str, Any] | None
    code: str | None = None
    if "site" in raw and raw["site"] is None:
        site = None
    else:
        given = dict(raw.get("site") or {})
        code = given.pop("code", None)
        site = {**copy.deepcopy(DEFAULT_SITE), "title": name, "description": description or None, **given}
    known = {"mode", "id", "name", "description", "workflow_id", "info", "site", "meta", "parameters"}
    return App(
        key=key,
        mode=mode,
        id=raw.get("id", "00000000-0000-4000-8000-000000000000"),
        name=name,
        description=description,
        workflow_id=raw.get("workflow_id"),
        info=info,
        site=site,
        site_code=code,
        meta={"tool_icons": {}, **(raw.get("meta") or {})},
        parameters=dict(raw.get("parameters") or {}),
        extra={k: v for k, v in raw.items() if k not in known},
        source=source,
    )


def introduction(app: App, inputs: dict[str, Any]) -> str:
    """A conversation's `introduction`: the opening statement with `{{var}}` filled from the inputs
    (Conversation.introduction in models/model.py); "" when the app has none."""
    text = app.parameters.get("opening_statement") or ""
    if "{{" not in text:
        return str(text)
    for name, value in inputs.items():
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            text = text.replace("{{" + name + "}}", str(value))
    return str(text)
