"""The project's DSL conformance cases at plan level (DSL.md §A.2.7-§A.2.10, §A.3): each case of
tests/dify/dsl_cases.yaml runs its self-written export through `plan_run` and must give the outline,
status, outputs and timing written there by hand. The set itself must keep covering every node type
and every `graph:` knob, in both workflow and chatflow apps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mockserver.dify.dsl.graph_model import Graph, parse_graph
from mockserver.dify.dsl.knobs import Knobs, unknown_names
from mockserver.dify.dsl.plan import RunInput, RunPlan, outline, plan_run
from tests.support.dsl_cases import DSL_FILES, Case, fold, load_cases

CASES = load_cases()
SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "_meta" / "fixture.json"

# DSL.md §A.1.5: every node type the spec runs (its CONTAINER children included), and one inactive root.
NODE_TYPES = {
    "start", "end", "answer", "llm", "knowledge-retrieval", "if-else", "code", "template-transform",
    "question-classifier", "http-request", "tool", "variable-aggregator", "variable-assigner", "iteration",
    "iteration-start", "loop", "loop-start", "loop-end", "parameter-extractor", "assigner", "document-extractor",
    "list-operator", "agent", "human-input",
}  # fmt: skip
INACTIVE_ROOTS = {"trigger-webhook", "trigger-schedule", "trigger-plugin", "datasource"}


def run(case: Case) -> tuple[Graph, RunPlan]:
    doc = case.document()
    graph = parse_graph(doc["workflow"])
    mode = doc["app"]["mode"]
    plan = plan_run(graph, RunInput(mode, case.inputs, case.query or ""), Knobs.of(case.graph))
    return graph, plan


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_case_runs_as_written(case: Case) -> None:
    graph, plan = run(case)
    assert fold(outline(plan, graph)) == case.outline
    assert plan.status == case.status
    if case.outputs is not None:
        assert plan.outputs == case.outputs
    finished = {
        f["data"]["title"]: delay for name, f, delay in plan.events if name == "node_finished" and delay is not None
    }
    for title, ms in case.elapsed_ms.items():
        assert finished[title] == ms, title
    assert unknown_names(graph, Knobs.of(case.graph)) == []  # every knob names a node of the file


def test_the_same_case_plans_the_same_events_twice() -> None:
    for case in CASES:
        first, again = run(case)[1], run(case)[1]
        assert first == again, case.name


def _files() -> dict[str, dict[str, object]]:
    names = sorted({c.file for c in CASES})
    return {name: yaml.safe_load((DSL_FILES / name).read_text(encoding="utf-8")) for name in names}


def test_the_cases_cover_every_node_type_in_both_modes() -> None:
    by_mode: dict[str, set[str]] = {"workflow": set(), "advanced-chat": set()}
    for doc in _files().values():
        app, workflow = doc["app"], doc["workflow"]
        assert isinstance(app, dict) and isinstance(workflow, dict)
        types = {n["data"]["type"] for n in workflow["graph"]["nodes"]}
        by_mode[app["mode"]] |= types
    everywhere = by_mode["workflow"] | by_mode["advanced-chat"]
    assert everywhere >= NODE_TYPES, NODE_TYPES - everywhere
    assert everywhere & INACTIVE_ROOTS
    # Both modes have every type they can hold (End is workflow-only, Answer chatflow-only, and the
    # assigner writes conversation variables, which only chatflows have).
    shared = NODE_TYPES - {"end", "answer", "assigner"}
    assert shared - by_mode["workflow"] <= {"loop-end"}, shared - by_mode["workflow"]
    assert shared - by_mode["advanced-chat"] <= {"loop-end"}, shared - by_mode["advanced-chat"]


def test_the_cases_use_every_graph_knob() -> None:
    knobs = set(json.loads(SCHEMA.read_text(encoding="utf-8"))["$defs"]["graph"]["properties"]) - {"accept_version"}
    used = {k for c in CASES for k in c.graph}
    assert knobs <= used, knobs - used
    strategies = set()
    for case in CASES:
        doc = case.document()
        nodes = {n["data"]["title"]: n["data"] for n in doc["workflow"]["graph"]["nodes"]}
        for title in case.graph.get("fail", {}):
            strategies.add(nodes[title].get("error_strategy") or "none")
            if (nodes[title].get("retry_config") or {}).get("retry_enabled"):
                strategies.add("retry")
    assert strategies == {"fail-branch", "default-value", "none", "retry"}
    modes = {(c.document()["app"]["mode"], c.status) for c in CASES}
    assert {m for m, _ in modes} == {"workflow", "advanced-chat"}
    assert {s for _, s in modes} == {"succeeded", "failed", "paused"}
