"""The run plan of a DSL workflow or chatflow (DSL.md §A.2.7, §A.2.10): the ordered events Dify's
Service API stream shows for the app's real nodes, as fixture events (name, fields, delay) that the
event builder (render/builder.py) completes with ids, times, envelopes and counters, like a scenario's
`stream.events`. The leading `ping` of a relayed stream is the renderer's, not the plan's.

Pure: no I/O, no clock; ids come from the caller's `ids(label)` (the request's deterministic draws,
labels `node:<node_id>:<frame path>`, DSL.md §A.2.11)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from msgspec import Struct, field

from mockserver.dify import variables
from mockserver.dify.dsl.engine import Engine, Frame, PlanEvent, Run
from mockserver.dify.dsl.graph_model import Graph, Node, thaw
from mockserver.dify.dsl.knobs import Knobs
from mockserver.dify.dsl.values import Pool

NO_ROOT = "Unable to determine default root node ID from workflow graph"  # api/core/workflow/node_factory.py


class RunInput(Struct, frozen=True):
    """What one request gives a run: the validated inputs, the chat query and the sys.* values."""

    mode: str  # workflow | advanced-chat
    inputs: Mapping[str, Any] = field(default_factory=dict)
    query: str = ""
    system: Mapping[str, Any] = field(default_factory=dict)  # sys.<name> -> value (user_id, app_id, ...)
    # The conversation's stored variable values by name (None: a new conversation); a declared
    # variable it lacks starts at its declared value, as the runner's sync adds it.
    conversation: Mapping[str, Any] | None = None
    forms: Mapping[str, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)  # submitted, by node id
    stream_at_start: bool = False  # flush ready response text before the root runs (Release.stream_at_run_start)
    loop_next_after_last: bool = False  # a loop_next after a loop's last counted pass (Release.loop_next_after_last)


class RunPlan(Struct, frozen=True):
    events: list[PlanEvent]
    status: str  # succeeded | partial-succeeded | failed | paused
    outputs: dict[str, Any]  # what workflow_finished reports
    error: str | None = None
    # Conversation variables an assigner changed (name -> value), whatever the status: Dify stores each
    # write as its node runs (ConversationVariablePersistenceLayer), so a later failure or pause keeps it.
    assigned: dict[str, Any] = field(default_factory=dict)


def _pool(graph: Graph, given: RunInput) -> Pool:
    pool = Pool()
    for name, value in given.system.items():
        pool.set("sys", str(name), value)
    pool.set("sys", "query", given.query)
    pool.values.setdefault(("sys", "files"), [])
    for var in graph.environment_variables:
        pool.set("env", str(var.get("name")), var.get("value"))
    current = given.conversation or {}
    for var in graph.conversation_variables:
        # Declared types: a number is an integer or a float after its declared value (variable_factory).
        name, declared = str(var.get("name")), thaw(var.get("value"))
        kind = variables.stored_type(str(var.get("value_type") or "string"), declared)
        pool.set("conversation", name, thaw(current[name]) if name in current else declared, kind)
    for name, value in current.items():
        if not pool.has(("conversation", name)):  # stored, no longer declared: the runner loads it too
            pool.set("conversation", str(name), thaw(value))
    return pool


def merged_outputs(responses: list[tuple[Node, dict[str, Any]]]) -> dict[str, Any]:
    """GraphRuntimeState.merge_response_outputs: `answer` concatenates across nodes, other keys overwrite."""
    out: dict[str, Any] = {}
    for _node, outputs in responses:
        for key, value in outputs.items():
            if key == "answer" and isinstance(out.get("answer"), str) and isinstance(value, str):
                out["answer"] += value
            else:
                out[key] = value
    return out


def plan_run(
    graph: Graph, given: RunInput, knobs: Knobs | None = None, ids: Callable[[str], str] | None = None
) -> RunPlan:
    """The events of one run, workflow_started to the terminal event."""
    chatflow = given.mode == "advanced-chat"
    run = Run(
        graph,
        knobs or Knobs(),
        chatflow,
        ids or (lambda label: label),
        forms=given.forms,
        loop_next_after_last=given.loop_next_after_last,
    )
    run.emit("workflow_started", {})
    root = graph.root
    if root is None:
        raise ValueError(NO_ROOT)
    pool = _pool(graph, given)
    for var in root.data.get("variables") or ():
        name = str(var.get("variable"))
        if name in given.inputs:
            pool.set(root.id, name, given.inputs[name])
    # Other root types (triggers, datasource) are inactive roots: never queued, so what only they feed
    # never becomes ready (Dify marks it skipped; the stream shows nothing for it either way).
    top = Engine(run, list(graph.top_level), root.id, pool, Frame())
    if given.stream_at_start:
        top.flush()  # GraphRunStarted: sessions no blocking edge holds send what is ready
    top.execute()
    outputs = merged_outputs(run.responses)
    if run.status == "paused":
        return RunPlan(run.events, "paused", outputs, assigned=run.assigned)
    if run.status == "failed":
        finished: dict[str, Any] = {
            "status": "failed",
            "outputs": {},
            "error": run.error,
            "exceptions_count": run.exceptions,
        }
        run.emit("workflow_finished", {"data": finished})
        if chatflow:
            run.emit("error", {"code": "invalid_param", "status": 400, "message": f"Run failed: {run.error}"})
        return RunPlan(run.events, "failed", {}, run.error, run.assigned)
    if chatflow:
        run.emit("message_end", {})
    # A run some node's error strategy carried through ends GraphRunPartialSucceeded (graph_engine.py
    # @1.12.0, graphon's the same): workflow_finished "partial-succeeded".
    status = "partial-succeeded" if run.exceptions else "succeeded"
    finished = {"status": status, "outputs": outputs, "error": None, "exceptions_count": run.exceptions}
    run.emit("workflow_finished", {"data": finished})
    return RunPlan(run.events, status, outputs, assigned=run.assigned)


def outline(plan: RunPlan, graph: Graph) -> list[str]:
    """A readable summary of a plan (tests, `lint --explain`): `started TITLE`, `finished TITLE`,
    `chunk TEXT`, container events with their index, the rest by name."""
    titles = {n.id: n.title for n in graph.nodes}
    out: list[str] = []
    for name, fields, _ in plan.events:
        data = fields.get("data") or {}
        if name in ("node_started", "node_finished", "node_retry"):
            label = name.split("_")[1]
            extra = f" [{data['status']}]" if name == "node_finished" and data.get("status") != "succeeded" else ""
            out.append(f"{label} {titles.get(data['node_id'], data['node_id'])}{extra}")
        elif name in ("text_chunk", "message"):
            out.append("chunk " + str(data.get("text") if name == "text_chunk" else fields.get("answer")))
        elif name in ("iteration_next", "loop_next"):
            out.append(f"{name} {data['index']}")
        else:
            out.append(name)
    return out
