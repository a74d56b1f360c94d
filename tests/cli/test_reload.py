"""`serve --reload`: a changed fixture is served without a restart; a broken edit keeps the last good book."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mockserver.app import create_app
from mockserver.keys import ACTIONS, BOOK, CATALOGUE
from mockserver.paths import fixtures_dir
from mockserver.settings import Settings
from mockserver.tools.reload import fixture_reloader, reload_once, watch_fixtures

POLL_S = 10.0
BROKEN = "scenarios:\n  default:\n    repsond:\n      blocking: {name: Broken}\n"


def info_fixture(name: str) -> str:
    return (
        "scenarios:\n  default:\n    respond:\n"
        f"      blocking: {{name: {name}, description: d, tags: [], mode: '{{{{ app.mode }}}}', author_name: me}}\n"
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def get_info(url: str, key: str = "app-chat") -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(f"{url}/v1/info", headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def poll(condition: Callable[[], bool], what: str, stderr: Callable[[], str] = lambda: "") -> None:
    deadline = time.monotonic() + POLL_S
    while not condition():
        assert time.monotonic() < deadline, f"not within {POLL_S}s: {what}\nstderr:\n{stderr()}"
        time.sleep(0.05)


def test_reload_serves_the_change_keeps_the_last_good_book_and_recovers(start_serve, tmp_path: Path) -> None:
    target = write(tmp_path / "service" / "get_app_info.yaml", info_fixture("First"))
    server = start_serve("--port", "0", "--reload", "--fixtures", str(tmp_path))
    url = server.wait_ready()
    expected = {"name": "First", "description": "d", "tags": [], "mode": "chat", "author_name": "me"}
    assert get_info(url) == (200, expected)

    write(target, info_fixture("Second"))
    poll(lambda: get_info(url)[1].get("name") == "Second", "the changed scenario is served", server.stderr)

    write(target, BROKEN)
    poll(lambda: f"{target}:3:5: unknown key 'repsond'" in server.stderr(), "the problem is logged", server.stderr)
    assert get_info(url)[1]["name"] == "Second"  # the last good book stays

    write(target, info_fixture("Third"))
    poll(lambda: get_info(url)[1].get("name") == "Third", "the fixed scenario is served", server.stderr)
    assert f"fixtures reloaded after a change to {target}" in server.stderr()  # newcomer-trial F16

    server.send(signal.SIGTERM)
    assert server.wait() == 0
    assert "Traceback" not in server.stderr()


def test_reload_picks_up_new_apps(start_serve, tmp_path: Path) -> None:
    (tmp_path / "service").mkdir()
    server = start_serve("--port", "0", "--reload", "--fixtures", str(tmp_path))
    url = server.wait_ready()
    assert get_info(url, "app-extra")[0] == 401

    write(tmp_path / "_apps.yaml", "apps:\n  app-extra: {mode: workflow, name: Extra}\n")
    poll(lambda: get_info(url, "app-extra")[0] == 200, "the new app authenticates", server.stderr)
    assert get_info(url, "app-extra")[1]["name"] == "Extra"
    assert get_info(url, "app-chat")[1]["name"] == "Demo Chat"  # the built-in apps stay


async def test_reloader_lives_in_cleanup_ctx_and_stops_with_the_app(aiohttp_client: Any, tmp_path: Path) -> None:
    target = write(tmp_path / "service" / "get_app_info.yaml", info_fixture("Before"))
    app = watch_fixtures(create_app(Settings(pace_scale=0.0, reload=True, fixtures=(tmp_path,))))
    client = await aiohttp_client(app)
    headers = {"Authorization": "Bearer app-chat"}
    assert (await (await client.get("/v1/info", headers=headers)).json())["name"] == "Before"

    write(target, info_fixture("After"))
    deadline = time.monotonic() + POLL_S
    while (await (await client.get("/v1/info", headers=headers)).json())["name"] != "After":
        assert time.monotonic() < deadline, "the in-process app never reloaded"
        await asyncio.sleep(0.05)

    watchers = [t for t in asyncio.all_tasks() if "watch_and_swap" in repr(t.get_coro())]
    assert len(watchers) == 1
    await client.close()  # runs the cleanup context
    assert watchers[0].done() and not watchers[0].cancelled()


def test_without_reload_no_watcher_is_registered() -> None:
    assert fixture_reloader not in watch_fixtures(create_app(Settings())).cleanup_ctx
    assert fixture_reloader not in create_app(Settings(reload=True)).cleanup_ctx  # the app alone never watches
    assert watch_fixtures(create_app(Settings(reload=True))).cleanup_ctx.count(fixture_reloader) == 1


async def test_a_reload_keeps_the_apps_posted_at_run_time(aiohttp_client: Any, tmp_path: Path) -> None:
    target = write(tmp_path / "service" / "get_app_info.yaml", info_fixture("Before"))
    app = create_app(Settings(pace_scale=0.0, fixtures=(tmp_path,)))
    client = await aiohttp_client(app)
    dsl = (Path(__file__).parent.parent / "dify" / "dsl_files" / "review_gate.yml").read_text(encoding="utf-8")
    resp = await client.post("/_mock/apps", json={"key": "app-posted", "dsl": dsl})
    assert resp.status == 200, await resp.text()

    write(target, info_fixture("After"))
    book = app[BOOK]
    assert await reload_once([fixtures_dir(), tmp_path], app[CATALOGUE], book, frozenset(app[ACTIONS]))
    headers = {"Authorization": "Bearer app-chat"}
    assert (await (await client.get("/v1/info", headers=headers)).json())["name"] == "After"  # reloaded
    listed = {a["key"]: a for a in (await (await client.get("/_mock/apps")).json())["data"]}
    assert listed["app-posted"]["name"] == "Review Gate"  # and the posted app stays
    info = await client.get("/v1/info", headers={"Authorization": "Bearer app-posted"})
    assert info.status == 200 and (await info.json())["mode"] == "workflow"
