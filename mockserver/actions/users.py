"""End users: Dify keeps one per (app, user string)."""

from __future__ import annotations

from mockserver.actions import ActContext
from mockserver.determinism import derive_uuid


def end_user_id(ctx: ActContext) -> str:
    """The end user's id, stable for the tenant and app."""
    app_key = ctx.call.app.key if ctx.call.app else "-"
    return derive_uuid((ctx.tenant.seed, ctx.tenant.id, "end_user", app_key, ctx.call.user or "DEFAULT-USER"))
