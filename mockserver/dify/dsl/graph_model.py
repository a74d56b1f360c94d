"""The parsed graph of a workflow or chatflow DSL app: nodes and edges as the DSL file gives them.

This is the hand-off between loading a DSL export (mockserver/dify/dsl/load.py) and running its graph
(a later slice): it keeps what DSL.md §A.2.3 says is read, in file order, and nothing is decided here.
Dify's own reading: graphon `src/graphon/graph/graph.py` `_build_edges` (edges in file order, a missing
`sourceHandle` is "source") and DSL.md §A.1.6 (node and edge conventions, containers)."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Final

from msgspec import Struct, field

# The node types Dify runs as roots (`NodeExecutionType.ROOT`, DSL.md §A.1.5).
ROOT_TYPES: Final = frozenset({"start", "datasource", "trigger-webhook", "trigger-schedule", "trigger-plugin"})
BRANCH_TYPES: Final = frozenset({"if-else", "question-classifier", "human-input"})
CONTAINER_TYPES: Final = frozenset({"iteration", "loop"})
RESPONSE_TYPES: Final = frozenset({"answer", "end", "knowledge-index"})
# Every node type Dify 1.14 runs: graphon's BuiltinNodeTypes plus Dify's own (DSL.md §A.1.5).
KNOWN_TYPES: Final = frozenset(
    {
        "start", "end", "answer", "llm", "knowledge-retrieval", "if-else", "code", "template-transform",
        "question-classifier", "http-request", "tool", "datasource", "variable-aggregator", "variable-assigner",
        "loop", "loop-start", "loop-end", "iteration", "iteration-start", "parameter-extractor", "assigner",
        "document-extractor", "list-operator", "agent", "human-input", "knowledge-index", "trigger-webhook",
        "trigger-schedule", "trigger-plugin",
    }
)  # fmt: skip


class Node(Struct, frozen=True):
    """One node. `data` is the node's whole `data` mapping as read (read-only); `parent` is the id of
    the iteration or loop that holds it (`parentId`, else `data.iteration_id` / `data.loop_id`)."""

    id: str
    type: str  # data.type: "start", "llm", "if-else", ...
    title: str  # data.title ("" when absent)
    data: MappingProxyType[str, Any]
    parent: str | None = None
    line: int = 0  # where the node starts in the DSL file (1-based; 0 = unknown), for located messages
    column: int = 0

    @property
    def is_container(self) -> bool:
        return self.type in CONTAINER_TYPES

    @property
    def is_branch(self) -> bool:
        return self.type in BRANCH_TYPES or self.data.get("error_strategy") == "fail-branch"


class Edge(Struct, frozen=True):
    """One edge; `index` is its place in the file (graphon numbers edges `edge_<index>`)."""

    index: int
    source: str
    target: str
    source_handle: str = "source"
    target_handle: str = "target"
    id: str = ""  # the DSL's own edge id (graphon ignores it)
    data: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))


class Graph(Struct, frozen=True):
    """`workflow.graph` without canvas notes (`type: custom-note` / empty `data.type`, DSL.md §A.2.6 step 1)
    and their edges. Nodes and edges keep file order."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    conversation_variables: tuple[MappingProxyType[str, Any], ...] = ()
    environment_variables: tuple[MappingProxyType[str, Any], ...] = ()

    def node(self, node_id: str) -> Node | None:
        for n in self.nodes:
            if n.id == node_id:
                return n
        return None

    @property
    def by_id(self) -> dict[str, Node]:
        return {n.id: n for n in self.nodes}

    @property
    def top_level(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.parent is None)

    def children(self, container_id: str) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.parent == container_id)

    def outgoing(self, node_id: str) -> tuple[Edge, ...]:
        return tuple(e for e in self.edges if e.source == node_id)

    def incoming(self, node_id: str) -> tuple[Edge, ...]:
        return tuple(e for e in self.edges if e.target == node_id)

    @property
    def root(self) -> Node | None:
        """The first top-level `start` node in file order (Dify's `user_input_form` and run root)."""
        return next((n for n in self.top_level if n.type == "start"), None)

    def by_title(self, title: str) -> Node | None:
        """The node titled `title` when exactly one is (knobs may name nodes by a unique title)."""
        found = [n for n in self.nodes if n.title == title]
        return found[0] if len(found) == 1 else None


def freeze(value: Any) -> Any:
    """A read-only view of parsed YAML (mappings become MappingProxyType, lists tuples)."""
    if isinstance(value, dict):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Plain dicts and lists again (for JSON bodies)."""
    if isinstance(value, MappingProxyType | dict):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [thaw(v) for v in value]
    return value


def is_note(raw: Any) -> bool:
    """A canvas note (top-level `type: custom-note`, or an empty `data.type`): not part of the graph."""
    data = raw.get("data") if isinstance(raw, dict) else None
    return raw.get("type") == "custom-note" or not isinstance(data, dict) or not data.get("type")


def parse_graph(
    workflow: dict[str, Any],
    where: Any = None,
) -> Graph:
    """The Graph of a DSL `workflow` mapping already checked by the loader (nodes a list of mappings with
    ids, edges a list of mappings). `where(path) -> (line, column)` locates a node from its JSON path
    under `workflow` (e.g. `("graph", "nodes", 3)`); None leaves nodes unlocated."""
    graph = workflow.get("graph") or {}
    nodes: list[Node] = []
    for i, raw in enumerate(graph.get("nodes") or []):
        if is_note(raw):
            continue
        data = raw["data"]
        parent = raw.get("parentId") or data.get("iteration_id") or data.get("loop_id") or None
        line, column = where(("graph", "nodes", i)) if where is not None else (0, 0)
        nodes.append(
            Node(
                id=str(raw["id"]),
                type=str(data["type"]),
                title=str(data.get("title") or ""),
                data=freeze(data),
                parent=str(parent) if parent else None,
                line=line,
                column=column,
            )
        )
    ids = {n.id for n in nodes}
    edges = [
        Edge(
            index=i,
            source=str(raw["source"]),
            target=str(raw["target"]),
            source_handle=str(raw.get("sourceHandle") or "source"),
            target_handle=str(raw.get("targetHandle") or "target"),
            id=str(raw.get("id") or ""),
            data=freeze(raw.get("data") or {}),
        )
        for i, raw in enumerate(graph.get("edges") or [])
    ]
    # Edges to or from a dropped note go with it; graphon numbers the remaining ones in file order.
    kept = [e for e in edges if e.source in ids and e.target in ids]
    kept = [Edge(i, e.source, e.target, e.source_handle, e.target_handle, e.id, e.data) for i, e in enumerate(kept)]
    return Graph(
        nodes=tuple(nodes),
        edges=tuple(kept),
        conversation_variables=tuple(freeze(v) for v in workflow.get("conversation_variables") or []),
        environment_variables=tuple(freeze(v) for v in workflow.get("environment_variables") or []),
    )
