"""A chatflow conversation's variables: made from the app's `conversation_variables` at the
conversation's first run, listed and updated as ConversationService does (dify 1.12.0-1.16.1;
/work/research/appkey_misc.md §2-§4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from msgspec.structs import replace

from mockserver.actions import ActContext, Action
from mockserver.actions.serialize import View, body
from mockserver.actions.users import owner
from mockserver.dify import variables
from mockserver.errors import DifyError
from mockserver.state.conversations import Conversations
from mockserver.state.pagination import Page
from mockserver.state.records import Conversation, ConversationVariable

VIEWS: Final[dict[str, View]] = {
    "value_type": lambda v: variables.exposed_type(v.value_type),
    "value": lambda v: variables.shown(v.value),
}


def seed(conversation: Conversation, definitions: Any, now: int) -> None:
    """The advanced-chat runner's first step of every run: the variables the conversation lacks, at
    their declared values (all made in one transaction, so they share one created_at)."""
    have = {v.id for v in conversation.variables}
    made = []
    for item in definitions if isinstance(definitions, list) else ():
        if isinstance(item, dict) and item.get("id") and item["id"] not in have:
            value = item.get("value")
            stored = variables.stored_type(str(item.get("value_type", "string")), value)
            name, about = str(item.get("name", "")), str(item.get("description") or "")
            made.append(ConversationVariable(item["id"], name, stored, value, about, now, now))
    if made:
        conversation.variables = [*conversation.variables, *made]


def current(ctx: ActContext) -> dict[str, Any] | None:
    """The values a chatflow turn starts from, by name: the continued conversation's stored variables
    (after a PUT, after earlier turns' assigners); None for a new conversation (its declared values)."""
    if ctx.bound.get("new_conversation", True):
        return None
    conversation = Conversations(ctx.tenant.state).store.conversations.get(
        str(ctx.bound.get("conversation_id")), app=owner(ctx)[0], user=owner(ctx)[1]
    )
    return None if conversation is None else {v.name: v.value for v in conversation.variables}


def assign(conversation: Conversation, assigned: Any, now: int) -> None:
    """An assigner's writes of the turn (name -> value): ConversationVariableUpdater.update sets the
    row's data; `updated_at` moves (onupdate), the type stays (the variable's model_copy keeps it)."""
    for variable in conversation.variables:
        if isinstance(assigned, dict) and variable.name in assigned:
            variable.value, variable.updated_at = assigned[variable.name], now


def storer(ctx: ActContext) -> Callable[[dict[str, Any], int], None]:
    """Stores writes on this turn's conversation later: those of the turn's resumed part, once its
    forms are submitted (render/resume.py); the conversation is looked up then."""
    state, conversation_id, (app, user) = ctx.tenant.state, str(ctx.bound.get("conversation_id")), owner(ctx)

    def store(assigned: dict[str, Any], now: int) -> None:
        conversation = Conversations(state).store.conversations.get(conversation_id, app=app, user=user)
        if conversation is not None:
            assign(conversation, assigned, now)

    return store


def _conversation(ctx: ActContext) -> Conversation:
    return Conversations(ctx.tenant.state).find(ctx.call.path["conversation_id"].lower(), *owner(ctx))


def _listing(ctx: ActContext) -> None:
    conversation = _conversation(ctx)
    p = ctx.call.params
    rows = conversation.variables
    if p.get("variable_name"):
        wanted = str(p["variable_name"]).lower()
        rows = [v for v in rows if wanted in v.name.lower()]
    if p.get("last_id"):
        ref = next((v for v in rows if v.id == p["last_id"]), None)
        if ref is None:
            raise DifyError("invalid_param", "")  # ConversationVariableNotExistsError(), uncaught: no text
        # Strictly later than the cursor's created_at: variables made together are never on page 2.
        rows = [v for v in rows if v.created_at > ref.created_at]
    ctx.bound["rows"] = rows


def listed(ctx: ActContext) -> dict[str, Any]:
    rows, limit = ctx.bound["rows"], ctx.call.params["limit"]
    page = Page(rows[:limit], limit, len(rows) > limit)
    return {"result": page.envelope([body(ctx, v, VIEWS) for v in page.items])}


def _updating(ctx: ActContext) -> None:
    conversation = _conversation(ctx)
    wanted = ctx.call.path["variable_id"].lower()
    found = next((v for v in conversation.variables if v.id == wanted), None)
    if found is None:
        raise DifyError("not_found", "Conversation Variable Not Exists.")
    ctx.bound["variable"] = found
    ctx.bound["value"] = variables.updated(found.name, found.value_type, ctx.call.payload.get("value"))


def update(ctx: ActContext) -> dict[str, Any]:
    found: ConversationVariable = ctx.bound["variable"]
    return {"result": body(ctx, replace(found, value=ctx.bound["value"], updated_at=ctx.now), VIEWS)}


def _commit_update(ctx: ActContext, _body: Any) -> None:
    found: ConversationVariable = ctx.bound["variable"]
    found.value, found.updated_at = ctx.bound["value"], ctx.now  # the conversation's own updated_at stays


ACTIONS = (
    Action("conversation.variables", listed, checks=(("conversation", _listing),)),
    Action("conversation.variable_update", update, _commit_update, checks=(("variable", _updating),)),
)
