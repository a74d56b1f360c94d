"""newcomer-trial F11: a template path that finds nothing at run time is reported (journal and log), not
silently rendered as an empty string."""

from __future__ import annotations

import logging
from pathlib import Path

from dify_facts import auth

FIXTURE = (
    "scenarios:\n"
    "  refund:\n"
    "    match: {body.query: {contains: refund}}\n"
    "    respond:\n"
    "      blocking: {answer: 'Refunds take 5 days, {{ request.body.inputs.customer.name }}.'}\n"
)


async def test_a_missing_path_is_journaled_and_logged(make_client, tmp_path: Path, caplog):
    (tmp_path / "service").mkdir()
    target = tmp_path / "service" / "send_chat_message.yaml"
    target.write_text(FIXTURE)
    client = await make_client(fixtures=(tmp_path,), strict=False)
    body = {"inputs": {}, "query": "refund please", "user": "u"}
    with caplog.at_level(logging.WARNING, logger="mockserver.templates"):
        resp = await client.post("/v1/chat-messages", json=body, headers=auth("app-chat"))
    assert (await resp.json())["answer"] == "Refunds take 5 days, ."
    entry = (await (await client.get("/_mock/journal")).json())["data"][-1]
    (warning,) = entry["warnings"]
    assert warning.startswith(f"{target}:5:") and "request.body.inputs.customer.name" in warning
    assert warning in caplog.text
