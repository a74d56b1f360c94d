"""DifyMock, the handle tests hold: URLs, keys, the test's session, and control of its tenants
(scenarios, faults, clock, journal) through the app in-process or the /_mock/ API over HTTP."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from hashlib import blake2b
from typing import Any, Final, Protocol

from mockserver.control.api import ControlError as ControlError  # raised by both transports
from mockserver.nearmiss import did_you_mean
from mockserver.testing.journal import Journal

KEYS: Final = {
    "chat": "app-chat",
    "advanced-chat": "app-advanced-chat",
    "agent-chat": "app-agent-chat",
    "agent": "app-agent",
    "completion": "app-completion",
    "workflow": "app-workflow",
    "dataset": "dataset-demo",
}
# Header-less clients (the official SDKs cannot send X-Mock-Session) land in `default`, or in `-` when
# their key is refused: a test's handle acts on both beside its own session.
SHARED_TENANTS: Final = ("default", "-")


# Why a request was unmatched (journal `unmatched_reason`), as a failing test names it.
_UNMATCHED: Final = {
    "route": "no such route",
    "not emulated": "not emulated",
    "scenario": "unknown scenario name",
}


def session_id_for(nodeid: str) -> str:
    """A readable, stable session id per test (the same on every run, so replays are byte-identical)."""
    tail = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.rsplit("::", 1)[-1])[-40:]
    return f"{tail}-{blake2b(nodeid.encode(), digest_size=4).hexdigest()}"


def fault_text(fault: str, times: int | str = 1, params: Mapping[str, object] | None = None) -> str:
    """`fault_text("rate_limit", 2, {"retry_after": 1})` == `rate_limit;times=2;retry_after=1`."""
    return ";".join([fault, f"times={times}", *(f"{k}={v}" for k, v in (params or {}).items())])


class Control(Protocol):
    def post(self, path: str, body: dict[str, Any]) -> Any: ...
    def get(self, path: str, query: dict[str, str]) -> Any: ...
    def delete(self, path: str, query: dict[str, str]) -> Any: ...


class HttpControl:
    """The /_mock/ API of a server at `base_url` (another process, or DIFY_MOCK_URL)."""

    def __init__(self, base_url: str, admin_token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"Content-Type": "application/json"}
        if admin_token:
            self.headers["X-Mock-Admin-Token"] = admin_token

    def _send(self, method: str, path: str, query: dict[str, str] | None = None, body: Any = None) -> Any:
        url = f"{self.base_url}{path}"
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers=self.headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return json.load(resp)
        except urllib.error.HTTPError as exc:
            raw = exc.read().decode(errors="replace")
            try:
                error = json.loads(raw)
            except ValueError:
                error = None
            if not isinstance(error, dict):  # not the mock's JSON error (a proxy, another server)
                error = {"code": "http_error", "message": raw[:300] or str(exc.reason)}
            code, message = str(error.get("code", "http_error")), str(error.get("message", ""))
            raise ControlError(method, path, exc.code, code, message) from None

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._send("POST", path, body={k: v for k, v in body.items() if v is not None})

    def get(self, path: str, query: dict[str, str]) -> Any:
        return self._send("GET", path, query)

    def delete(self, path: str, query: dict[str, str]) -> Any:
        return self._send("DELETE", path, query)


class DifyMock:
    """What `dify_mock` and `dify_mock_server` hand a test (README, "Using it from pytest")."""

    def __init__(self, base_url: str, control: Control, session_id: str, seed: int) -> None:
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/v1"
        self.session_id = session_id
        self.headers = {"X-Mock-Session": session_id}
        self.seed = seed
        self._control = control
        self.tenants = [f"s:{session_id}", *SHARED_TENANTS]

    def api_key(self, mode: str) -> str:
        """The key of an app of `mode` on the running server: the first one of your `_apps.yaml`, else
        the built-in one (api_key("chat") == "app-chat"); "dataset" gives a knowledge API key."""
        live = self._control.get("/_mock/apps", {})
        if mode == "dataset" and live["dataset_keys"]:
            return str(live["dataset_keys"][0])
        apps = [a for a in live["data"] if a["mode"] == mode]
        apps.sort(key=lambda a: a["source"] == "built-in")  # stable: yours first, in file order
        if apps:
            return str(apps[0]["key"])
        if mode in KEYS:
            return KEYS[mode]
        modes = sorted({*KEYS, *(a["mode"] for a in live["data"])})
        raise ValueError(f"unknown app mode {mode!r}{did_you_mean(mode, modes)}; known modes: {', '.join(modes)}")

    def _scenario_names(self) -> dict[str, list[str]]:
        """Scenario names per endpoint: the fixtures' and this test's stubs'."""
        listed = self._control.get("/_mock/scenarios", {})
        names: dict[str, list[str]] = listed["data"]
        for stub in listed.get("adhoc", []):
            if stub["tenant"] in self.tenants[:2]:
                names.setdefault(stub["endpoint"], []).append(stub["scenario"])
        return names

    def scenario(self, name: str, endpoint: str | None = None) -> None:
        """Force scenario `name` for this test: on `endpoint`, or on every endpoint that has it."""
        if endpoint:
            endpoints = [endpoint]
        else:
            names = self._scenario_names()
            endpoints = [e for e, known in names.items() if name in known]
            if not endpoints:
                known_names = sorted({n for listed in names.values() for n in listed})
                raise ValueError(
                    f"no endpoint has a scenario named {name!r}{did_you_mean(name, known_names)}; "
                    f"known scenarios: {', '.join(known_names)}"
                )
        for target in endpoints:
            for tenant in self.tenants[:2]:
                self._control.post("/_mock/scenarios", {"endpoint": target, "scenario": name, "tenant": tenant})

    def stub(
        self,
        endpoint: str,
        *,
        match: dict[str, Any] | None = None,
        respond: dict[str, Any] | None = None,
        times: int | None = None,
        timing: dict[str, Any] | None = None,
        faults: str | dict[str, Any] | list[Any] | None = None,
        name: str | None = None,
    ) -> str:
        """An ad-hoc scenario for this test, tried before the fixture's own; returns its name.

        The fixture language as Python data: `respond` is a respond block (`{"blocking": {...}}`,
        `{"stream": {"events": [...]}}` or `{"error": {...}}`), `match` maps field paths to predicates,
        `faults` is a fault as a fixture writes it. `stub("service.send_chat_message",
        match={"body.query": {"contains": "refund"}}, respond={"blocking": {"answer": "5 days"}})`."""
        given = {"match": match, "respond": respond, "times": times, "timing": timing, "fault": faults}
        scenario = {k: v for k, v in given.items() if v is not None}
        for tenant in self.tenants[:2]:
            body = {"endpoint": endpoint, "scenario": scenario, "tenant": tenant, "name": name}
            # The server names an unnamed stub; the second tenant's copy takes the same name.
            name = str(self._control.post("/_mock/scenarios", body)["name"])
        assert name is not None
        return name

    def fail(self, fault: str, times: int | str = 1, endpoint: str | None = None, **params: str | int | float) -> None:
        """Queue `fault` for this test's next `times` calls (`"*"`: all of them).

        `fail("rate_limit", 2, retry_after=1)` queues `rate_limit;times=2;retry_after=1`."""
        text = fault_text(fault, times, params)
        for tenant in self.tenants[:2]:  # `-` never reaches the faults: its key was refused
            self._control.post("/_mock/faults", {"fault": text, "tenant": tenant, "endpoint": endpoint})

    def assert_faults_fired(self) -> None:
        """Fail unless every fault this test queued (`.fail()`, `dify_fault`) fired at least once."""
        queued: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
        for tenant in self.tenants[:2]:
            for entry in self._control.get("/_mock/faults", {"tenant": tenant})["data"]:
                if entry["tenant"] == tenant:  # queued for this test, not for every tenant
                    queued.setdefault((entry["fault"], entry["endpoint"]), []).append(entry)
        # One `.fail()` queues a copy per tenant; whichever tenant the client used, one firing is enough.
        # (A fault that never fired still has all its count left, so "never fired" is the whole test.)
        idle = [
            (t, ep, entries)
            for (t, ep), entries in queued.items()
            if not any(sum(e["fired"].values()) for e in entries)
        ]
        if idle:
            lines = [
                f"{text}{f' on {endpoint}' if endpoint else ''} ({', '.join(e['id'] for e in entries)})"
                for text, endpoint, entries in idle
            ]
            raise AssertionError("queued faults that never fired:\n  " + "\n  ".join(lines))

    @property
    def journal(self) -> Journal:
        entries: dict[int, dict[str, Any]] = {}
        dropped = 0
        for tenant in self.tenants:
            page = self._control.get("/_mock/journal", {"tenant": tenant})
            dropped += page["dropped"]
            entries.update((e["id"], e) for e in page["data"])
        return Journal([entries[k] for k in sorted(entries)], dropped)

    def reset(self) -> None:
        """This test's tenants lose their state, journal, cursors, faults and forced scenarios."""
        for tenant in self.tenants:
            self._control.post("/_mock/reset", {"tenant": tenant})

    def advance(self, seconds: float) -> None:
        """Move this test's mock clock forward (time schedules such as during= and quota=)."""
        for tenant in self.tenants:
            self._control.post("/_mock/clock", {"tenant": tenant, "advance": seconds})

    def problems(self, strict: bool = False) -> list[str]:
        """Server-side problems this test caused: the mock's own 5xx, unserved routes, unknown scenarios;
        with `strict`, also requests the mock refused (4xx) that no fault injected."""
        out = []
        for entry in self.journal:
            injected = entry.get("fault") is not None
            status = entry.get("status") or 0
            error = entry.get("error") or {}
            said = f"{error.get('code', '')} {error.get('message', '')}".strip()
            line = f"{entry['method']} {entry['path']} -> {status} {said}".strip()
            if entry.get("unmatched"):
                reason = _UNMATCHED.get(entry.get("unmatched_reason") or "", "no such route")
                out.append(f"{line} ({reason})")
            elif not injected and (status >= 500 or (strict and status >= 400)):
                out.append(line)
        return out
