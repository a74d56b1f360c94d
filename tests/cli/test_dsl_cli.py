"""DSL apps through the real process: `serve --dsl`, DIFY_MOCK_DSL, `_apps.yaml` `dsl:`, a broken DSL file
refusing to start, `lint --dsl`, `POST /_mock/apps`, and `--reload` picking up an edited DSL file."""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli_process import run_cli
from tests.support.dsl_examples import TRANSLATION, example

FILES = Path(__file__).parents[1] / "dify" / "dsl_files"
START_TIMEOUT_S = 20.0


def call(url: str, key: str | None = None, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def apps_of(url: str) -> dict[str, dict[str, Any]]:
    return {a["key"]: a for a in call(f"{url}/_mock/apps")[1]["data"]}


def test_serve_dsl_with_a_default_key_and_a_named_one(start_serve) -> None:
    translation = example(TRANSLATION)
    server = start_serve("--port", "0", "--dsl", str(translation), "--dsl", f"{FILES / 'basic_chat.yml'}=app-mine")
    url = server.wait_ready()
    apps = apps_of(url)
    warning = f"{translation}:9:10: completed-with-warnings: DSL 0.1.0 is older than 0.7.0"
    assert apps["app-translation-workflow"] == {
        "key": "app-translation-workflow",
        "mode": "workflow",
        "name": "translation_workflow",
        "source": str(translation),
        "dsl": str(translation),
        "warnings": [warning],
        "notes": [
            f"{translation}: outputs synthesised, not computed (set them with graph: outputs): "
            "llm (TRANSLATION, EXPERT_SUGGESTIONS, EXPERT_SUGGESTIONS_WITH_COUNTRY, IMPORVE_TRANSLATE)",
            f"{translation}: feature retriever_resource is reported in /v1/parameters but not simulated",
        ],
    }
    assert apps["app-mine"]["mode"] == "chat" and apps["app-mine"]["warnings"] == [
        f"{FILES / 'basic_chat.yml'}:10:10: completed-with-warnings: DSL 0.6.0 is older than 0.7.0"
    ]
    status, info = call(f"{url}/v1/info", "app-mine")
    assert (status, info["name"]) == (200, "Basic Chat")
    # Each warning is said once on stderr, and the banner lists the app.
    stderr = server.stderr()
    assert stderr.count(warning) == 1
    assert "app-translation-workflow" in stderr


def test_dify_mock_dsl_is_a_path_list(start_serve, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIFY_MOCK_DSL", f"{FILES / 'every_input.yml'}:{FILES / 'basic_chat.yml'}=app-basic")
    url = start_serve("--port", "0").wait_ready()
    apps = apps_of(url)
    assert apps["app-every-input"]["name"] == "Every Input"
    assert apps["app-basic"]["name"] == "Basic Chat"


def test_apps_yaml_dsl_entries_are_relative_to_the_file_and_other_keys_override(start_serve, tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    shutil.copy(FILES / "every_input.yml", tmp_path / "exports" / "flow.yml")
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "_apps.yaml").write_text(
        "apps:\n"
        "  app-flow:\n"
        "    dsl: ../exports/flow.yml\n"
        "    name: Renamed\n"
        "    parameters: {opening_statement: Welcome}\n"
        "    info: {tags: [mine]}\n"
    )
    url = start_serve("--port", "0", "--fixtures", str(tmp_path / "fixtures")).wait_ready()
    status, info = call(f"{url}/v1/info", "app-flow")
    assert (status, info) == (
        200,
        {"name": "Renamed", "description": "Every input type", "tags": ["mine"], "mode": "workflow", "author_name": ""},
    )
    params = call(f"{url}/v1/parameters", "app-flow")[1]
    assert params["opening_statement"] == "Welcome"
    assert [next(iter(i)) for i in params["user_input_form"]][:2] == ["text-input", "paragraph"]  # still the DSL's
    listed = apps_of(url)["app-flow"]
    assert (listed["source"], listed["dsl"]) == (
        str(tmp_path / "fixtures" / "_apps.yaml"),
        str(tmp_path / "exports" / "flow.yml"),
    )


def test_a_broken_dsl_file_stops_serve_with_located_lines(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("version: 0.6\nkind: app\napp: {name: B, mode: workflow}\nworkflow: {graph: {nodes: []}}\n")
    result = run_cli("serve", "--port", "0", "--dsl", str(broken))
    assert result.returncode == 1
    assert f"{broken}:1:10: Invalid version type, expected str, got <class 'float'>" in result.stderr.splitlines()
    assert "not starting" in result.stderr and "Traceback" not in result.stderr


def test_a_stem_without_ascii_letters_needs_a_key(tmp_path: Path) -> None:
    odd = tmp_path / "翻译.yml"
    shutil.copy(FILES / "every_input.yml", odd)
    result = run_cli("serve", "--port", "0", "--dsl", str(odd))
    assert result.returncode == 1
    assert "the file name has no ASCII letter to make an app key of; name one" in result.stderr


def test_apps_yaml_naming_a_missing_dsl_file_is_located(tmp_path: Path) -> None:
    (tmp_path / "_apps.yaml").write_text("apps:\n  app-x:\n    dsl: nowhere.yml\n")
    result = run_cli("lint", str(tmp_path))
    assert result.returncode == 1
    assert f"{tmp_path / '_apps.yaml'}:3:10: DSL file not found: {tmp_path / 'nowhere.yml'}" in result.stdout


def test_lint_dsl_reports_errors_with_file_line_column_and_prints_warnings(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "version: '0.7.0'\nkind: app\napp: {name: B, mode: workflow}\nworkflow:\n  graph:\n    nodes:\n"
        "    - {id: a, data: {type: start}}\n    - {id: a, data: {type: end}}\n"
    )
    result = run_cli("lint", "--dsl", str(broken))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == f"{broken}:8:12: graph.duplicate_node_id: node id 'a' is used twice"
    good = run_cli("lint", "--dsl", str(FILES / "every_input.yml"))
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.splitlines()[0] == (
        f"{FILES / 'every_input.yml'}:10:10: completed-with-warnings: DSL 0.6.0 is older than 0.7.0 (warning)"
    )
    # What is only imitated is information (DSL.md §A.2.5 "info"), listed once per app.
    gate = run_cli("lint", "--dsl", str(FILES / "review_gate.yml"))
    assert gate.returncode == 0 and gate.stdout.splitlines()[0] == (
        f"{FILES / 'review_gate.yml'}: outputs synthesised, not computed (set them with graph: outputs): "
        "llm (Draft) (info)"
    )


def test_post_apps_adds_an_app_from_dsl_text_and_refuses_a_broken_one(start_serve) -> None:
    url = start_serve("--port", "0").wait_ready()
    text = (FILES / "basic_chat.yml").read_text()
    status, body = call(f"{url}/_mock/apps", body={"key": "app-posted", "dsl": text})
    assert status == 200
    assert body == {
        "key": "app-posted",
        "mode": "chat",
        "name": "Basic Chat",
        "source": "<POST /_mock/apps>",
        "dsl": "<POST /_mock/apps>",
        "warnings": ["<POST /_mock/apps>:10:10: completed-with-warnings: DSL 0.6.0 is older than 0.7.0"],
        "notes": [],
    }
    assert call(f"{url}/v1/info", "app-posted")[1]["name"] == "Basic Chat"
    # Replacing by key
    replaced = text.replace("name: Basic Chat", "name: Second")
    assert call(f"{url}/_mock/apps", body={"key": "app-posted", "dsl": replaced})[0] == 200
    assert call(f"{url}/v1/info", "app-posted")[1]["name"] == "Second"
    status, body = call(f"{url}/_mock/apps", body={"key": "app-bad", "dsl": "version: '0.7.0'\nkind: app\n"})
    assert (status, body) == (
        400,
        {"code": "invalid_param", "message": "<POST /_mock/apps>:1:1: Missing app data in YAML content", "status": 400},
    )
    assert call(f"{url}/_mock/apps", body={"key": "dataset-demo", "dsl": text})[0] == 400
    assert call(f"{url}/v1/info", "app-bad")[0] == 401


def test_reload_picks_up_an_edited_dsl_file_outside_the_fixture_dirs(start_serve, tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    flow = exports / "flow.yml"
    flow.write_text((FILES / "every_input.yml").read_text())
    server = start_serve("--port", "0", "--reload", "--dsl", f"{flow}=app-flow")
    url = server.wait_ready()
    assert call(f"{url}/v1/info", "app-flow")[1]["name"] == "Every Input"
    flow.write_text(flow.read_text().replace("name: Every Input", "name: Edited"))
    deadline = time.monotonic() + START_TIMEOUT_S
    while call(f"{url}/v1/info", "app-flow")[1]["name"] != "Edited":
        assert time.monotonic() < deadline, server.stderr()
        time.sleep(0.1)
    # A broken edit keeps the last good app.
    flow.write_text("version: 0.6\n")
    time.sleep(1.0)
    assert call(f"{url}/v1/info", "app-flow")[1]["name"] == "Edited"


def test_reload_watches_a_dsl_file_an_edited_apps_yaml_newly_names(start_serve, tmp_path: Path) -> None:
    fixtures, exports = tmp_path / "fixtures", tmp_path / "exports"
    fixtures.mkdir()
    exports.mkdir()
    flow = exports / "flow.yml"
    flow.write_text((FILES / "every_input.yml").read_text())
    server = start_serve("--port", "0", "--reload", "--fixtures", str(fixtures))
    url = server.wait_ready()
    assert call(f"{url}/v1/info", "app-flow")[0] == 401
    (fixtures / "_apps.yaml").write_text("apps:\n  app-flow: {dsl: ../exports/flow.yml}\n")
    deadline = time.monotonic() + START_TIMEOUT_S
    while call(f"{url}/v1/info", "app-flow")[0] != 200:
        assert time.monotonic() < deadline, server.stderr()
        time.sleep(0.1)
    # The DSL file's directory is watched from then on: an edit there is served without a restart.
    flow.write_text(flow.read_text().replace("name: Every Input", "name: Edited"))
    while call(f"{url}/v1/info", "app-flow")[1]["name"] != "Edited":
        assert time.monotonic() < deadline, server.stderr()
        time.sleep(0.1)
