"""handle(): the one function behind every Dify endpoint:
validate -> admit -> match -> act (checks) -> render -> fault -> act (effects) -> respond."""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any, Final, NamedTuple

from aiohttp import web

from mockserver import validation
from mockserver.actions import ActContext, Action, Ending, users
from mockserver.determinism import Draws
from mockserver.dify import versions
from mockserver.endpoint import EndpointSpec
from mockserver.errors import DifyError
from mockserver.faults import apply as injection
from mockserver.faults import draw as faults
from mockserver.faults.delivery import NORMAL, drop_connection
from mockserver.keys import CATALOGUE, CLIENT_LEFT, EXCHANGE, STREAMS
from mockserver.nearmiss import suggest as did_you_mean
from mockserver.readers import READERS
from mockserver.render import dslrun, sse
from mockserver.render import generate as generation
from mockserver.render.respond import RESPONDERS, Plan, respond
from mockserver.render.selfcheck import check_plan
from mockserver.render.sse import StreamPlan
from mockserver.scenarios import matcher
from mockserver.scenarios.compiler import NO_ACTION
from mockserver.scenarios.context import RequestContext, render_respond
from mockserver.scenarios.model import Fixture, Respond, Scenario
from mockserver.state.journal import journal_body
from mockserver.state.records import RunningTask
from mockserver.tenancy import Tenant

SCENARIO_HEADER: Final = "X-Mock-Scenario"
log = logging.getLogger("mockserver.templates")


class _Streaming(NamedTuple):
    """A stream to write: what the writer needs, and nothing the decision needed before it."""

    stream: StreamPlan
    ctx: ActContext
    act: Action | None = None


async def handle(request: web.Request) -> web.StreamResponse:
    decided = await _decide(request)
    if not isinstance(decided, _Streaming):
        return decided
    # The request's body, its rendered scenario and template roots went with _decide's frame: a
    # stream in flight keeps only its plan and the action's context (10,000 streams at once). The
    # stream is written from this frame, not another coroutine's: each stream holds its await chain.
    plan, ctx, act = decided
    del decided
    task_id = str(ctx.bound.get("task_id"))
    app_key = ctx.call.app.key if ctx.call.app else ""
    task = RunningTask(task_id, app_key, ctx.call.user or "", ctx.call.app.mode if ctx.call.app else "")
    plan.stopped = task.stopped
    plan.task = task
    tasks = ctx.tenant.state.tasks
    tasks[task_id] = task
    # The tenant (and its scope) is parked while the stream is written: a stream must not keep alive a
    # tenant the registry evicted meanwhile (its cap; 10,000 one-stream tenants at once). Once evicted,
    # nothing can reach that tenant any more (its session gets a fresh one), so what its stream's end
    # would record there is skipped; a tenant still kept gets it as before.
    tenant, scope_id = weakref.ref(ctx.tenant), ctx.scope.id
    ctx.tenant = ctx.scope = None  # type: ignore[assignment]  # unused until the end: ended() gets them back
    entry = request[EXCHANGE].entry
    streams = request.app[STREAMS]
    task_handle = asyncio.current_task()
    if task_handle is not None:
        streams[id(request)] = task_handle
    try:
        response = await sse.stream(request, plan)
        if act is not None and act.ended is not None and _unparked(ctx, tenant, scope_id):
            act.ended(ctx, Ending(plan.outcome, plan.error, plan.finished))
        return response
    except asyncio.CancelledError:
        if request.get(CLIENT_LEFT):  # the runner stopped it the moment its client hung up
            plan.outcome = "client_left"
            # The run still ends as planned.
            if act is not None and act.ended is not None and _unparked(ctx, tenant, scope_id):
                act.ended(ctx, Ending(plan.outcome, plan.error, plan.finished))
        else:
            plan.outcome = "cut"  # the server stopped (a second Ctrl-C) or the loop shut down
        raise
    finally:
        streams.pop(id(request), None)
        tasks.pop(task_id, None)
        entry["events"] = list(plan.sent)
        entry["outcome"] = plan.outcome
        if entry.get("fault"):
            # What happened, not what was asked: a stream fault that never struck has no count.
            entry["fault"]["after_events"] = plan.fault_at


def _unparked(ctx: ActContext, tenant: weakref.ref[Tenant], scope_id: str) -> bool:
    """The stream's tenant and scope back in its context, if the tenant still exists (else it is gone)."""
    kept = tenant()
    if kept is None:
        return False
    ctx.tenant, ctx.scope = kept, kept.scope(scope_id)  # the scope it had: a tenant keeps its scopes
    return True


async def _decide(request: web.Request) -> web.StreamResponse | _Streaming:
    exchange = request[EXCHANGE]  # the Dify stage's: its auth found the spec, principal and tenant
    runtime, spec, entry, principal = exchange.runtime, exchange.spec, exchange.entry, exchange.principal
    assert spec is not None  # only a route with a spec has this handler
    settings, book, registry = runtime.settings, runtime.book.current, runtime.tenants
    entry["endpoint"] = spec.id
    received = await READERS[spec.request](request, spec, settings)
    # Recorded even when checks refuse it; a multipart body as its fields and its files' names and sizes.
    if spec.request == "multipart":
        entry["body"] = received.journal()
    else:
        raw = received.raw  # its own length, when there is one: Content-Length is parsed per read
        entry["body"] = journal_body(received.body, raw, None if raw is not None else request.content_length)
    call = validation.check_call(request, spec, runtime.release, principal, received)
    # The caller's own mistakes in X-Mock-* headers are refused before admission, so they count nothing.
    asked = request.headers.get(faults.FAULT_HEADER)
    header_faults = faults.parse_header(asked, book.aliases) if asked else []
    fixture = book.fixtures[spec.id]
    tenant = registry.get(exchange.tenant_id)
    adhoc = registry.adhoc(tenant.id, spec.id)
    requested = request.headers.get(SCENARIO_HEADER)
    if requested:
        _known_scenario(entry, fixture, adhoc, requested)

    scope = tenant.scope(principal.scope)
    n, now = scope.admit(spec.id, settings.clock_step)
    draws = Draws(tenant.seed, tenant.id, scope.id, spec.id, n, runtime.faker)
    selection = matcher.select(fixture, call, scope, requested, registry.forced(tenant.id, spec.id), adhoc)
    scenario = selection.scenario
    entry["scenario"] = scenario.name
    if scenario.clock_advance_s:
        scope.clock += scenario.clock_advance_s

    # The action's checks (an unknown conversation's 404) and Dify's generation rules come before the
    # faults are drawn: a request Dify refuses never uses up a queued fault.
    ctx = ActContext(
        call,
        tenant,
        scope,
        draws,
        now,
        settings,
        accounts=book.apps.account_names,
        dataset=exchange.dataset,  # only dataset routes find one
    )
    ctx.directives = scenario.directives
    action_name = scenario.action or fixture.action
    act = runtime.actions[action_name] if action_name and action_name != NO_ACTION else None
    try:
        deferred = _run_checks(ctx, act)
        if act is not None:
            ctx.bound.update(act.bind(ctx))
    except DifyError:
        # Dify's own refusal of this request (an unknown id, a missing file): the journal says so, and
        # lint's deep check takes it for the state its probe lacked, not for a broken fixture.
        entry["refused_by"] = "action"
        users.remember(ctx)  # validate_app_token made the end user before the handler refused
        raise
    if deferred is not None:
        # Dify's worker found the problem after the stream began (VERSIONS.md V4): no fault, no effect.
        entry["error"] = {"code": deferred.code, "message": deferred.message, "in_stream": True}
        users.remember(ctx)
        failure = generation.worker_failure(ctx, settings, deferred).stream
        assert failure is not None
        return _Streaming(failure, ctx)
    if selection.respond is None:
        raise DifyError("internal_server_error", f"scenario '{scenario.name}' of {fixture.file} has no respond block")
    rctx = RequestContext(call, fixture, draws, now, n, ctx.bound)
    folds = spec.response == "generate" and generation.folds_plainly(call)
    blocking, events = _render(request, entry, spec, fixture, scenario, selection.respond, rctx, folds)
    if dslrun.applies(ctx, scenario.name):
        blocking, events = None, dslrun.raw_events(ctx)  # a DSL app's graph runs instead (DESIGN §11)

    if header_faults or (settings.inject_faults and (registry.queue.entries or selection.faults)):
        key = (tenant.seed, tenant.id, scope.id, spec.id, n)
        elapsed = (scope.elapsed("mock"), scope.elapsed("wall"))
        candidates = faults.header_candidates(header_faults, spec.id, call.streaming, key)
        if settings.inject_faults:
            queued = registry.queue.candidates(tenant.id, spec.id, call.streaming, elapsed, key)
            candidates += queued + selection.faults
        drawn = faults.choose(candidates)
        entry["fault"] = drawn.journal()
        delivery = injection.delivery(drawn, lambda: draws.random("fault:latency"))
        error = injection.http_error(drawn)
    else:  # no fault anywhere to draw from: none fires, nothing counts (the entry's fault stays None)
        drawn, delivery, error = faults.NOTHING_DRAWN, NORMAL, None
    exchange.delivery = delivery
    if error is not None or delivery.abort is not None:
        # An HTTP error, reset or empty skips the action's effects: a 429'd chat creates no conversation.
        if delivery.latency_s:
            await asyncio.sleep(delivery.latency_s)
        if error is not None:
            # Raised with no local naming it: `raise error` leaves a cycle (the exception's traceback ->
            # this frame -> its local -> the exception) that only the garbage collector frees, holding
            # everything this frame holds (tests/http/test_collector.py).
            pending, error = [error], None
            raise pending.pop()
        assert delivery.abort is not None
        entry["aborted"] = delivery.abort  # no status: the client never got one
        return drop_connection(request, delivery.abort)

    entry["conversation_id"] = ctx.bound.get("conversation_id")  # what the client is told, faults aside
    users.remember(ctx)  # a request the faults let through: Dify made its end user (a refused one made none)
    outcome: Any = blocking
    if spec.response == "generate":
        main = drawn.main.fault if drawn.main else None
        plan, outcome = generation.build(ctx, settings, scenario.timing, blocking, events, main)
    elif spec.empty_since is not None and not versions.compare(ctx.call.release.name, f">={spec.empty_since}"):
        plan = Plan(status=200, body=204)  # flask-restx reads a bare `return 204` as the body 204
    else:
        plan = RESPONDERS[spec.response](spec, blocking)
    plan.delivery = delivery
    if settings.strict:
        check_plan(request.app[CATALOGUE], spec, plan, f"{scenario.file} scenario '{scenario.name}'")
    if act is not None and act.commit is not None:
        act.commit(ctx, outcome)
        if act.changes_kept:
            tenant.state.reweigh(ctx.bound.values())  # what the commit changed counts against the caps anew
    if plan.stream is None:
        return await respond(request, plan)
    plan.stream.delivery = delivery
    return _Streaming(plan.stream, ctx, act)  # the Plan itself is done with


def _known_scenario(entry: dict[str, Any], fixture: Fixture, adhoc: list[Scenario], requested: str) -> None:
    """X-Mock-Scenario must name one of the endpoint's scenarios (its stubs included): the caller's
    mistake is refused before admission, with the names and a did-you-mean."""
    if fixture.named(requested) is not None or any(s.name == requested for s in adhoc):
        return
    names = [s.name for s in adhoc] + fixture.names
    entry["unmatched"], entry["unmatched_reason"] = True, "scenario"
    raise DifyError(
        "mock_unknown_scenario",
        f"{fixture.endpoint} has no scenario {requested!r}{did_you_mean(requested, names)}; its scenarios: "
        + ", ".join(names),
    )


def _render(
    request: web.Request,
    entry: dict[str, Any],
    spec: EndpointSpec,
    fixture: Fixture,
    scenario: Scenario,
    respond: Respond,
    rctx: RequestContext,
    folds: bool,
) -> tuple[Any, Any]:
    """The scenario's blocking body and events for this request; its `error` block raises. `folds`: a
    blocking chat or completion, whose events fold to their answer (a Reply, where only answers vary)."""
    events: Any
    if folds and respond.folded is not None:
        blocking, events, error_spec = None, respond.folded.render(rctx), None
    else:
        blocking, events, error_spec = render_respond(respond, rctx)
    if error_spec is not None:
        raise DifyError(str(error_spec.get("code")), error_spec.get("message"), status=error_spec.get("status"))
    if spec.response != "generate" and scenario.action != NO_ACTION:  # with no action, no default to go over
        blocking = _over_defaults(fixture, scenario, blocking, rctx)
    if rctx.missing:
        # A template that found nothing renders as empty: say where, as lint would (newcomer-trial F11).
        # Reported, not refused: a scenario's `match` may guarantee the path for the requests it takes,
        # and lint's forced probes would then flag it for nothing.
        entry["warnings"] = list(rctx.missing)
        for text in rctx.missing:
            log.warning("%s %s: %s", request.method, request.path, text)
    return blocking, events


def _run_checks(ctx: ActContext, act: Action | None) -> DifyError | None:
    """Dify's refusals in Dify's order. A generation runs the action's checks (conversation,
    workflow_id) among validation's rules in the release's order; on a relayed streaming workflow or
    chatflow run, a check that Dify runs in its worker comes back instead of raising (V4)."""
    call = ctx.call
    if call.spec.response != "generate":
        if act is not None:
            for check in act.check_map.values():
                check(ctx)
        return None
    release = call.release
    name = ""
    try:
        for name, check, on_call in _generate_steps(act, release):  # noqa: B007 - the except reads `name`
            check(call) if on_call else check(ctx)
    except DifyError as exc:
        in_worker = (
            release.relayed_runs and call.streaming and call.app is not None and call.app.mode in generation.RUN_MODES
        )
        if in_worker and name in release.worker_checks:
            return exc
        raise
    return None


Step = tuple[str, Any, bool]  # a check's name, the check, and whether it takes the call (a rule) or the context
_RULES_ONLY: dict[str, tuple[Step, ...]] = {}  # by release: a generation without an action


def _generate_steps(act: Action | None, release: versions.Release) -> tuple[Step, ...]:
    """A generation's checks in its release's order, worked out once per action and release."""
    memo = act.generate_steps if act is not None else _RULES_ONLY
    known = memo.get(release.name)
    if known is None:
        checks = act.check_map if act is not None else {}
        known = memo[release.name] = tuple(
            (name, checks[name], False) if name in checks else (name, validation.RULES[name], True)
            for name in release.generate_checks
            if name in checks or name in validation.RULES
        )
    return known


def _over_defaults(fixture: Fixture, scenario: Scenario, given: Any, rctx: RequestContext) -> Any:
    """A record endpoint's scenario may give only the fields it changes: they go over the default body
    (and a user's `default` over the built-in one it replaced)."""
    if not isinstance(given, dict):
        return given
    layers = list(fixture.bases)
    default = fixture.default.respond
    if scenario is not fixture.default and default is not None and default.blocking is not None:
        layers.append(default.blocking)
    body: dict[str, Any] = {}
    for layer in layers:
        rendered = layer.render(rctx)
        if isinstance(rendered, dict):
            body = _merged(body, rendered)
    return _merged(body, given) if body else given


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out
