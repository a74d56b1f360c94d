"""The variable pool of one DSL run: selectors, `{{#node.var#}}` templates and if-else conditions.

Dify's reading: graphon `src/graphon/runtime/variable_pool.py` (a selector is [node_id, var, *path]),
`src/graphon/nodes/base/template.py` / VARIABLE_PATTERN (the `{{#...#}}` reference) and
`src/graphon/utils/condition/processor.py` (the comparison operators) at v0.5.1 (DSL.md §A.1.6, §A.2.8)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

# graphon's VARIABLE_PATTERN: a node id of up to 50 word characters and 1-10 dotted names.
REFERENCE: Final = re.compile(r"\{\{#([a-zA-Z0-9_]{1,50}(?:\.[a-zA-Z_][a-zA-Z0-9_]{0,29}){1,10})#\}\}")
SPECIAL_ROOTS: Final = frozenset({"sys", "env", "conversation"})


class Pool:
    """Values by (node id, variable name); nested paths descend into mappings and lists."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], Any] = {}
        # Segment types that are declared rather than inferred from the value (conversation variables;
        # a variable an assigner wrote keeps its type, graphon's `model_copy`): assigner.py reads them.
        self.types: dict[tuple[str, str], str] = {}

    def set(self, node_id: str, name: str, value: Any, type_: str | None = None) -> None:
        """A value; its type is inferred again unless `type_` declares it (VariablePool.add)."""
        self.values[(node_id, name)] = value
        if type_ is None:
            self.types.pop((node_id, name), None)
        else:
            self.types[(node_id, name)] = type_

    def set_outputs(self, node_id: str, outputs: Mapping[str, Any]) -> None:
        for name, value in outputs.items():
            self.set(node_id, name, value)

    def has(self, selector: Iterable[Any]) -> bool:
        sel = [str(s) for s in selector]
        return len(sel) >= 2 and (sel[0], sel[1]) in self.values

    def get(self, selector: Iterable[Any]) -> Any:
        """The value a selector names, None when the pool has none (Dify renders that as empty)."""
        sel = [str(s) for s in selector]
        if len(sel) < 2:
            return None
        value = self.values.get((sel[0], sel[1]))
        for part in sel[2:]:
            if isinstance(value, Mapping):
                value = value.get(part)
            elif isinstance(value, list | tuple) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return None
        return value

    def forget(self, node_ids: Iterable[str]) -> None:
        """Drop every value of these nodes (a loop clears its children before each pass)."""
        gone = set(node_ids)
        self.values = {k: v for k, v in self.values.items() if k[0] not in gone}
        self.types = {k: v for k, v in self.types.items() if k[0] not in gone}

    def copy(self) -> Pool:
        out = Pool()
        out.values = dict(self.values)
        out.types = dict(self.types)
        return out


def text_of(value: Any) -> str:
    """A value as a response chunk or template shows it: strings as they are, None empty, numbers and
    booleans as text, objects and arrays as JSON (⚠ DSL.md §A.3: Dify's array rendering unconfirmed)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(_plain(value), ensure_ascii=False)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def render(template: str, pool: Pool) -> str:
    """A template with every `{{#node.var#}}` replaced by its value's text."""
    return REFERENCE.sub(lambda m: text_of(pool.get(m.group(1).split("."))), template)


def segments(template: str) -> list[str | tuple[str, ...]]:
    """A template split as Dify's response template is: text pieces and selectors, in order."""
    out: list[str | tuple[str, ...]] = []
    at = 0
    for m in REFERENCE.finditer(template):
        if m.start() > at:
            out.append(template[at : m.start()])
        out.append(tuple(m.group(1).split(".")))
        at = m.end()
    if at < len(template):
        out.append(template[at:])
    return out


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list | tuple | Mapping) and len(value) == 0)


def _compare(op: str, actual: Any, expected: Any) -> bool:
    """One condition, as graphon's processor decides it; an operator it does not know is false."""
    if op in ("empty", "null"):
        return _empty(actual)
    if op in ("not empty", "not null"):
        return not _empty(actual)
    if op == "exists":
        return actual is not None
    if op == "not exists":
        return actual is None
    if op in ("contains", "not contains"):
        found = actual is not None and (
            str(expected) in actual if isinstance(actual, str) else expected in (actual or [])
        )
        return found if op == "contains" else (actual is None or not found)
    if op == "start with":
        return isinstance(actual, str) and actual.startswith(str(expected))
    if op == "end with":
        return isinstance(actual, str) and actual.endswith(str(expected))
    if op == "is":
        return actual is not None and text_of(actual) == text_of(expected)
    if op == "is not":
        return actual is None or text_of(actual) != text_of(expected)
    if op in ("in", "not in"):
        inside = actual is not None and actual in (expected if isinstance(expected, list | tuple) else [expected])
        return inside if op == "in" else not inside
    if op == "all of":
        wanted = expected if isinstance(expected, list | tuple) else [expected]
        return isinstance(actual, list | tuple) and all(w in actual for w in wanted)
    a, b = _number(actual), _number(expected)
    if a is None or b is None:
        return False
    numeric = {"=": a == b, "≠": a != b, ">": a > b, "<": a < b, "≥": a >= b, "≤": a <= b}
    return numeric.get(op, False)


def condition_holds(condition: Mapping[str, Any], pool: Pool) -> bool:
    """A condition's `value` may itself hold `{{#...#}}` references (rendered first)."""
    actual = pool.get(condition.get("variable_selector") or ())
    expected = condition.get("value")
    if isinstance(expected, str):
        expected = render(expected, pool)
    return _compare(str(condition.get("comparison_operator") or ""), actual, expected)


def conditions_hold(conditions: Iterable[Mapping[str, Any]], logical: str, pool: Pool) -> bool:
    results = [condition_holds(c, pool) for c in conditions]
    return any(results) if logical == "or" else all(results)


def if_else_handle(data: Mapping[str, Any], pool: Pool) -> str:
    """The first case whose conditions hold (its `case_id`), else "false". Exports before cases existed
    keep one condition list at the top: that case is "true"."""
    cases = data.get("cases")
    if not cases and data.get("conditions"):
        cases = [
            {"case_id": "true", "conditions": data["conditions"], "logical_operator": data.get("logical_operator")}
        ]
    for case in cases or ():
        conds = case.get("conditions") or ()
        if conds and conditions_hold(conds, str(case.get("logical_operator") or "and"), pool):
            return str(case.get("case_id") or case.get("id") or "true")
    return "false"


def question_class(data: Mapping[str, Any], pool: Pool, how: str, chosen: str | None) -> Mapping[str, Any]:
    """The class a question classifier takes: the steered one (`branches` knob, by class id); else with
    `classify: keyword` the first class whose name occurs in the query (case-insensitive), else the
    first class (DSL.md §A.2.8). The query is the node's `query_variable_selector` value, else sys.query.
    {} when the node has no classes or the steered handle names none."""
    classes = [c for c in data.get("classes") or () if isinstance(c, Mapping)]
    if chosen is not None:
        return next((c for c in classes if str(c.get("id")) == chosen), {})
    if how == "keyword":
        selector = data.get("query_variable_selector") or ("sys", "query")
        query = text_of(pool.get(selector)).casefold()
        for c in classes:
            name = str(c.get("name") or "").casefold()
            if name and name in query:
                return c
    return classes[0] if classes else {}
