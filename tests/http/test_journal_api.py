"""GET/DELETE /_mock/journal: filters, redaction, bounded size with drops counted, and the OpenAPI documents."""

from __future__ import annotations

from typing import Any

from dify_facts import auth

CHAT = {"inputs": {}, "query": "hi", "user": "u"}
ENTRY_FIELDS = {
    "id",
    "tenant",
    "time",
    "method",
    "path",
    "query",
    "headers",
    "body",
    "endpoint",
    "scenario",
    "fault",
    "status",
    "events",
    "duration_ms",
    "unmatched",
}


async def journal(client: Any, **query: str) -> dict[str, Any]:
    resp = await client.get("/_mock/journal", params=query)
    assert resp.status == 200
    return await resp.json()


async def test_entries_and_filters(client):
    await client.post("/v1/chat-messages", json=CHAT, headers=auth("app-chat", **{"X-Mock-Session": "a"}))
    await client.get("/v1/info", headers=auth("app-chat", **{"X-Mock-Session": "a"}))
    await client.get("/v1/info", headers={"X-Mock-Session": "b"})
    everything = await journal(client)
    assert len(everything["data"]) == 3 and everything["dropped"] == 0
    first = everything["data"][0]
    assert set(first) >= ENTRY_FIELDS
    assert first["headers"]["Authorization"] == "…chat" and first["body"] == CHAT and first["status"] == 200
    # Milliseconds to the microsecond, as the journal has always shown them (the entry keeps them unrounded).
    assert all(e["duration_ms"] >= 0 and round(e["duration_ms"], 3) == e["duration_ms"] for e in everything["data"])
    assert [e["path"] for e in (await journal(client, tenant="s:a"))["data"]] == ["/v1/chat-messages", "/v1/info"]
    assert [e["status"] for e in (await journal(client, status="4xx"))["data"]] == [401]
    assert len((await journal(client, path="/v1/info"))["data"]) == 2
    assert len((await journal(client, path="/v1/*"))["data"]) == 3
    since = everything["data"][0]["id"]
    assert [e["id"] for e in (await journal(client, since=str(since)))["data"]] == [since + 1, since + 2]
    assert (await client.delete("/_mock/journal", params={"tenant": "s:a"})).status == 200
    assert [e["tenant"] for e in (await journal(client))["data"]] == ["s:b"]


async def test_bad_filters_are_400(client):
    assert (await client.get("/_mock/journal", params={"status": "abc"})).status == 400
    assert (await client.get("/_mock/journal", params={"since": "yesterday"})).status == 400


async def test_the_journal_is_bounded_and_counts_drops(make_client):
    client = await make_client(journal_size=3)
    for _ in range(5):
        await client.get("/v1/info", headers=auth("app-chat"))
    page = await journal(client, tenant="default")
    assert len(page["data"]) == 3 and page["dropped"] == 2
    assert [e["id"] for e in page["data"]] == [3, 4, 5]  # the oldest went first


async def test_an_entry_shows_the_request_headers_as_sent(client):
    """The entry keeps the headers as one text and shows them back: a value holding `: `, an empty
    value, a name sent twice (the last shown, as a JSON object can hold one), credentials redacted."""
    from multidict import CIMultiDict

    sent = CIMultiDict(auth("app-chat"))
    sent.extend([("X-Note", "a: b: c"), ("X-Empty", ""), ("X-Twice", "1"), ("X-Twice", "2"), ("X-Accents", "café")])
    await client.get("/v1/info", headers=sent)
    shown = (await journal(client))["data"][-1]["headers"]
    assert shown["X-Note"] == "a: b: c" and shown["X-Empty"] == "" and shown["X-Twice"] == "2"
    assert shown["Authorization"] == "…chat" and shown["X-Accents"] == "café"
