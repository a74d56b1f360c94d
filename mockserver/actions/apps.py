"""App information endpoints: the site (403 when the app has none), the parameters."""

from __future__ import annotations

from typing import Any

from mockserver.actions import ActContext, Action
from mockserver.actions.annotation import reply_parameters
from mockserver.errors import DifyError


def _has_site(ctx: ActContext) -> None:
    app = ctx.call.app
    if app is None or app.site is None:
        raise DifyError("forbidden")


def _nothing(ctx: ActContext) -> dict[str, Any]:
    return {}


def parameters(ctx: ActContext) -> dict[str, Any]:
    """The app's parameters (_apps.yaml over Dify's defaults), with the annotation-reply setting its
    enable and disable requests left."""
    app = ctx.call.app
    found = dict(app.root_for(ctx.call.release)["parameters"]) if app is not None else {}
    reply = reply_parameters(ctx)
    if reply is not None:
        found["annotation_reply"] = reply
    if ctx.settings.upload_limit and isinstance(found.get("system_parameters"), dict):
        # Dify reads both the upload check and these from the same UPLOAD_*_FILE_SIZE_LIMIT settings.
        limits = {
            f"{c}_file_size_limit" if c != "other" else "file_size_limit": ctx.settings.upload_limit_mb(c)
            for c in ("image", "video", "audio", "other")
        }
        found["system_parameters"] = {**found["system_parameters"], **limits}
    return {"result": found}


ACTIONS = (
    Action("app.site", _nothing, checks=(("site", _has_site),)),
    Action("app.parameters", parameters),
)
