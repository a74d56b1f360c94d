"""Response streaming of one engine (DSL.md §A.1.7, graphon `graph_engine/response_coordinator/`):
each answer/end node is a session over its template; a session may start once, on some path from the
root, every blocking edge (out of a branch, container or response node) is taken; one session streams
at a time, first come first served (the initial ones by node id); its segments go out in template
order, a variable as soon as its node has run (a streaming node's text word by word)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, Final

from msgspec import Struct, field

from mockserver.dify.dsl import assigner
from mockserver.dify.dsl.graph_model import CONTAINER_TYPES, RESPONSE_TYPES, Edge, Node
from mockserver.dify.dsl.outputs import STREAMING
from mockserver.dify.dsl.values import SPECIAL_ROOTS, Pool, markdown_of, segments

MAX_PATHS: Final = 512  # simple paths kept per response node: enough for any hand-made graph
_WORD: Final = re.compile(r"\s*\S+\s*$|\s*\S+")

Segment = str | tuple[str, ...]
Chunk = tuple[str, list[str]]  # text, from_variable_selector


def words(text: str) -> list[str]:
    """Model deltas as they come: each word with its leading space."""
    return _WORD.findall(text) or ([text] if text else [])


def template_of(node: Node) -> list[Segment]:
    """An answer's text; an End's outputs in order, joined by "\\n" text segments (Template.from_end_outputs)."""
    if node.type == "answer":
        return segments(str(node.data.get("answer") or ""))
    out: list[Segment] = []
    for i, output in enumerate(node.data.get("outputs") or ()):
        if i:
            out.append("\n")
        out.append(tuple(str(s) for s in output.get("value_selector") or ()))
    return out


def blocking(edge: Edge, nodes: dict[str, Node], shown: frozenset[tuple[str, ...]] = frozenset()) -> bool:
    """Out of a branch, container or response node, or an assigner that writes a variable the template
    shows (`shown`: its selectors' first two parts; `blocks_variable_output`)."""
    source = nodes.get(edge.source)
    if source is None:
        return False
    if source.is_branch or source.type in CONTAINER_TYPES or source.type in RESPONSE_TYPES:
        return True
    return source.type == "assigner" and bool(assigner.writes(source) & shown)


def paths(root: str, target: str, edges: Iterable[Edge]) -> list[list[Edge]]:
    """Every simple path from root to target as its edges (depth first, edges in file order)."""
    out_edges: dict[str, list[Edge]] = {}
    for e in edges:
        out_edges.setdefault(e.source, []).append(e)
    found: list[list[Edge]] = []

    def walk(at: str, seen: set[str], trail: list[Edge]) -> None:
        if len(found) >= MAX_PATHS:
            return
        if at == target:
            found.append(list(trail))
            return
        for e in out_edges.get(at, ()):
            if e.target not in seen:
                walk(e.target, seen | {e.target}, [*trail, e])

    walk(root, {root}, [])
    return found


class Session(Struct):
    node: Node
    template: list[Segment]
    blockers: list[list[Edge]]  # per path, its blocking edges
    at: int = 0  # next segment
    state: str = "waiting"  # waiting | queued | active | done | dropped


class Sessions(Struct):
    """All response sessions of one engine. `taken(edge)` tells an edge's state; `ran(node_id)` whether
    a node of this engine is decided (ran or skipped); `streams(selector)` whether a segment arrives
    word by word."""

    nodes: dict[str, Node]
    root: str
    edges: list[Edge]
    pool: Pool
    taken: Callable[[Edge], bool]
    decided: Callable[[str], bool]
    all: list[Session] = field(default_factory=list)
    queue: list[Session] = field(default_factory=list)

    def __post_init__(self) -> None:
        for node in self.nodes.values():
            if node.type in ("answer", "end"):
                found, template = paths(self.root, node.id, self.edges), template_of(node)
                shown = frozenset(seg[:2] for seg in template if isinstance(seg, tuple))
                blockers = [[e for e in p if blocking(e, self.nodes, shown)] for p in found]
                self.all.append(Session(node, template, blockers))
        initial = sorted((s for s in self.all if any(not b for b in s.blockers)), key=lambda s: s.node.id)
        for s in initial:
            s.state = "queued"
            self.queue.append(s)

    def drop(self, node_id: str) -> None:
        """A skipped response node streams nothing."""
        for s in self.all:
            if s.node.id == node_id and s.state != "done":
                s.state = "dropped"
                if s in self.queue:
                    self.queue.remove(s)

    def update(self) -> None:
        """Queue every waiting session that one of its paths now opens, by node id as graphon's
        ResponseStreamFilter._handle_edge_taken walks them (v0.5.1; v0.4.0 walked a set)."""
        for s in sorted(self.all, key=lambda s: s.node.id):
            if s.state == "waiting" and any(all(self.taken(e) for e in b) for b in s.blockers):
                s.state = "queued"
                self.queue.append(s)

    def _available(self, selector: tuple[str, ...]) -> bool:
        if not selector or selector[0] in SPECIAL_ROOTS or selector[0] not in self.nodes:
            return True  # sys/env/conversation, or a value from outside this engine (already in the pool)
        return self.pool.has(selector) or self.decided(selector[0])

    def flush(self) -> list[tuple[Node, Chunk]]:
        """Every chunk the active session (and those after it) can send now."""
        out: list[tuple[Node, Chunk]] = []
        while self.queue:
            s = self.queue[0]
            s.state = "active"
            while s.at < len(s.template):
                seg = s.template[s.at]
                if isinstance(seg, str):
                    # An End's "\n" separators too: [node, "answer"] (1.12's coordinator, graphon's
                    # filter when the node has no get_streaming_text_selector, as End has none).
                    out.append((s.node, (seg, [s.node.id, "answer"])))
                elif self._available(seg):
                    out.extend((s.node, (t, list(seg))) for t in self._pieces(seg))
                else:
                    return out
                s.at += 1
            s.state = "done"
            self.queue.pop(0)
        return out

    def _pieces(self, selector: tuple[str, ...]) -> list[str]:
        text = markdown_of(self.pool.get(selector))
        source = self.nodes.get(selector[0])
        if source is not None and source.type in STREAMING and selector[1:] == ("text",):
            return words(text)
        return [text] if text else []


def chunk_event(chatflow: bool, chunk: Chunk) -> tuple[str, dict[str, Any]]:
    text, selector = chunk
    if chatflow:
        return "message", {"answer": text, "from_variable_selector": selector}
    return "text_chunk", {"data": {"text": text, "from_variable_selector": selector}}
