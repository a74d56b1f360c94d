"""Workflow runs: run ids, and the workflow_id checks of the by-id route (and of a chatflow's body)."""

from __future__ import annotations

import uuid
from typing import Any

from mockserver.actions import ActContext, Action, workflow_runs
from mockserver.actions.filerefs import check_file_refs
from mockserver.actions.users import end_user_id
from mockserver.errors import DifyError


def published_workflow(ctx: ActContext, wanted: str) -> None:
    """AppGenerateService._get_workflow: the id must parse as a UUID (a 400 whose text ends in a space,
    as Dify's does) and be the app's published workflow (404)."""
    try:
        uuid.UUID(wanted)
    except ValueError:
        raise DifyError("bad_request", f"Invalid workflow_id format: '{wanted}'. ") from None
    app = ctx.call.app
    if app is None or app.workflow_id is None or str(uuid.UUID(wanted)) != app.workflow_id.lower():
        raise DifyError("not_found", f"Workflow not found with id: {wanted}")


def _path_workflow(ctx: ActContext) -> None:
    wanted = ctx.call.path.get("workflow_id")
    if wanted is not None:
        published_workflow(ctx, wanted)


def run(ctx: ActContext) -> dict[str, Any]:
    app = ctx.call.app
    return {
        "workflow_run_id": ctx.draws.uuid("workflow_run"),
        "workflow_id": app.workflow_id if app and app.workflow_id else ctx.draws.uuid("workflow"),
        "task_id": ctx.draws.uuid("task"),
        "end_user_id": end_user_id(ctx),
    }


def _commit_run(ctx: ActContext, _outcome: Any) -> None:
    workflow_runs.record_run(ctx, logged=True)


ACTIONS = (
    Action(
        "workflow.run",
        run,
        _commit_run,
        checks=(("workflow_id", _path_workflow), ("files", check_file_refs)),
        ended=workflow_runs.ended,
    ),
)
