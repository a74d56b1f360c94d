"""A Dify DSL export -> an `_apps.yaml`-style app entry, its graph, and its problems (DSL.md §A.1.3, §A.2.5).

Errors are what Dify's import refuses (`AppDslService.import_app`, api/services/app_dsl_service.py@1.14.2),
with Dify's own texts, plus the graph checks graphon's importer makes (`src/graphon/dsl/importer.py`);
warnings are what Dify accepts silently or only fails at run time. Every problem is located FILE:LINE:COLUMN."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Final

from msgspec import Struct, field

from mockserver.determinism import derive_uuid
from mockserver.dify.dsl import checks
from mockserver.dify.dsl.form import BASIC_INPUT_TYPES, INPUT_TYPES, controls, entry_for, wrapped
from mockserver.dify.dsl.graph_model import KNOWN_TYPES, Graph, is_note, parse_graph
from mockserver.errors import Problem
from mockserver.marks import Marked, parse_marked

# The newest DSL version modelled: Dify 1.16's CURRENT_APP_DSL_VERSION (DSL.md §A.1.2).
CURRENT_DSL: Final = "0.7.0"
AGENT_DSL: Final = "0.7.0"  # the DSL version (Dify 1.16) that brought the `agent` app mode
GRAPH_MODES: Final = frozenset({"workflow", "advanced-chat"})
EASY_MODES: Final = frozenset({"chat", "agent-chat", "completion"})
# AppMode values (models/model.py) that Dify's import refuses as "Invalid app mode".
_REFUSED_MODES: Final = frozenset({"channel", "rag-pipeline"})
_VERSION: Final = re.compile(r"^\d+(\.\d+)*$")


class Loaded(Struct):
    """One DSL document read: `entry` is an app entry as `_apps.yaml` would give it (mode, name, info,
    site, parameters, workflow_id, conversation_variables); `graph` for workflow and chatflow apps."""

    source: str
    version: str
    entry: dict[str, Any] = field(default_factory=dict)
    graph: Graph | None = None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what is only imitated (DSL.md §A.2.5 "info")


def load_file(
    path: Path, display: str | None = None, *, accept_version: bool = False, current: str = CURRENT_DSL
) -> Loaded:
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return Loaded(name, "", errors=[Problem(name, 1, 1, f"cannot read DSL file: {exc}")])
    return load_text(text, name, accept_version=accept_version, current=current)


def load_text(text: str, name: str, *, accept_version: bool = False, current: str = CURRENT_DSL) -> Loaded:
    """Read DSL YAML `text` (named `name` in messages). `current` is the emulated release's DSL version
    (Release.dsl_version); `accept_version` takes a version Dify would only import after a confirmation
    (newer than `current`, or an older major)."""
    doc, found = parse_marked(text, name)
    out = Loaded(name, "")
    if doc is None or found:
        # Dify: "Invalid YAML format: {e}" (yaml.YAMLError's text)
        out.errors = [Problem(p.file, p.line, p.column, _yaml_text(p.message)) for p in found]
        return out
    data = doc.data
    if not isinstance(data, dict):
        out.errors.append(doc.at((), "Invalid YAML format: content must be a mapping"))
        return out
    _check_header(doc, data, out, accept_version, current)
    if out.errors:
        return out
    app = data["app"]
    mode = app["mode"]
    if mode in GRAPH_MODES:
        _check_graph(doc, data["workflow"], out)
        if out.errors:
            return out
        out.graph = parse_graph(data["workflow"], lambda path: doc.marks.get(("workflow", *path), (0, 0)))
        for node, message in checks.container_errors(out.graph) + checks.cycle_errors(out.graph):
            out.errors.append(Problem(doc.file, node.line or 1, node.column or 1, message))
        if out.errors:
            return out
        _graph_warnings(doc, mode, out)
        out.notes = checks.imitation_notes(out.graph, data["workflow"].get("features"))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    out.entry = entry_for(app, data, mode in GRAPH_MODES)
    # Two loads of the same bytes give the same workflow (DSL.md §A.2.4); the seed is the server's, not
    # the file's, so ids that vary by seed are drawn per request as for the built-in apps.
    if mode in GRAPH_MODES:
        out.entry["workflow_id"] = derive_uuid(("dsl", "workflow", digest))
    out.entry["id"] = derive_uuid(("dsl", "app", digest))
    for problem in _form_problems(doc, mode, out.entry):
        (out.errors if problem[0] else out.warnings).append(problem[1])
    return out


def _yaml_text(message: str) -> str:
    return "Invalid YAML format: " + message.removeprefix("invalid YAML: ")


def _check_header(doc: Marked, data: dict[str, Any], out: Loaded, accept_version: bool, current: str) -> None:
    """version, kind, app and the mode's body, in the order Dify checks them (import_app)."""
    raw = data.get("version")
    if raw is None or raw == "":
        out.warnings.append(doc.at((), "DSL version missing: assumed 0.1.0, as Dify does"))
        raw = "0.1.0"
    if not isinstance(raw, str):
        out.errors.append(doc.at(("version",), f"Invalid version type, expected str, got {type(raw)}"))
        return
    out.version = raw
    _check_version(doc, raw, out, accept_version, current)
    kind = data.get("kind")
    if kind is None or kind == "":
        out.warnings.append(doc.at((), "DSL kind missing: assumed app, as Dify does"))
    elif kind != "app":
        out.errors.append(doc.at(("kind",), f"Unsupported DSL kind: {kind}"))
    app = data.get("app")
    if not isinstance(app, dict) or not app:
        out.errors.append(doc.at(("app",) if "app" in data else (), "Missing app data in YAML content"))
        return
    mode = app.get("mode")
    if not mode:
        out.errors.append(doc.at(("app",), "loss app mode"))
        return
    if mode in _REFUSED_MODES:
        out.errors.append(doc.at(("app", "mode"), "Invalid app mode"))
    elif mode not in GRAPH_MODES | EASY_MODES | {"agent"} or (mode == "agent" and _older(current, AGENT_DSL)):
        out.errors.append(doc.at(("app", "mode"), f"invalid mode value {mode}"))  # AppMode.value_of
    elif mode == "agent":
        _check_agent(doc, data, out)
    elif mode in GRAPH_MODES and not isinstance(data.get("workflow"), dict):
        where = ("workflow",) if "workflow" in data else ()
        out.errors.append(doc.at(where, "Missing workflow data for workflow/advanced chat app"))
    elif mode in EASY_MODES and not isinstance(data.get("model_config"), dict):
        where = ("model_config",) if "model_config" in data else ()
        out.errors.append(doc.at(where, "Missing model_config for chat/agent-chat/completion app"))


def _older(version: str, than: str) -> bool:
    return [int(p) for p in version.split(".")] < [int(p) for p in than.split(".")]


def _check_agent(doc: Marked, data: dict[str, Any], out: Loaded) -> None:
    """An `agent` app's package (AppDslService._create_or_update_app, dify 1.16.1): `agent` and
    `agent_packages` mappings, and a `package_ref` among the packages."""
    agent, packages = data.get("agent"), data.get("agent_packages")
    if not isinstance(agent, dict) or not isinstance(packages, dict):
        where: tuple[str, ...] = ("agent",) if "agent" in data and not isinstance(agent, dict) else ()
        out.errors.append(doc.at(where, "Missing Agent package data"))
    elif not isinstance(agent.get("package_ref"), str) or agent["package_ref"] not in packages:
        where = ("agent", "package_ref") if "package_ref" in agent else ("agent",)
        out.errors.append(doc.at(where, "Agent package_ref is missing or invalid"))


def version_status(imported: str, current: str = CURRENT_DSL) -> str:
    """Dify's check_version_compatibility (api/services/dsl_version.py@1.14.2): failed, pending,
    completed-with-warnings or completed."""
    if not _VERSION.match(imported):
        return "failed"
    have = [int(p) for p in imported.split(".")] + [0, 0]
    cur = [int(p) for p in current.split(".")] + [0, 0]
    if have[:3] > cur[:3] or have[0] < cur[0]:
        return "pending"
    if have[1] < cur[1]:
        return "completed-with-warnings"
    return "completed"


def _check_version(doc: Marked, version: str, out: Loaded, accept_version: bool, current: str) -> None:
    where = ("version",) if "version" in doc.data else ()
    status = version_status(version, current)
    if status == "failed":
        out.errors.append(doc.at(where, f'Invalid DSL version {version!r} (Dify status "failed")'))
    elif status == "pending" and not accept_version:
        out.errors.append(
            doc.at(
                where,
                f'DSL {version} needs confirmation (Dify status "pending"; current {current}); '
                "set graph: {accept_version: true} in the app entry to load it",
            )
        )
    elif status == "completed-with-warnings":
        out.warnings.append(doc.at(where, f"completed-with-warnings: DSL {version} is older than {current}"))


def _check_graph(doc: Marked, workflow: dict[str, Any], out: Loaded) -> None:
    """The structural checks graphon's importer makes, with its codes."""
    graph = workflow.get("graph")
    base: tuple[str | int, ...] = ("workflow", "graph")
    if graph is None:
        graph = {}
    if not isinstance(graph, dict):
        out.errors.append(doc.at(base, "graph.invalid_nodes: workflow.graph must be a mapping"))
        return
    nodes = graph.get("nodes", [])
    if not isinstance(nodes, list):
        out.errors.append(doc.at((*base, "nodes"), "graph.invalid_nodes: graph.nodes must be a list"))
        return
    ids: dict[str, int] = {}
    notes: set[str] = set()
    for i, node in enumerate(nodes):
        at = (*base, "nodes", i)
        if not isinstance(node, dict):
            out.errors.append(doc.at(at, "graph.invalid_nodes: a node must be a mapping"))
            continue
        node_id = node.get("id")
        if not isinstance(node_id, str | int) or isinstance(node_id, bool) or node_id == "":
            out.errors.append(doc.at(at, "graph.invalid_node_id: a node needs a non-empty id"))
            continue
        key = str(node_id)
        if key in ids:
            out.errors.append(doc.at((*at, "id"), f"graph.duplicate_node_id: node id '{key}' is used twice"))
            continue
        ids[key] = i
        if node.get("type") != "custom-note" and not isinstance(node.get("data"), dict):
            out.errors.append(doc.at(at, f"graph.invalid_node_type: node '{key}' has no data.type"))
        elif node.get("type") != "custom-note" and "type" not in node["data"]:
            out.errors.append(doc.at((*at, "data"), f"graph.invalid_node_type: node '{key}' has no data.type"))
        elif is_note(node):
            notes.add(key)
    edges = graph.get("edges", [])
    if not isinstance(edges, list):
        out.errors.append(doc.at((*base, "edges"), "graph.invalid_edges: graph.edges must be a list"))
        return
    edge_ids: set[str] = set()
    for i, edge in enumerate(edges):
        at = (*base, "edges", i)
        if not isinstance(edge, dict):
            out.errors.append(doc.at(at, "graph.invalid_edges: an edge must be a mapping"))
            continue
        for end in ("source", "target"):
            ref = edge.get(end)
            if ref is None or str(ref) not in ids:
                out.errors.append(doc.at((*at, end), f"graph.edge_unknown_node: edge {end} '{ref}' is no node"))
        if edge.get("id"):
            if str(edge["id"]) in edge_ids:
                out.errors.append(doc.at((*at, "id"), f"graph.duplicate_edge_id: edge id '{edge['id']}' is used twice"))
            edge_ids.add(str(edge["id"]))


def _graph_warnings(doc: Marked, mode: str, out: Loaded) -> None:
    assert out.graph is not None
    starts = [n for n in out.graph.nodes if n.type == "start"]
    if not starts:
        kind = "workflow" if mode == "workflow" else "chatflow"
        out.warnings.append(
            doc.at(
                ("workflow", "graph", "nodes"),
                f"no start node: the {kind} loads with an empty input form; Dify cannot run it "
                "(Unable to determine default root node ID from workflow graph)",
            )
        )
    for node in out.graph.nodes:
        if node.type not in KNOWN_TYPES:
            message = (
                f"unknown node type '{node.type}' of node '{node.id}': Dify fails it at run time "
                f"(No class mapping found for node type: {node.type})"
            )
            out.warnings.append(Problem(doc.file, node.line or 1, node.column or 1, message))
    found = checks.branch_warnings(out.graph) + checks.unreachable_warnings(out.graph)
    for node, message in found + checks.selector_warnings(out.graph):
        out.warnings.append(Problem(doc.file, node.line or 1, node.column or 1, message))
    for extra in starts[1:]:
        out.warnings.append(
            Problem(
                doc.file, extra.line or 1, extra.column or 1, f"a second start node '{extra.id}': Dify takes the first"
            )
        )


def _form_problems(doc: Marked, mode: str, entry: dict[str, Any]) -> list[tuple[bool, Problem]]:
    """(is_error, problem) for each input control Dify could not read (no type, no variable name) or
    would not run (an unknown type; a file or JSON control in a basic app)."""
    graph_mode = mode in GRAPH_MODES
    out: list[tuple[bool, Problem]] = []
    for item, path in controls(doc.data, graph_mode):
        where = doc.marks.get(path, (1, 1))
        kind, body = wrapped(item, graph_mode)
        variable = body.get("variable") if isinstance(body, dict) else None
        if kind is None:
            out.append((True, Problem(doc.file, *where, "input control without a type")))
        elif not isinstance(body, dict) or not variable:
            out.append((True, Problem(doc.file, *where, f"{kind} input control without a variable name")))
        elif kind not in INPUT_TYPES:
            out.append((False, Problem(doc.file, *where, f"unknown input type '{kind}' of '{variable}'")))
        elif not graph_mode and kind not in BASIC_INPUT_TYPES:
            message = f"input type '{kind}' of '{variable}' is for workflow and chatflow apps only"
            out.append((False, Problem(doc.file, *where, message)))
    return out
