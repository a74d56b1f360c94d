"""Human input forms (Dify 1.14+): a run that pauses at a Human Input node leaves one form per waiting
node, reachable with the app's key by its token: GET /v1/form/human_input/{form_token} reads it, POST
submits it and resumes the run. Facts read at dify 1.14.2 and 1.16.1
(controllers/service_api/app/human_input_form.py, controllers/common/human_input.py,
services/human_input_service.py; graphon nodes/human_input/entities.py; research/workflow_runs.md §4).

Once no form of the run waits, the run resumes at once (render/resume.py): a DSL app's graph goes on
from the form down the submitted action's edge; a scenario's run finishes `succeeded` with the submitted
inputs as its outputs. The resumed part's events are kept for GET /v1/workflow/{id}/events, which relays
them once, as a client that subscribed right after submitting sees them in Dify."""

from __future__ import annotations

import json
from typing import Any, Final

from mockserver.actions import ActContext, Action
from mockserver.actions.users import end_user_id, owner
from mockserver.actions.workflow_runs import settle
from mockserver.dify.events import FORM_GLOBAL_TIMEOUT_S
from mockserver.errors import DifyError
from mockserver.state.records import Blob, HumanInputForm, Message

# Flask's Response(mimetype="application/json"): no charset parameter.
FORM_HEADERS: Final = {"Content-Type": "application/json"}


def _active_form(ctx: ActContext) -> None:
    """The app's form with this token (another app's, or none: 404 "Form not found", with flask-restx's
    hint by the token's length), then HumanInputService.ensure_form_active: submitted (by anyone: the
    same text), then expired (its own expiry, or 7 days after it was made)."""
    token = ctx.call.path["form_token"]
    form = ctx.tenant.state.human_input_forms.get(token, app=owner(ctx)[0])
    if form is None:
        raise DifyError("not_found", "Form not found")
    if form.status == "submitted":
        raise DifyError(
            "human_input_form_submitted",
            f"This form has already been submitted by another user, form_id={form.form_id}",
        )
    if form.expiration_time <= ctx.now or form.created_at + FORM_GLOBAL_TIMEOUT_S <= ctx.now:
        raise DifyError("human_input_form_expired", f"This form has expired, form_id={form.form_id}")
    ctx.bound["form"] = form


def _as_text(value: Any) -> str:
    """controllers/common/human_input.py stringify_form_default_values: None is "", an object or list
    its JSON text (UTF-8 kept), anything else str()."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def read(ctx: ActContext) -> dict[str, Any]:
    """The form definition as the route writes it: json.dumps(..., ensure_ascii=False), spaced, raw
    UTF-8, no trailing newline, not the resources' ujson."""
    form: HumanInputForm = ctx.bound["form"]
    payload = {
        "form_content": form.form_content,
        "inputs": form.inputs,
        "resolved_default_values": {k: _as_text(v) for k, v in form.resolved_default_values.items()},
        "user_actions": form.actions,
        "expiration_time": form.expiration_time,
    }
    return {"result": Blob(json.dumps(payload, ensure_ascii=False).encode(), dict(FORM_HEADERS))}


def _values(form: HumanInputForm, inputs: dict[str, Any]) -> None:
    """1.15+ checks each value given against its input before the action (normalize_submission_data):
    a select's must be a string among its constant options. Files are not checked by the mock."""
    for config in form.inputs:
        name = config.get("output_variable_name")
        if name not in inputs or config.get("type") != "select":
            continue
        value = inputs[name]
        if not isinstance(value, str):
            raise DifyError("invalid_form_data", f"Invalid value for select input '{name}': expected string")
        source = config.get("option_source") or {}
        if source.get("type", "constant") == "constant" and value not in (source.get("value") or ()):
            raise DifyError("invalid_form_data", f"Invalid value for select input '{name}': {value}")


def _submission(ctx: ActContext) -> None:
    """validate_human_input_submission: the action must be one of the form's, then every input must be
    given (extra keys are fine)."""
    form: HumanInputForm = ctx.bound["form"]
    payload = ctx.call.payload
    action, inputs = str(payload["action"]), dict(payload["inputs"])
    if ctx.call.release.hitl_value_checks:
        _values(form, inputs)
    if action not in {a.get("id") for a in form.actions}:
        raise DifyError("invalid_form_data", f"Invalid action: {action}")
    missing = [str(i.get("output_variable_name")) for i in form.inputs if i.get("output_variable_name") not in inputs]
    if missing:
        raise DifyError("invalid_form_data", f"Missing required inputs: {', '.join(missing)}")


def submit(ctx: ActContext) -> dict[str, Any]:
    return {"result": {}}


def _commit_submit(ctx: ActContext, _outcome: Any) -> None:
    """The form is submitted by this end user; once no form of its run waits any more, the run resumes:
    its resumed part is built, kept for the events route, and the row settles as that part ends
    (finished, or paused again at the next form)."""
    form: HumanInputForm = ctx.bound["form"]
    payload = ctx.call.payload
    form.status, form.submitted_by = "submitted", end_user_id(ctx)
    form.action, form.submitted_data = str(payload["action"]), dict(payload["inputs"])
    state = ctx.tenant.state
    run = state.workflow_runs.get(form.workflow_run_id)
    if run is None or run.status != "paused" or run.resume is None:
        return
    forms = [f for f in state.human_input_forms if f.workflow_run_id == run.id]
    if any(f.status == "waiting" for f in forms):
        return
    events = run.resume([f for f in forms if f.status == "submitted"], float(ctx.now - run.created_at))
    run.relay = events
    settle(ctx, run, events)
    _answer_grows(ctx, events)
    state.workflow_runs.reweigh(run)


def _answer_grows(ctx: ActContext, events: list[dict[str, Any]]) -> None:
    """A chatflow turn's stored answer gets what the resumed part says."""
    said = [e for e in events if e.get("event") == "message"]
    if not said:
        return
    message: Message | None = ctx.tenant.state.messages.get(str(said[0].get("message_id")))
    if message is not None:
        message.answer += "".join(str(e.get("answer") or "") for e in said)


ACTIONS = (
    Action("human_input.get", read, checks=(("form", _active_form),)),
    Action(
        "human_input.submit",
        submit,
        _commit_submit,
        checks=(("form", _active_form), ("submission", _submission)),
    ),
)
