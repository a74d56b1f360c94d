"""Runs of DSL workflow and chatflow apps over HTTP (DESIGN §11, DSL.md §A.2.7, §A.2.10): the built-in
scenario gives way to the plan of the app's graph, streamed and folded to the blocking body like any
scenario's events (every event checked against its schema: the client is strict)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from dify_facts import auth
from sse_outline import outline

from tests.support.dsl_examples import COURSE, TOD_AGENT, TOD_AGENT_OUTLINE, TRANSLATION, example

INPUTS = {"target_lang": "fr", "source_text": "hello", "source_lang": "en"}


@pytest.fixture
async def shared(make_client: Any) -> TestClient:
    paths = [example(TRANSLATION), example(COURSE), example(TOD_AGENT)]
    return await make_client(dsl=(str(paths[0]), f"{paths[1]}=app-course", f"{paths[2]}=app-tod"))


async def stream(client: TestClient, path: str, key: str, body: dict[str, Any], parse_sse: Any) -> list[dict[str, Any]]:
    resp = await client.post(path, json={**body, "user": "u", "response_mode": "streaming"}, headers=auth(key))
    assert resp.status == 200, await resp.text()
    return list(parse_sse(await resp.read()))


async def test_a_dsl_workflow_streams_its_real_nodes(shared: TestClient, parse_sse: Any) -> None:
    events = await stream(shared, "/v1/workflows/run", "app-translation-workflow", {"inputs": INPUTS}, parse_sse)
    assert outline(events) == [
        "workflow_started",
        "started 开始",
        "finished 开始",
        "started TRANSLATION",
        "finished TRANSLATION",
        "started COUNTRY IS NULL",
        "finished COUNTRY IS NULL",
        "started EXPERT_SUGGESTIONS",
        "finished EXPERT_SUGGESTIONS",
        "started SUGGESTIONS",
        "finished SUGGESTIONS",
        "started IMPORVE_TRANSLATE",
        "chunk*",
        "finished IMPORVE_TRANSLATE",
        "started 结束",
        "finished 结束",
        "workflow_finished",
    ]
    finished = events[-1]["data"]
    text = "".join(e["data"]["text"] for e in events if e["event"] == "text_chunk")
    assert finished["status"] == "succeeded" and finished["outputs"] == {"output": text}
    assert finished["total_steps"] == 7
    start = events[1]["data"]
    assert start["node_id"] == "1721117927142" and start["node_type"] == "start"


async def test_a_blocking_run_folds_the_same_plan(shared: TestClient) -> None:
    body = {"inputs": {**INPUTS, "country": "France"}, "user": "u", "response_mode": "blocking"}
    resp = await shared.post("/v1/workflows/run", json=body, headers=auth("app-translation-workflow"))
    assert resp.status == 200
    data = (await resp.json())["data"]
    assert data["status"] == "succeeded" and data["outputs"]["output"].startswith("[IMPORVE_TRANSLATE] ")
    course = {"inputs": {"course_name": "Go"}, "user": "u", "response_mode": "blocking"}
    resp = await shared.post("/v1/workflows/run", json=course, headers=auth("app-course"))
    assert (await resp.json())["data"]["outputs"] == {"course_name": "Go", "course": [{}, {}]}


async def test_an_iteration_streams_its_container_events(shared: TestClient, parse_sse: Any) -> None:
    events = await stream(shared, "/v1/workflows/run", "app-course", {"inputs": {"course_name": "Go"}}, parse_sse)
    names = [e["event"] for e in events]
    assert names.count("iteration_next") == 2 and names.count("node_started") == 10
    inner = [e["data"] for e in events if e["event"] == "node_finished" and e["data"]["iteration_id"]]
    assert len({d["id"] for d in inner}) == 6
    assert events[names.index("iteration_started")]["data"]["id"] == "1728217105363"


async def test_a_dsl_chatflow_answers_with_message_events(shared: TestClient, parse_sse: Any) -> None:
    events = await stream(shared, "/v1/chat-messages", "app-tod", {"inputs": {}, "query": "hi"}, parse_sse)
    assert outline(events) == TOD_AGENT_OUTLINE
    answer = "".join(e["answer"] for e in events if e["event"] == "message")
    assert answer == "[Agent] hi"
    body = {"inputs": {}, "query": "hi", "user": "u", "response_mode": "blocking"}
    resp = await shared.post("/v1/chat-messages", json=body, headers=auth("app-tod"))
    assert (await resp.json())["answer"] == "[Agent] hi"


async def test_the_app_entrys_graph_knobs_steer_its_runs(make_client: Any, tmp_path: Path, parse_sse: Any) -> None:
    dsl = example(TRANSLATION)
    (tmp_path / "_apps.yaml").write_text(
        f"apps:\n  app-steered:\n    dsl: {dsl}\n    graph:\n      branches: {{COUNTRY IS NULL: 'false'}}\n"
        "      fail: {IMPORVE_TRANSLATE: model down}\n",
        encoding="utf-8",
    )
    client = await make_client(fixtures=(tmp_path,))
    events = await stream(client, "/v1/workflows/run", "app-steered", {"inputs": INPUTS}, parse_sse)
    titles = [e["data"]["title"] for e in events if e["event"] == "node_started"]
    assert "EXPERT_SUGGESTIONS_WITH_COUNTRY" in titles and "EXPERT_SUGGESTIONS" not in titles
    failed = [e["data"] for e in events if e["event"] == "node_finished" and e["data"]["status"] == "failed"]
    assert [d["error"] for d in failed] == ["model down"]
    assert events[-1]["event"] == "workflow_finished" and events[-1]["data"]["status"] == "failed"
    assert events[-1]["data"]["error"] == "model down"


async def test_the_same_request_gives_the_same_bytes_across_restarts(make_client: Any) -> None:
    path = str(example(COURSE))
    bodies = []
    for _ in range(2):
        client = await make_client(dsl=(f"{path}=app-course",))
        body = {"inputs": {"course_name": "Go"}, "user": "u", "response_mode": "streaming"}
        resp = await client.post("/v1/workflows/run", json=body, headers=auth("app-course"))
        bodies.append(await resp.read())
    assert bodies[0] == bodies[1] and b"iteration_completed" in bodies[0]


TRIGGER_ONLY = """
version: "0.6.0"
kind: app
app: {name: Hook, mode: workflow}
workflow:
  graph:
    nodes:
      - {id: hook, type: custom, data: {type: trigger-webhook, title: Hook}}
      - {id: end, type: custom, data: {type: end, title: End, outputs: []}}
    edges:
      - {source: hook, target: end}
"""


async def test_a_graph_without_a_start_node_cannot_run(client: TestClient) -> None:
    resp = await client.post("/_mock/apps", json={"key": "app-hook", "dsl": TRIGGER_ONLY})
    assert resp.status in (200, 201), await resp.text()
    body = {"inputs": {}, "user": "u", "response_mode": "blocking"}
    resp = await client.post("/v1/workflows/run", json=body, headers=auth("app-hook"))
    assert resp.status == 400
    assert (await resp.json())["message"] == "Unable to determine default root node ID from workflow graph"


@pytest.mark.parametrize(
    ("knob", "problem"),
    [
        ("loops: {x: many}", "apps.app-steered.graph.loops.x: 'many' is not of type 'integer'"),
        ("parallel: random", "apps.app-steered.graph.parallel: 'random' is not one of"),
        ("classify: llm", "apps.app-steered.graph.classify: 'llm' is not one of"),
        ("branchs: {x: y}", "unknown key 'branchs' (did you mean 'branches'?)"),
    ],
)
def test_a_bad_knob_in_the_app_entry_is_a_load_error(tmp_path: Path, knob: str, problem: str) -> None:
    from mockserver.app import load
    from mockserver.settings import Settings

    dsl = example(TRANSLATION)
    (tmp_path / "_apps.yaml").write_text(
        f"apps:\n  app-steered:\n    dsl: {dsl}\n    graph:\n      {knob}\n", encoding="utf-8"
    )
    with pytest.raises(Exception, match=re.escape(problem)):
        load(Settings(fixtures=(tmp_path,)))


async def test_a_knob_that_names_no_node_is_a_load_warning(make_client: Any, tmp_path: Path) -> None:
    # A typo in a node's title would be ignored at run time; the app's warnings say so at load.
    dsl = example(TRANSLATION)
    (tmp_path / "_apps.yaml").write_text(
        f"apps:\n  app-steered:\n    dsl: {dsl}\n    graph:\n      branches: {{COUNTRY IS NUL: 'false'}}\n"
        "      fail: {IMPORVE_TRANSLATE: model down}\n",
        encoding="utf-8",
    )
    client = await make_client(fixtures=(tmp_path,))
    apps = {a["key"]: a for a in (await (await client.get("/_mock/apps")).json())["data"]}
    unknown = [w for w in apps["app-steered"]["warnings"] if "names no node" in w]
    assert unknown == [
        f"app-steered: graph: 'COUNTRY IS NUL' names no node of {dsl} (a node id or a unique title); "
        "the knob is ignored"
    ]


@pytest.mark.parametrize(("release", "nexts"), [("1.14", [1, 2, 3]), ("1.16", [1, 2])])
async def test_loop_next_after_the_last_pass_depends_on_the_release(
    make_client: Any, parse_sse: Any, release: str, nexts: list[int]
) -> None:
    """Release.loop_next_after_last: graphon 0.4 (1.14) sends loop_next after the last counted pass too."""
    client = await make_client(dify_version=release)
    text = (Path(__file__).parents[1] / "dify" / "dsl_files" / "translate_review_loop.yml").read_text(encoding="utf-8")
    text = text.replace("version: 0.7.0", "version: 0.6.0")
    assert (await client.post("/_mock/apps", json={"key": "app-loop", "dsl": text})).status == 200
    body = {"inputs": {"text": "Good morning", "target_lang": "French"}}
    events = await stream(client, "/v1/workflows/run", "app-loop", body, parse_sse)
    assert [e["data"]["index"] for e in events if e["event"] == "loop_next"] == nexts
    assert events[-1]["data"]["status"] == "succeeded"
