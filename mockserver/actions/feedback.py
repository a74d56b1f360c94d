"""Message feedback, the app's feedback list and suggested questions: Dify's MessageService rules
(create_feedback, get_all_messages_feedbacks, get_suggested_questions_after_answer) read at dify
1.12.0, 1.14.2 and 1.16.1; /work/research/appkey_misc.md §5-§7."""

from __future__ import annotations

from typing import Any, Final

from mockserver.actions import ActContext, Action
from mockserver.actions.serialize import View, body
from mockserver.actions.users import end_user_id, iso, owner
from mockserver.determinism import derive_random
from mockserver.errors import DifyError
from mockserver.state.records import Feedback, Message

FEEDBACK_VIEWS: Final[dict[str, View]] = {
    "created_at": lambda f: iso(f.created_at),
    "updated_at": lambda f: iso(f.updated_at),
}
# What the mock suggests after an answer when the app's feature is on (Dify asks a model for three
# short follow-ups); drawn per message from the request's seed, so the same history gives the same ones.
QUESTIONS: Final = (
    "Can you explain more?",
    "What are the next steps?",
    "Any examples?",
    "How does it compare?",
    "What should I avoid?",
    "Where can I learn more?",
    "Is there a shortcut?",
    "Why is that?",
)


def _message(ctx: ActContext) -> Message:
    """MessageService.get_message: this end user's message of this app, else 404 (no restx hint)."""
    wanted = ctx.call.path["message_id"].lower()
    app, user = owner(ctx)
    return ctx.tenant.state.messages.require(wanted, app=app, user=user)


def _mine(feedbacks: Any, message: Message) -> Feedback | None:
    return next((f for f in feedbacks if f.message_id == message.id), None)


def _check_feedback(ctx: ActContext) -> None:
    message = ctx.bound["message"] = _message(ctx)
    ctx.bound["existing"] = _mine(ctx.tenant.state.feedbacks.where(app=message.app), message)
    if ctx.call.payload.get("rating") is None and ctx.bound["existing"] is None:
        raise DifyError("invalid_param", "rating cannot be None when feedback not exists")


def feedback(ctx: ActContext) -> dict[str, Any]:
    return {"result": {"result": "success"}}


def _commit_feedback(ctx: ActContext, _body: Any) -> None:
    """null revokes; a rating replaces the old one and its content (an omitted content clears it)."""
    message: Message = ctx.bound["message"]
    existing: Feedback | None = ctx.bound["existing"]
    rating, content = ctx.call.payload.get("rating"), ctx.call.payload.get("content")
    store = ctx.tenant.state.feedbacks
    if rating is None:
        if existing is not None:
            store.remove(existing.id)
            message.feedback = None
        return
    if existing is not None:
        existing.rating, existing.content, existing.updated_at = rating, content, ctx.now
    else:
        app_id = ctx.call.app.id if ctx.call.app else ""
        record = Feedback(
            ctx.draws.uuid("feedback"),
            message.app,
            message.user,
            message.id,
            message.conversation_id,
            rating,
            content,
            end_user_id(ctx),
            ctx.now,
            ctx.now,
            app_id=app_id,
        )
        store.add(record)
    message.feedback = {"rating": rating}


def app_feedbacks(ctx: ActContext) -> dict[str, Any]:
    """Every feedback of the app, newest first, `page`/`limit` (1-101) with no paging envelope."""
    page, limit = ctx.call.params["page"], ctx.call.params["limit"]
    rows = sorted(
        ctx.tenant.state.feedbacks.where(app=owner(ctx)[0]), key=lambda f: (f.created_at, f.created_seq), reverse=True
    )
    chosen = rows[(page - 1) * limit : page * limit]
    return {"result": {"data": [body(ctx, f, FEEDBACK_VIEWS) for f in chosen]}}


def _check_suggested(ctx: ActContext) -> None:
    ctx.bound["message"] = _message(ctx)
    app = ctx.call.app
    features = app.root_for(ctx.call.release)["parameters"] if app is not None else {}
    if not (features.get("suggested_questions_after_answer") or {}).get("enabled"):
        raise DifyError("bad_request", "Suggested Questions Is Disabled.")


def suggested(ctx: ActContext) -> dict[str, Any]:
    message: Message = ctx.bound["message"]
    # Seeded by the message, not the call: asking again gives the same questions.
    picks = derive_random((ctx.tenant.seed, "suggested", message.id)).sample(QUESTIONS, 3)
    return {"result": {"result": "success", "data": picks}}


ACTIONS = (
    Action("feedback.create", feedback, _commit_feedback, checks=(("message", _check_feedback),)),
    Action("feedback.list", app_feedbacks),
    Action("message.suggested", suggested, checks=(("message", _check_suggested),)),
)
