"""App information endpoints: the site (403 when the app has none)."""

from __future__ import annotations

from typing import Any

from mockserver.errors import DifyError

from . import ActContext, Action


def site(ctx: ActContext) -> dict[str, Any]:
    app = ctx.call.app
    if app is None or app.site is None:
        raise DifyError("forbidden")
    return {}


ACTIONS = (Action("app.site", site),)
