"""handle(): the one function behind every Dify endpoint: validate -> admit -> match -> fault -> act -> render."""

from __future__ import annotations

import asyncio
from typing import Any, Final

from aiohttp import web

from . import actions, faults, generation, injection, validation
from .actions import ActContext
from .determinism import Draws
from .errors import DifyError
from .expand import RequestContext, render_respond
from .journal import journal_body
from .keys import APP, BOOK, CATALOGUE, DELIVERY, ENTRY, FAKER, ROUTE_SPECS, SETTINGS, TENANT_ID, TENANTS
from .render import Plan, respond
from .render.delivery import drop_connection
from .scenarios import matcher
from .selfcheck import check_plan
from .state import RunningTask

SCENARIO_HEADER: Final = "X-Mock-Scenario"


async def handle(request: web.Request) -> web.StreamResponse:
    app = request.app
    settings, book, registry = app[SETTINGS], app[BOOK].current, app[TENANTS]
    spec = app[ROUTE_SPECS][request.match_info.route.name or ""]
    entry = request.get(ENTRY, {})
    entry["endpoint"] = spec.id
    body = await validation.read_body(request, spec)
    entry["body"] = journal_body(body, request.content_length)  # recorded even when checks refuse it
    call = validation.check_call(request, spec, request.get(APP), body)
    # A bad X-Mock-Fault is the caller's error: it is refused before admission, so it counts nothing.
    header_faults = faults.parse_header(request.headers.get(faults.FAULT_HEADER), book.aliases)

    tenant = registry.get(request[TENANT_ID])
    n, now = tenant.admit(spec.id, settings.clock_step)
    draws = Draws(tenant.seed, tenant.id, spec.id, n, app[FAKER])
    fixture = book.fixtures[spec.id]
    selection = matcher.select(
        fixture, call, tenant, request.headers.get(SCENARIO_HEADER), registry.forced(tenant.id, spec.id)
    )
    scenario = selection.scenario
    entry["scenario"], entry["unmatched"] = scenario.name, selection.unmatched
    if selection.unmatched:
        entry["unmatched_reason"] = "scenario"
    if scenario.clock_advance_s:
        tenant.clock += scenario.clock_advance_s

    key = (tenant.seed, tenant.id, spec.id, n)
    elapsed = (tenant.elapsed("mock"), tenant.elapsed("wall"))
    candidates = faults.header_candidates(header_faults, spec.id, call.streaming, key)
    if settings.inject_faults:
        candidates += registry.queue.candidates(tenant.id, spec.id, call.streaming, elapsed, key) + selection.faults
    drawn = faults.choose(candidates)
    entry["fault"] = drawn.journal()
    delivery = injection.delivery(drawn, draws.random("fault:latency"))
    request[DELIVERY] = delivery
    error = injection.http_error(drawn)
    if error is not None or delivery.abort is not None:
        # An HTTP error, reset or empty skips the action: a 429'd chat creates no conversation.
        if delivery.latency_s:
            await asyncio.sleep(delivery.latency_s)
        if error is not None:
            raise error
        assert delivery.abort is not None
        entry["aborted"] = delivery.abort  # no status: the client never got one
        return drop_connection(request, delivery.abort)

    ctx = ActContext(call, tenant, draws, now, settings)
    action_name = scenario.action or fixture.action
    act = actions.get(action_name) if action_name else None
    if act is not None:
        ctx.bound = act.bind(ctx)
        entry["conversation_id"] = ctx.bound.get("conversation_id")
    if selection.respond is None:
        raise DifyError("internal_server_error", f"scenario '{scenario.name}' of {fixture.file} has no respond block")
    rctx = RequestContext(call, fixture, draws, now, n, ctx.bound)
    blocking, events, error_spec = render_respond(selection.respond, rctx)
    if error_spec is not None:
        raise DifyError(str(error_spec.get("code")), error_spec.get("message"), status=error_spec.get("status"))

    answer = ""
    if spec.kind == "generate":
        main = drawn.main.fault if drawn.main else None
        plan, _env, answer = generation.build(ctx, settings, scenario.timing, blocking, events, main)
    else:
        plan = Plan(status=spec.status, body=blocking)
    plan.delivery = delivery
    if settings.strict:
        check_plan(app[CATALOGUE], spec, plan, f"{scenario.file} scenario '{scenario.name}'")
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
        entry["outcome"] = plan.stream.outcome
        if entry.get("fault") and plan.stream.fault_at is not None:
            entry["fault"]["after_events"] = plan.stream.fault_at
