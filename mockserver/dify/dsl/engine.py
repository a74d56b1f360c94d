"""One graph engine over a DSL graph (DSL.md §A.1.7, §A.2.7): graphon's ready rule (no incoming edge
undecided, one taken), branch handles with skip propagation, a FIFO queue in file/edge order, and the
response sessions of streams.py. Containers run their children in a child Engine (containers.py).

Dify runs ready nodes on a worker pool; here they run one after another in queue order, so the same
graph, knobs and inputs always give the same events."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from msgspec import Struct, field

from mockserver.dify.dsl import assigner
from mockserver.dify.dsl.graph_model import ROOT_TYPES, Edge, Graph, Node, thaw
from mockserver.dify.dsl.knobs import Knobs, elapsed_ms, lookup
from mockserver.dify.dsl.outputs import node_inputs, synthesize
from mockserver.dify.dsl.streams import Sessions, chunk_event
from mockserver.dify.dsl.values import Pool, if_else_handle, question_class, render

PlanEvent = tuple[str, dict[str, Any], int | None]  # event name, fixture fields, delay in ms (None: default)
STARTS = frozenset({"iteration-start", "loop-start"})  # run silently: graphon drops their events
TIMEOUT_HANDLE = "__timeout"  # a Human Input node's timeout edge (web/.../human-input/node.tsx handleId)


class Run(Struct):
    """What every engine of one run shares: the graph, knobs, the event list and the run's outcome."""

    graph: Graph
    knobs: Knobs
    chatflow: bool
    ids: Callable[[str], str]  # label -> execution id (the request's deterministic draws)
    events: list[PlanEvent] = field(default_factory=list)
    status: str = "succeeded"  # succeeded | failed | paused
    error: str | None = None
    exceptions: int = 0
    responses: list[tuple[Node, dict[str, Any]]] = field(default_factory=list)  # response nodes' outputs
    assigned: dict[str, Any] = field(default_factory=dict)  # conversation variables an assigner changed
    # Human input nodes whose forms were submitted (a resumed run): node id -> (action id, submitted data).
    forms: Mapping[str, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)
    loop_next_after_last: bool = False  # Release.loop_next_after_last

    def emit(self, name: str, fields: dict[str, Any], delay: int | None = None) -> None:
        self.events.append((name, fields, delay))


class Frame(Struct):
    """Where an engine runs: top level, or one pass of an iteration or loop."""

    path: str = ""  # "iter:<id>[<i>]/loop:<id>[<j>]" ...
    iteration_id: str | None = None
    loop_id: str | None = None
    metadata: dict[str, Any] | None = None  # execution_metadata of the children (iteration_id, index)


class Engine:
    def __init__(self, run: Run, nodes: list[Node], root: str, pool: Pool, frame: Frame) -> None:
        self.run, self.pool, self.frame = run, pool, frame
        self.nodes = {n.id: n for n in nodes}
        self.edges: list[Edge] = [e for e in run.graph.edges if e.source in self.nodes and e.target in self.nodes]
        self.state: dict[int, str] = {e.index: "unknown" for e in self.edges}
        self.done: dict[str, str] = {}  # node id -> "ran" | "skipped"
        self.queue: list[Node] = [self.nodes[root]]
        self.queued: set[str] = {root}
        self.root = root
        self.sessions = Sessions(
            self.nodes, root, self.edges, pool, lambda e: self.state[e.index] == "taken", lambda n: n in self.done
        )
        self.ended_by: str | None = None  # a loop-end node that ran
        self.skip_inactive_roots()

    def skip_inactive_roots(self) -> None:
        """Other root-type nodes (a trigger or datasource beside the start node) are skipped with their
        edges before anything runs, so a join they feed still runs (graphon `graph/graph.py`
        `_mark_inactive_root_branches` at v0.4.0, DSL.md §A.1.7)."""
        for n in self.nodes.values():
            if n.type in ROOT_TYPES and n.id != self.root:
                self.done[n.id] = "skipped"
                for e in self.edges:
                    if e.source == n.id:
                        self.state[e.index] = "skipped"
                        self.skip_from(e)

    # -- the main loop -----------------------------------------------------------------------------
    def execute(self) -> str:
        """Run to the end; returns the run's status so far (succeeded, failed, paused)."""
        from mockserver.dify.dsl.containers import run_container

        while self.queue and self.run.status == "succeeded":
            batch = [self.queue.pop(0)]
            if self.run.knobs.parallel == "interleaved":
                batch += self.queue
                self.queue = []
            announced = set()
            if len(batch) > 1:
                for n in batch:
                    if not n.is_container and n.type not in STARTS:
                        self.started(n)
                        announced.add(n.id)
            for n in batch:
                if self.run.status != "succeeded":
                    break
                if n.is_container:
                    run_container(self, n)
                else:
                    self.step(n, announced=n.id in announced)
        return self.run.status

    def step(self, n: Node, announced: bool = False) -> None:
        run = self.run
        if n.type in STARTS:
            self.finish_edges(n, None)
            return
        if not announced:
            self.started(n)
        failure = lookup(run.graph, run.knobs.fail, n)
        if failure is not None:
            self.fail(n, failure)
            return
        handle: str | None = None
        filled: dict[str, Any] = {}
        shown: dict[str, Any] = {}  # node_finished's inputs and process_data, when not the default
        if n.type == "assigner":
            done = assigner.run(n, self.pool)
            if done.error is not None:
                self.fail(n, done.error, done.inputs)
                return
            assigner.apply(self.pool, done, run.assigned)
            shown = {"inputs": done.inputs, "process_data": done.process_data}
        if n.type == "human-input":
            action, submitted = run.forms.get(n.id) or (lookup(run.graph, run.knobs.human_input, n), {})
            if action is None:
                self.pause(n)
                return
            if action == TIMEOUT_HANDLE:
                handle, filled = self.form_timed_out(n)
            else:
                handle, filled = self.form_filled(n, str(action), submitted)
        # A timed-out form has only its action outputs (empty); a filled one its declared outputs too.
        outputs = filled if handle == TIMEOUT_HANDLE else {**self.outputs_of(n), **filled}
        if handle is None:
            handle = self.handle_of(n, outputs)
        if n.type == "if-else":
            outputs = {"result": handle != "false", "selected_case_id": handle, **outputs}
        self.pool.set_outputs(n.id, outputs)
        self.flush()  # a streaming node's text while it runs
        self.finish_edges(n, handle)
        self.finished(n, outputs, **shown)
        if n.type == "loop-end":
            self.ended_by = n.id
            self.queue.clear()

    # -- outputs and branches --------------------------------------------------------------------------
    def outputs_of(self, n: Node) -> dict[str, Any]:
        if n.type == "start":
            outputs = {k: v for (node, k), v in self.pool.values.items() if node == n.id}
        else:
            outputs = synthesize(n, self.pool)
        given = lookup(self.run.graph, self.run.knobs.outputs, n)
        if given:
            outputs = {**outputs, **given}
        if n.type in ("answer", "end"):
            self.run.responses.append((n, outputs))
        return outputs

    def handle_of(self, n: Node, outputs: dict[str, Any]) -> str | None:
        """The branch a node takes (None: a plain node, every edge): the `branches` knob, else Dify's rule."""
        if not n.is_branch:
            return None
        chosen = lookup(self.run.graph, self.run.knobs.branches, n)
        if n.type == "question-classifier":
            # The class outputs follow the class taken, whether steered or classified (DSL.md §A.2.9).
            picked = question_class(n.data, self.pool, self.run.knobs.classify, None if chosen is None else str(chosen))
            if picked:
                name = picked.get("name")
                outputs.update(class_name=name, class_id=picked.get("id"), class_label=name)
            return str(chosen) if chosen is not None else str(picked.get("id") or "")
        if chosen is not None:
            return str(chosen)
        if n.type == "if-else":
            return if_else_handle(n.data, self.pool)
        return "success-branch"

    # -- edges, skips and readiness ----------------------------------------------------------------------
    def finish_edges(self, n: Node, handle: str | None) -> None:
        self.done[n.id] = "ran"
        out = [e for e in self.edges if e.source == n.id]
        taken = [e for e in out if handle is None or e.source_handle == handle]
        # graphon's edge_processor skips the unselected edges (propagating each) before it takes the selected
        # ones, so a join fed by both waits for the taken edge and is queued in taken-edge order.
        for e in out:
            if e not in taken:
                self.state[e.index] = "skipped"
                self.skip_from(e)
        for e in taken:  # each taken edge may open sessions (on_edge_taken) and ready its target, in edge order
            self.state[e.index] = "taken"
            self.sessions.update()
            self.enqueue_if_ready(e.target)
        self.flush()

    def skip_from(self, edge: Edge) -> None:
        target = edge.target
        incoming = [e for e in self.edges if e.target == target]
        if all(self.state[e.index] == "skipped" for e in incoming):
            if target in self.done:
                return
            self.done[target] = "skipped"
            self.sessions.drop(target)
            for e in self.edges:
                if e.source == target:
                    self.state[e.index] = "skipped"
                    self.skip_from(e)
        else:
            self.enqueue_if_ready(target)  # a join whose last undecided branch was just skipped

    def enqueue_if_ready(self, node_id: str) -> None:
        if node_id in self.queued or node_id in self.done:
            return
        states = [self.state[e.index] for e in self.edges if e.target == node_id]
        if "unknown" not in states and "taken" in states:
            self.queued.add(node_id)
            self.queue.append(self.nodes[node_id])

    def flush(self) -> None:
        for _node, chunk in self.sessions.flush():
            name, fields = chunk_event(self.run.chatflow, chunk)
            self.run.emit(name, fields)

    # -- events ----------------------------------------------------------------------------------------------
    def head(self, n: Node) -> dict[str, Any]:
        label = f"node:{n.id}:{self.frame.path}" if self.frame.path else f"node:{n.id}"
        return {
            "id": self.run.ids(label),
            "node_id": n.id,
            "node_type": n.type,
            "title": n.title,
        }

    def tail(self) -> dict[str, Any]:
        return {"iteration_id": self.frame.iteration_id, "loop_id": self.frame.loop_id}

    def started(self, n: Node) -> None:
        data = {**self.head(n), **self.tail()}
        if n.type == "agent":
            data["agent_strategy"] = {"name": n.data.get("agent_strategy_name"), "icon": None}
        self.run.emit("node_started", {"data": data})

    def finished(
        self,
        n: Node,
        outputs: dict[str, Any],
        status: str = "succeeded",
        error: str | None = None,
        inputs: dict[str, Any] | None = None,
        process_data: dict[str, Any] | None = None,
    ) -> None:
        data = {
            **self.head(n),
            "inputs": node_inputs(n, self.pool) if inputs is None else inputs,
            "outputs": outputs,
            "status": status,
            "error": error,
            **self.tail(),
        }
        if process_data is not None:
            data["process_data"] = process_data
        # An error strategy that carried the node through is in its metadata, before a container's
        # (error_handler.py @1.12.0; graphon's iteration handler adds its keys after the event's).
        strategy = {"error_strategy": n.data.get("error_strategy")} if status == "exception" else {}
        if self.frame.metadata or strategy:
            data["execution_metadata"] = {**strategy, **(self.frame.metadata or {})}
        self.run.emit("node_finished", {"data": data}, elapsed_ms(self.run.knobs, n.type))

    def fail(self, n: Node, message: str, inputs: dict[str, Any] | None = None) -> None:
        """A node that fails (the `fail` knob, an assigner's refusal): retries first (retry_config),
        then the node's error strategy decides."""
        run = self.run
        retry = n.data.get("retry_config") or {}
        if retry.get("retry_enabled"):
            for i in range(int(retry.get("max_retries") or 0)):
                data = {**self.head(n), "error": message, "retry_index": i + 1, **self.tail()}
                run.emit("node_retry", {"data": data}, int(retry.get("retry_interval") or 0) or None)
        strategy = n.data.get("error_strategy")
        if strategy in ("fail-branch", "default-value"):
            run.exceptions += 1
            outputs: dict[str, Any] = {}
            if strategy == "default-value":
                outputs = {str(d.get("key")): d.get("value") for d in n.data.get("default_value") or ()}
            outputs.update(error_message=message, error_type="MockNodeError")
            self.pool.set_outputs(n.id, outputs)
            self.finish_edges(n, "fail-branch" if strategy == "fail-branch" else None)
            self.finished(n, outputs, "exception", message, inputs)
            return
        self.finished(n, {}, "failed", message, inputs)
        run.status, run.error = "failed", message

    def form_filled(self, n: Node, action: str, submitted: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """The node's form, filled: by the `human_input` knob (no data: the declared outputs are
        synthesized) or by a submission that resumed the run (its inputs are the node's outputs)."""
        actions = {str(a.get("id")): a for a in n.data.get("user_actions") or ()}
        rendered = render(str(n.data.get("form_content") or ""), self.pool)
        title = (actions.get(action) or {}).get("title", action)
        self.run.emit(
            "human_input_form_filled",
            {
                "data": {
                    "node_id": n.id,
                    "node_title": n.title,
                    "rendered_content": rendered,
                    "action_id": action,
                    "action_text": title,
                    "submitted_data": dict(submitted),
                }
            },
        )
        return action, {**submitted, "__action_id": action, "__action_value": title, "__rendered_content": rendered}

    def form_timed_out(self, n: Node) -> tuple[str, dict[str, Any]]:
        """The node's form ran out of time (`human_input: {node: __timeout}`): human_input_form_timeout,
        empty action outputs, and the timeout edge (core/workflow/nodes/human_input/callback.py @1.16.1;
        the editor names that handle `__timeout`)."""
        rendered = render(str(n.data.get("form_content") or ""), self.pool)
        self.run.emit("human_input_form_timeout", {"data": {"node_id": n.id, "node_title": n.title}})
        return TIMEOUT_HANDLE, {"__action_id": "", "__action_value": "", "__rendered_content": rendered}

    def pause(self, n: Node) -> None:
        data = {
            "node_id": n.id,
            "node_title": n.title,
            "form_content": render(str(n.data.get("form_content") or ""), self.pool),
            # thaw: a form input's `default` is a nested mapping, read-only in the graph, not JSON as is
            "inputs": [thaw(i) for i in n.data.get("inputs") or ()],
            "actions": [thaw(a) for a in n.data.get("user_actions") or ()],
        }
        self.run.emit("human_input_required", {"data": data})
        self.run.emit("workflow_paused", {"data": {}})
        self.run.status = "paused"
