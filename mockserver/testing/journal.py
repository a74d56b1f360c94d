"""Journal: a test's view of the requests the mock saw, with respx/WireMock-style verification helpers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final, overload

from mockserver.control.verdict import Verdict, verdict

Entry = dict[str, Any]
SERVICE_PREFIX: Final = "/v1"


def _subset(expected: Any, actual: Any) -> bool:
    """Whether `expected` is contained in `actual` (dicts by key, recursively; other values equal)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and _subset(v, actual[k]) for k, v in expected.items())
    return bool(expected == actual)


def _paths(path: str | None) -> tuple[str, ...]:
    """What a path given to the helpers may stand for: itself, or the Service API path under `/v1`."""
    if path is None:
        return ()
    path = path if path.startswith("/") else f"/{path}"
    return (path,) if path.startswith(SERVICE_PREFIX + "/") else (path, SERVICE_PREFIX + path)


class Journal(Sequence[Entry]):
    """The journal entries of one test, oldest first. Entries are dicts with the fields of GET /_mock/journal."""

    def __init__(self, entries: list[Entry], dropped: int = 0, retry_budget: int = 5) -> None:
        self._entries = entries
        self.dropped = dropped
        self.retry_budget = retry_budget

    @overload
    def __getitem__(self, index: int) -> Entry: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Entry]: ...
    def __getitem__(self, index: int | slice) -> Entry | Sequence[Entry]:
        return self._entries[index]

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries)

    def __repr__(self) -> str:
        calls = ", ".join(f"{e['method']} {e['path']} -> {e['status']}" for e in self._entries[-5:])
        return f"<Journal {len(self)} requests{': … ' if len(self) > 5 else ': '}{calls}>"

    def filter(self, path: str | None = None, method: str | None = None, body: dict[str, Any] | None = None) -> Journal:
        """The entries to `path` (exact; `/chat-messages` also matches `/v1/chat-messages`, since the
        handle's `.url` already ends in `/v1`), with `method`, whose body contains `body`."""
        paths = _paths(path)
        kept = [
            e
            for e in self._entries
            if (path is None or e["path"] in paths)
            and (method is None or e["method"] == method.upper())
            and (body is None or _subset(body, e.get("body")))
        ]
        return Journal(kept, 0, self.retry_budget)

    @property
    def called(self) -> bool:
        return bool(self._entries)

    @property
    def call_count(self) -> int:
        return len(self._entries)

    @property
    def last(self) -> Entry | None:
        return self._entries[-1] if self._entries else None

    @property
    def unmatched(self) -> list[Entry]:
        """Requests that hit no route, or asked for a scenario by a name that does not exist."""
        return [e for e in self._entries if e.get("unmatched")]

    def assert_called_with(self, path: str, body: dict[str, Any] | None = None, method: str | None = None) -> Entry:
        """The last request to `path` must contain `body`; returns it."""
        to_path = self.filter(path, method)
        if not to_path:
            raise AssertionError(f"no request to {path}; seen: {self._seen()}")
        last = to_path[-1]
        if body is not None and not _subset(body, last.get("body")):
            raise AssertionError(
                f"last request to {path} had body {last.get('body')!r}, expected it to contain {body!r}"
            )
        return last

    def assert_called_exactly(
        self, n: int, path: str | None = None, body: dict[str, Any] | None = None, method: str | None = None
    ) -> None:
        found = self.filter(path, method, body)
        if len(found) != n:
            what = f"to {path}" if path else "in all"
            raise AssertionError(f"expected {n} request(s) {what}, saw {len(found)}; seen: {self._seen()}")

    def verdict(self, retry_budget: int | None = None) -> Verdict:
        return verdict(self._entries, self.retry_budget if retry_budget is None else retry_budget)

    def _seen(self) -> str:
        return ", ".join(f"{e['method']} {e['path']}" for e in self._entries) or "nothing"
