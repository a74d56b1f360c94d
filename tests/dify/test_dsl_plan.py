"""The run plan of DSL apps (DSL.md §A.2.7-§A.2.11): the three example exports give the outlines of
DSL.md §A.3 (read from ../shared, never copied here), small self-written graphs cover each node type
and knob, and the same graph, knobs and inputs always give the same events."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from mockserver.dify.dsl.graph_model import Graph, parse_graph
from mockserver.dify.dsl.knobs import Knobs, unknown_names
from mockserver.dify.dsl.plan import RunInput, RunPlan, outline, plan_run
from mockserver.dify.dsl.values import Pool, _compare, if_else_handle
from tests.support.dsl_examples import TOD_AGENT_OUTLINE, example


def load(name: str) -> tuple[Graph, str]:
    doc = yaml.safe_load(example(name).read_text(encoding="utf-8"))
    return parse_graph(doc["workflow"]), doc["app"]["mode"]


def shape(plan: RunPlan, graph: Graph) -> list[str]:
    """The outline with each run of chunks folded into one `chunk*`."""
    out: list[str] = []
    for line in outline(plan, graph):
        if line.startswith("chunk "):
            if out and out[-1] == "chunk*":
                continue
            line = "chunk*"
        out.append(line)
    return out


def chunks(plan: RunPlan) -> list[str]:
    return [
        f["data"]["text"] if name == "text_chunk" else f["answer"]
        for name, f, _ in plan.events
        if name in ("text_chunk", "message")
    ]


def node(node_id: str, type_: str, title: str | None = None, parent: str | None = None, **data: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"id": node_id, "type": "custom", "data": {"type": type_, "title": title or node_id, **data}}
    if parent:
        raw["parentId"] = parent
    return raw


def graph(nodes: list[dict[str, Any]], edges: str) -> Graph:
    """Edges as `a>b c:handle>d ...` (handle defaults to `source`)."""
    raw_edges = []
    for spec in edges.split():
        source, target = spec.split(">")
        source, _, handle = source.partition(":")
        raw_edges.append({"source": source, "target": target, "sourceHandle": handle or "source"})
    return parse_graph({"graph": {"nodes": nodes, "edges": raw_edges}})


START = node("start", "start", "Start", variables=[{"variable": "x", "type": "text-input", "label": "x"}])


def end(*selectors: str, node_id: str = "end") -> dict[str, Any]:
    outputs = [{"variable": s.split(".")[-1] + str(i), "value_selector": s.split(".")} for i, s in enumerate(selectors)]
    return node(node_id, "end", "End", outputs=outputs)


def case(case_id: str, selector: str, op: str, value: Any = "") -> dict[str, Any]:
    cond = {"variable_selector": selector.split("."), "comparison_operator": op, "value": value}
    return {"case_id": case_id, "logical_operator": "and", "conditions": [cond]}


# -- the three example exports (DSL.md §A.3) ---------------------------------------------------------------


def test_f1_translation_takes_the_branch_the_real_input_decides() -> None:
    g, mode = load("translation_workflow.yml")
    inputs = {"target_lang": "fr", "source_text": "hello", "source_lang": "en"}
    plan = plan_run(g, RunInput(mode, inputs))
    middle = ["started SUGGESTIONS", "finished SUGGESTIONS", "started IMPORVE_TRANSLATE", "chunk*"]
    tail = ["finished IMPORVE_TRANSLATE", "started 结束", "finished 结束", "workflow_finished"]
    head = ["workflow_started", "started 开始", "finished 开始", "started TRANSLATION", "finished TRANSLATION"]
    branch = ["started COUNTRY IS NULL", "finished COUNTRY IS NULL"]
    expert = ["started EXPERT_SUGGESTIONS", "finished EXPERT_SUGGESTIONS"]
    assert shape(plan, g) == head + branch + expert + middle + tail
    decided = [f["data"] for n, f, _ in plan.events if n == "node_finished" and f["data"]["node_type"] == "if-else"]
    assert decided[0]["outputs"] == {"result": True, "selected_case_id": "true"}
    assert "".join(chunks(plan)) == plan.outputs["output"]
    assert plan.outputs["output"].startswith("[IMPORVE_TRANSLATE] ")

    with_country = plan_run(g, RunInput(mode, {**inputs, "country": "France"}))
    expert = ["started EXPERT_SUGGESTIONS_WITH_COUNTRY", "finished EXPERT_SUGGESTIONS_WITH_COUNTRY"]
    assert shape(with_country, g) == head + branch + expert + middle + tail


def test_f2_course_iterates_over_the_code_nodes_array() -> None:
    g, mode = load("dify_course_demo.yml")
    plan = plan_run(g, RunInput(mode, {"course_name": "Python"}), ids=lambda label: label)
    one_pass = ["started 转object", "finished 转object", "started LLM生成课程", "finished LLM生成课程"]
    one_pass += ["started 整合", "finished 整合"]
    assert shape(plan, g) == [
        "workflow_started",
        "started 开始",
        "finished 开始",
        "started LLM 生成课程大纲",
        "finished LLM 生成课程大纲",
        "started 转换成JSON",
        "finished 转换成JSON",
        "iteration_started",
        "iteration_next 0",
        *one_pass,
        "iteration_next 1",
        *one_pass,
        "iteration_completed",
        "chunk*",
        "started 结束",
        "finished 结束",
        "workflow_finished",
    ]
    # An array streams as its segment's markdown, "- item" per line with str() of each item
    # (graphon filters/response_stream.py `value.markdown`, variables/segments.py ArraySegment).
    assert chunks(plan) == ["Python", "\n", "- {}\n- {}"]
    inner = [f["data"] for n, f, _ in plan.events if n == "node_finished" and f["data"]["iteration_id"]]
    assert len(inner) == 6 and {d["iteration_id"] for d in inner} == {"1728217105363"}
    assert inner[0]["id"] == "node:1728218846720:iter:1728217105363[0]"
    assert inner[3]["execution_metadata"] == {"iteration_id": "1728217105363", "iteration_index": 1}
    assert len({d["id"] for d in inner}) == 6
    started = next(f["data"] for n, f, _ in plan.events if n == "iteration_started")
    assert started["metadata"] == {"iteration_length": 2} and started["title"] == "迭代生成课程"
    assert plan.outputs == {"course_name": "Python", "course": [{}, {}]}


def test_f3_agent_chatflow_answers_before_the_branch_finishes() -> None:
    g, mode = load("Demo-tod_agent.yml")
    plan = plan_run(g, RunInput(mode, {}, query="hi"))
    assert shape(plan, g) == TOD_AGENT_OUTLINE
    assert plan.outputs == {"answer": "[Agent] hi", "files": []}
    assert [n for n, _, _ in plan.events if n == "message"] == ["message", "message"]
    knobs = Knobs.of({"outputs": {"Agent": {"text": "done InformationCollectionCompleted"}}})
    other = plan_run(g, RunInput(mode, {}, query="hi"), knobs)
    assert shape(other, g)[5:] == [
        "started 条件分支",
        "finished 条件分支",
        "started LLM",
        "chunk*",
        "finished LLM",
        "started 直接回复 2",
        "finished 直接回复 2",
        "message_end",
        "workflow_finished",
    ]


def test_the_same_graph_seed_and_inputs_give_the_same_events() -> None:
    g, mode = load("dify_course_demo.yml")
    first = plan_run(g, RunInput(mode, {"course_name": "Go"}), ids=lambda label: f"id({label})")
    again = plan_run(g, RunInput(mode, {"course_name": "Go"}), ids=lambda label: f"id({label})")
    assert first == again


# -- Dify's own oracle sequences (DSL.md §A.1.7) -------------------------------------------------------------


def test_passthrough_end_streams_between_the_starts_events() -> None:
    g = graph([START, end("start.x")], "start>end")
    plan = plan_run(g, RunInput("workflow", {"x": "hello"}))
    assert outline(plan, g) == [
        "workflow_started",
        "started Start",
        "chunk hello",
        "finished Start",
        "started End",
        "finished End",
        "workflow_finished",
    ]
    assert plan.events[2] == ("text_chunk", {"data": {"text": "hello", "from_variable_selector": ["start", "x"]}}, None)
    assert plan.outputs == {"x0": "hello"}


def test_answer_text_around_the_query_streams_at_once() -> None:
    answer = node("answer", "answer", "Answer", answer="prefix{{#sys.query#}}suffix")
    g = graph([START, answer], "start>answer")
    plan = plan_run(g, RunInput("advanced-chat", {}, query="Q"))
    assert outline(plan, g)[1:6] == ["started Start", "chunk prefix", "chunk Q", "chunk suffix", "finished Start"]
    assert plan.outputs == {"answer": "prefixQsuffix", "files": []}
    assert outline(plan, g)[-2:] == ["message_end", "workflow_finished"]


def test_an_answer_streams_its_llm_while_the_llm_runs() -> None:
    llm = node("llm", "llm", "LLM", prompt_template=[{"role": "user", "text": "say {{#sys.query#}} now"}])
    answer = node("answer", "answer", "Answer", answer="{{#llm.text#}}")
    g = graph([START, llm, answer], "start>llm llm>answer")
    plan = plan_run(g, RunInput("advanced-chat", {}, query="hi"))
    assert outline(plan, g)[3:10] == [
        "started LLM",
        "chunk [LLM]",
        "chunk  say",
        "chunk  hi",
        "chunk  now",
        "finished LLM",
        "started Answer",
    ]
    llm_done = next(f["data"] for n, f, _ in plan.events if n == "node_finished" and f["data"]["node_id"] == "llm")
    assert llm_done["outputs"]["text"] == "[LLM] say hi now"
    assert [d for n, _, d in plan.events if n == "node_finished"] == [10, 800, 10]  # the timing table


def test_two_answers_stream_one_after_the_other_in_template_order() -> None:
    a1 = node("a1", "answer", "A1", answer="one ")
    a2 = node("a2", "answer", "A2", answer="two")
    g = graph([START, a2, a1], "start>a1 start>a2")
    plan = plan_run(g, RunInput("advanced-chat", {}, query=""))
    assert chunks(plan) == ["one ", "two"]  # initial sessions by node id
    assert plan.outputs["answer"] == "one two"


# -- branches --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "actual", "expected", "holds"),
    [
        ("contains", "abc", "b", True),
        ("not contains", "abc", "z", True),
        ("contains", ["a", "b"], "b", True),
        ("start with", "abc", "ab", True),
        ("end with", "abc", "bc", True),
        ("is", "abc", "abc", True),
        ("is not", "abc", "abd", True),
        ("empty", "", "", True),
        ("empty", None, "", True),
        ("not empty", "x", "", True),
        ("=", 3, "3", True),
        ("≠", 3, "4", True),
        (">", "5", "4", True),
        ("<", 1, 2, True),
        ("≥", 2, 2, True),
        ("≤", 3, 2, False),
        ("in", "a", ["a", "b"], True),
        ("not in", "c", ["a", "b"], True),
        ("all of", ["a", "b", "c"], ["a", "c"], True),
        ("exists", 0, None, True),
        ("not exists", None, None, True),
        (">", "x", 1, False),
        ("regex", "a", "a", False),
    ],
)
def test_comparison_operators(op: str, actual: Any, expected: Any, holds: bool) -> None:
    assert _compare(op, actual, expected) is holds


def test_if_else_takes_the_first_true_case_and_old_exports_read_as_case_true() -> None:
    pool = Pool()
    pool.set("n", "v", 7)
    data = {"cases": [case("small", "n.v", "<", 5), case("big", "n.v", ">", 5), case("huge", "n.v", ">", 1)]}
    assert if_else_handle(data, pool) == "big"
    assert if_else_handle({"cases": [case("small", "n.v", "<", 5)]}, pool) == "false"
    old = {"logical_operator": "or", "conditions": [case("", "n.v", "=", 7)["conditions"][0]]}
    assert if_else_handle(old, pool) == "true"


def fan_out() -> Graph:
    """Dify's conditional_parallel_code_execution look-alike: a case fans out to two code nodes, the
    else branch to a third; all three join at End."""
    cases = [case("one", "start.x", "=", 1)]
    codes = [node(f"c{i}", "code", f"Code {i}", outputs={"r": {"type": "number"}}) for i in (1, 2, 3)]
    nodes = [START, node("if", "if-else", "Switch", cases=cases), *codes, end("c1.r", "c2.r", "c3.r")]
    return graph(nodes, "start>if if:one>c1 if:one>c2 if:false>c3 c1>end c2>end c3>end")


def test_a_branch_skips_what_only_it_feeds_and_a_join_runs_once() -> None:
    g = fan_out()
    plan = plan_run(g, RunInput("workflow", {"x": 1}))
    # The End's session opened when the switch decided: each code node's value streams before it finishes.
    assert outline(plan, g)[5:] == [
        "started Code 1",
        "chunk 0",
        "chunk \n",
        "finished Code 1",
        "started Code 2",
        "chunk 0",
        "chunk \n",
        "finished Code 2",
        "started End",
        "finished End",
        "workflow_finished",
    ]
    assert plan.outputs == {"r0": 0, "r1": 0, "r2": None}
    other = plan_run(g, RunInput("workflow", {"x": 2}))
    assert [line for line in outline(other, g) if line.startswith("started")] == [
        "started Start",
        "started Switch",
        "started Code 3",
        "started End",
    ]


def test_interleaved_parallel_starts_every_ready_node_before_finishing_them() -> None:
    g = fan_out()
    plan = plan_run(g, RunInput("workflow", {"x": 1}), Knobs.of({"parallel": "interleaved"}))
    lines = [line for line in outline(plan, g) if not line.startswith("chunk")]
    assert lines[5:9] == ["started Code 1", "started Code 2", "finished Code 1", "finished Code 2"]
    with pytest.raises(ValueError, match=r"graph\.parallel"):
        Knobs.of({"parallel": "random"})


def test_the_branches_knob_names_a_node_by_id_or_unique_title() -> None:
    g = fan_out()
    by_title = plan_run(g, RunInput("workflow", {"x": 1}), Knobs.of({"branches": {"Switch": "false"}}))
    assert "started Code 3" in outline(by_title, g) and "started Code 1" not in outline(by_title, g)
    assert unknown_names(g, Knobs.of({"branches": {"Swtich": "false", "if": "one"}})) == ["Swtich"]


def test_question_classifier_takes_its_first_class_unless_steered() -> None:
    classes = [{"id": "c-a", "name": "Billing"}, {"id": "c-b", "name": "Other"}]
    qc = node("qc", "question-classifier", "Classify", classes=classes)
    a1, a2 = node("a1", "answer", "A", answer="billing"), node("a2", "answer", "B", answer="other")
    g = graph([START, qc, a1, a2], "start>qc qc:c-a>a1 qc:c-b>a2")
    plan = plan_run(g, RunInput("advanced-chat", {}, query="q"))
    assert plan.outputs["answer"] == "billing"
    done = next(f["data"] for n, f, _ in plan.events if n == "node_finished" and f["data"]["node_id"] == "qc")
    assert done["outputs"] == {"class_name": "Billing", "class_id": "c-a", "class_label": "Billing"}
    steered = plan_run(g, RunInput("advanced-chat", {}, query="q"), Knobs.of({"branches": {"qc": "c-b"}}))
    assert steered.outputs["answer"] == "other"


# -- containers ----------------------------------------------------------------------------------------------


def iteration_graph(**data: Any) -> Graph:
    it = node(
        "it",
        "iteration",
        "Iterate",
        iterator_selector=["start", "items"],
        output_selector=["t", "output"],
        start_node_id="itstart",
        **data,
    )
    inner = node("itstart", "iteration-start", "", parent="it")
    t = node(
        "t",
        "template-transform",
        "T",
        parent="it",
        template="<{{ v }}>",
        variables=[{"variable": "v", "value_selector": ["it", "item"]}],
    )
    start = node("start", "start", "Start", variables=[{"variable": "items", "type": "json_object"}])
    return graph([start, it, inner, t, end("it.output")], "start>it itstart>t it>end")


def test_an_iteration_runs_one_pass_per_item_and_collects_the_output() -> None:
    g = iteration_graph()
    plan = plan_run(g, RunInput("workflow", {"items": ["a", "b", "c"]}))
    assert shape(plan, g)[3:] == [
        "iteration_started",
        "iteration_next 0",
        "started T",
        "finished T",
        "iteration_next 1",
        "started T",
        "finished T",
        "iteration_next 2",
        "started T",
        "finished T",
        "iteration_completed",
        "chunk*",
        "started End",
        "finished End",
        "workflow_finished",
    ]
    assert plan.outputs == {"output0": ["<a>", "<b>", "<c>"]}
    completed = next(f["data"] for n, f, _ in plan.events if n == "iteration_completed")
    assert completed["outputs"] == {"output": ["<a>", "<b>", "<c>"]} and completed["steps"] == 3


def test_a_parallel_iteration_announces_every_pass_first_and_the_knob_sets_the_count() -> None:
    g = iteration_graph(is_parallel=True)
    plan = plan_run(g, RunInput("workflow", {"items": ["a", "b", "c"]}), Knobs.of({"iterations": {"Iterate": 2}}))
    assert shape(plan, g)[3:9] == [
        "iteration_started",
        "iteration_next 0",
        "iteration_next 1",
        "started T",
        "finished T",
        "started T",
    ]
    assert plan.outputs == {"output0": ["<a>", "<b>"]}
    empty = plan_run(g, RunInput("workflow", {"items": []}))
    assert shape(empty, g)[3:5] == ["iteration_started", "iteration_completed"]


@pytest.mark.parametrize(
    ("mode", "status", "output"),
    [
        (None, "failed", None),  # terminated, the default: the first failed pass fails the iteration and run
        ("terminated", "failed", None),
        ("continue-on-error", "succeeded", [None, None]),
        ("remove-abnormal-output", "succeeded", []),
    ],
)
def test_a_failed_pass_follows_the_iterations_error_handle_mode(mode: str | None, status: str, output: Any) -> None:
    g = iteration_graph(**({"error_handle_mode": mode} if mode else {}))
    plan = plan_run(g, RunInput("workflow", {"items": ["a", "b"]}), Knobs.of({"fail": {"T": "boom"}}))
    assert plan.status == status
    completed = next(f["data"] for n, f, _ in plan.events if n == "iteration_completed")
    failed = [f["data"] for n, f, _ in plan.events if n == "node_finished" and f["data"]["node_id"] == "t"]
    assert {d["status"] for d in failed} == {"failed"} and {d["error"] for d in failed} == {"boom"}
    if status == "failed":
        assert len(failed) == 1 and (completed["status"], completed["error"]) == ("failed", "boom")
        assert [n for n, _, _ in plan.events][-1] == "workflow_finished" and plan.error == "boom"
        return
    assert len(failed) == 2 and completed["outputs"] == {"output": output}
    assert plan.outputs == {"output0": output}


def loop_graph(**data: Any) -> Graph:
    loop = node(
        "lp",
        "loop",
        "Loop",
        start_node_id="lpstart",
        loop_count=3,
        loop_variables=[{"label": "n", "var_type": "number", "value_type": "constant", "value": 1}],
        **data,
    )
    inner = node("lpstart", "loop-start", "", parent="lp")
    code = node("c", "code", "Step", parent="lp", outputs={"r": {"type": "string"}})
    return graph([START, loop, inner, code, end("lp.n")], "start>lp lpstart>c lp>end")


def test_a_loop_runs_loop_count_passes_with_loop_next_after_each_but_the_last() -> None:
    g = loop_graph()
    plan = plan_run(g, RunInput("workflow", {}))
    assert outline(plan, g)[3:] == [
        "loop_started",
        "started Step",
        "finished Step",
        "loop_next 1",
        "started Step",
        "finished Step",
        "loop_next 2",
        "started Step",
        "finished Step",
        "loop_completed",
        "chunk 1",
        "started End",
        "finished End",
        "workflow_finished",
    ]
    completed = next(f["data"] for n, f, _ in plan.events if n == "loop_completed")
    assert completed["outputs"] == {"n": 1, "loop_round": 3}
    inner = [f["data"] for n, f, _ in plan.events if n == "node_started" and f["data"]["loop_id"]]
    assert [d["id"] for d in inner] == ["node:c:loop:lp[0]", "node:c:loop:lp[1]", "node:c:loop:lp[2]"]


def test_before_1_16_a_loop_also_sends_loop_next_after_its_last_pass() -> None:
    """1.12's loop node and graphon 0.4 (1.14) yield LoopNext after every pass no break ended."""
    g = loop_graph()
    plan = plan_run(g, RunInput("workflow", {}, loop_next_after_last=True))
    assert [line for line in outline(plan, g) if line.startswith("loop_")] == [
        "loop_started",
        "loop_next 1",
        "loop_next 2",
        "loop_next 3",
        "loop_completed",
    ]


def test_a_loop_stops_on_its_break_conditions_or_the_knobs_count() -> None:
    broken = loop_graph(break_conditions=[case("", "lp.n", "=", 1)["conditions"][0]], logical_operator="and")
    plan = plan_run(broken, RunInput("workflow", {}))
    assert outline(plan, broken)[3:5] == ["loop_started", "loop_completed"]
    steered = plan_run(broken, RunInput("workflow", {}), Knobs.of({"loops": {"Loop": 2}}))
    assert [line for line in outline(steered, broken) if line.startswith("loop")] == [
        "loop_started",
        "loop_next 1",
        "loop_completed",
    ]


def test_a_loop_end_node_ends_the_loop() -> None:
    loop = node("lp", "loop", "Loop", start_node_id="lpstart", loop_count=5)
    nodes = [START, loop, node("lpstart", "loop-start", "", parent="lp"), node("le", "loop-end", "Stop", parent="lp")]
    g = graph([*nodes, end("lp.loop_round")], "start>lp lpstart>le lp>end")
    plan = plan_run(g, RunInput("workflow", {}))
    assert outline(plan, g)[3:7] == ["loop_started", "started Stop", "finished Stop", "loop_completed"]
    assert plan.outputs == {"loop_round0": 1}


# -- fail, outputs, human input -------------------------------------------------------------------------------


def two_step(**code_data: Any) -> Graph:
    code = node("c", "code", "Code", outputs={"r": {"type": "string"}}, **code_data)
    after = node("ok", "code", "After", outputs={})
    handler = node("h", "code", "Handler", outputs={})
    return graph([START, code, after, handler, end("c.r")], "start>c c>ok c:fail-branch>h ok>end h>end")


def test_a_failing_node_fails_the_run() -> None:
    g = two_step()
    plan = plan_run(g, RunInput("workflow", {}), Knobs.of({"fail": {"Code": "boom"}}))
    assert outline(plan, g)[3:] == ["started Code", "finished Code [failed]", "workflow_finished"]
    assert plan.status == "failed" and plan.events[-1][1]["data"]["error"] == "boom"
    chat = plan_run(g, RunInput("advanced-chat", {}), Knobs.of({"fail": {"c": "boom"}}))
    assert chat.events[-1] == ("error", {"code": "invalid_param", "status": 400, "message": "Run failed: boom"}, None)


def test_retries_then_the_fail_branch() -> None:
    g = two_step(
        error_strategy="fail-branch", retry_config={"retry_enabled": True, "max_retries": 2, "retry_interval": 100}
    )
    plan = plan_run(g, RunInput("workflow", {}), Knobs.of({"fail": {"c": "boom"}}))
    assert outline(plan, g)[3:9] == [
        "started Code",
        "retry Code",
        "retry Code",
        "finished Code [exception]",
        "started Handler",
        "finished Handler",
    ]
    assert [f["data"]["retry_index"] for n, f, _ in plan.events if n == "node_retry"] == [1, 2]
    # A node its error strategy carried through makes the run partial-succeeded (GraphRunPartialSucceeded).
    assert plan.status == "partial-succeeded" and plan.events[-1][1]["data"]["exceptions_count"] == 1
    caught = next(f["data"] for n, f, _ in plan.events if n == "node_finished" and f["data"]["node_id"] == "c")
    assert caught["execution_metadata"] == {"error_strategy": "fail-branch"}
    assert caught["outputs"] == {"error_message": "boom", "error_type": "MockNodeError"}


def test_default_value_strategy_goes_on_with_the_default_outputs() -> None:
    g = two_step(error_strategy="default-value", default_value=[{"key": "r", "type": "string", "value": "dflt"}])
    plan = plan_run(g, RunInput("workflow", {}), Knobs.of({"fail": {"c": "boom"}}))
    assert plan.outputs == {"r0": "dflt"} and "started After" in outline(plan, g)


def test_the_outputs_knob_overrides_a_nodes_outputs() -> None:
    g = two_step()
    plan = plan_run(g, RunInput("workflow", {}), Knobs.of({"outputs": {"Code": {"r": "given"}}}))
    assert plan.outputs == {"r0": "given"}


def human_graph() -> Graph:
    actions = [{"id": "approve", "title": "Approve"}, {"id": "reject", "title": "Reject"}]
    form = node(
        "hi",
        "human-input",
        "Review",
        form_content="Check {{#start.x#}}",
        user_actions=actions,
        inputs=[{"output_variable_name": "comment", "type": "paragraph"}],
    )
    a, b = node("a", "code", "Yes", outputs={}), node("b", "code", "No", outputs={})
    return graph([START, form, a, b], "start>hi hi:approve>a hi:reject>b")


def test_human_input_pauses_the_run_without_a_knob() -> None:
    g = human_graph()
    plan = plan_run(g, RunInput("workflow", {"x": "draft"}))
    assert outline(plan, g)[3:] == ["started Review", "human_input_required", "workflow_paused"]
    assert plan.status == "paused"
    form = plan.events[-2][1]["data"]
    assert form["form_content"] == "Check draft" and [a["id"] for a in form["actions"]] == ["approve", "reject"]


def test_human_input_with_a_knob_takes_that_actions_edge() -> None:
    g = human_graph()
    plan = plan_run(g, RunInput("workflow", {"x": "draft"}), Knobs.of({"human_input": {"Review": "reject"}}))
    assert outline(plan, g)[3:] == [
        "started Review",
        "human_input_form_filled",
        "finished Review",
        "started No",
        "finished No",
        "workflow_finished",
    ]
    done = next(f["data"] for n, f, _ in plan.events if n == "node_finished" and f["data"]["node_id"] == "hi")
    assert done["outputs"]["__action_id"] == "reject" and done["outputs"]["__rendered_content"] == "Check draft"


def test_aggregator_takes_the_first_branch_that_ran() -> None:
    cases = [case("yes", "start.x", "not empty")]
    nodes = [
        START,
        node("if", "if-else", "If", cases=cases),
        node("l1", "llm", "L1"),
        node("l2", "llm", "L2"),
        node("agg", "variable-aggregator", "Agg", variables=[["l1", "text"], ["l2", "text"]]),
        end("agg.output"),
    ]
    g = graph(nodes, "start>if if:yes>l1 if:false>l2 l1>agg l2>agg agg>end")
    assert plan_run(g, RunInput("workflow", {})).outputs == {"output0": "[L2] "}
    assert plan_run(g, RunInput("workflow", {"x": "y"})).outputs == {"output0": "[L1] "}


# -- graphon details the conformance cases rely on -------------------------------------------------------------


def test_an_inactive_root_is_skipped_so_the_join_it_feeds_still_runs() -> None:
    # graphon's _mark_inactive_root_branches: a trigger beside the start node is skipped with its edges.
    hook = node("hook", "trigger-webhook", "Hook")
    join = node("t", "template-transform", "Join", template="x", variables=[])
    g = graph([START, hook, join, end("t.output")], "start>t hook>t t>end")
    plan = plan_run(g, RunInput("workflow", {}))
    assert [line for line in outline(plan, g) if line.startswith("started")] == [
        "started Start",
        "started Join",
        "started End",
    ]
    assert plan.outputs == {"output0": "x"}


def test_a_branch_skips_its_other_edges_before_it_takes_the_chosen_ones() -> None:
    # edge_processor: unselected edges are skipped first, then the selected ones taken in file order, so a
    # join fed by both handles is queued when its taken edge comes, after the targets of earlier edges.
    cases = [case("go", "start.x", "not empty")]
    nodes = [START, node("if", "if-else", "If", cases=cases), node("a", "code", "A"), node("j", "code", "Join")]
    g = graph(nodes, "start>if if:go>a if:go>j if:false>j")
    started = [line for line in outline(plan_run(g, RunInput("workflow", {"x": "y"})), g) if "started" in line]
    assert started == ["workflow_started", "started Start", "started If", "started A", "started Join"]


def test_a_loop_pass_starts_without_the_last_passs_values() -> None:
    # Dify clears the loop's children before each pass: an answer inside the loop streams each pass's
    # LLM text while that LLM runs, never the previous pass's text up front.
    loop = node("lp", "loop", "Loop", start_node_id="lpstart", loop_count=2)
    llm = node("llm", "llm", "Idea", parent="lp", prompt_template=[{"role": "user", "text": "{{#sys.query#}}"}])
    say = node("say", "answer", "Say", parent="lp", answer="{{#llm.text#}}")
    g = graph([START, loop, node("lpstart", "loop-start", "", parent="lp"), llm, say], "start>lp lpstart>llm llm>say")
    lines = shape(plan_run(g, RunInput("advanced-chat", {}, query="q")), g)
    one_pass = ["started Idea", "chunk*", "finished Idea", "started Say", "finished Say"]
    assert lines[3:-2] == ["loop_started", *one_pass, "loop_next 1", *one_pass, "loop_completed"]


def classifier_graph() -> Graph:
    classes = [{"id": "c1", "name": "Orders"}, {"id": "c2", "name": "Returns"}]
    qc = node("qc", "question-classifier", "Classify", classes=classes, query_variable_selector=["sys", "query"])
    answer = node("a", "answer", "A", answer="{{#qc.class_name#}}")
    return graph([START, qc, answer], "start>qc qc:c1>a qc:c2>a")


@pytest.mark.parametrize(
    ("query", "knobs", "expected"),
    [
        ("where are my RETURNS", {"classify": "keyword"}, "Returns"),  # case-insensitive name match
        ("orders and returns", {"classify": "keyword"}, "Orders"),  # the first class named wins
        ("hello", {"classify": "keyword"}, "Orders"),  # none named: the first class
        ("where are my returns", {}, "Orders"),  # default: the first class
        ("where are my returns", {"classify": "keyword", "branches": {"qc": "c1"}}, "Orders"),  # steering wins
        ("hello", {"branches": {"Classify": "c2"}}, "Returns"),  # a steered class gives its outputs
    ],
)
def test_question_classifier_by_keyword_or_steered(query: str, knobs: dict[str, Any], expected: str) -> None:
    g = classifier_graph()
    plan = plan_run(g, RunInput("advanced-chat", {}, query=query), Knobs.of(knobs))
    assert plan.outputs["answer"] == expected
    done = next(f["data"] for n, f, _ in plan.events if n == "node_finished" and f["data"]["node_id"] == "qc")
    assert done["outputs"]["class_name"] == done["outputs"]["class_label"] == expected
    with pytest.raises(ValueError, match=r"graph\.classify"):
        Knobs.of({"classify": "llm"})


def test_sessions_open_in_taken_edge_order_and_by_node_id_within_one_edge() -> None:
    # graphon calls on_edge_taken per edge: the answer whose edge is taken first streams first, whatever
    # the file order of the answer nodes.
    cases = [case("go", "start.x", "not empty")]
    first, second = node("x1", "answer", "First in file", answer="one "), node("x2", "answer", "Second", answer="two ")
    g = graph([START, node("if", "if-else", "If", cases=cases), first, second], "start>if if:go>x2 if:go>x1")
    plan = plan_run(g, RunInput("advanced-chat", {"x": "y"}))
    assert chunks(plan) == ["two ", "one "]
    assert [line for line in outline(plan, g) if line.startswith("started")][2:] == [
        "started Second",
        "started First in file",
    ]


@pytest.mark.parametrize(
    ("value", "text", "markdown"),
    [
        (None, "", ""),
        ("plain", "plain", "plain"),
        (True, "True", "True"),
        (1.5, "1.5", "1.5"),
        ({"a": "é", "b": [1]}, '{"a": "é", "b": [1]}', '{\n  "a": "é",\n  "b": [\n    1\n  ]\n}'),
        ([], "", ""),
        (["x", "y"], '["x", "y"]', "- x\n- y"),
        ([1, True], "[1, True]", "- 1\n- True"),
        ([{"k": "v"}], "[{'k': 'v'}]", "- {'k': 'v'}"),
    ],
)
def test_values_print_as_difys_segments_do(value: Any, text: str, markdown: str) -> None:
    """`text` fills prompts and forms, `markdown` is what an answer or End streams (graphon
    variables/segments.py: Segment.text / .markdown by segment type)."""
    from mockserver.dify.dsl.values import markdown_of, text_of

    assert (text_of(value), markdown_of(value)) == (text, markdown)


def test_an_end_s_separator_chunks_name_the_end_s_answer() -> None:
    """Text segments carry [response node, "answer"], End nodes included (1.12's coordinator; graphon's
    filter falls back to it, End having no get_streaming_text_selector)."""
    start = node("start", "start", "Start", variables=[{"variable": "a"}, {"variable": "b"}])
    g = graph([start, end("start.a", "start.b")], "start>end")
    plan = plan_run(g, RunInput("workflow", {"a": "x", "b": "y"}))
    sent = [(f["data"]["text"], f["data"]["from_variable_selector"]) for n, f, _ in plan.events if n == "text_chunk"]
    assert sent == [("x", ["start", "a"]), ("\n", ["end", "answer"]), ("y", ["start", "b"])]


def test_a_human_input_timeout_takes_the_timeout_edge() -> None:
    """`human_input: {node: __timeout}`: human_input_form_timeout, empty action outputs, the `__timeout`
    edge (core/workflow/nodes/human_input/callback.py @1.16.1; the editor's handle id)."""
    form = node(
        "hi",
        "human-input",
        "Review",
        form_content="Check {{#sys.query#}}",
        user_actions=[{"id": "ok", "title": "OK"}],
    )
    ok, late = node("ok", "answer", "OK", answer="fine"), node("late", "answer", "Late", answer="too late")
    g = graph([START, form, ok, late], "start>hi hi:ok>ok hi:__timeout>late")
    plan = plan_run(g, RunInput("advanced-chat", {}, query="q"), Knobs.of({"human_input": {"Review": "__timeout"}}))
    assert plan.status == "succeeded" and plan.outputs["answer"] == "too late"
    assert "human_input_form_timeout" in outline(plan, g) and "human_input_form_filled" not in outline(plan, g)
    done = next(f["data"] for n, f, _ in plan.events if n == "node_finished" and f["data"]["node_id"] == "hi")
    assert done["outputs"] == {"__action_id": "", "__action_value": "", "__rendered_content": "Check q"}
