"""handle(): the one function behind every Dify endpoint: validate -> admit -> match -> fault -> act -> render."""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from . import actions, faults, generation, validation
from .actions import ActContext
from .determinism import Draws
from .errors import DifyError
from .expand import RequestContext, render_respond
from .keys import APP, BOOK, CATALOGUE, ENTRY, FAKER, ROUTE_SPECS, SETTINGS, TENANT_ID, TENANTS
from .render import Plan, respond
from .scenarios import matcher
from .selfcheck import check_plan
from .state import RunningTask

SCENARIO_HEADER: Final = "X-Mock-Scenario"


async def handle(request: web.Request) -> web.StreamResponse:
    app = request.app
    settings = app[SETTINGS]
    spec = app[ROUTE_SPECS][request.match_info.route.name or ""]
    entry = request.get(ENTRY, {})
    entry["endpoint"] = spec.id
    call = await validation.read_call(request, spec, request.get(APP))
    entry["body"] = call.body
    fault_header = request.headers.get(faults.FAULT_HEADER)
    fault = faults.draw(fault_header)  # a bad header is the caller's error: it admits nothing

    tenant = app[TENANTS].get(request[TENANT_ID])
    n, now = tenant.admit(spec.id, settings.clock_step)
    draws = Draws(tenant.seed, tenant.id, spec.id, n, app[FAKER])
    fixture = app[BOOK].current.fixtures[spec.id]
    scenario, unmatched = matcher.select(fixture, call, tenant, request.headers.get(SCENARIO_HEADER))
    entry["scenario"], entry["unmatched"] = scenario.name, unmatched
    if scenario.clock_advance_s:
        tenant.clock += scenario.clock_advance_s

    if fault is not None:  # an HTTP error fault skips the action: a 429'd chat creates nothing
        entry["fault"] = fault.journal()
        raise faults.to_error(fault)

    ctx = ActContext(call, tenant, draws, now, settings)
    action_name = scenario.action or fixture.action
    act = actions.get(action_name) if action_name else None
    if act is not None:
        ctx.bound = act.bind(ctx)
    if scenario.respond is None:
        raise DifyError("internal_server_error", f"scenario '{scenario.name}' of {fixture.file} has no respond block")
    rctx = RequestContext(call, fixture, draws, now, n, ctx.bound)
    blocking, events, error = render_respond(scenario.respond, rctx)
    if error is not None:
        raise DifyError(str(error.get("code")), error.get("message"), status=error.get("status"))

    answer = ""
    if spec.kind == "generate":
        plan, _env, answer = generation.build(ctx, settings, scenario.timing, blocking, events)
    else:
        plan = Plan(status=spec.status, body=blocking)
    if settings.strict:
        check_plan(app[CATALOGUE], spec, plan, f"{fixture.file} scenario '{scenario.name}'")
    if act is not None and act.commit is not None:
        act.commit(ctx, answer)
    if plan.stream is None:
        return await respond(request, plan)
    return await _stream(request, plan, ctx)


async def _stream(request: web.Request, plan: Plan, ctx: ActContext) -> web.StreamResponse:
    assert plan.stream is not None
    task_id = str(ctx.bound.get("task_id"))
    app_key = ctx.call.app.key if ctx.call.app else ""
    task = RunningTask(task_id, app_key, ctx.call.user or "", ctx.call.spec.id)
    plan.stream.stopped = task.stopped
    tasks = ctx.tenant.state.tasks
    tasks[task_id] = task
    entry: dict[str, Any] = request.get(ENTRY, {})
    try:
        return await respond(request, plan)
    finally:
        tasks.pop(task_id, None)
        entry["events"] = list(plan.stream.sent)
