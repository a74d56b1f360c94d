"""Workflow runs: run ids and the published-workflow check of the by-id route."""

from __future__ import annotations

import re
from typing import Any

from mockserver.errors import DifyError

from . import ActContext, Action
from .chat import end_user_id

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def run(ctx: ActContext) -> dict[str, Any]:
    app = ctx.call.app
    published = app.workflow_id if app and app.workflow_id else ctx.draws.uuid("workflow")
    wanted = ctx.call.path.get("workflow_id")
    if wanted is not None:
        # Messages from the service's workflow_id handling (REFERENCE §3.1), trailing space included.
        if not _UUID.match(wanted):
            raise DifyError("bad_request", f"Invalid workflow_id format: '{wanted}'. ")
        if wanted.lower() != published.lower():
            raise DifyError("not_found", f"Workflow not found with id: {wanted}")
    return {
        "workflow_run_id": ctx.draws.uuid("workflow_run"),
        "workflow_id": published,
        "task_id": ctx.draws.uuid("task"),
        "end_user_id": end_user_id(ctx),
    }


ACTIONS = (Action("workflow.run", run),)
