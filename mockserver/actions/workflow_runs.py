"""Workflow runs as Dify stores them: every run of /workflows/run, /workflows/{id}/run and every chatflow
turn leaves a row (a workflow app's also a log row); GET /v1/workflows/run/{id}, GET /v1/workflows/logs
and GET /v1/workflow/{id}/events read them. Facts read at dify 1.12.0, 1.14.2 and 1.16.1
(controllers/service_api/app/workflow.py, workflow_events.py, services/workflow_app_service.py,
core/app/workflow/layers/persistence.py; /work/research/workflow_runs.md)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC
from typing import Any, Final

import orjson

from mockserver.actions import ActContext, Action, Ending, forms
from mockserver.actions.serialize import body
from mockserver.actions.users import end_user_id, owner
from mockserver.dify.events import RUN_TERMINAL
from mockserver.errors import DifyError
from mockserver.state.pagination import Page
from mockserver.state.records import Blob, WorkflowRun

DETAIL_KEYS: Final = (
    "id",
    "workflow_id",
    "status",
    "inputs",
    "outputs",
    "error",
    "total_steps",
    "total_tokens",
    "created_at",
    "finished_at",
    "elapsed_time",
)
SSE_HEADERS: Final = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "Connection": "keep-alive",
}
VERSION_OF_PUBLISHED: Final = "2025-01-01 00:00:00"  # the published workflow's version string (str(datetime))


def record_run(ctx: ActContext, logged: bool) -> WorkflowRun | None:
    """The row a committed run leaves (a workflow app's run a log row too), inputs from its
    workflow_started (sys.* included). A blocking run is stored as it ended; a streamed one is
    `running` until its stream ends (`ended`), as a client reading it meanwhile sees in Dify."""
    events = list(ctx.bound.get("events") or ())
    started = next((e for e in events if e.get("event") == "workflow_started"), None)
    if started is None:
        return None
    app, user = owner(ctx)
    run_data = started.get("data") or {}
    run = WorkflowRun(
        id=str(run_data.get("id") or ctx.bound.get("workflow_run_id")),
        app=app,
        user=user,
        end_user_id=end_user_id(ctx),
        workflow_id=str(run_data.get("workflow_id") or ctx.bound.get("workflow_id")),
        status="running",
        inputs=json.dumps(run_data.get("inputs") or {}),  # Dify's json.dumps: spaced, \u escapes
        outputs=None,
        error=None,
        total_steps=0,
        total_tokens=0,
        created_at=int(run_data.get("created_at") or ctx.now),
        finished_at=None,
        elapsed_time=0.0,
        log_id=ctx.draws.uuid("workflow_app_log") if logged else None,
    )
    ctx.bound["run"] = run
    ctx.tenant.state.workflow_runs.add(run)
    if not ctx.call.streaming:
        settle(ctx, run, events)
    return run


def settle(ctx: ActContext, run: WorkflowRun, events: list[dict[str, Any]]) -> None:
    """The run's row as its events end it: finished, or paused (no outputs, no finish, its steps and
    tokens so far) with the forms it waits on and what resumes it (the generate renderer's Resumer)."""
    ending = next((i for i, e in enumerate(events) if e.get("event") in RUN_TERMINAL), len(events))
    if ending < len(events) and events[ending].get("event") == "workflow_paused":
        at_pause = events[ending].get("data") or {}
        run.status = "paused"
        run.total_steps = int(at_pause.get("total_steps") or 0)
        run.total_tokens = int(at_pause.get("total_tokens") or 0)
        run.resume = ctx.bound.get("resume", run.resume)
        forms.record_forms(ctx, run, events[:ending])
        return
    run.resume = None
    finished = next((e for e in reversed(events) if e.get("event") == "workflow_finished"), None)
    if finished is not None:
        _finish(run, finished.get("data") or {})


def _finish(run: WorkflowRun, data: dict[str, Any]) -> None:
    """The row from a workflow_finished's data."""
    run.status = str(data.get("status") or "succeeded")
    run.outputs = data.get("outputs") if isinstance(data.get("outputs"), dict) else {}
    run.error = data.get("error")
    run.total_steps = int(data.get("total_steps") or 0)
    run.total_tokens = int(data.get("total_tokens") or 0)
    run.finished_at = data.get("finished_at")
    run.elapsed_time = float(data.get("elapsed_time") or 0.0)
    run.exceptions_count = int(data.get("exceptions_count") or 0)


def ended(ctx: ActContext, ending: Ending) -> None:
    """A streamed run's row once its stream ended, from what the client was sent: a fault's failed
    workflow_finished, or the stop's (before 1.15 a stop leaves the row `running`: the runner dies
    before the graph's abort is saved). A client that left does not stop the run: it ends as planned."""
    run: WorkflowRun | None = ctx.bound.get("run")
    if run is None or not ctx.call.streaming:
        return
    if ending.outcome == "stopped":
        if ctx.call.release.stopped_run_row == "stopped":
            _finish(run, ending.finished or {})
            run.status, run.error = "stopped", "Aborted: User requested stop"
        return
    if ending.outcome == "error":
        _finish(run, ending.finished or {"finished_at": run.created_at})
        run.status, run.error = "failed", ending.error
        return
    settle(ctx, run, list(ctx.bound.get("events") or ()))


def _the_run(ctx: ActContext) -> WorkflowRun | None:
    wanted = ctx.call.path["workflow_run_id"].lower()
    return ctx.tenant.state.workflow_runs.get(wanted, app=owner(ctx)[0])


def _detail(run: WorkflowRun | None, raw: bool) -> dict[str, Any]:
    """1.12 marshals the row with flask-restx (outputs as the raw JSON text; no row: every key null);
    later releases dump a model (outputs an object, {} when empty)."""
    if run is None:
        return dict.fromkeys(DETAIL_KEYS)
    outputs: Any
    if raw:
        outputs = "{}" if run.status == "running" else (json.dumps(run.outputs) if run.outputs else None)
    else:
        outputs = {} if run.status == "paused" else (run.outputs or {})
    values = {**{k: getattr(run, k) for k in DETAIL_KEYS}, "outputs": outputs}
    return values


def _check_detail(ctx: ActContext) -> None:
    run = _the_run(ctx)
    if run is None and not ctx.call.release.run_detail_raw:
        raise DifyError("not_found", "Workflow run not found.")
    ctx.bound["run_found"] = run


def detail(ctx: ActContext) -> dict[str, Any]:
    return {"result": _detail(ctx.bound["run_found"], ctx.call.release.run_detail_raw)}


def _match(run: WorkflowRun, keyword: str) -> bool:
    """ILIKE %kw% on the raw inputs/outputs JSON and the creator's session id (the first 30 characters),
    or the run's id when the whole keyword reads as a UUID."""
    cut = keyword[:30].lower()
    outputs = json.dumps(run.outputs) if run.outputs else ""
    if cut in run.inputs.lower() or cut in outputs.lower() or cut in run.user.lower():
        return True
    try:
        return len(keyword) >= 32 and str(uuid.UUID(keyword)) == run.id
    except ValueError:
        return False


def _when(text: str | None) -> int | None:
    if not text:
        return None
    # Imported here: dateutil costs start-up time and memory, and only the logs' date filters use it.
    from dateutil.parser import isoparse

    try:
        moment = isoparse(text)
    except ValueError as exc:  # dateutil's text is Dify's message (it parses outside any try)
        raise DifyError("invalid_param", str(exc)) from None
    # A naive time is compared with the naive UTC column as it is; an aware one is converted.
    return int((moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp())


def _check_logs(ctx: ActContext) -> None:
    p = ctx.call.params
    ctx.bound["before"], ctx.bound["after"] = _when(p.get("created_at__before")), _when(p.get("created_at__after"))
    account = p.get("created_by_account")
    if account and account not in ctx.accounts:  # the workspace's accounts (_apps.yaml `accounts`)
        raise DifyError("invalid_param", f"Account not found: {account}")


def logs(ctx: ActContext) -> dict[str, Any]:
    """The app's workflow runs, newest first: no run is created by an account through the Service API,
    so `created_by_account` (a known email) matches none."""
    p = ctx.call.params
    rows = [r for r in ctx.tenant.state.workflow_runs.where(app=owner(ctx)[0]) if r.log_id is not None]
    if p.get("keyword"):
        rows = [r for r in rows if _match(r, str(p["keyword"]))]
    if p.get("status"):
        rows = [r for r in rows if r.status == p["status"]]
    before, after = ctx.bound["before"], ctx.bound["after"]
    rows = [r for r in rows if (before is None or r.created_at <= before) and (after is None or r.created_at >= after)]
    if p.get("created_by_end_user_session_id"):
        rows = [r for r in rows if r.user == p["created_by_end_user_session_id"]]
    if p.get("created_by_account"):
        rows = []
    rows.sort(key=lambda r: (r.created_at, r.created_seq), reverse=True)
    page, limit = p["page"], p["limit"]
    chosen = rows[(page - 1) * limit : page * limit]
    envelope = Page(chosen, limit, len(rows) > page * limit, total=len(rows), page=page)
    return {"result": envelope.envelope([body(ctx, _log(r)) for r in chosen])}


def _log(run: WorkflowRun) -> dict[str, Any]:
    return {
        "id": run.log_id,
        "workflow_run": {
            "id": run.id,
            "version": VERSION_OF_PUBLISHED,
            "status": run.status,
            "triggered_from": "app-run",
            "error": run.error,
            "elapsed_time": run.elapsed_time,
            "total_tokens": run.total_tokens,
            "total_steps": run.total_steps,
            "created_at": run.created_at,
            "finished_at": run.finished_at,
            "exceptions_count": run.exceptions_count,
        },
        "created_by_end_user": {
            "id": run.end_user_id,
            "type": "service-api",
            "is_anonymous": False,  # Flask-Login's property, not the column: always false
            "session_id": run.user,
        },
        "created_at": run.created_at,
    }


def _check_events(ctx: ActContext) -> None:
    """Every failure is the same 404 (no period): no such run, another app's, or another end user's."""
    run = _the_run(ctx)
    if run is None or run.end_user_id != end_user_id(ctx):
        raise DifyError("not_found", "Workflow run not found")
    ctx.bound["run_found"] = run


def events(ctx: ActContext) -> dict[str, Any]:
    """A run resumed by a form submission: its resumed part, relayed once (a ping, then the frames as
    the worker published them, compact) as a client that subscribed in time sees it. A finished run:
    one workflow_finished frame (json.dumps, as the route writes it). An unfinished one: the relay's
    first ping; the mock then ends the stream (Dify would wait for live events)."""
    run: WorkflowRun = ctx.bound["run_found"]
    if run.relay is not None:
        return {"result": Blob(_relayed(run.relay), dict(SSE_HEADERS))}
    if run.finished_at is None:
        return {"result": Blob(b"event: ping\n\n", dict(SSE_HEADERS))}
    frame = {
        "event": "workflow_finished",
        "task_id": run.id,
        "workflow_run_id": run.id,
        "data": {
            "id": run.id,
            "workflow_id": run.workflow_id,
            "status": run.status,
            "outputs": run.outputs or {},
            "error": run.error,
            "elapsed_time": run.elapsed_time,
            "total_tokens": run.total_tokens,
            "total_steps": run.total_steps,
            "created_by": {"id": run.end_user_id, "user": run.user},
            "created_at": run.created_at,
            "finished_at": run.finished_at,
            "exceptions_count": run.exceptions_count,
            "files": [],
        },
    }
    return {"result": Blob(f"data: {json.dumps(frame)}\n\n".encode(), dict(SSE_HEADERS))}


def _relayed(events: list[dict[str, Any]]) -> bytes:
    frames = [b"event: ping\n\n"]
    frames += [b"data: " + orjson.dumps(e) + b"\n\n" for e in events]
    return b"".join(frames)


def _commit_events(ctx: ActContext, _outcome: Any) -> None:
    ctx.bound["run_found"].relay = None  # relayed once: later readers find the run as it ended


ACTIONS = (
    Action("workflow_run.get", detail, checks=(("run", _check_detail),)),
    Action("workflow_run.logs", logs, checks=(("filters", _check_logs),)),
    Action("workflow_run.events", events, _commit_events, checks=(("run", _check_events),)),
)
