"""App information endpoints: the site (403 when the app has none)."""

from __future__ import annotations

from typing import Any

from mockserver.actions import ActContext, Action
from mockserver.errors import DifyError


def _has_site(ctx: ActContext) -> None:
    app = ctx.call.app
    if app is None or app.site is None:
        raise DifyError("forbidden")


def _nothing(ctx: ActContext) -> dict[str, Any]:
    return {}


ACTIONS = (Action("app.site", _nothing, checks=(("site", _has_site),)),)
