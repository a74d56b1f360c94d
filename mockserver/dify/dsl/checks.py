"""Graph checks after the structural ones (DSL.md §A.2.5): containers and cycles are errors (Dify cannot run
them), a branch edge no case selects, an unreachable node and a selector to no node are warnings (Dify
runs the rest).

Branch handles: if-else `cases[].case_id` or "false" (graphon `nodes/if_else`), question-classifier
`classes[].id`, human-input `user_actions[].id` and `__timeout`, a `fail-branch` node `success-branch` /
`fail-branch` (DSL.md §A.1.6)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from mockserver.dify.dsl.graph_model import CONTAINER_TYPES, ROOT_TYPES, Edge, Graph, Node
from mockserver.dify.dsl.values import REFERENCE, SPECIAL_ROOTS

Located = tuple[Node, str]  # a problem at a node


def container_errors(graph: Graph) -> list[Located]:
    """Each iteration or loop names a start child of its own and holds at least one node; each child's
    parent is a container."""
    out: list[Located] = []
    by_id = graph.by_id
    for node in graph.nodes:
        if node.parent is not None:
            holder = by_id.get(node.parent)
            if holder is None or holder.type not in CONTAINER_TYPES:
                out.append((node, f"node '{node.id}' is inside '{node.parent}', which is no iteration or loop"))
        if not node.is_container:
            continue
        children = graph.children(node.id)
        start = node.data.get("start_node_id")
        if not children:
            out.append((node, f"{node.type} '{node.id}' holds no node"))
        elif not start:
            out.append((node, f"{node.type} '{node.id}' has no start_node_id"))
        elif start not in by_id:
            out.append((node, f"{node.type} '{node.id}': start_node_id '{start}' is no node"))
        elif by_id[start].parent != node.id:
            out.append((node, f"{node.type} '{node.id}': its start node '{start}' is not inside it"))
    return out


def cycle_errors(graph: Graph) -> list[Located]:
    """A cycle among edges outside loop containers (the engine would wait forever)."""
    in_loop = {n.id for n in graph.nodes if n.parent is not None and _holder_type(graph, n) == "loop"}
    edges = [e for e in graph.edges if e.source not in in_loop and e.target not in in_loop]
    succ: dict[str, list[str]] = {}
    for e in edges:
        succ.setdefault(e.source, []).append(e.target)
    state: dict[str, int] = {}  # 1 on the path, 2 done
    out: list[Located] = []
    by_id = graph.by_id
    for start in (n.id for n in graph.nodes):
        if state.get(start):
            continue
        stack = [(start, iter(succ.get(start, ())))]
        state[start] = 1
        while stack:
            node_id, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node_id] = 2
                stack.pop()
            elif state.get(child) == 1:
                out.append((by_id[child], f"a cycle of edges returns to node '{child}' (outside a loop)"))
            elif not state.get(child):
                state[child] = 1
                stack.append((child, iter(succ.get(child, ()))))
    return out


def branch_warnings(graph: Graph) -> list[Located]:
    """An edge leaving a branch node by a handle none of its cases, classes or actions selects."""
    out: list[Located] = []
    for node in graph.nodes:
        handles = _handles(node)
        if handles is None:
            continue
        for edge in graph.outgoing(node.id):
            if edge.source_handle not in handles:
                message = f"edge {_name(edge)} leaves '{node.id}' by handle '{edge.source_handle}'"
                out.append((node, message + ", which no branch of it selects: it is never taken"))
    return out


def selector_warnings(graph: Graph) -> list[Located]:
    """A variable selector (a `*selector` list, or `{{#node.var#}}` in a text) whose first part names no
    node of the graph and is not sys, env or conversation: Dify finds no value there (DSL.md §A.2.5)."""
    ids = {n.id for n in graph.nodes}
    out: list[Located] = []
    for node in graph.nodes:
        unknown = sorted({root for root in _roots(node.data) if root not in ids and root not in SPECIAL_ROOTS})
        for root in unknown:
            out.append((node, f"node '{node.id}' refers to '{root}', which is no node: the value is empty"))
    return out


def _roots(value: Any, key: str = "") -> Iterable[str]:
    """The first part of every selector in a node's data."""
    if isinstance(value, str):
        yield from (m.group(1).split(".", 1)[0] for m in REFERENCE.finditer(value))
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _roots(v, str(k))
    elif isinstance(value, list | tuple):
        selects = key.endswith("selector") or key == "variables"  # an aggregator's variables are selectors
        if selects and len(value) >= 2 and all(isinstance(p, str) for p in value):
            yield value[0]
            return
        for item in value:
            yield from _roots(item, key if key == "variables" else "")


# Node types whose outputs the mock makes up in Dify's shape (DSL.md §A.2.9 tier 2).
IMITATED: Final = (
    "llm",
    "agent",
    "tool",
    "http-request",
    "code",
    "parameter-extractor",
    "knowledge-retrieval",
    "document-extractor",
)
# Features /v1/parameters reports that runs do not act on (DSL.md §A.2.5).
UNSIMULATED: Final = ("sensitive_word_avoidance", "annotation_reply", "retriever_resource")


def imitation_notes(graph: Graph, features: Any) -> list[str]:
    """What a user should know is imitated: the node types whose outputs are synthesised (one line, each
    type with its nodes' titles) and the switched-on features nothing simulates."""
    notes: list[str] = []
    titles: dict[str, list[str]] = {}
    for node in graph.nodes:
        if node.type in IMITATED:
            titles.setdefault(node.type, []).append(node.title or node.id)
    if titles:
        listed = "; ".join(f"{t} ({', '.join(titles[t])})" for t in IMITATED if t in titles)
        notes.append(f"outputs synthesised, not computed (set them with graph: outputs): {listed}")
    features = features if isinstance(features, Mapping) else {}
    for name in UNSIMULATED:
        value = features.get(name)
        if isinstance(value, Mapping) and value.get("enabled"):
            notes.append(f"feature {name} is reported in /v1/parameters but not simulated")
    speech = features.get("text_to_speech")
    if isinstance(speech, Mapping) and speech.get("enabled") and speech.get("autoPlay") == "enabled":
        notes.append("feature text_to_speech.autoPlay is reported in /v1/parameters but not simulated")
    return notes


def unreachable_warnings(graph: Graph) -> list[Located]:
    """Nodes no edge path reaches from a root (top level) or from their container's start node."""
    succ: dict[str, list[str]] = {}
    for e in graph.edges:
        succ.setdefault(e.source, []).append(e.target)
    seeds = [n.id for n in graph.top_level if n.type in ROOT_TYPES]
    seeds += [str(n.data.get("start_node_id")) for n in graph.nodes if n.is_container and n.data.get("start_node_id")]
    seen = set(_reach(seeds, succ))
    # A container is reached with its body: its children run when it does.
    return [
        (n, f"node '{n.id}' ({n.type}) is reached by no edge from a start node: it never runs")
        for n in graph.nodes
        if n.id not in seen and n.type not in ROOT_TYPES and _reached_parent(graph, n, seen)
    ]


def _reached_parent(graph: Graph, node: Node, seen: set[str]) -> bool:
    """Report a node once: not when its whole container is unreachable (the container is reported)."""
    return node.parent is None or node.parent in seen


def _reach(seeds: Iterable[str], succ: dict[str, list[str]]) -> Iterable[str]:
    todo, seen = list(seeds), set()
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        yield n
        todo.extend(succ.get(n, ()))


def _holder_type(graph: Graph, node: Node) -> str | None:
    holder = graph.node(node.parent) if node.parent else None
    return holder.type if holder is not None else None


def _handles(node: Node) -> set[str] | None:
    data = node.data
    if data.get("error_strategy") == "fail-branch":
        return {"success-branch", "fail-branch"}
    if node.type == "if-else":
        cases = data.get("cases")
        if cases is None:  # before cases (DSL 0.1.x without them): one condition set, true or false
            return {"true", "false"}
        return {str(c.get("case_id")) for c in cases if hasattr(c, "get")} | {"false"}
    if node.type == "question-classifier":
        return {str(c.get("id")) for c in data.get("classes") or () if hasattr(c, "get")}
    if node.type == "human-input":
        return {str(a.get("id")) for a in data.get("user_actions") or () if hasattr(a, "get")} | {"__timeout"}
    return None


def _name(edge: Edge) -> str:
    return f"'{edge.id}'" if edge.id else f"{edge.source}->{edge.target}"
