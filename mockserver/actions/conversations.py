"""Conversation and message routes: thin adapters binding the request to the conversation backend;
bodies are the records serialised through each endpoint's response schema."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from msgspec.structs import replace

from mockserver.actions import ActContext, Action
from mockserver.actions.serialize import View, body, page_body
from mockserver.actions.users import owner
from mockserver.state.conversations import Conversations
from mockserver.state.pagination import Page
from mockserver.state.records import Message

_PRICE_SCALE: Final = Decimal("0.0000001")  # messages.total_price is Numeric(10, 7)


def _usage(m: Message) -> dict[str, Any]:
    usage = m.metadata.get("usage")
    return usage if isinstance(usage, dict) else {}


def _resources(m: Message) -> list[Any]:
    found = m.metadata.get("retriever_resources")
    return found if isinstance(found, list) else []


MESSAGE_VIEWS: Final[dict[str, View]] = {
    "retriever_resources": _resources,
    "message_tokens": lambda m: int(_usage(m).get("prompt_tokens") or 0),
    "answer_tokens": lambda m: int(_usage(m).get("completion_tokens") or 0),
    "provider_response_latency": lambda m: float(_usage(m).get("latency") or 0.0),
    # Read back from a Numeric(10, 7) column and dumped as a string: "0.0012825", zero as "0E-7".
    "total_price": lambda m: str(Decimal(str(_usage(m).get("total_price") or 0)).quantize(_PRICE_SCALE)),
    "currency": lambda m: str(_usage(m).get("currency") or "USD"),
    "total_tokens": lambda m: int(_usage(m).get("prompt_tokens") or 0) + int(_usage(m).get("completion_tokens") or 0),
}


def list_conversations(ctx: ActContext) -> dict[str, Any]:
    app, user = owner(ctx)
    p = ctx.call.params
    page = Conversations(ctx.tenant.state).page(app, user, p.get("last_id") or None, p["limit"], p["sort_by"])
    return {"result": page_body(ctx, page)}


def list_messages(ctx: ActContext) -> dict[str, Any]:
    p = ctx.call.params
    if not p["conversation_id"]:  # `conversation_id=` is valid and lists nothing
        return {"result": Page([], p["limit"], False).envelope([])}
    backend = Conversations(ctx.tenant.state)
    conversation = backend.find(p["conversation_id"], *owner(ctx))
    page = backend.message_page(conversation, p.get("first_id") or None, p["limit"])
    return {"result": page_body(ctx, page, MESSAGE_VIEWS)}


def _renaming(ctx: ActContext) -> None:
    """The caller's conversation (404) and the name it gets (auto-naming one without messages: 400)."""
    backend = Conversations(ctx.tenant.state)
    conversation = backend.find(ctx.call.path["conversation_id"].lower(), *owner(ctx))
    auto = bool(ctx.call.payload.get("auto_generate"))
    ctx.bound["rename"] = (conversation, backend.new_name(conversation, ctx.call.payload.get("name"), auto), auto)


def rename(ctx: ActContext) -> dict[str, Any]:
    """The renamed conversation's body; the store changes only in the commit, after the faults."""
    conversation, name, auto = ctx.bound["rename"]
    if not Conversations.renames(conversation, name, auto):
        return {"result": body(ctx, conversation)}
    return {"result": body(ctx, replace(conversation, name=name, updated_at=ctx.now))}


def _commit_rename(ctx: ActContext, _body: Any) -> None:
    conversation, name, auto = ctx.bound["rename"]
    Conversations(ctx.tenant.state).rename(conversation, name, ctx.now, auto)


def _delete(ctx: ActContext) -> None:
    """A check, so a refused delete never uses up a fault and a 204 commits nothing twice."""
    backend = Conversations(ctx.tenant.state)
    wanted = ctx.call.path["conversation_id"].lower()
    how = ctx.call.release.conversation_delete
    if how == "any":  # 1.12: by id alone, whoever owns it; an unknown id deletes nothing
        ctx.bound["doomed"] = backend.owned_anywhere(wanted)
        return
    ctx.bound["doomed"] = backend.find(wanted, *owner(ctx))


def delete(ctx: ActContext) -> dict[str, Any]:
    return {"result": None}


def _commit_delete(ctx: ActContext, _body: Any) -> None:
    doomed = ctx.bound.get("doomed")
    if doomed is not None:
        Conversations(ctx.tenant.state).delete(doomed, soft=ctx.call.release.conversation_delete == "soft")


def message_record(ctx: ActContext, conversation_id: str, outcome: Any) -> Message:
    """The Message a chat turn leaves: its answer, and its usage as the message_end metadata reports it."""
    answer = outcome.get("answer", "") if isinstance(outcome, dict) else ""
    metadata = outcome.get("metadata") if isinstance(outcome, dict) else None
    app, user = owner(ctx)
    return Message(
        id=ctx.bound["message_id"],
        conversation_id=conversation_id,
        app=app,
        user=user,
        inputs=ctx.call.inputs,
        query=str(ctx.call.payload.get("query") or ""),
        answer=str(answer),
        created_at=ctx.now,
        metadata=metadata if isinstance(metadata, dict) else {},
        message_files=tuple(ctx.bound.get("message_files") or ()),
        agent_thoughts=_thoughts(ctx.bound.get("events") or ()),
    )


def _thoughts(events: Any) -> tuple[dict[str, Any], ...]:
    """The agent_thought events as Dify stores them: the last version of each step, by position."""
    if not events:
        return ()
    steps: dict[Any, dict[str, Any]] = {}
    for event in events:
        if event.get("event") == "agent_thought":
            steps[event.get("id")] = {**event, "files": event.get("message_files") or []}
    return tuple(sorted(steps.values(), key=lambda s: s.get("position") or 0))


ACTIONS = (
    Action("conversation.list", list_conversations),
    Action("message.list", list_messages),
    Action("conversation.rename", rename, _commit_rename, checks=(("conversation", _renaming),)),
    Action("conversation.delete", delete, _commit_delete, checks=(("conversation", _delete),)),
)
