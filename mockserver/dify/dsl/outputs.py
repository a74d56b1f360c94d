"""What each node type outputs in a run (DSL.md §A.2.9): tier 1 follows the node's semantics over the
pool, tier 2 has Dify's output shape with deterministic, readable values that show the data flow.
A `graph.outputs` entry for the node wins over both (the plan applies it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from mockserver.dify.dsl.graph_model import Node
from mockserver.dify.dsl.values import Pool, render

ARRAY_LENGTH: Final = 2  # items of a synthesized array (DSL.md §A.2.8 `iterations`)
LLM_TEXT_MAX: Final = 200
STREAMING: Final = frozenset({"llm", "agent"})  # nodes whose text reaches a response as chunks
ZERO_USAGE: Final = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def by_type(type_name: str, title: str, name: str) -> Any:
    """A declared output of a code node (or a parameter) by its type."""
    if type_name.startswith("array"):
        inner = type_name[6:-1] if type_name.startswith("array[") else "string"
        return [by_type(inner, title, f"{name}[{i}]") for i in range(ARRAY_LENGTH)]
    if type_name == "number":
        return 0
    if type_name == "boolean":
        return False
    if type_name == "object":
        return {}
    return f"{title}.{name}"


def _prompt(data: Mapping[str, Any]) -> str:
    """The node's last prompt message (chat prompts are a list, completion prompts one mapping)."""
    template = data.get("prompt_template")
    if isinstance(template, list | tuple) and template:
        last = template[-1]
        return str(last.get("text") or last.get("jinja2_text") or "") if isinstance(last, Mapping) else ""
    if isinstance(template, Mapping):
        return str(template.get("text") or "")
    return ""


def llm(node: Node, pool: Pool) -> dict[str, Any]:
    text = f"[{node.title}] " + render(_prompt(node.data), pool)
    return {"text": text[:LLM_TEXT_MAX], "reasoning_content": "", "usage": dict(ZERO_USAGE), "finish_reason": "stop"}


def agent(node: Node, pool: Pool) -> dict[str, Any]:
    params = node.data.get("agent_parameters") or {}
    said = ""
    for key in ("query", "instruction"):
        entry = params.get(key)
        if isinstance(entry, Mapping) and entry.get("value"):
            said = render(str(entry["value"]), pool)
            break
    if not said:
        said = str(pool.get(("sys", "query")) or "")
    return {"text": f"[{node.title}] {said}"[:LLM_TEXT_MAX], "files": [], "json": []}


def code(node: Node, pool: Pool) -> dict[str, Any]:
    declared = node.data.get("outputs") or {}
    return {
        name: by_type(str((spec or {}).get("type") or "string"), node.title, name) for name, spec in declared.items()
    }


def parameter_extractor(node: Node, pool: Pool) -> dict[str, Any]:
    out = {
        str(p.get("name")): by_type(str(p.get("type") or "string"), node.title, str(p.get("name")))
        for p in node.data.get("parameters") or ()
    }
    return {**out, "__is_success": 1, "__reason": "", "__usage": dict(ZERO_USAGE)}


def template_transform(node: Node, pool: Pool) -> dict[str, Any]:
    """Jinja over the mapped variables: `{{ name }}` is substituted; anything richer stays as written."""
    text = str(node.data.get("template") or "")
    for var in node.data.get("variables") or ():
        value = pool.get(var.get("value_selector") or ())
        for spelling in ("{{ %s }}", "{{%s}}"):
            text = text.replace(spelling % var.get("variable"), "" if value is None else str(value))
    return {"output": text}


def aggregator(node: Node, pool: Pool) -> dict[str, Any]:
    """The first input that has a value; with groups, one per group (`<group>: {output}`)."""
    data = node.data
    groups = (data.get("advanced_settings") or {}).get("groups") or ()
    if (data.get("advanced_settings") or {}).get("group_enabled") and groups:
        return {str(g.get("group_name")): {"output": _first(g.get("variables") or (), pool)} for g in groups}
    return {"output": _first(data.get("variables") or (), pool)}


def _first(selectors: Any, pool: Pool) -> Any:
    return next((pool.get(s) for s in selectors if pool.get(s) is not None), None)


def list_operator(node: Node, pool: Pool) -> dict[str, Any]:
    items = pool.get(node.data.get("variable") or ())
    items = list(items) if isinstance(items, list | tuple) else []
    return {"result": items, "first_record": items[0] if items else None, "last_record": items[-1] if items else None}


def human_input(node: Node, pool: Pool) -> dict[str, Any]:
    out: dict[str, Any] = {str(i.get("output_variable_name")): "" for i in node.data.get("inputs") or ()}
    return {
        **out,
        "__action_id": "",
        "__action_value": "",
        "__rendered_content": render(str(node.data.get("form_content") or ""), pool),
    }


def end(node: Node, pool: Pool) -> dict[str, Any]:
    return {str(o.get("variable")): pool.get(o.get("value_selector") or ()) for o in node.data.get("outputs") or ()}


def answer(node: Node, pool: Pool) -> dict[str, Any]:
    return {"answer": render(str(node.data.get("answer") or ""), pool), "files": []}


SYNTHESIZERS: Final[dict[str, Callable[[Node, Pool], dict[str, Any]]]] = {
    "llm": llm,
    "agent": agent,
    "code": code,
    "parameter-extractor": parameter_extractor,
    "template-transform": template_transform,
    "variable-aggregator": aggregator,
    "variable-assigner": aggregator,
    "list-operator": list_operator,
    "human-input": human_input,
    "end": end,
    "answer": answer,
    "tool": lambda n, p: {"text": f"[{n.title}]", "files": [], "json": []},
    "http-request": lambda n, p: {"status_code": 200, "body": "{}", "headers": {}, "files": []},
    "knowledge-retrieval": lambda n, p: {"result": []},
    "document-extractor": lambda n, p: {"text": ""},
}


def synthesize(node: Node, pool: Pool) -> dict[str, Any]:
    """The node's outputs by its type; unknown types and `assigner` output nothing."""
    make = SYNTHESIZERS.get(node.type)
    return make(node, pool) if make is not None else {}


def node_inputs(node: Node, pool: Pool) -> dict[str, Any]:
    """node_finished.inputs: the variables a node maps in (code, template-transform, ...), else {}."""
    out: dict[str, Any] = {}
    for var in node.data.get("variables") or ():
        if isinstance(var, Mapping) and "variable" in var:
            out[str(var["variable"])] = pool.get(var.get("value_selector") or ())
    return out
