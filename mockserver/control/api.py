"""The /_mock/ control plane. Each operation is a plain function of (app, params) -> (status, body),
served over HTTP here and called in-process by the pytest plugin; `tenant` is a selector (an id such
as s:t1, a glob such as k:*, absent = every tenant) in the body of POST and the query of GET/DELETE."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler
from msgspec.structs import replace

from mockserver import jsonsafe
from mockserver._version import __version__
from mockserver.dify.apps import App
from mockserver.errors import MSG_BAD_JSON, DifyError
from mockserver.keys import ACTIONS, BOOK, CATALOGUE, TENANTS
from mockserver.nearmiss import did_you_mean
from mockserver.paths import fixtures_dir
from mockserver.scenarios.adhoc import compile_stub

Params = dict[str, Any]
Operation = Callable[[web.Application, Params], tuple[int, Any]]


class ControlError(ValueError):
    """The mock refused a control call (a bad fault, an unknown endpoint or scenario, a broken stub).
    Raised alike in-process and over HTTP (DIFY_MOCK_URL), so a test sees the same error either way."""

    def __init__(self, method: str, path: str, status: int, code: str, message: str) -> None:
        self.method, self.path, self.status, self.code, self.message = method, path, status, code, message
        super().__init__(f"{message} (dify-mockserver {method} {path}: {status} {code})")


def _field(data: Params, name: str, kind: type | tuple[type, ...], *, required: bool = False) -> Any:
    value = data.get(name)
    if value is None:
        if required:
            raise DifyError("invalid_param", f"{name} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, kind):  # no control field takes a boolean
        raise DifyError("invalid_param", f"{name} must be a {getattr(kind, '__name__', 'number')}")
    return value


def _tenant(data: Params) -> str | None:
    value = data.get("tenant")
    if value is not None and (not isinstance(value, str) or not value):
        raise DifyError("invalid_param", "tenant must be a tenant id (s:t1, default) or a glob (s:*)")
    return value or None


def _endpoint(app: web.Application, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in app[BOOK].current.fixtures:
        raise DifyError("invalid_param", f"unknown endpoint {value!r} (see `dify-mockserver lint --list`)")
    return value


def health(app: web.Application, data: Params) -> tuple[int, Any]:
    return 200, {"status": "ok", "version": __version__}


def reset(app: web.Application, data: Params) -> tuple[int, Any]:
    seed = _field(data, "seed", int)
    return 200, {"result": "success", "tenants": app[TENANTS].reset(_tenant(data), seed)}


JOURNAL_FILTERS: Final = ("tenant", "path", "status", "since")
_QUERY_EXTRAS: Final = frozenset({"token"})  # the admin token, for browsers that cannot send its header


def _known_only(data: Params, known: tuple[str, ...]) -> None:
    """A misspelt filter would otherwise be ignored and answer everything: refuse it by name."""
    unknown = sorted(k for k in data if k not in known and k not in _QUERY_EXTRAS)
    if unknown:
        raise DifyError(
            "invalid_param",
            f"unknown filter {unknown[0]!r}{did_you_mean(unknown[0], known)}; known filters: {', '.join(known)}",
        )


def get_journal(app: web.Application, data: Params) -> tuple[int, Any]:
    _known_only(data, JOURNAL_FILTERS)
    status = data.get("status") or None
    if status is not None and not (
        len(status) == 3 and (status.isdigit() or (status[0].isdigit() and status[1:] == "xx"))
    ):
        raise DifyError("invalid_param", "status must be a status code (404) or a class (4xx)")
    try:
        since = float(data["since"]) if data.get("since") else None
    except ValueError:
        raise DifyError("invalid_param", "since must be an entry id or a Unix time") from None
    entries, dropped = app[TENANTS].journal(_tenant(data), data.get("path") or None, status, since)
    return 200, {"data": entries, "dropped": dropped}


def clear_journal(app: web.Application, data: Params) -> tuple[int, Any]:
    app[TENANTS].clear_journal(_tenant(data))
    return 200, {"result": "success"}


def add_fault(app: web.Application, data: Params) -> tuple[int, Any]:
    text = _field(data, "fault", str, required=True)
    book = app[BOOK].current
    ids = app[TENANTS].queue.add(text, _tenant(data), book.aliases, _endpoint(app, data.get("endpoint")), book.fixtures)
    return 201, {"id": ids[0], "ids": ids}


def list_faults(app: web.Application, data: Params) -> tuple[int, Any]:
    registry = app[TENANTS]
    selector = _tenant(data)
    tenants = [t.id for t in registry.select(selector)]
    if selector is not None and not any(c in selector for c in "*?[") and selector not in tenants:
        tenants.append(selector)  # a tenant that has not called yet still has all its counts
    entries = [
        e for e in registry.queue.entries if selector is None or e.selector in (None, selector) or e.selects(selector)
    ]
    return 200, {"data": [e.describe(tenants) for e in entries]}


def clear_faults(app: web.Application, data: Params) -> tuple[int, Any]:
    return 200, {"result": "success", "removed": app[TENANTS].queue.clear(_tenant(data))}


def list_scenarios(app: web.Application, data: Params) -> tuple[int, Any]:
    book = app[BOOK].current
    names = {endpoint: fixture.names for endpoint, fixture in sorted(book.fixtures.items())}
    registry = app[TENANTS]
    selector = _tenant(data)
    return 200, {"data": names, "forced": registry.forced_list(selector), "adhoc": registry.adhoc_list(selector)}


def force_scenario(app: web.Application, data: Params) -> tuple[int, Any]:
    """Force a scenario by name per tenant (`scenario: null` lifts it), or add an ad-hoc one (`scenario: {...}`)."""
    endpoint = _endpoint(app, _field(data, "endpoint", str, required=True))
    assert endpoint is not None
    if isinstance(data.get("scenario"), dict):
        return _stub(app, data, endpoint)
    scenario = _field(data, "scenario", str)
    fixture = app[BOOK].current.fixtures[endpoint]
    stubs = {a["scenario"] for a in app[TENANTS].adhoc_list(None) if a["endpoint"] == endpoint}
    if scenario is not None and fixture.named(scenario) is None and scenario not in stubs:
        known = [*sorted(stubs), *fixture.names]
        raise DifyError(
            "invalid_param",
            f"endpoint {endpoint} has no scenario {scenario!r}{did_you_mean(scenario, known)}; "
            f"its scenarios: {', '.join(known)}",
        )
    app[TENANTS].force(_tenant(data), endpoint, scenario)
    return 200, {"result": "success"}


def _stub(app: web.Application, data: Params, endpoint: str) -> tuple[int, Any]:
    """An ad-hoc scenario for the selected tenants, tried before the fixture's own."""
    registry, selector = app[TENANTS], _tenant(data)
    name = _field(data, "name", str)
    if name is not None and not name.strip():
        raise DifyError("invalid_param", "name must be a non-empty scenario name")
    actions = app[ACTIONS]
    scenario = compile_stub(app[CATALOGUE], app[BOOK].current, actions, endpoint, name or "stub", data["scenario"])
    if name is None:  # named only once it compiled, so refused stubs use up no names
        scenario = replace(scenario, name=registry.next_stub_name())
    registry.add_adhoc(selector, endpoint, scenario)
    return 201, {"result": "success", "endpoint": endpoint, "name": scenario.name, "tenant": selector}


def clear_scenarios(app: web.Application, data: Params) -> tuple[int, Any]:
    """Drop the ad-hoc scenarios and lift the forcings of the selected tenants."""
    registry, selector = app[TENANTS], _tenant(data)
    return 200, {"result": "success", "adhoc": registry.drop_adhoc(selector), "forced": registry.drop_forced(selector)}


def advance_clock(app: web.Application, data: Params) -> tuple[int, Any]:
    seconds = _field(data, "advance", (int, float), required=True)
    if not 0 <= seconds <= 10 * 365 * 86_400:
        raise DifyError("invalid_param", "advance is 0 to 10 years of seconds: the mock clock only moves forward")
    return 200, {"result": "success", "tenants": app[TENANTS].advance(_tenant(data), float(seconds))}


def get_clock(app: web.Application, data: Params) -> tuple[int, Any]:
    """Each selected tenant's offset and the next mock time of each of its scopes (apps, datasets)."""
    return 200, {"data": [t.clock() for t in app[TENANTS].select(_tenant(data))]}


def get_verdict(app: web.Application, data: Params) -> tuple[int, Any]:
    """How the clients of the selected tenants behaved under failure: retries, backoff, lost conversations."""
    _known_only(data, ("tenant", "retry_budget"))
    try:
        budget = int(data["retry_budget"]) if data.get("retry_budget") not in (None, "") else 5
    except ValueError:
        budget = -1
    if budget < 0:
        raise DifyError("invalid_param", "retry_budget must be a whole number >= 0 (retries allowed per request)")
    entries, _ = app[TENANTS].journal(_tenant(data))
    from mockserver.control.verdict import verdict  # imported by the first call, not at start-up

    found = verdict(entries, budget)
    findings = [{"name": f.name, "message": f.message, "requests": f.requests} for f in found.findings]
    return 200, {"ok": found.ok, "findings": findings}


def _listed(a: App, built_in: str) -> dict[str, Any]:
    return {
        "key": a.key,
        "mode": a.mode,
        "name": a.name,
        "source": "built-in" if not a.source or a.source.startswith(built_in) else a.source,
        "dsl": a.dsl or None,
        "warnings": list(a.warnings),
        "notes": list(a.notes),
    }


def list_apps(app: web.Application, data: Params) -> tuple[int, Any]:
    """Every app (key, mode, name, the _apps.yaml or DSL file it came from, its DSL warnings) and every
    knowledge API key."""
    apps = app[BOOK].current.apps
    built_in = str(fixtures_dir())
    listed = [_listed(a, built_in) for a in apps.apps.values()]
    return 200, {"data": listed, "dataset_keys": list(apps.dataset_keys)}


def add_app(app: web.Application, data: Params) -> tuple[int, Any]:
    """Add or replace the app `key` from DSL YAML text; 400 with lint's located messages when it is broken.
    The app lives until the server stops or `--reload` reloads the fixtures."""
    _known_only(data, ("key", "dsl"))
    key = _field(data, "key", str, required=True)
    text = _field(data, "dsl", str, required=True)
    if not key.strip():
        raise DifyError("invalid_param", "key must be a non-empty API key")
    book = app[BOOK].current
    if key in book.apps.dataset_keys:
        raise DifyError("invalid_param", f"key {key!r} is a knowledge API key")
    from mockserver.dify.dsl.entries import from_text  # the DSL loader: imported by the first posted app

    made, problems = from_text(key, text, current=app[BOOK].current_dsl)
    if made is None:
        raise DifyError("invalid_param", "\n".join(str(p) for p in problems))
    app[BOOK].posted[key] = made  # a reload keeps it
    app[BOOK].current = app[BOOK].with_posted(book)  # one assignment, as a reload swaps the book
    return 200, _listed(made, str(fixtures_dir()))


OPERATIONS: dict[tuple[str, str], Operation] = {
    ("GET", "/_mock/health"): health,
    ("POST", "/_mock/reset"): reset,
    ("GET", "/_mock/journal"): get_journal,
    ("DELETE", "/_mock/journal"): clear_journal,
    ("POST", "/_mock/faults"): add_fault,
    ("GET", "/_mock/faults"): list_faults,
    ("DELETE", "/_mock/faults"): clear_faults,
    ("GET", "/_mock/scenarios"): list_scenarios,
    ("POST", "/_mock/scenarios"): force_scenario,
    ("DELETE", "/_mock/scenarios"): clear_scenarios,
    ("POST", "/_mock/clock"): advance_clock,
    ("GET", "/_mock/clock"): get_clock,
    ("GET", "/_mock/verdict"): get_verdict,
    ("GET", "/_mock/apps"): list_apps,
    ("POST", "/_mock/apps"): add_app,
}


async def _params(request: web.Request) -> Params:
    if request.method != "POST":
        return dict(request.query)
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise DifyError("bad_request", MSG_BAD_JSON) from None
    if not isinstance(data, dict):
        raise DifyError("bad_request", "The control API takes a JSON object.")
    return data


def _route(operation: Operation) -> Callable[[web.Request], Any]:
    async def handler(request: web.Request) -> web.Response:
        status, body = operation(request.app, await _params(request))
        # jsonsafe: a journaled body may hold what orjson alone cannot write (deep nesting, huge integers).
        return web.Response(body=jsonsafe.dumps(body), status=status, content_type="application/json")

    return handler


def add_routes(app: web.Application, guarded: Callable[[Handler], Handler]) -> None:
    """The control operations' routes, each handler `guarded` (the app's control stage)."""
    for (method, path), operation in OPERATIONS.items():
        app.router.add_route(method, path, guarded(_route(operation)), name=f"mock.{operation.__name__}")


class LocalControl:
    """The control operations called in-process (the pytest plugin's private servers): `call(fn)`
    runs `fn()` where the app lives (directly, or on the server thread's loop)."""

    def __init__(self, app: web.Application, call: Callable[[Callable[[], Any]], Any] | None = None) -> None:
        self._app = app
        self._call = call or (lambda fn: fn())

    def _run(self, method: str, path: str, params: Params) -> Any:
        operation = OPERATIONS[(method, path)]
        clean = {k: v for k, v in params.items() if v is not None}
        try:
            _, body = self._call(lambda: operation(self._app, clean))
        except DifyError as exc:  # what HttpControl raises for the same answer over HTTP
            raise ControlError(method, path, exc.status, exc.code, exc.message) from None
        # The same JSON a client of the HTTP API gets, never the server's live objects.
        return orjson.loads(jsonsafe.dumps(body))

    def post(self, path: str, body: Params) -> Any:
        return self._run("POST", path, body)

    def get(self, path: str, query: dict[str, str]) -> Any:
        return self._run("GET", path, query)

    def delete(self, path: str, query: dict[str, str]) -> Any:
        return self._run("DELETE", path, query)
