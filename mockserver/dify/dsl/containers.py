"""Iteration and loop containers (DSL.md §A.1.7, graphon `nodes/iteration/iteration_node.py` and
`nodes/loop/loop_node.py` at v0.5.1): the container shows only as iteration_*/loop_* events (never
node_started/node_finished); each pass runs its children in a child engine rooted at `start_node_id`,
whose node events carry `iteration_id`/`loop_id`. `iteration_next` comes before every pass (all of them
first in parallel mode, whose passes then follow in index order: Dify's completion order, made fixed);
`loop_next` after a pass when another follows. A failed pass fails the iteration and the run unless the
node's `error_handle_mode` is continue-on-error (its output None) or remove-abnormal-output (left out)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

from mockserver.dify.dsl.knobs import lookup
from mockserver.dify.dsl.outputs import ARRAY_LENGTH
from mockserver.dify.dsl.values import Pool, conditions_hold

if TYPE_CHECKING:
    from mockserver.dify.dsl.engine import Engine
    from mockserver.dify.dsl.graph_model import Node


# error_handle_mode values under which a failed pass does not fail the iteration (graphon
# graph_engine/iteration_container_handler.py _complete_failed_iteration_frame).
TOLERANT: Final = frozenset({"continue-on-error", "remove-abnormal-output"})


def run_container(outer: Engine, n: Node) -> None:
    outputs = _iteration(outer, n) if n.type == "iteration" else _loop(outer, n)
    if outer.run.status != "succeeded":
        return
    outer.pool.set_outputs(n.id, outputs)
    outer.finish_edges(n, None)  # chunks the container unblocks come after its *_completed event


def _child(outer: Engine, n: Node, kind: str, index: int) -> Engine:
    from mockserver.dify.dsl.engine import Engine, Frame

    children = list(outer.run.graph.children(n.id))
    key = "iter" if kind == "iteration" else "loop"
    frame = Frame(
        path=f"{outer.frame.path}/{key}:{n.id}[{index}]".lstrip("/"),
        iteration_id=n.id if kind == "iteration" else outer.frame.iteration_id,
        loop_id=n.id if kind == "loop" else outer.frame.loop_id,
        metadata={f"{kind}_id": n.id, f"{kind}_index": index},
    )
    root = str(n.data.get("start_node_id") or f"{n.id}start")
    # Each pass starts without the children's values of the last one: Dify clears them before a loop
    # pass (`_clear_loop_subgraph_variables`) and gives an iteration pass a copy of the outer pool.
    outer.pool.forget(c.id for c in children)
    return Engine(outer.run, children, root, outer.pool, frame)


def _head(n: Node) -> dict[str, Any]:
    return {"node_id": n.id, "title": n.title}


def _items(outer: Engine, n: Node) -> list[Any]:
    """The iterator's value; not a list (an input the mock cannot see) => ARRAY_LENGTH made-up items.
    The `iterations` knob cuts or pads it to N."""
    value = outer.pool.get(n.data.get("iterator_selector") or ())
    items = list(value) if isinstance(value, list | tuple) else [f"{n.title}.item[{i}]" for i in range(ARRAY_LENGTH)]
    wanted = lookup(outer.run.graph, outer.run.knobs.iterations, n)
    if wanted is not None:
        items = (items + [f"{n.title}.item[{i}]" for i in range(len(items), int(wanted))])[: int(wanted)]
    return items


def _iteration(outer: Engine, n: Node) -> dict[str, Any]:
    run = outer.run
    items = _items(outer, n)
    inputs = {"iterator_selector": items}
    run.emit(
        "iteration_started", {"data": {**_head(n), "inputs": inputs, "metadata": {"iteration_length": len(items)}}}
    )
    parallel = bool(n.data.get("is_parallel"))
    if parallel:
        for i in range(len(items)):
            run.emit("iteration_next", {"data": {**_head(n), "index": i}})
    collected: list[Any] = []
    selector = n.data.get("output_selector") or ()
    mode = str(n.data.get("error_handle_mode") or "terminated")
    for i, item in enumerate(items):
        if not parallel:
            run.emit("iteration_next", {"data": {**_head(n), "index": i}})
        outer.pool.set(n.id, "item", item)
        outer.pool.set(n.id, "index", i)
        if _child(outer, n, "iteration", i).execute() != "succeeded":
            if run.status == "failed" and mode in TOLERANT:
                # The pass failed, the iteration goes on: its output is None (continue-on-error) or left
                # out (remove-abnormal-output); the run does not fail.
                run.status, run.error = "succeeded", None
                if mode == "continue-on-error":
                    collected.append(None)
                continue
            if run.status == "failed":
                done = {**_head(n), "inputs": inputs, "status": "failed", "error": run.error, "steps": i + 1}
                run.emit("iteration_completed", {"data": done})
            return {}
        collected.append(outer.pool.get(selector))
    output: Any = collected
    if n.data.get("flatten_output", True) and collected and all(isinstance(c, list) for c in collected):
        output = [x for c in collected for x in c]
    outputs = {"output": output}
    done = {**_head(n), "outputs": outputs, "inputs": inputs, "steps": len(items)}
    run.emit("iteration_completed", {"data": done})
    return outputs


def _constant(var_type: str, value: Any) -> Any:
    """A constant loop variable as LoopNode._get_segment_for_constant reads it: an array[number|object|
    string] from its JSON text (anything else is []), other types as written unless they are text of
    another type, then as JSON (the form saves a number as "1")."""
    array = var_type in ("array[number]", "array[object]", "array[string]")
    if array and not (value and isinstance(value, str)):
        return []
    if isinstance(value, str) and (array or var_type not in ("string", "secret")):
        try:
            return json.loads(value)
        except ValueError:
            return [] if array else value  # Dify fails the loop node; the mock runs on
    return value


def _loop_variables(outer: Engine, n: Node) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for var in n.data.get("loop_variables") or ():
        value = var.get("value")
        if var.get("value_type") == "variable" and isinstance(value, list | tuple):
            value = outer.pool.get(value)
        elif var.get("value_type") == "constant":
            value = _constant(str(var.get("var_type") or "string"), value)
        out[str(var.get("label"))] = value
    return out


def _broken(n: Node, pool: Pool) -> bool:
    conds = n.data.get("break_conditions") or ()
    return bool(conds) and conditions_hold(conds, str(n.data.get("logical_operator") or "and"), pool)


def _loop(outer: Engine, n: Node) -> dict[str, Any]:
    """`loops: {node: N}` runs exactly N passes; else break conditions (before the first pass and after
    each) or `loop_count`, and a `loop-end` node that ran ends the loop."""
    run = outer.run
    wanted = lookup(run.graph, run.knobs.loops, n)
    count = int(wanted if wanted is not None else n.data.get("loop_count") or 1)
    outer.pool.set_outputs(n.id, _loop_variables(outer, n))
    names = list(_loop_variables(outer, n))
    inputs = {"loop_count": count}
    run.emit("loop_started", {"data": {**_head(n), "inputs": inputs, "metadata": {"loop_length": count}}})
    rounds = 0
    steered = wanted is not None
    while rounds < count and (steered or not _broken(n, outer.pool)):
        child = _child(outer, n, "loop", rounds)
        status = child.execute()
        rounds += 1
        if status != "succeeded":
            if run.status == "failed":
                done = {**_head(n), "inputs": inputs, "status": "failed", "error": run.error, "steps": rounds}
                run.emit("loop_completed", {"data": done})
            return {}
        if child.ended_by is not None or (not steered and _broken(n, outer.pool)):
            break
        # loop_next only when another pass follows: graphon 0.7.0 (Dify 1.16) asks for the next frame
        # (`graph_engine/loop_container_handler.py`); graphon <= 0.5 (Dify 1.14) and 1.12's in-tree loop
        # node also send one after the last pass of loop_count (`nodes/loop/loop_node.py`).
        if rounds >= count and not run.loop_next_after_last:
            break
        current = {k: outer.pool.get((n.id, k)) for k in names}
        run.emit("loop_next", {"data": {**_head(n), "index": rounds, "pre_loop_output": current}})
    outputs = {**{k: outer.pool.get((n.id, k)) for k in names}, "loop_round": rounds}
    run.emit("loop_completed", {"data": {**_head(n), "outputs": outputs, "inputs": inputs, "steps": rounds}})
    return outputs
