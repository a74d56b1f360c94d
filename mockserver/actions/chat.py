"""Chat and completion generation: conversations, messages, task ids; stopping a running task."""

from __future__ import annotations

from typing import Any

from mockserver.determinism import derive_uuid
from mockserver.errors import DifyError
from mockserver.state import Conversation, Message

from . import ActContext, Action

MAX_CONVERSATIONS = 1000  # per tenant
MAX_MESSAGES = 1000  # per conversation


def end_user_id(ctx: ActContext) -> str:
    """Dify keeps one end user per (app, user string); its id is stable for the tenant."""
    app_key = ctx.call.app.key if ctx.call.app else "-"
    return derive_uuid((ctx.tenant.seed, ctx.tenant.id, "end_user", app_key, ctx.call.user or "DEFAULT-USER"))


def _commit_exchange(ctx: ActContext, answer: str) -> None:
    call, bound, state = ctx.call, ctx.bound, ctx.tenant.state
    conversation = state.conversations.get(bound["conversation_id"])
    if conversation is None:
        conversation = Conversation(
            id=bound["conversation_id"],
            app_key=call.app.key if call.app else "",
            user=call.user or "",
            inputs=call.inputs,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        state.conversations[conversation.id] = conversation
        while len(state.conversations) > MAX_CONVERSATIONS:  # the oldest go first: memory stays bounded
            del state.conversations[next(iter(state.conversations))]
    conversation.updated_at = ctx.now
    query = call.body.get("query", "") if isinstance(call.body, dict) else ""
    conversation.messages.append(
        Message(bound["message_id"], conversation.id, str(query), answer, call.inputs, ctx.now)
    )
    del conversation.messages[:-MAX_MESSAGES]


def exchange(ctx: ActContext) -> dict[str, Any]:
    """Continue the caller's conversation or start one; 404 for an unknown or foreign id."""
    call = ctx.call
    raw = call.body.get("conversation_id") if isinstance(call.body, dict) else None
    wanted = (raw or "").strip()
    if wanted:
        conversation = ctx.tenant.state.conversations.get(wanted.lower())
        app_key = call.app.key if call.app else ""
        if conversation is None or conversation.app_key != app_key or conversation.user != call.user:
            raise DifyError("not_found", "Conversation Not Exists.")
        conversation_id = conversation.id
        ctx.draws.pin("conversation", conversation_id)
    else:
        conversation_id = ctx.draws.uuid("conversation")
    bound = {
        "conversation_id": conversation_id,
        "message_id": ctx.draws.uuid("message"),
        "task_id": ctx.draws.uuid("task"),
        "new_conversation": not wanted,
        "end_user_id": end_user_id(ctx),
    }
    if call.app is not None and call.app.mode == "advanced-chat":
        # A chatflow answer is a workflow run too: its workflow and node events carry the run id.
        bound["workflow_run_id"] = ctx.draws.uuid("workflow_run")
        bound["workflow_id"] = call.app.workflow_id or ctx.draws.uuid("workflow")
    return bound


def generate(ctx: ActContext) -> dict[str, Any]:
    # Completion messages live in an internal conversation Dify never exposes.
    return {"message_id": ctx.draws.uuid("message"), "task_id": ctx.draws.uuid("task"), "end_user_id": end_user_id(ctx)}


def stop(ctx: ActContext) -> dict[str, Any]:
    """Always success (REFERENCE §3.5); stops only the caller's own chat/completion task,
    while workflow tasks are stopped without a user check."""
    task = ctx.tenant.state.tasks.get(ctx.call.path.get("task_id", ""))
    kind = {"service.stop_workflow_task": "workflow"}.get(ctx.call.spec.id)
    same_app = task is not None and task.app_key == (ctx.call.app.key if ctx.call.app else "")
    if task is not None and same_app and (kind == "workflow" or task.user == ctx.call.user):
        task.stopped.set()
    return {"result": "success"}


ACTIONS = (
    Action("chat.exchange", exchange, _commit_exchange),
    Action("completion.generate", generate),
    Action("task.stop", stop),
)
