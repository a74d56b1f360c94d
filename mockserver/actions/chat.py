"""Chat and completion generation: conversations, messages, task ids; stopping a running task."""

from __future__ import annotations

import uuid
from typing import Any

from mockserver.actions import ActContext, Action, Ending, variables, workflow_runs
from mockserver.actions.conversations import message_record
from mockserver.actions.filerefs import check_file_refs
from mockserver.actions.users import end_user_id, owner
from mockserver.actions.workflows import published_workflow
from mockserver.dify.apps import introduction
from mockserver.state.conversations import Conversations, generated_name, initial_name
from mockserver.state.records import Conversation


def _commit_exchange(ctx: ActContext, outcome: Any) -> None:
    """The turn as Dify stores it: a new conversation named after the query (Dify's namer runs a second
    later; the mock names it at once, deterministically), then the message with its usage."""
    call, bound = ctx.call, ctx.bound
    backend = Conversations(ctx.tenant.state)
    app, user = owner(ctx)
    # A new conversation's id was drawn for this request: no lookup can find it.
    conversation = (
        None
        if bound.get("new_conversation")
        else backend.store.conversations.get(bound["conversation_id"], app=app, user=user)
    )
    if conversation is None:
        query = str(call.payload.get("query") or "")
        named = call.payload.get("auto_generate_name", True) is not False
        conversation = backend.start(
            Conversation(
                id=bound["conversation_id"],
                app=app,
                user=user,
                inputs=call.inputs,
                introduction=introduction(call.app, call.inputs) if call.app else "",
                created_at=ctx.now,
                updated_at=ctx.now,
                name=generated_name(query) if named and query else initial_name(query),
            )
        )
    if call.app is not None and call.app.mode == "advanced-chat":
        variables.seed(conversation, call.app.extra.get("conversation_variables"), ctx.now)
        variables.assign(conversation, bound.get("assigned"), ctx.now)  # a DSL run's assigner writes
        workflow_runs.record_run(ctx, logged=False)  # a chatflow turn is a run too, never in the logs
    message = ctx.bound["message"] = message_record(ctx, conversation.id, outcome)
    backend.add_message(conversation, message, ctx.now)


def _ended(ctx: ActContext, ending: Ending) -> None:
    """A turn whose stream ended in an error event is stored as Dify stores it: status error, its text;
    a chatflow's run row follows its stream too."""
    message = ctx.bound.get("message")
    if message is not None and ending.outcome == "error":
        message.status, message.error = "error", ending.error or ""
    workflow_runs.ended(ctx, ending)


def _conversation(ctx: ActContext) -> None:
    """ConversationService.get_conversation: the caller's own conversation of this app, else 404."""
    wanted = ctx.call.payload.get("conversation_id")  # canonical, or None for a new conversation
    if not wanted:
        return
    backend = Conversations(ctx.tenant.state)
    conversation = backend.find(wanted, *owner(ctx))
    ctx.bound["conversation_id"] = conversation.id
    ctx.bound["dialogue_count"] = len(backend.messages(conversation)) + 1


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


def _commit_completion(ctx: ActContext, outcome: Any) -> None:
    """A completion message lives in an internal conversation no route lists; it is kept so that the
    files it carries can be previewed."""
    conversation_id = ctx.draws.uuid("completion_conversation")
    message = ctx.bound["message"] = message_record(ctx, conversation_id, outcome)
    ctx.tenant.state.add_message(message)


ACTIONS = (
    Action(
        "chat.exchange",
        exchange,
        _commit_exchange,
        checks=(("conversation", _conversation), ("workflow_id", _chatflow_workflow), ("files", check_file_refs)),
        ended=_ended,
        changes_kept=False,  # a new conversation or message, a run; a kept conversation's variables weigh nothing
    ),
    Action(
        "completion.generate",
        generate,
        _commit_completion,
        checks=(("files", check_file_refs),),
        changes_kept=False,  # a new message
    ),
    Action("task.stop", stop),
)
