"""verdict() on real traffic: a client that loses its conversation after a cut stream, and one that keeps it."""

from __future__ import annotations

import aiohttp
import pytest


async def chat(session: aiohttp.ClientSession, mock, body: dict, fault: str | None = None) -> tuple[bytes, bool]:
    headers = {"Authorization": "Bearer app-chat", **mock.headers, **({"X-Mock-Fault": fault} if fault else {})}
    async with session.post(f"{mock.url}/chat-messages", json=body, headers=headers) as resp:
        try:
            return await resp.read(), True
        except aiohttp.ClientPayloadError:
            return b"", False


@pytest.mark.parametrize("keeps_conversation", [False, True])
async def test_conversation_lost_is_found_only_when_the_client_drops_the_id(dify_mock, keeps_conversation):
    async with aiohttp.ClientSession() as session:
        body = {"inputs": {}, "query": "one two three four", "user": "u", "response_mode": "streaming"}
        _, complete = await chat(session, dify_mock, body, "stream_cut;after=2")
        assert not complete  # the body ended early: the client saw the cut
        conversation_id = dify_mock.journal.last["conversation_id"]
        follow_up = {"inputs": {}, "query": "are you there?", "user": "u"}
        if keeps_conversation:
            follow_up["conversation_id"] = conversation_id
        await chat(session, dify_mock, follow_up)
    verdict = dify_mock.journal.verdict()
    assert [f.name for f in verdict.findings] == ([] if keeps_conversation else ["conversation_lost"])
