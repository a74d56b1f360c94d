"""Loading a Dify DSL export: Dify's version rule, its import texts, graphon's graph checks, the warnings of
DSL.md §A.2.5, each at FILE:LINE:COLUMN; the app entry and graph it gives; the keys `--dsl` makes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mockserver.dify.dsl.entries import default_key, parse_spec
from mockserver.dify.dsl.load import Loaded, load_file, load_text, version_status

FILES = Path(__file__).parent / "dsl_files"
GRAPH = """
workflow:
  features: {}
  graph:
    nodes:
    - {id: s, type: custom, data: {type: start, title: Start, variables: []}}
    - {id: e, type: custom, data: {type: end, title: End, outputs: []}}
    edges:
    - {id: s-e, source: s, target: e}
"""


def dsl(header: str, body: str = GRAPH) -> str:
    return textwrap.dedent(header).lstrip() + textwrap.dedent(body).lstrip()


def load(text: str) -> Loaded:
    return load_text(text, "app.yml")


def errors(text: str) -> list[str]:
    return [str(p) for p in load(text).errors]


def warnings(text: str) -> list[str]:
    return [str(p) for p in load(text).warnings]


WORKFLOW = "version: '0.6.0'\nkind: app\napp: {name: W, mode: workflow}\n"


@pytest.mark.parametrize(
    ("imported", "status"),
    [
        ("0.7.0", "completed"),
        ("0.7.3", "pending"),
        ("0.6.0", "completed-with-warnings"),
        ("0.1.0", "completed-with-warnings"),
        ("0.8.0", "pending"),
        ("1.0.0", "pending"),
        ("0.7", "completed"),
        ("abc", "failed"),
    ],
)
def test_version_status_is_dify_s_compatibility_rule(imported: str, status: str) -> None:
    assert version_status(imported) == status


def test_a_current_export_loads_without_a_problem() -> None:
    loaded = load(dsl("version: '0.7.0'\nkind: app\napp: {name: W, mode: workflow}\n"))
    assert (loaded.errors, loaded.warnings, loaded.version) == ([], [], "0.7.0")


def test_an_older_minor_is_a_warning_at_the_version() -> None:
    assert warnings(dsl(WORKFLOW)) == ["app.yml:1:10: completed-with-warnings: DSL 0.6.0 is older than 0.7.0"]


def test_missing_version_and_kind_are_warnings_and_assume_dify_s_values() -> None:
    loaded = load(dsl("app: {name: W, mode: workflow}\n"))
    assert loaded.errors == []
    assert [str(w) for w in loaded.warnings] == [
        "app.yml:1:1: DSL version missing: assumed 0.1.0, as Dify does",
        "app.yml:1:1: completed-with-warnings: DSL 0.1.0 is older than 0.7.0",
        "app.yml:1:1: DSL kind missing: assumed app, as Dify does",
    ]
    assert loaded.version == "0.1.0"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: [", "app.yml:2:1: Invalid YAML format: "),
        ("- a\n- b\n", "app.yml:1:1: Invalid YAML format: content must be a mapping"),
        (
            "version: 0.6\nkind: app\napp: {name: W, mode: workflow}\n",
            "app.yml:1:10: Invalid version type, expected str, got <class 'float'>",
        ),
        (
            "version: x.y\nkind: app\napp: {name: W, mode: workflow}\n",
            "app.yml:1:10: Invalid DSL version 'x.y' (Dify status \"failed\")",
        ),
        (
            "version: '0.8.0'\nkind: app\napp: {name: W, mode: workflow}\n",
            'app.yml:1:10: DSL 0.8.0 needs confirmation (Dify status "pending"; current 0.7.0); '
            "set graph: {accept_version: true} in the app entry to load it",
        ),
        (
            "version: '0.7.0'\nkind: rag_pipeline\napp: {name: W, mode: workflow}\n",
            "app.yml:2:7: Unsupported DSL kind: rag_pipeline",
        ),
        ("version: '0.7.0'\nkind: app\n", "app.yml:1:1: Missing app data in YAML content"),
        ("version: '0.7.0'\nkind: app\napp: {name: W}\n", "app.yml:3:6: loss app mode"),
        ("version: '0.7.0'\nkind: app\napp: {name: W, mode: channel}\n", "app.yml:3:22: Invalid app mode"),
        ("version: '0.7.0'\nkind: app\napp: {name: W, mode: robot}\n", "app.yml:3:22: invalid mode value robot"),
        (
            "version: '0.7.0'\nkind: app\napp: {name: W, mode: workflow}\n",
            "app.yml:1:1: Missing workflow data for workflow/advanced chat app",
        ),
        (
            "version: '0.7.0'\nkind: app\napp: {name: W, mode: chat}\n",
            "app.yml:1:1: Missing model_config for chat/agent-chat/completion app",
        ),
    ],
)
def test_what_dify_refuses_is_an_error_in_dify_s_words(text: str, message: str) -> None:
    if "Missing workflow" not in message and "mode: workflow" in text:
        text += textwrap.dedent(GRAPH)
    found = errors(text)
    assert len(found) == 1 and found[0].startswith(message), found


def test_accept_version_loads_a_pending_version() -> None:
    loaded = load_text(dsl("version: '0.8.0'\nkind: app\napp: {name: W, mode: workflow}\n"), "a", accept_version=True)
    assert loaded.errors == [] and loaded.entry["mode"] == "workflow"


@pytest.mark.parametrize(
    ("graph", "message"),
    [
        ("  graph: {nodes: {}}\n", "app.yml:5:18: graph.invalid_nodes: graph.nodes must be a list"),
        (
            "  graph:\n    nodes:\n    - {type: custom, data: {type: start}}\n",
            "app.yml:7:7: graph.invalid_node_id: a node needs a non-empty id",
        ),
        (
            "  graph:\n    nodes:\n    - {id: a, data: {type: start}}\n    - {id: a, data: {type: end}}\n",
            "app.yml:8:12: graph.duplicate_node_id: node id 'a' is used twice",
        ),
        (
            "  graph:\n    nodes:\n    - {id: a, data: {title: A}}\n",
            "app.yml:7:21: graph.invalid_node_type: node 'a' has no data.type",
        ),
        (
            "  graph:\n    nodes:\n    - {id: a, data: {type: start}}\n"
            "    edges:\n    - {id: x, source: a, target: b}\n",
            "app.yml:9:34: graph.edge_unknown_node: edge target 'b' is no node",
        ),
        (
            "  graph:\n    nodes:\n    - {id: a, data: {type: start}}\n    - {id: b, data: {type: end}}\n"
            "    edges:\n    - {id: x, source: a, target: b}\n    - {id: x, source: a, target: b}\n",
            "app.yml:11:12: graph.duplicate_edge_id: edge id 'x' is used twice",
        ),
    ],
)
def test_graphon_s_graph_checks_are_errors_with_its_codes(graph: str, message: str) -> None:
    text = "version: '0.7.0'\nkind: app\napp: {name: W, mode: workflow}\nworkflow:\n" + graph
    assert errors(text) == [message]


def test_a_workflow_without_start_loads_with_a_warning_and_an_empty_form() -> None:
    text = dsl(
        "version: '0.7.0'\nkind: app\napp: {name: W, mode: workflow}\n",
        "workflow:\n  graph:\n    nodes:\n    - {id: t, data: {type: trigger-webhook, title: Hook}}\n",
    )
    loaded = load(text)
    assert loaded.errors == []
    assert [str(w) for w in loaded.warnings] == [
        "app.yml:7:5: no start node: the workflow loads with an empty input form; Dify cannot run it "
        "(Unable to determine default root node ID from workflow graph)"
    ]
    assert loaded.entry["parameters"]["user_input_form"] == []


def test_a_second_start_is_a_warning_and_the_first_gives_the_form() -> None:
    text = dsl(
        "version: '0.7.0'\nkind: app\napp: {name: W, mode: workflow}\n",
        """
        workflow:
          graph:
            nodes:
            - {id: a, data: {type: start, variables: [{type: number, variable: n, label: N}]}}
            - {id: b, data: {type: start, variables: [{type: paragraph, variable: p, label: P}]}}
        """,
    )
    loaded = load(text)
    assert [str(w) for w in loaded.warnings] == ["app.yml:8:7: a second start node 'b': Dify takes the first"]
    assert loaded.entry["parameters"]["user_input_form"] == [
        {"number": {"type": "number", "variable": "n", "label": "N"}}
    ]


@pytest.mark.parametrize(
    ("variables", "problem", "is_error"),
    [
        ("[{variable: v, label: V}]", "app.yml:7:47: input control without a type", True),
        ("[{type: number, label: V}]", "app.yml:7:47: number input control without a variable name", True),
        ("[{type: slider, variable: v, label: V}]", "app.yml:7:47: unknown input type 'slider' of 'v'", False),
    ],
)
def test_a_start_variable_dify_cannot_read_is_an_error_one_it_cannot_run_a_warning(
    variables: str, problem: str, is_error: bool
) -> None:
    text = dsl(
        "version: '0.7.0'\nkind: app\napp: {name: W, mode: workflow}\n",
        f"workflow:\n  graph:\n    nodes:\n    - {{id: a, data: {{type: start, variables: {variables}}}}}\n",
    )
    loaded = load(text)
    assert [str(p) for p in (loaded.errors if is_error else loaded.warnings)] == [problem]


def test_a_file_input_in_a_basic_app_is_a_warning() -> None:
    text = (
        "version: '0.7.0'\nkind: app\napp: {name: C, mode: chat}\n"
        "model_config:\n  user_input_form:\n  - file: {variable: f, label: F}\n"
    )
    assert warnings(text) == ["app.yml:6:5: input type 'file' of 'f' is for workflow and chatflow apps only"]


def test_notes_are_dropped_with_their_edges_and_edges_keep_file_order() -> None:
    loaded = load_file(FILES / "every_input.yml")
    assert loaded.errors == [] and loaded.graph is not None
    assert [n.id for n in loaded.graph.nodes] == ["start", "end"]
    assert [(e.index, e.source, e.target, e.source_handle) for e in loaded.graph.edges] == [
        (0, "start", "end", "source")
    ]
    assert loaded.graph.root is not None and loaded.graph.root.title == "Start"
    assert (loaded.graph.root.line, loaded.graph.root.column) == (31, 7)


def test_two_loads_of_the_same_bytes_give_the_same_ids() -> None:
    first, second = load_file(FILES / "every_input.yml"), load_file(FILES / "every_input.yml")
    assert first.entry["workflow_id"] == second.entry["workflow_id"]
    assert first.entry["id"] == second.entry["id"] != first.entry["workflow_id"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("exports/My Support Bot.yml", (Path("exports/My Support Bot.yml"), "app-my-support-bot")),
        ("flows/translation_workflow.yaml", (Path("flows/translation_workflow.yaml"), "app-translation-workflow")),
        ("flows/翻译 v2.yml", (Path("flows/翻译 v2.yml"), "app-v2")),
        ("flows/x.yml=app-x1", (Path("flows/x.yml"), "app-x1")),
        ("a=b/c.yml", (Path("a=b/c.yml"), "app-c")),
    ],
)
def test_dsl_specs_and_their_default_keys(spec: str, expected: tuple[Path, str]) -> None:
    assert parse_spec(spec) == expected


def test_a_stem_without_ascii_letters_needs_a_key() -> None:
    with pytest.raises(ValueError, match="no ASCII letter"):
        default_key(Path("翻译.yml"))
    assert parse_spec("翻译.yml=app-fanyi") == (Path("翻译.yml"), "app-fanyi")


def graph_doc(nodes: str, edges: str = "") -> str:
    text = "version: '0.7.0'\nkind: app\napp: {name: W, mode: workflow}\nworkflow:\n  graph:\n    nodes:\n" + nodes
    return text + ("    edges:\n" + edges if edges else "")


START = "    - {id: s, data: {type: start, title: Start}}\n"


@pytest.mark.parametrize(
    ("nodes", "edges", "message"),
    [
        (
            START + "    - {id: it, data: {type: iteration, title: It}}\n"
            "    - {id: c, parentId: it, data: {type: code, title: C}}\n",
            "    - {source: s, target: it}\n",
            "app.yml:8:7: iteration 'it' has no start_node_id",
        ),
        (
            START + "    - {id: it, data: {type: iteration, title: It, start_node_id: nowhere}}\n"
            "    - {id: c, parentId: it, data: {type: code, title: C}}\n",
            "    - {source: s, target: it}\n",
            "app.yml:8:7: iteration 'it': start_node_id 'nowhere' is no node",
        ),
        (
            START + "    - {id: lp, data: {type: loop, title: L, start_node_id: s}}\n"
            "    - {id: c, parentId: lp, data: {type: code, title: C}}\n",
            "    - {source: s, target: lp}\n",
            "app.yml:8:7: loop 'lp': its start node 's' is not inside it",
        ),
        (
            START + "    - {id: it, data: {type: iteration, title: It, start_node_id: x}}\n",
            "    - {source: s, target: it}\n",
            "app.yml:8:7: iteration 'it' holds no node",
        ),
        (
            START + "    - {id: c, parentId: s, data: {type: code, title: C}}\n",
            "",
            "app.yml:8:7: node 'c' is inside 's', which is no iteration or loop",
        ),
        (
            START + "    - {id: a, data: {type: code, title: A}}\n    - {id: b, data: {type: code, title: B}}\n",
            "    - {source: s, target: a}\n    - {source: a, target: b}\n    - {source: b, target: a}\n",
            "app.yml:8:7: a cycle of edges returns to node 'a' (outside a loop)",
        ),
    ],
)
def test_graphs_dify_cannot_run_are_errors(nodes: str, edges: str, message: str) -> None:
    assert errors(graph_doc(nodes, edges)) == [message]


def test_an_edge_no_branch_selects_and_an_unreachable_node_are_warnings() -> None:
    nodes = (
        START + "    - {id: if, data: {type: if-else, title: If, cases: [{case_id: 'yes', conditions: []}]}}\n"
        "    - {id: a, data: {type: end, title: A}}\n"
        "    - {id: b, data: {type: end, title: B}}\n"
        "    - {id: lost, data: {type: code, title: Lost}}\n"
    )
    edges = (
        "    - {source: s, target: if}\n"
        "    - {id: e-yes, source: if, sourceHandle: 'yes', target: a}\n"
        "    - {id: e-maybe, source: if, sourceHandle: maybe, target: b}\n"
        "    - {source: if, sourceHandle: 'false', target: b}\n"
    )
    assert warnings(graph_doc(nodes, edges)) == [
        "app.yml:8:7: edge 'e-maybe' leaves 'if' by handle 'maybe', which no branch of it selects: it is never taken",
        "app.yml:11:7: node 'lost' (code) is reached by no edge from a start node: it never runs",
    ]


def test_a_selector_to_no_node_is_a_warning() -> None:
    nodes = (
        START + "    - {id: t, data: {type: template-transform, title: T, template: '{{ x }}',"
        " variables: [{variable: x, value_selector: [gone, text]}]}}\n"
        "    - {id: agg, data: {type: variable-aggregator, title: Agg, variables: [[t, output], [ghost, out]]}}\n"
        "    - {id: a, data: {type: answer, title: A, answer: '{{#sys.query#}} {{#env.k#}} {{#nobody.text#}}'}}\n"
    )
    edges = "    - {source: s, target: t}\n    - {source: t, target: agg}\n    - {source: agg, target: a}\n"
    assert warnings(graph_doc(nodes, edges)) == [
        "app.yml:8:7: node 't' refers to 'gone', which is no node: the value is empty",
        "app.yml:9:7: node 'agg' refers to 'ghost', which is no node: the value is empty",
        "app.yml:10:7: node 'a' refers to 'nobody', which is no node: the value is empty",
    ]


AGENT = "version: '0.7.0'\nkind: app\napp: {name: Helper, mode: agent}\n"
PACKAGES = "agent_packages: {helper: {schema_version: 1, metadata: {name: helper}}}\n"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("agent: {package_ref: helper}\n" + PACKAGES, None),
        (PACKAGES, "app.yml:1:1: Missing Agent package data"),
        ("agent: helper\n" + PACKAGES, "app.yml:4:8: Missing Agent package data"),
        ("agent: {package_ref: other}\n" + PACKAGES, "app.yml:4:22: Agent package_ref is missing or invalid"),
        ("agent: {}\n" + PACKAGES, "app.yml:4:8: Agent package_ref is missing or invalid"),
    ],
)
def test_an_agent_app_needs_its_package_as_dify_1_16_does(body: str, message: str | None) -> None:
    assert errors(AGENT + body) == ([message] if message else [])


def test_before_dsl_0_7_0_there_is_no_agent_mode() -> None:
    text = AGENT.replace("0.7.0", "0.6.0") + "agent: {package_ref: helper}\n" + PACKAGES
    found = load_text(text, "app.yml", current="0.6.0").errors
    assert [str(p) for p in found] == ["app.yml:3:27: invalid mode value agent"]
