"""End users: Dify keeps one per (app, user string)."""

from __future__ import annotations

from mockserver.actions import ActContext
from mockserver.determinism import derive_uuid
from mockserver.state.conversations import DEFAULT_USER


def end_user_id(ctx: ActContext) -> str:
    """The end user's id, stable for the tenant and app."""
    app_key = ctx.call.app.key if ctx.call.app else "-"
    return derive_uuid((ctx.tenant.seed, ctx.tenant.id, "end_user", app_key, ctx.call.user or "DEFAULT-USER"))


def owner(ctx: ActContext) -> tuple[str, str]:
    """(app key, end user): a request without `user` acts as Dify's DEFAULT-USER."""
    return (ctx.call.app.key if ctx.call.app else "", ctx.call.user or DEFAULT_USER)
