"""Newcomer-trial F20: a record endpoint's scenario gives only the fields it changes; they go over
the default body (and a user's `default` over the built-in one), checked by --strict as a whole."""

from __future__ import annotations

from pathlib import Path

from dify_facts import auth


def _write(root: Path, text: str) -> Path:
    (root / "service").mkdir(parents=True, exist_ok=True)
    (root / "service" / "get_app_info.yaml").write_text(text)
    return root


async def test_a_partial_default_goes_over_the_builtin_body(make_client, tmp_path: Path):
    root = _write(tmp_path, "scenarios:\n  default:\n    respond:\n      blocking: {name: Renamed}\n")
    client = await make_client(fixtures=(root,))
    resp = await client.get("/v1/info", headers=auth("app-chat"))
    assert resp.status == 200
    assert await resp.json() == {
        "name": "Renamed",
        "description": "Built-in chat app",
        "tags": ["demo"],
        "mode": "chat",
        "author_name": "Dify Mock",
    }


async def test_a_partial_scenario_goes_over_the_default_and_nested_objects_merge(make_client, tmp_path: Path):
    root = tmp_path
    (root / "service").mkdir()
    (root / "service" / "get_app_parameters.yaml").write_text(
        "scenarios:\n"
        "  speech:\n"
        "    match: {headers.x-case: speech}\n"
        "    respond:\n"
        "      blocking: {speech_to_text: {enabled: true}, system_parameters: {file_size_limit: 1}}\n"
    )
    client = await make_client(fixtures=(root,))
    plain = await (await client.get("/v1/parameters", headers=auth("app-chat"))).json()
    changed = await (await client.get("/v1/parameters", headers=auth("app-chat", **{"X-Case": "speech"}))).json()
    assert changed["speech_to_text"] == {"enabled": True}
    assert changed["system_parameters"] == {**plain["system_parameters"], "file_size_limit": 1}
    assert {k: v for k, v in changed.items() if k not in ("speech_to_text", "system_parameters")} == {
        k: v for k, v in plain.items() if k not in ("speech_to_text", "system_parameters")
    }
