"""End users: Dify keeps one per (app, `user` string), made the first time a request names it, and
answers with it at GET /v1/end-users/{id}."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from mockserver.actions import ActContext, Action
from mockserver.actions.serialize import View, body
from mockserver.determinism import derive_uuid
from mockserver.state.conversations import DEFAULT_USER
from mockserver.state.records import EndUser

MEMO_SIZE: Final = 4096  # end-user ids a tenant keeps at hand (more are derived anew)


def end_user_id(ctx: ActContext) -> str:
    """The end user's id, stable for the tenant and app."""
    known = ctx.bound.get("end_user_id")
    if known is not None:
        return str(known)
    app_key = ctx.call.app.key if ctx.call.app else "-"
    user = ctx.call.user or DEFAULT_USER
    memo, tenant = ctx.tenant.memo, ctx.tenant
    found = memo.get(("end_user", app_key, user))
    if found is None:
        if len(memo) >= MEMO_SIZE:
            memo.clear()
        found = memo["end_user", app_key, user] = derive_uuid((tenant.seed, tenant.id, "end_user", app_key, user))
    return found


def workspace_id(ctx: ActContext) -> str:
    """The tenant's workspace id (Dify's tenant_id), stable for the tenant and seed."""
    return derive_uuid((ctx.tenant.seed, ctx.tenant.id, "workspace"))


def owner(ctx: ActContext) -> tuple[str, str]:
    """(app key, end user): a request without `user` acts as Dify's DEFAULT-USER."""
    return (ctx.call.app.key if ctx.call.app else "", ctx.call.user or DEFAULT_USER)


def remember(ctx: ActContext) -> None:
    """validate_app_token creates the end user a request names (DEFAULT-USER when it names none)."""
    app = ctx.call.app
    if ctx.call.spec.user is None or app is None:
        return
    found = ctx.bound["end_user_id"] = end_user_id(ctx)
    users = ctx.tenant.state.end_users
    if users.get(found) is None:
        user = ctx.call.user or DEFAULT_USER
        users.add(EndUser(found, app.key, user, ctx.now, app_id=app.id, tenant_id=workspace_id(ctx)))


def iso(seconds: int) -> str:
    """A naive UTC datetime's isoformat(), as Dify's end-user and feedback bodies print them (no `Z`)."""
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None).isoformat()


END_USER_VIEWS: Final[dict[str, View]] = {
    "external_user_id": lambda u: u.user,
    "session_id": lambda u: u.user,
    "is_anonymous": lambda u: u.user == DEFAULT_USER,
    "created_at": lambda u: iso(u.created_at),
    "updated_at": lambda u: iso(u.created_at),
}


def _the_end_user(ctx: ActContext) -> None:
    wanted = ctx.call.path["end_user_id"].lower()
    ctx.bound["end_user"] = ctx.tenant.state.end_users.require(wanted, app=owner(ctx)[0])


def get(ctx: ActContext) -> dict[str, Any]:
    return {"result": body(ctx, ctx.bound["end_user"], END_USER_VIEWS)}


ACTIONS = (Action("end_user.get", get, checks=(("end_user", _the_end_user),)),)
