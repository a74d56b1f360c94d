"""The `graph:` knobs that steer a DSL run (INTERFACE "Apps from Dify DSL exports", DSL.md §A.2.8):
`branches`, `iterations`, `loops`, `outputs`, `fail`, `human_input`, `parallel`, `classify`, `timing`. A node is
named by its id or by its title when no other node has that title."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from msgspec import Struct, field

from mockserver.dify.dsl.graph_model import Graph, Node

PARALLEL: Final = ("sequential", "interleaved")
CLASSIFY: Final = ("first", "keyword")  # how a question classifier picks its class (DSL.md §A.2.8)
# Elapsed ms of a node by type (DSL.md §A.2.8 `timing`); every other type takes OTHER_MS.
TIMING_MS: Final = {"llm": 800, "agent": 1500, "http-request": 300, "knowledge-retrieval": 200, "tool": 300}
OTHER_MS: Final = 10


class Knobs(Struct, frozen=True):
    branches: Mapping[str, str] = field(default_factory=dict)
    iterations: Mapping[str, int] = field(default_factory=dict)
    loops: Mapping[str, int] = field(default_factory=dict)
    outputs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    fail: Mapping[str, str] = field(default_factory=dict)
    human_input: Mapping[str, str] = field(default_factory=dict)
    parallel: str = "sequential"
    classify: str = "first"
    timing: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, given: Mapping[str, Any] | None) -> Knobs:
        """Knobs from a `graph:` mapping (already checked by the fixture schema); absent ones default."""
        g = dict(given or {})
        parallel = str(g.get("parallel") or "sequential")
        if parallel not in PARALLEL:
            raise ValueError(f"graph.parallel must be one of {', '.join(PARALLEL)}, not {parallel!r}")
        classify = str(g.get("classify") or "first")
        if classify not in CLASSIFY:
            raise ValueError(f"graph.classify must be one of {', '.join(CLASSIFY)}, not {classify!r}")
        return cls(
            branches={str(k): str(v) for k, v in (g.get("branches") or {}).items()},
            iterations={str(k): int(v) for k, v in (g.get("iterations") or {}).items()},
            loops={str(k): int(v) for k, v in (g.get("loops") or {}).items()},
            outputs={str(k): dict(v or {}) for k, v in (g.get("outputs") or {}).items()},
            fail={str(k): str(v) for k, v in (g.get("fail") or {}).items()},
            human_input={str(k): str(v) for k, v in (g.get("human_input") or {}).items()},
            parallel=parallel,
            classify=classify,
            timing={str(k): int(v) for k, v in (g.get("timing") or {}).items()},
        )


def lookup(graph: Graph, table: Mapping[str, Any], node: Node) -> Any:
    """The entry for `node`: by id first, else by its title when that title is unique."""
    if node.id in table:
        return table[node.id]
    if node.title and node.title in table and graph.by_title(node.title) is not None:
        return table[node.title]
    return None


def unknown_names(graph: Graph, knobs: Knobs) -> list[str]:
    """Knob keys that name no node (a typo, or a title two nodes share): for a load-time warning."""
    ids = {n.id for n in graph.nodes}
    tables = (knobs.branches, knobs.iterations, knobs.loops, knobs.outputs, knobs.fail, knobs.human_input)
    return sorted({k for t in tables for k in t if k not in ids and graph.by_title(k) is None})


def elapsed_ms(knobs: Knobs, node_type: str) -> int:
    return int(knobs.timing.get(node_type, TIMING_MS.get(node_type, OTHER_MS)))
