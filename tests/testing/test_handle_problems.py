"""DifyMock.problems(): each unmatched journal entry says why, as the failing test will show it."""

from __future__ import annotations

from typing import Any

from mockserver.testing.handle import DifyMock


class Journaled:
    """A control whose journal holds the given entries, and nothing else."""

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self.entries = entries

    def get(self, path: str, query: dict[str, str]) -> Any:
        assert path == "/_mock/journal"
        return {"data": self.entries if query["tenant"] == "default" else [], "dropped": 0}

    def post(self, path: str, body: dict[str, Any]) -> Any:
        raise AssertionError("problems() only reads")

    def delete(self, path: str, query: dict[str, str]) -> Any:
        raise AssertionError("problems() only reads")


def entry(i: int, path: str, reason: str | None, status: int = 404, **extra: Any) -> dict[str, Any]:
    return {
        "id": i,
        "method": "GET",
        "path": path,
        "status": status,
        "unmatched": reason is not None,
        "unmatched_reason": reason,
        **extra,
    }


def test_each_unmatched_entry_names_its_reason() -> None:
    entries = [
        entry(1, "/v1/nope", "route"),
        entry(2, "/v1/conversations", "not emulated", error={"code": "not_found", "message": "not yet"}),
        entry(3, "/v1/chat-messages", "scenario", status=400),
        entry(4, "/v1/info", None, status=200),
    ]
    mock = DifyMock("http://127.0.0.1:1", Journaled(entries), "t", 0)
    assert mock.problems() == [
        "GET /v1/nope -> 404 (no such route)",
        "GET /v1/conversations -> 404 not_found not yet (not emulated)",
        "GET /v1/chat-messages -> 400 (unknown scenario name)",
    ]
