"""`serve`'s event loop: uvloop where installed (the `fast` extra), asyncio on request, the same bytes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("uvloop")  # the test extra installs it; the asyncio fallback is tested below too

CHAT = {"inputs": {}, "query": "Which loop?", "user": "loop-test"}


def _post(url: str, body: dict) -> bytes:
    request = urllib.request.Request(
        url,
        method="POST",
        data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer app-chat", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=20) as resp:
        assert resp.status == 200
        return resp.read()


def _answers(url: str) -> tuple[bytes, bytes]:
    """A blocking chat and a streamed one, byte for byte (the stream's pacing is off: DIFY_MOCK_PACE_SCALE=0)."""
    blocking = _post(f"{url}/v1/chat-messages", {**CHAT, "response_mode": "blocking"})
    streamed = _post(f"{url}/v1/chat-messages", {**CHAT, "response_mode": "streaming"})
    return blocking, streamed


def test_serve_runs_on_uvloop_when_installed_and_on_asyncio_when_asked_with_the_same_bytes(start_serve, monkeypatch):
    monkeypatch.setenv("DIFY_MOCK_PACE_SCALE", "0")
    fast = start_serve("--port", "0", "--seed", "3")
    monkeypatch.setenv("DIFY_MOCK_EVENT_LOOP", "asyncio")
    plain = start_serve("--port", "0", "--seed", "3")
    on_uvloop, on_asyncio = _answers(fast.wait_ready()), _answers(plain.wait_ready())

    assert on_uvloop == on_asyncio
    blocking, streamed = on_uvloop
    assert json.loads(blocking)["answer"] == "You asked: Which loop?"
    events = [json.loads(line[6:])["event"] for line in streamed.decode().splitlines() if line.startswith("data: ")]
    assert events[0] == "message" and events[-1] == "message_end"
    fast.stop()
    plain.stop()
    assert "seed 3, event loop uvloop" in fast.stderr()
    assert "seed 3, event loop asyncio" in plain.stderr()


def _without_uvloop(tmp_path: Path) -> dict[str, str]:
    """An environment where `import uvloop` fails, as on a machine without the `fast` extra."""
    (tmp_path / "uvloop").mkdir()
    (tmp_path / "uvloop" / "__init__.py").write_text("raise ImportError('not installed here')\n")
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(tmp_path), os.environ.get("PYTHONPATH"))))}


def test_asking_for_uvloop_where_it_is_missing_is_one_line_saying_how_to_install_it(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**_without_uvloop(tmp_path), "DIFY_MOCK_EVENT_LOOP": "uvloop"},
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "dify-mockserver: DIFY_MOCK_EVENT_LOOP=uvloop: uvloop is not installed (pip install 'dify-mockserver[fast]')"
    ]


def test_auto_falls_back_to_asyncio_where_uvloop_is_missing(tmp_path: Path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_without_uvloop(tmp_path),
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().startswith("dify-mockserver listening on ")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert ", event loop asyncio" in err
