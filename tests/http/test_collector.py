"""What a request leaves for Python's garbage collector: the mock's objects of a turn are freed when the
request ends (no reference cycles: a turn's call, draws and context once waited for a collection), and
a journal entry is kept compact yet read in full."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dify_facts import auth

from mockserver.keys import TENANTS

FAULT = {"X-Mock-Fault": "rate_limit"}
BLOCKING = {"inputs": {}, "query": "hello", "user": "u", "response_mode": "blocking"}


@contextmanager
def saved_garbage() -> Iterator[list[Any]]:
    """The objects the collector finds unreachable meanwhile, kept for the test to look at."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    found: list[Any] = []
    try:
        yield found
        gc.collect()
        found.extend(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def _mock_objects(objects: list[Any]) -> list[str]:
    return sorted({type(o).__qualname__ for o in objects if type(o).__module__.startswith("mockserver")})


async def _turns(client: Any, body: dict[str, Any], times: int) -> None:
    for _ in range(times):
        resp = await client.post("/v1/chat-messages", json=body, headers=auth("app-chat"))
        assert resp.status in (200, 400, 404), await resp.text()
        await resp.read()


async def test_chat_turns_refusals_and_faults_leave_no_cycles_of_mock_objects(client):
    await _turns(client, BLOCKING, 2)  # warm: first-use imports and memos are no garbage
    with saved_garbage() as garbage:
        await _turns(client, BLOCKING, 20)
        await _turns(client, {**BLOCKING, "response_mode": "streaming"}, 5)
        await _turns(client, {**BLOCKING, "conversation_id": "no-such-conversation"}, 5)  # 404
        await _turns(client, {"inputs": {}, "user": "u"}, 5)  # 400, no query
        for _ in range(5):  # an injected 429
            resp = await client.post("/v1/chat-messages", json=BLOCKING, headers=auth("app-chat", **FAULT))
            assert resp.status == 429
            await resp.read()
    assert _mock_objects(garbage) == []


async def test_kept_journal_entries_read_in_full(client):
    """A kept entry is the tuple of its values with the request's raw forms (the JSON text, no query);
    reading it gives the journal's JSON again."""
    await _turns(client, BLOCKING, 3)
    tenant = client.app[TENANTS].get("default")
    assert len(tenant.recorded) == 3
    entry = tenant.journal[-1]
    assert entry["body"] == BLOCKING
    assert entry["headers"]["authorization"] == "…chat"  # redacted, looked up ignoring case
    assert entry["query"] == {} and entry["events"] == [] and entry["status"] == 200
