"""The `assigner` node (DSL.md §A.2.9): it writes variables of the pool (conversation variables, loop
variables, any node's output) and outputs nothing. Dify's reading: graphon
`src/graphon/nodes/variable_assigner/{v1,v2}/node.py`, `v2/helpers.py`, `v2/exc.py` and
`common/helpers.py`, identical at v0.4.0 (Dify 1.14.2) and v0.7.0 (1.16.1); the type rules and
operations are in assigner_ops.py.

`data.version` picks the implementation as Dify's node factory does (`resolve_workflow_node_class`):
"1" (also when absent) is v1 (`assigned_variable_selector`, `write_mode`), "2" or anything else v2
(`items`). v2 works on a copy and writes nothing when an item fails; the node then fails with the
item's error text. The caller writes `Assigned.updates` into the pool; for `conversation.*` these are
what Dify's ConversationVariablePersistenceLayer stores at once (core/app/layers/, 1.14.2-1.16.1)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from msgspec import Struct, field

from mockserver.dify.dsl import assigner_ops as ops
from mockserver.dify.dsl.graph_model import Node, thaw
from mockserver.dify.dsl.values import Pool

Key = tuple[str, str]
CONVERSATION: Final = "conversation"  # core/workflow/variable_prefixes.py CONVERSATION_VARIABLE_NODE_ID


class Assigned(Struct):
    """What one assigner run gives: node_finished's `inputs` and `process_data`, the writes in the
    order of their first update (one per variable), or the error that failed the node."""

    inputs: dict[str, Any]
    process_data: dict[str, Any] = field(default_factory=dict)
    updates: list[tuple[Key, Any, str]] = field(default_factory=list)  # selector, value, its type
    error: str | None = None


def writes(node: Node) -> set[tuple[str, ...]]:
    """The selectors the node writes: a response template that shows one waits for the node
    (`blocks_variable_output`, graphon graph_engine/response_coordinator/coordinator.py)."""
    if _version(node) == "1":
        return {tuple(str(s) for s in node.data.get("assigned_variable_selector") or ())}
    return {tuple(str(s) for s in item.get("variable_selector") or ()) for item in node.data.get("items") or ()}


def run(node: Node, pool: Pool) -> Assigned:
    """The node's run over the pool, which it leaves as it was (see `apply`)."""
    return _v1(node, pool) if _version(node) == "1" else _v2(node, pool)


def apply(pool: Pool, assigned: Assigned, conversation: dict[str, Any]) -> None:
    """The engine's handling of each VariableUpdatedEvent: the variable, with the type it had. A
    `conversation.*` write that changes the stored value goes into `conversation` (name -> value):
    the persistence layer's UPDATE, which moves the row's updated_at (an equal value changes no column,
    so SQLAlchemy sends none)."""
    for (node_id, name), value, kind in assigned.updates:
        if node_id == CONVERSATION and (
            name in conversation or _json(pool.values.get((node_id, name))) != _json(value)
        ):
            conversation[name] = value
        pool.set(node_id, name, value, kind)


def _json(value: Any) -> str:
    return json.dumps(thaw(value), ensure_ascii=False, default=str)


def _version(node: Node) -> str:
    return str(node.data.get("version") or "1")


class _Work:
    """The pool as the node sees it while it runs: its own writes over the engine's pool."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.written: dict[Key, Any] = {}
        self.kinds: dict[Key, str] = {}  # a written variable's type: the one it had before

    def variable(self, selector: Iterable[Any]) -> tuple[Key, Any] | None:
        """A top-level variable (`get_variable`: exactly [node, name]), else None."""
        sel = [str(s) for s in selector]
        if len(sel) != 2 or not self.pool.has(sel):
            return None
        key = (sel[0], sel[1])
        return key, self.written[key] if key in self.written else thaw(self.pool.values[key])

    def value(self, selector: Iterable[Any]) -> tuple[bool, Any]:
        """VariablePool.get: (found, value); a longer selector descends into objects, a missing
        attribute (or a None one) is not found."""
        sel = [str(s) for s in selector]
        top = self.variable(sel[:2]) if len(sel) >= 2 else None
        if top is None:
            return False, None
        value = top[1]
        for part in sel[2:]:
            value = value.get(part) if isinstance(value, Mapping) else None
            if value is None:
                return False, None
        return True, value

    def type_of(self, key: Key, value: Any) -> str:
        return self.kinds.get(key) or self.pool.types.get(key) or ops.segment_type(value)

    def write(self, key: Key, kind: str, value: Any) -> None:
        self.kinds[key] = kind
        self.written[key] = value

    def updates(self, keys: list[Key]) -> list[tuple[Key, Any, str]]:
        return [(k, self.written[k], self.kinds[k]) for k in keys]


def _updated(work: _Work, keys: list[Key]) -> list[dict[str, Any]]:
    """common/helpers.py UpdatedVariable, as the stream serializes it."""
    return [
        {"name": k[1], "selector": list(k), "value_type": work.kinds[k], "new_value": work.written[k]} for k in keys
    ]


# -- v1: one variable, write_mode over-write | append | clear --------------------------------------------------


def _v1(node: Node, pool: Pool) -> Assigned:
    data, work = node.data, _Work(pool)
    try:
        found = work.variable(data.get("assigned_variable_selector") or ())
        if found is None:
            raise ops.AssignError("assigned variable not found")
        key, current = found
        mode, kind = str(data.get("write_mode") or ""), work.type_of(key, current)
        if mode == "clear":
            income = new = ops.zero(kind)
        elif mode in ("over-write", "append"):
            present, income = work.value(data.get("input_variable_selector") or ())
            if not present:
                raise ops.AssignError("input value not found")
            if mode == "append" and not kind.startswith("array"):
                raise ops.AssignError("append mode requires an array variable")
            new = [*current, income] if mode == "append" else income
        else:
            # Dify's node data model refuses it before the run; the mock fails the node instead.
            raise ops.AssignError(f"write_mode {mode!r} is none of over-write, append, clear")
    except ops.AssignError as exc:
        return Assigned({}, error=str(exc))  # raised out of _run: the base node fails it with no inputs
    work.write(key, kind, new)
    return Assigned({"value": income}, {"__updated_variables": _updated(work, [key])}, work.updates([key]))


# -- v2: items of operations --------------------------------------------------------------------------------------


def _inputs_v2(data: Mapping[str, Any]) -> dict[str, Any]:
    """VariableAssignerNodeData.model_dump(): BaseNodeData's fields, `items` (their four fields), then
    the node's other keys (extra="allow")."""
    retry = data.get("retry_config") or {}
    defaults = data.get("default_value")
    out: dict[str, Any] = {
        "type": data.get("type"),
        "title": data.get("title") or "",
        "desc": data.get("desc"),
        "version": str(data.get("version")),
        "error_strategy": data.get("error_strategy"),
        "default_value": [{"value": thaw(d.get("value")), "type": d.get("type"), "key": d.get("key")} for d in defaults]
        if defaults
        else None,
        "retry_config": {
            "max_retries": retry.get("max_retries", 0),
            "retry_interval": retry.get("retry_interval", 0),
            "retry_enabled": retry.get("retry_enabled", False),
        },
        "items": [
            {
                "variable_selector": [str(s) for s in item.get("variable_selector") or ()],
                "input_type": item.get("input_type"),
                "operation": item.get("operation"),
                "value": thaw(item.get("value")),
            }
            for item in data.get("items") or ()
        ],
    }
    out.update({k: thaw(v) for k, v in data.items() if k not in out})
    return out


def _v2(node: Node, pool: Pool) -> Assigned:
    work = _Work(pool)
    inputs = _inputs_v2(node.data)
    order: list[Key] = []
    try:
        for item in node.data.get("items") or ():
            key = _apply(work, item)
            if key is not None and key not in order:
                order.append(key)
    except ops.AssignError as exc:
        return Assigned(inputs, error=str(exc))
    process: dict[str, Any] = {k[1]: work.written[k] for k in order}
    process["__updated_variables"] = _updated(work, order)
    return Assigned(inputs, process, work.updates(order))


def _apply(work: _Work, item: Mapping[str, Any]) -> Key | None:
    """One item (`_apply_item`): the variable, what it supports, the input, its check, the result."""
    selector = [str(s) for s in item.get("variable_selector") or ()]
    found = work.variable(selector)
    if found is None:
        raise ops.AssignError(f"Variable {selector} not found")
    key, current = found
    kind, op, input_type = work.type_of(key, current), str(item.get("operation")), str(item.get("input_type"))
    if not ops.supported(kind, op):
        raise ops.AssignError(f"Operation {op} is not supported for type {kind}")
    if input_type == "variable" and (op == "set" or op in ops.ARITHMETIC):
        raise ops.AssignError(f"Input type variable is not supported for operation {op}")
    if input_type == "constant" and not ops.constant_supported(kind, op):
        raise ops.AssignError(f"Input type constant is not supported for operation {op}")
    value = thaw(item.get("value"))
    if input_type == "variable" and op not in ops.NO_VALUE and value is not None:
        present, value = work.value(value if isinstance(value, list) else [value])
        if not present:
            raise ops.AssignError(f"Variable {thaw(item.get('value'))} not found")
        if value is None:
            return None  # a NONE segment: the item is skipped, nothing is written
    if op == "set" and kind == "object" and isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ops.AssignError(f"Invalid input value {value}") from None
    if not ops.valid(kind, op, value):
        raise ops.AssignError(f"Invalid input value {value}")
    work.write(key, kind, ops.result(kind, op, current, value))
    return key
