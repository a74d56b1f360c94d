"""App records from _apps.yaml, completed with Dify's defaults for info, site, meta and parameters."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Final

APP_MODES: Final = ("chat", "advanced-chat", "agent-chat", "agent", "completion", "workflow")
CHAT_MODES: Final = frozenset({"chat", "advanced-chat", "agent-chat", "agent"})

# Dify's answer for an app that configured nothing beyond its mode (REFERENCE §7).
DEFAULT_PARAMETERS: Final[dict[str, Any]] = {
    "opening_statement": "",
    "suggested_questions": [],
    "suggested_questions_after_answer": {"enabled": False},
    "speech_to_text": {"enabled": False},
    "text_to_speech": {"enabled": False, "voice": "", "language": "", "autoPlay": "disabled"},
    "retriever_resource": {"enabled": True},
    "annotation_reply": {"enabled": False},
    "more_like_this": {"enabled": False},
    "sensitive_word_avoidance": {"enabled": False},
    "user_input_form": [],
    "file_upload": {
        "image": {
            "enabled": False,
            "number_limits": 3,
            "detail": "high",
            "transfer_methods": ["remote_url", "local_file"],
        }
    },
    "system_parameters": {
        "file_size_limit": 15,
        "image_file_size_limit": 10,
        "audio_file_size_limit": 50,
        "video_file_size_limit": 100,
        "workflow_file_upload_limit": 10,
    },
}

DEFAULT_SITE: Final[dict[str, Any]] = {
    "title": "",
    "chat_color_theme": None,
    "chat_color_theme_inverted": False,
    "icon_type": "emoji",
    "icon": "🤖",
    "icon_background": "#FFEAD5",
    "icon_url": None,
    "description": None,
    "copyright": None,
    "privacy_policy": None,
    "input_placeholder": None,
    "custom_disclaimer": "",
    "default_language": "en-US",
    "show_workflow_steps": True,
    "use_icon_as_answer_icon": False,
}


@dataclass(frozen=True, slots=True)
class App:
    key: str
    mode: str
    id: str
    name: str
    description: str
    workflow_id: str | None
    info: dict[str, Any]
    site: dict[str, Any] | None  # None: the app has no site (/v1/site answers 403)
    site_code: str | None
    meta: dict[str, Any]
    parameters: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)
    root: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Built once: every request's templates and matcher read it (never written to).
        self.root.update(self._template_root())

    def as_template_root(self) -> dict[str, Any]:
        """What `{{ app.* }}` and `match: {app.*: ...}` see: every _apps.yaml field, completed."""
        return self.root

    def _template_root(self) -> dict[str, Any]:
        return {
            **self.extra,
            "key": self.key,
            "mode": self.mode,
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "workflow_id": self.workflow_id,
            "info": self.info,
            "site": self.site,
            "meta": self.meta,
            "parameters": self.parameters,
        }


@dataclass(frozen=True, slots=True)
class AppsBook:
    apps: dict[str, App]
    accounts: dict[str, dict[str, Any]]
    dataset_keys: dict[str, dict[str, Any]]


def build_app(key: str, raw: dict[str, Any]) -> App:
    """An App from one validated `_apps.yaml` entry."""
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
    parameters = copy.deepcopy(DEFAULT_PARAMETERS)
    for k, v in (raw.get("parameters") or {}).items():
        parameters[k] = v
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
        parameters=parameters,
        extra={k: v for k, v in raw.items() if k not in known},
    )
