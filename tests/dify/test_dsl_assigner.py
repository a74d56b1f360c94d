"""The `assigner` node in run plans (DSL.md §A.2.9): graphon's variable_assigner v1 and v2
(src/graphon/nodes/variable_assigner/, v0.4.0 = v0.7.0, Dify 1.14.2-1.16.1): every operation, the
type rules and their error texts, node_finished's inputs/process_data, same-run visibility, response
blocking, and which conversation writes the turn stores."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from mockserver.dify.dsl.assigner_ops import segment_type
from mockserver.dify.dsl.graph_model import Graph, parse_graph
from mockserver.dify.dsl.knobs import Knobs
from mockserver.dify.dsl.plan import RunInput, RunPlan, outline, plan_run

DECLARED = {
    "s": ("string", "abc"),
    "n": ("number", 10),
    "f": ("number", 1.5),
    "b": ("boolean", True),
    "o": ("object", {"k": 1}),
    "strs": ("array[string]", ["a", "b", "c"]),
    "nums": ("array[number]", [1, 2]),
    "objs": ("array[object]", [{"x": 1}]),
    "bools": ("array[boolean]", [True]),
}


def node(node_id: str, type_: str, **data: Any) -> dict[str, Any]:
    return {"id": node_id, "data": {"type": type_, "title": data.pop("title", node_id), **data}}


def item(target: str, op: str, value: Any = None, input_type: str = "constant") -> dict[str, Any]:
    return {"variable_selector": ["conversation", target], "input_type": input_type, "operation": op, "value": value}


def chatflow(*middle: dict[str, Any], answer: str = "{{#conversation.s#}}") -> Graph:
    """start > each middle node in turn > answer; the conversation variables of DECLARED."""
    nodes = [node("start", "start", variables=[]), *middle, node("answer", "answer", answer=answer)]
    ids = [n["id"] for n in nodes]
    edges = [{"source": a, "target": b} for a, b in pairwise(ids)]
    declared = [
        {"id": f"id-{name}", "name": name, "value_type": kind, "value": value, "selector": ["conversation", name]}
        for name, (kind, value) in DECLARED.items()
    ]
    return parse_graph({"graph": {"nodes": nodes, "edges": edges}, "conversation_variables": declared})


def v2(*items: dict[str, Any], node_id: str = "as", **data: Any) -> dict[str, Any]:
    return node(node_id, "assigner", version="2", items=list(items), **data)


def run(g: Graph, query: str = "q", conversation: dict[str, Any] | None = None, **knobs: Any) -> RunPlan:
    return plan_run(g, RunInput("advanced-chat", {}, query, {}, conversation), Knobs.of(knobs))


def finished(plan: RunPlan, node_id: str) -> dict[str, Any]:
    return next(f["data"] for name, f, _ in plan.events if name == "node_finished" and f["data"]["node_id"] == node_id)


def after(*items: dict[str, Any]) -> dict[str, Any]:
    """What one v2 node with these items stores (it must succeed)."""
    plan = run(chatflow(v2(*items)))
    assert plan.status == "succeeded", plan.error
    return plan.assigned


SYSTEM = {"dialogue_count": 1, "words": ["a", "b"]}


def refusal(*items: dict[str, Any]) -> str | None:
    """The error of a v2 node with these items; the run fails with it and stores nothing."""
    plan = plan_run(chatflow(v2(*items)), RunInput("advanced-chat", {}, "q", SYSTEM))
    assert plan.status == "failed" and plan.assigned == {}
    data = finished(plan, "as")
    assert data["status"] == "failed" and data["outputs"] == {} and "process_data" not in data
    return plan.error


@pytest.mark.parametrize(
    ("items", "stored"),
    [
        ([item("s", "over-write", "new")], {"s": "new"}),
        ([item("s", "set", "new")], {"s": "new"}),
        ([item("n", "+=", 5)], {"n": 15}),
        ([item("n", "-=", 2.5)], {"n": 7.5}),
        ([item("n", "*=", 3)], {"n": 30}),
        ([item("n", "/=", 4)], {"n": 2.5}),  # Python's true division: an integer variable holds a float
        ([item("n", "+=", True)], {"n": 11}),  # a bool is an int to graphon's match
        ([item("f", "+=", 1)], {"f": 2.5}),
        ([item("b", "set", False)], {"b": False}),
        ([item("o", "set", '{"z": [1]}')], {"o": {"z": [1]}}),  # set on an object parses a JSON string
        ([item("o", "over-write", {"y": 2})], {"o": {"y": 2}}),
        ([item("strs", "append", ["sys", "query"], "variable")], {"strs": ["a", "b", "c", "q"]}),
        ([item("strs", "extend", ["start", "more"], "variable")], {"strs": ["a", "b", "c", "m1", "m2"]}),
        ([item("nums", "over-write", ["start", "list"], "variable")], {"nums": [3, 4.5]}),
        ([item("strs", "remove-first", None, "variable")], {"strs": ["b", "c"]}),
        ([item("strs", "remove-last", None, "variable")], {"strs": ["a", "b"]}),
        ([item("objs", "append", ["start", "obj"], "variable")], {"objs": [{"x": 1}, {"m": 1}]}),
        ([item("bools", "append", ["start", "flag"], "variable")], {"bools": [True, False]}),
    ],
)
def test_each_operation_stores_its_result(items: list[dict[str, Any]], stored: dict[str, Any]) -> None:
    outputs = {"start": {"more": ["m1", "m2"], "list": [3, 4.5], "obj": {"m": 1}, "flag": False}}
    plan = run(chatflow(v2(*items)), outputs=outputs)
    assert plan.status == "succeeded", plan.error
    assert plan.assigned == stored


@pytest.mark.parametrize(
    ("name", "zero"),
    [("s", ""), ("n", 0), ("f", 0.0), ("b", False), ("o", {}), ("strs", []), ("nums", []), ("objs", [])],
)
def test_clear_sets_the_types_zero_value(name: str, zero: Any) -> None:
    stored = after(item(name, "clear", None, "variable"))
    assert stored == {name: zero} and type(stored[name]) is type(zero)


def test_removing_from_an_empty_array_changes_nothing() -> None:
    plan = run(chatflow(v2(item("strs", "remove-first", None, "variable"))), conversation={"strs": []})
    assert plan.status == "succeeded" and plan.assigned == {}  # an equal value: no UPDATE, no updated_at
    assert finished(plan, "as")["process_data"]["strs"] == []


@pytest.mark.parametrize(
    ("items", "error"),
    [
        ([item("s", "append", "x")], "Operation append is not supported for type string"),
        ([item("nums", "+=", 1)], "Operation += is not supported for type array[number]"),
        ([item("b", "/=", 1)], "Operation /= is not supported for type boolean"),
        ([item("strs", "set", ["x"])], "Operation set is not supported for type array[string]"),
        ([item("n", "+=", ["sys", "query"], "variable")], "Input type variable is not supported for operation +="),
        ([item("s", "set", ["sys", "query"], "variable")], "Input type variable is not supported for operation set"),
        # An array takes no constant, even for an operation that reads no value.
        ([item("strs", "clear", None)], "Input type constant is not supported for operation clear"),
        ([item("strs", "over-write", ["x"])], "Input type constant is not supported for operation over-write"),
        ([item("n", "/=", 0)], "Invalid input value 0"),
        ([item("n", "+=", "5")], "Invalid input value 5"),
        ([item("s", "over-write", 5)], "Invalid input value 5"),
        ([item("s", "over-write", ["sys", "dialogue_count"], "variable")], "Invalid input value 1"),
        ([item("o", "set", "{not json")], "Invalid input value {not json"),
        ([item("o", "set", "[1]")], "Invalid input value [1]"),
        ([item("o", "over-write", '{"a": 1}')], 'Invalid input value {"a": 1}'),  # only set parses
        ([item("strs", "append", ["sys", "dialogue_count"], "variable")], "Invalid input value 1"),
        ([item("nums", "extend", ["sys", "words"], "variable")], "Invalid input value ['a', 'b']"),
        ([item("nope", "over-write", "x")], "Variable ['conversation', 'nope'] not found"),
        ([item("s", "over-write", ["start", "missing"], "variable")], "Variable ['start', 'missing'] not found"),
        (
            [
                {
                    "variable_selector": ["conversation", "o", "k"],
                    "input_type": "constant",
                    "operation": "set",
                    "value": 2,
                }
            ],
            "Variable ['conversation', 'o', 'k'] not found",  # a nested selector names no variable
        ),
        # A failing item undoes the items before it: nothing is written.
        ([item("s", "over-write", "ok"), item("n", "/=", 0)], "Invalid input value 0"),
    ],
)
def test_what_graphon_refuses_fails_the_node_with_its_text(items: list[dict[str, Any]], error: str) -> None:
    assert refusal(*items) == error


def test_a_refused_node_shows_its_data_as_inputs() -> None:
    plan = run(chatflow(v2(item("n", "/=", 0))))
    data = finished(plan, "as")
    assert data["error"] == "Invalid input value 0" and data["inputs"]["items"] == [item("n", "/=", 0)]


def test_a_cleared_array_keeps_its_element_type() -> None:
    error = refusal(
        item("strs", "clear", None, "variable"), item("strs", "append", ["sys", "dialogue_count"], "variable")
    )
    assert error == "Invalid input value 1"  # still array[string], though [] alone would infer array[any]


def test_a_none_input_skips_the_item() -> None:
    g = chatflow(v2(item("s", "over-write", ["start", "nothing"], "variable"), item("n", "+=", 1)))
    plan = run(g, outputs={"start": {"nothing": None}})
    assert plan.assigned == {"n": 11}
    assert finished(plan, "as")["process_data"] == {
        "n": 11,
        "__updated_variables": [
            {"name": "n", "selector": ["conversation", "n"], "value_type": "integer", "new_value": 11}
        ],
    }


def test_items_on_one_variable_update_it_once_with_the_last_value() -> None:
    g = chatflow(
        v2(
            item("strs", "append", ["sys", "query"], "variable"),
            item("n", "*=", 2),
            item("strs", "remove-first", None, "variable"),
        )
    )
    plan = run(g, "z")
    data = finished(plan, "as")
    assert list(data["process_data"]) == ["strs", "n", "__updated_variables"]
    assert [u["new_value"] for u in data["process_data"]["__updated_variables"]] == [["b", "c", "z"], 20]
    assert plan.assigned == {"strs": ["b", "c", "z"], "n": 20}


def test_node_finished_shows_the_node_data_as_inputs_and_no_outputs() -> None:
    extra = {
        "desc": "",
        "selected": False,
        "retry_config": {"retry_enabled": False, "max_retries": 0, "retry_interval": 0},
    }
    g = chatflow(v2({**item("s", "over-write", "x"), "write_mode": "over-write"}, title="Set", **extra))
    data = finished(run(g), "as")
    assert data["outputs"] == {} and data["status"] == "succeeded"
    assert data["inputs"] == {
        "type": "assigner",
        "title": "Set",
        "desc": "",
        "version": "2",
        "error_strategy": None,
        "default_value": None,
        "retry_config": {"max_retries": 0, "retry_interval": 0, "retry_enabled": False},
        "items": [
            {
                "variable_selector": ["conversation", "s"],
                "input_type": "constant",
                "operation": "over-write",
                "value": "x",
            }
        ],
        "selected": False,  # extra keys follow (extra="allow"); an item's own extras are dropped
    }


def test_a_later_node_reads_the_new_value_in_the_same_run() -> None:
    g = chatflow(v2(item("s", "over-write", ["sys", "query"], "variable")), answer="now {{#conversation.s#}}")
    plan = run(g, "hello")
    assert plan.outputs["answer"] == "now hello" and plan.assigned == {"s": "hello"}


def test_a_turn_starts_from_the_stored_values() -> None:
    g = chatflow(v2(item("n", "+=", 1)), answer="{{#conversation.n#}} {{#conversation.s#}} {{#conversation.gone#}}")
    plan = run(g, conversation={"n": 41, "s": "kept", "gone": "still loaded"})
    assert plan.outputs["answer"] == "42 kept still loaded"
    assert run(g).outputs["answer"] == "11 abc "  # a new conversation: the declared values


def test_the_answer_waits_only_for_an_assigner_that_writes_what_it_shows() -> None:
    writes_it = chatflow(v2(item("s", "over-write", "new")), answer="{{#conversation.s#}}")
    assert outline(run(writes_it), writes_it)[3:6] == ["started as", "chunk new", "finished as"]
    other = chatflow(v2(item("n", "+=", 1)), answer="{{#conversation.s#}}")
    # Not blocked: the answer's session opens at once and shows the value before the assigner runs.
    assert outline(run(other), other)[1:4] == ["started start", "chunk abc", "finished start"]


def test_writes_before_a_failure_or_a_pause_are_stored() -> None:
    failing = chatflow(v2(item("n", "+=", 1)), node("llm", "llm", title="Model"))
    plan = run(failing, fail={"Model": "down"})
    assert plan.status == "failed" and plan.assigned == {"n": 11}
    form = node(
        "form",
        "human-input",
        title="Form",
        form_content="n is {{#conversation.n#}}",
        user_actions=[{"id": "ok", "title": "OK"}],
    )
    paused = run(chatflow(v2(item("n", "+=", 1)), form))
    assert paused.status == "paused" and paused.assigned == {"n": 11}
    required = next(f["data"] for name, f, _ in paused.events if name == "human_input_required")
    assert required["form_content"] == "n is 11"


def test_an_error_strategy_catches_a_refused_item() -> None:
    g = chatflow(
        v2(item("n", "/=", 0), error_strategy="default-value", default_value=[]), answer="{{#as.error_message#}}"
    )
    plan = run(g)
    assert plan.status == "succeeded" and plan.assigned == {}
    assert finished(plan, "as")["status"] == "exception"
    assert plan.outputs["answer"] == "Invalid input value 0"


# -- v1: assigned_variable_selector / input_variable_selector / write_mode -------------------------------------


def v1(target: str, mode: str, source: list[str] | None = None) -> dict[str, Any]:
    return node(
        "as",
        "assigner",
        assigned_variable_selector=["conversation", target],
        input_variable_selector=source or [],
        write_mode=mode,
    )


def test_v1_over_writes_appends_and_clears() -> None:
    plan = run(chatflow(v1("s", "over-write", ["sys", "query"])), "hi")
    data = finished(plan, "as")
    assert plan.assigned == {"s": "hi"} and data["inputs"] == {"value": "hi"} and data["outputs"] == {}
    assert data["process_data"] == {
        "__updated_variables": [
            {"name": "s", "selector": ["conversation", "s"], "value_type": "string", "new_value": "hi"}
        ]
    }
    assert run(chatflow(v1("strs", "append", ["sys", "query"])), "d").assigned == {"strs": ["a", "b", "c", "d"]}
    cleared = run(chatflow(v1("nums", "clear")))
    assert cleared.assigned == {"nums": []} and finished(cleared, "as")["inputs"] == {"value": []}
    # v1 checks no type: over-write takes any value
    assert run(chatflow(v1("n", "over-write", ["sys", "query"])), "x").assigned == {"n": "x"}


@pytest.mark.parametrize(
    ("node_data", "error"),
    [
        (v1("s", "append", ["sys", "query"]), "append mode requires an array variable"),
        (v1("s", "over-write", ["start", "missing"]), "input value not found"),
        (v1("nope", "clear"), "assigned variable not found"),
    ],
)
def test_v1_refusals(node_data: dict[str, Any], error: str) -> None:
    plan = run(chatflow(node_data))
    assert plan.status == "failed" and plan.error == error and plan.assigned == {}
    assert finished(plan, "as")["inputs"] == {}


# -- beyond conversation variables ------------------------------------------------------------------------------


def test_an_assigner_in_a_loop_counts_the_loop_variable_up_to_the_break() -> None:
    """Dify's increment_loop_with_break_condition_workflow.yml: num from 1, += 1 a pass, break at ≥ 5."""
    loop = node(
        "lp",
        "loop",
        title="Loop",
        start_node_id="lpstart",
        loop_count=10,
        logical_operator="and",
        break_conditions=[{"variable_selector": ["lp", "num"], "comparison_operator": "≥", "value": "5"}],
        loop_variables=[
            {"label": "num", "var_type": "number", "value_type": "constant", "value": "1"},  # as the form saves it
            {"label": "seen", "var_type": "array[string]", "value_type": "constant", "value": '["x"]'},
        ],
    )
    inner = [
        {"id": "lpstart", "parentId": "lp", "data": {"type": "loop-start", "title": ""}},
        {
            "id": "inc",
            "parentId": "lp",
            "data": {
                "type": "assigner",
                "title": "Inc",
                "version": "2",
                "items": [
                    {"variable_selector": ["lp", "num"], "input_type": "constant", "operation": "+=", "value": 1},
                    {
                        "variable_selector": ["lp", "seen"],
                        "input_type": "variable",
                        "operation": "append",
                        "value": ["sys", "query"],
                    },
                ],
            },
        },
    ]
    end = node(
        "end",
        "end",
        outputs=[
            {"variable": "num", "value_selector": ["lp", "num"]},
            {"variable": "seen", "value_selector": ["lp", "seen"]},
        ],
    )
    edges = [
        {"source": "start", "target": "lp"},
        {"source": "lpstart", "target": "inc"},
        {"source": "lp", "target": "end"},
    ]
    g = parse_graph({"graph": {"nodes": [node("start", "start", variables=[]), loop, *inner, end], "edges": edges}})
    plan = plan_run(g, RunInput("workflow", {}, "q"))
    assert plan.status == "succeeded" and plan.outputs == {"num": 5, "seen": ["x", "q", "q", "q", "q"]}
    assert plan.assigned == {}  # only conversation variables are stored


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (None, "none"),
        ("x", "string"),
        (True, "boolean"),
        (1, "integer"),
        (1.0, "float"),
        ({}, "object"),
        ([], "array[any]"),
        ([[1]], "array[any]"),
        (["a"], "array[string]"),
        ([1, 2.5], "array[number]"),
        ([True], "array[boolean]"),
        ([{}], "array[object]"),
        (["a", 1], "array[any]"),
    ],
)
def test_an_undeclared_value_s_type_is_inferred_as_build_segment_does(value: Any, kind: str) -> None:
    assert segment_type(value) == kind
