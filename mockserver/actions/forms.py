"""The human-input forms a paused run waits on, as its events announced them (one per
human_input_required event); read and submitted through actions/human_input.py."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mockserver.actions import ActContext
from mockserver.dify.events import FORM_TIMEOUT_S
from mockserver.state.records import HumanInputForm, WorkflowRun


def record_forms(ctx: ActContext, run: WorkflowRun, events: Iterable[dict[str, Any]]) -> None:
    """The forms a paused run waits on, one per human_input_required event. A form without a token
    (Dify's `form_token: null`: no WebApp recipient) cannot be reached through the Service API."""
    forms = ctx.tenant.state.human_input_forms
    for event in events:
        if event.get("event") != "human_input_required":
            continue
        data = event.get("data") or {}
        token = data.get("form_token")
        if not token:
            continue
        expiration = data.get("expiration_time")
        forms.add(
            HumanInputForm(
                id=str(token),
                form_id=str(data.get("form_id")),
                app=run.app,
                workflow_run_id=run.id,
                node_id=str(data.get("node_id")),
                node_title=str(data.get("node_title")),
                form_content=str(data.get("form_content") or ""),
                inputs=[i for i in data.get("inputs") or () if isinstance(i, dict)],
                actions=[a for a in data.get("actions") or () if isinstance(a, dict)],
                resolved_default_values=dict(data.get("resolved_default_values") or {}),
                expiration_time=int(expiration) if isinstance(expiration, int | float) else ctx.now + FORM_TIMEOUT_S,
                created_at=ctx.now,
            )
        )
