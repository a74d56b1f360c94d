"""The published npm SDK `dify-client@2.3.2` against a real `serve --port 0` process: every call it offers,
its quirks included (REFERENCE §15.1). It is installed into a temporary folder, never into the repo."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests

SCRIPT = Path(__file__).with_name("npm_sdk_script.mjs")


@pytest.fixture(scope="module")
def npm_sdk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are needed for the npm SDK test")
    folder = tmp_path_factory.mktemp("npm-sdk")
    subprocess.run(
        ["npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(folder), "dify-client@2.3.2"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    shutil.copy(SCRIPT, folder / SCRIPT.name)  # an ES module resolves `dify-client` from its own folder
    return folder


@pytest.fixture(scope="module")
def results(npm_sdk: Path, running_server: str) -> dict[str, Any]:
    assert requests.post(f"{running_server}/_mock/reset", json={}, timeout=10).status_code == 200
    done = subprocess.run(
        ["node", str(npm_sdk / SCRIPT.name), f"{running_server}/v1"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    outcome: dict[str, Any] = json.loads(done.stdout)
    return outcome


def test_chat_completion_and_workflow(results):
    assert results["parameters"]["status"] == 200 and "user_input_form" in results["parameters"]["data"]
    chat = results["chat"]
    assert chat["status"] == 200 and chat["data"]["answer"] == "You asked: hello from npm"
    assert results["follow_up"]["data"]["conversation_id"] == chat["data"]["conversation_id"]
    stream = results["chat_stream"]
    assert stream["status"] == 200 and stream["contentType"].startswith("text/event-stream")
    frames = [json.loads(f[len("data: ") :]) for f in stream["body"].split("\n\n") if f.startswith("data: ")]
    assert frames[-1]["event"] == "message_end"
    assert results["completion"]["data"]["answer"] == "Here is a short text about otters."
    workflow = results["workflow"]
    assert workflow["status"] == 200 and workflow["data"]["data"]["status"] == "succeeded"


def test_conversations_messages_feedback_and_rename(results):
    # The SDK sends `first_id` instead of `last_id`: Dify ignores it, so the first page comes back.
    listed = results["conversations"]
    assert listed["status"] == 200 and listed["data"]["limit"] == 1 and listed["data"]["has_more"] is True
    history = results["messages"]["data"]["data"]
    assert [m["query"] for m in history] == ["hello from npm", "and again"]
    missing = results["messages_without_conversation"]
    assert missing["thrown"] and missing["status"] == 400 and missing["data"]["code"] == "invalid_param"
    assert results["feedback"]["data"] == {"result": "success"}
    assert results["rename"]["data"]["name"] == "Renamed by npm"
    assert results["auto_rename"]["data"]["name"] == "hello from npm"


def test_upload_delete_and_a_wrong_key(results):
    upload = results["upload"]
    assert upload["status"] == 201 and upload["data"]["name"] == "notes.txt"
    assert upload["data"]["mime_type"] == "text/plain"
    assert results["delete"]["status"] == 204
    chat_id = results["chat"]["data"]["conversation_id"]
    assert chat_id not in [c["id"] for c in results["after_delete"]["data"]["data"]]
    wrong = results["wrong_key"]
    assert wrong["thrown"] and wrong["status"] == 401
    assert wrong["data"] == {"code": "unauthorized", "message": "Access token is invalid", "status": 401}
