"""A DSL workflow or chatflow app's run (DESIGN §11, DSL.md §A.2.7): when such an app's request falls
to the fixture's built-in scenario (`default`, or `chatflow` for an advanced-chat app), its events are
the plan of the app's graph instead; the event builder completes them like any scenario's events.
Knobs: the app entry's `graph:` block, with the scenario's `graph:` directive over it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from mockserver.actions import ActContext, variables
from mockserver.errors import DifyError
from mockserver.render.resume import DslRun

if TYPE_CHECKING:
    from mockserver.dify.dsl.knobs import Knobs

RawEvent = tuple[str, dict[str, Any], Any, Any]  # name, fields, split, delay_ms (render/generate.py)
FALLBACK_SCENARIOS: Final = frozenset({"default", "chatflow"})
RUN_MODES: Final = frozenset({"workflow", "advanced-chat"})


def applies(ctx: ActContext, scenario_name: str) -> bool:
    app = ctx.call.app
    return (
        app is not None
        and app.graph is not None
        and app.mode in RUN_MODES
        and ctx.call.spec.response == "generate"
        and (scenario_name in FALLBACK_SCENARIOS or "graph" in ctx.directives)
    )


def knobs(ctx: ActContext) -> Knobs:
    from mockserver.dify.dsl.knobs import Knobs

    app = ctx.call.app
    base = app.extra.get("graph") if app is not None else None
    over = ctx.directives.get("graph")
    return Knobs.of({**(base if isinstance(base, dict) else {}), **(over if isinstance(over, dict) else {})})


def raw_events(ctx: ActContext) -> list[RawEvent]:
    """The plan of this request's run as the generate renderer's raw events."""
    # The DSL engine is imported by the first run of a DSL app: a server without one never loads it.
    from mockserver.dify.dsl.plan import NO_ROOT, RunInput, plan_run

    call, bound = ctx.call, ctx.bound
    app = call.app
    assert app is not None and app.graph is not None
    system = {
        "user_id": call.user,
        "app_id": app.id,
        "workflow_id": bound.get("workflow_id") or app.workflow_id,
        "workflow_run_id": bound.get("workflow_run_id"),
        "conversation_id": bound.get("conversation_id"),
        "dialogue_count": bound.get("dialogue_count", 1),
    }
    if app.graph.root is None:
        # A trigger-only app loads (a warning), but Dify cannot run it here (DSL.md §A.2.5).
        raise DifyError("invalid_param", NO_ROOT)
    conversation = variables.current(ctx) if app.mode == "advanced-chat" else None
    given = RunInput(
        app.mode,
        dict(call.inputs),
        str(call.payload.get("query") or ""),
        system,
        conversation,
        stream_at_start=call.release.stream_at_run_start,
        loop_next_after_last=call.release.loop_next_after_last,
    )
    steer = knobs(ctx)
    plan = plan_run(app.graph, given, steer, ids=ctx.draws.uuid)
    ctx.bound["assigned"] = plan.assigned  # the commit stores them on the conversation (actions/chat.py)
    store = variables.storer(ctx) if app.mode == "advanced-chat" else None
    # Planned again if the run pauses and resumes; the resumed part's writes are stored then.
    ctx.bound["dsl_run"] = DslRun(app.graph, given, steer, plan.assigned, store)
    return [(name, fields, None, delay) for name, fields, delay in plan.events]
