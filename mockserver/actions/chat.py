"""Chat and completion generation: conversations, messages, task ids; stopping a running task."""

from __future__ import annotations

import uuid
from typing import Any

from mockserver.actions import ActContext, Action
from mockserver.actions.users import end_user_id
from mockserver.actions.workflows import published_workflow
from mockserver.errors import DifyError
from mockserver.state.records import Conversation, Message

MAX_CONVERSATIONS = 1000  # per tenant
MAX_MESSAGES = 1000  # per conversation


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
    query = call.payload.get("query", "")
    conversation.messages.append(
        Message(bound["message_id"], conversation.id, str(query), answer, call.inputs, ctx.now)
    )
    del conversation.messages[:-MAX_MESSAGES]


def _conversation(ctx: ActContext) -> None:
    """ConversationService.get_conversation: the caller's own conversation of this app, else 404."""
    call = ctx.call
    wanted = call.payload.get("conversation_id")  # canonical, or None for a new conversation
    if not wanted:
        return
    conversation = ctx.tenant.state.conversations.get(wanted)
    app_key = call.app.key if call.app else ""
    if conversation is None or conversation.app_key != app_key or conversation.user != call.user:
        raise DifyError("not_found", "Conversation Not Exists.")
    ctx.bound["conversation_id"] = conversation.id
    ctx.bound["dialogue_count"] = len(conversation.messages) + 1


def _chatflow_workflow(ctx: ActContext) -> None:
    """An advanced-chat request may name a published workflow version to run (audit F6)."""
    wanted = ctx.call.payload.get("workflow_id")
    if wanted and ctx.call.app is not None and ctx.call.app.mode == "advanced-chat":
        published_workflow(ctx, wanted)


def exchange(ctx: ActContext) -> dict[str, Any]:
    """Continue the caller's conversation (found by the check) or start one."""
    call, found = ctx.call, ctx.bound.get("conversation_id")
    if found:
        ctx.draws.pin("conversation", found)
    bound = {
        "conversation_id": found or ctx.draws.uuid("conversation"),
        "message_id": ctx.draws.uuid("message"),
        "task_id": ctx.draws.uuid("task"),
        "new_conversation": not found,
        "dialogue_count": ctx.bound.get("dialogue_count", 1),
        "end_user_id": end_user_id(ctx),
    }
    if call.app is not None and call.app.mode == "advanced-chat":
        # A chatflow answer is a workflow run too: its workflow and node events carry the run id.
        bound["workflow_run_id"] = ctx.draws.uuid("workflow_run")
        wanted = call.payload.get("workflow_id")
        bound["workflow_id"] = str(uuid.UUID(wanted)) if wanted else call.app.workflow_id or ctx.draws.uuid("workflow")
    return bound


def generate(ctx: ActContext) -> dict[str, Any]:
    # Completion messages live in an internal conversation Dify never exposes.
    return {"message_id": ctx.draws.uuid("message"), "task_id": ctx.draws.uuid("task"), "end_user_id": end_user_id(ctx)}


def stop(ctx: ActContext) -> dict[str, Any]:
    """Always success (REFERENCE §3.5). AppTaskService.stop_task sets the user-checked stop flag, and for
    advanced-chat and workflow also sends the graph engine's stop command, which checks no user
    (services/app_task_service.py, dify 1.12.0 :39-45, 1.16.1 :40-46): a chatflow run stops whoever
    asks; a chat or completion only for its own user; the workflow route never checks."""
    task = ctx.tenant.state.tasks.get(ctx.call.path.get("task_id", ""))
    if task is None or task.app_key != (ctx.call.app.key if ctx.call.app else ""):
        return {"result": "success"}
    owner = task.user == ctx.call.user
    graph = task.mode in ("advanced-chat", "workflow")
    if owner or graph:
        # Who stopped it decides the run's ending: the owner's flag stops it, a stranger's graph
        # command alone aborts it (dify/versions.py Release.stop_ending).
        task.by_owner = owner or ctx.call.spec.id == "service.stop_workflow_task"
        task.stopped.set()
    return {"result": "success"}


ACTIONS = (
    Action(
        "chat.exchange",
        exchange,
        _commit_exchange,
        checks=(("conversation", _conversation), ("workflow_id", _chatflow_workflow)),
    ),
    Action("completion.generate", generate),
    Action("task.stop", stop),
)
