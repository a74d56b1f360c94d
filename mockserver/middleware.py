"""The stage in front of every route, in one pass: journal -> errors -> auth for a Dify route, the admin
guard and errors for a /_mock/ route (each step a function call, not a layer of its own), and the
catch-all route that gives an unknown path or method its stage."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol

from aiohttp import web
from aiohttp.typedefs import Handler

from mockserver.auth import authenticate, tenant_of
from mockserver.control.inspector import HUB
from mockserver.dify import routes, versions
from mockserver.errors import CODES, NOT_FOUND_HTML, DifyError
from mockserver.faults.delivery import DIFY_HEADERS, NORMAL
from mockserver.keys import (
    EXCHANGE,
    RELEASE,
    ROUTE_SPECS,
    RUNTIME,
    SETTINGS,
    TENANTS,
    Exchange,
    Runtime,
)
from mockserver.nearmiss import close_matches
from mockserver.render.wire import send_json
from mockserver.state.journal import JournalClock, request_line

log = logging.getLogger("mockserver")
requests_log = logging.getLogger("mockserver.requests")  # one line per Dify request (`--quiet`: none)
CONTROL_PREFIX: Final = "/_mock/"
ADMIN_HEADER: Final = "X-Mock-Admin-Token"
# Where `serve` takes the closed entries of its request log (their lines made and written onto stderr
# in batches, no log record each); without it the lines go to the `mockserver.requests` logger.
REQUEST_LINES: Final = web.AppKey[Callable[[dict[str, Any]], None]]("REQUEST_LINES")

_HTTP_CODES: Final = {
    404: "not_found",
    405: "method_not_allowed",
    413: "request_entity_too_large",
    415: "unsupported_media_type",
    400: "bad_request",
}


def _is_control(request: web.Request) -> bool:
    return request.path.startswith(CONTROL_PREFIX) or request.path == CONTROL_PREFIX.rstrip("/")


async def control(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A /_mock/ route's stage: the admin guard, and every failure in Dify's envelope."""
    try:
        _admit_control(request)
        return await handler(request)
    except ConnectionResetError:
        raise
    except Exception as exc:
        return await _failed(request, exc)


async def dify(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A Dify route's stage: journal around errors around auth around the handler. The errors are
    caught in this frame, not a coroutine of its own: every stream in flight holds its await chain."""
    app = request.app  # a property that walks the match info: read once
    runtime = app[RUNTIME]
    entry = runtime.clock.open(request)
    exchange = request[EXCHANGE] = Exchange(runtime, entry)
    request[DIFY_HEADERS] = runtime.dify_headers
    status, retry_after = 500, None
    try:
        try:
            refused = _authenticated(request, runtime, exchange)
            response = refused if refused is not None else await handler(request)
        except ConnectionResetError:
            raise
        except Exception as exc:
            response = await _failed(request, exc)
        if not response.prepared:  # one prepared already (a stream) took them from the request
            response.headers.update(runtime.dify_headers)
        status, retry_after = response.status, response.headers.get("Retry-After")
        return response
    finally:
        if entry.get("outcome") is not None:
            status = 200  # a stream's status went out with its head, however it ended
        JournalClock.close(entry, status, retry_after)
        tenant_id = exchange.tenant_id or tenant_of(request, authenticated=False)
        entry["tenant"] = tenant_id
        if exchange.spec is None:  # no Dify route has this path and method (the catch-all's)
            entry["unmatched"] = True
            entry.setdefault("unmatched_reason", "route")
        runtime.tenants.get(tenant_id).record(entry)
        listeners = runtime.listeners
        if listeners is None:
            listeners = runtime.listeners = _listeners(app, runtime)
        for listener in listeners:
            listener(entry)


class Stage(Protocol):
    """What wraps a route's handler: `dify` or `control`."""

    def __call__(self, request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]: ...


def staged(handler: Handler, stage: Stage) -> Handler:
    """A route's handler behind its stage (`dify` or `control`). The stages wrap each route, not the
    app as aiohttp middlewares: those cost every request a chain of partials and aiohttp's own
    current-app middleware (3.7% of a blocking chat's instructions). The catch-all route (below)
    gives unknown paths and methods their stage."""
    return functools.partial(stage, handler=handler)


def guarded(handler: Handler) -> Handler:
    """A /_mock/ route's handler behind the control stage."""
    return staged(handler, control)


UNMATCHED: Final = "mock.unmatched"


async def _no_route(request: web.Request) -> web.StreamResponse:
    """What aiohttp's router says of a request no other route takes: 405 with the methods the path
    has (Allow), else 404. Worked out as its resolve() does, over every other resource."""
    allowed: set[str] = set()
    own = request.match_info.route.resource
    for resource in request.app.router.resources():
        if resource is not own:
            allowed |= (await resource.resolve(request))[1]
    if allowed:
        raise web.HTTPMethodNotAllowed(request.method, allowed)
    raise web.HTTPNotFound()


async def _unmatched(request: web.Request) -> web.StreamResponse:
    return await (control if _is_control(request) else dify)(request, _no_route)


def add_unmatched(router: web.UrlDispatcher) -> None:
    """The catch-all route, registered last: aiohttp's router tries it only when no other route matched."""
    router.add_route("*", r"/{unmatched:[\s\S]*}", _unmatched, name=UNMATCHED)  # any character, a newline too


def unmatched(request: web.Request) -> bool:
    """Whether the request took the catch-all route: no route has its path and method."""
    return request.match_info.route.name == UNMATCHED


def _listeners(app: web.Application, runtime: Runtime) -> tuple[Callable[[dict[str, Any]], None], ...]:
    """Who hears of a closed journal entry: the inspector's live view, and the request log (`serve`'s
    batched lines, else the `mockserver.requests` logger at INFO)."""
    found: list[Callable[[dict[str, Any]], None]] = []
    hub = app.get(HUB)
    if hub is not None:
        found.append(hub.publish)
    if not runtime.settings.quiet:
        lines = app.get(REQUEST_LINES)
        found.append(lines if lines is not None else _log_line)
    return tuple(found)


def _log_line(entry: dict[str, Any]) -> None:
    if requests_log.isEnabledFor(logging.INFO):
        requests_log.info("%s", request_line(entry))


async def _failed(request: web.Request, exc: Exception) -> web.StreamResponse:
    """Every failure becomes Dify's {code, message, status} (an unknown route, Flask's HTML page); a
    redirect goes on as aiohttp's."""
    exchange = request.get(EXCHANGE)  # a Dify request's (its journal entry, its delivery); None on /_mock/
    crash = False
    if isinstance(exc, DifyError):
        error = exc
    elif isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc
        code = _HTTP_CODES.get(exc.status, "internal_server_error" if exc.status >= 500 else "bad_request")
        error = DifyError(code, CODES[code].message, status=exc.status)
        if exc.status == 404 and unmatched(request):
            missing = routes.not_emulated(request.method, request.path)
            if missing is None:
                _journal_error(exchange, error, False)
                return web.Response(text=NOT_FOUND_HTML, status=404, content_type="text/html", charset="utf-8")
            error.message = missing
            if exchange is not None:
                exchange.entry["unmatched_reason"] = "not emulated"
        if "Allow" in exc.headers:
            error.headers["Allow"] = exc.headers["Allow"]
    else:
        log.error("internal error of the mock on %s %s", request.method, request.path, exc_info=exc)
        error, crash = DifyError("internal_server_error"), True
    if error.code == "not_found" and not crash:
        error.message = _restx_404_help(request, error.message)
    _journal_error(exchange, error, crash)
    if request.writer.output_size:  # a stream's head went out: cut its connection, never a second response
        raise ConnectionResetError("the response had begun")
    # An injected error still comes out as the faults shape it (e.g. dribbled).
    delivery = exchange.delivery if exchange is not None else NORMAL
    return await send_json(request, error.body(), error.status, error.headers or None, delivery)


def _journal_error(exchange: Exchange | None, error: DifyError, crash: bool) -> None:
    if exchange is None:
        return
    journaled: dict[str, Any] = {"code": error.code, "message": error.message}
    if crash:  # the mock's own failure: a test that caused it fails (testing plugin)
        journaled.update(message="internal error of the mock (see its log)", crash=True)
    if error.note:
        journaled["note"] = error.note
    exchange.entry["error"] = journaled


_RULE_PARAMS: Final = re.compile("(<.*>)")  # flask_restx/api.py RE_RULES: greedy, one rule's <...> to its last >


def _restx_404_help(request: web.Request, message: str) -> str:
    """flask-restx appends its route hint to every 404 a Dify resource raises (RESTX_ERROR_404_HELP is
    on in Dify): "Conversation Not Exists. You have requested this URI [/v1/chat-messages] but did you
    mean ... ?". _help_on_404 runs difflib.get_close_matches (3 at most, cutoff 0.6) of the path over
    every Flask rule with its <...> cut out. Each schema lists the rules that can come close to its
    path; they are matched here as flask-restx matches them, so a path with a variable segment gets
    the hint only when the segment's length lets it (a form token of up to 28 characters)."""
    spec = request.app[ROUTE_SPECS].get(request.match_info.route.name or "")
    if spec is None or not spec.restx_404_help:
        return message
    rules = {_RULE_PARAMS.sub("", rule): rule for rule in spec.restx_404_help}
    close = close_matches(request.path, rules, n=3)
    if not close:
        return message
    return (
        f"{message.rstrip('.')}. You have requested this URI [{request.path}] but did you mean "
        f"{' or '.join(rules[match] for match in close)} ?"
    )


def _admit_control(request: web.Request) -> None:
    _guard_control(request)
    token = request.app[SETTINGS].admin_token
    # A browser (the inspector, EventSource) cannot send headers: `?token=` works too.
    given = request.headers.get(ADMIN_HEADER) or request.query.get("token", "")
    if token and not _same(given, token):
        raise DifyError("mock_admin_token_required")


def _same(given: str, token: str) -> bool:
    """The admin token compared in constant time; hmac is loaded by the first guarded call, not start-up."""
    import hmac

    return hmac.compare_digest(given.encode(), token.encode())


def _authenticated(request: web.Request, runtime: Runtime, exchange: Exchange) -> web.StreamResponse | None:
    """Auth of a Dify request: sets its route's spec, its principal and tenant, or raises Dify's refusal;
    returns the answer itself where the emulated release has no such route (Flask's HTML 404)."""
    # An unknown path or method (the catch-all route, no spec) is 404/405 with no auth check, as in Flask.
    spec = exchange.spec = runtime.route_specs.get(request.match_info.route.name or "")
    if spec is None:
        return None
    release = runtime.release
    if spec.since is not None and not versions.compare(release.name, f">={spec.since}"):
        allowed = _older_methods(request)
        if allowed:  # the path has other methods in this release: Flask's 405, before auth
            raise DifyError("method_not_allowed", headers={"Allow": ", ".join(allowed)})
        # A route the emulated release does not have yet is Flask's unknown route: HTML 404, no auth.
        exchange.entry["unmatched"], exchange.entry["unmatched_reason"] = True, "route"
        return web.Response(text=NOT_FOUND_HTML, status=404, content_type="text/html", charset="utf-8")
    try:
        if spec.auth == "dataset" and release.dataset_before_token:
            _dataset_first(request, exchange)
        principal = authenticate(request, spec, runtime.book.current.apps, release)
    except DifyError:
        exchange.tenant_id = tenant_of(request, authenticated=False)  # the session if sent, else "-"
        raise
    exchange.principal = principal
    exchange.tenant_id = tenant_of(request, authenticated=True)
    if spec.auth == "dataset" and not release.dataset_before_token:
        _dataset_first(request, exchange)  # the token's decorator finds the dataset before the handler reads the body
    return None


def _older_methods(request: web.Request) -> list[str]:
    """The methods the emulated release serves on this request's path (Werkzeug's Allow: HEAD with GET,
    OPTIONS always), when a route newer than the release shares the path with older ones."""
    release, specs = request.app[RELEASE].name, request.app[ROUTE_SPECS]
    name = request.match_info.route.name or ""
    _, _, alias = name.partition(":alias")
    pattern = specs[name].all_routes[int(alias or 0)]
    methods = {
        other.method
        for other in specs.values()
        if pattern in other.all_routes and (other.since is None or versions.compare(release, f">={other.since}"))
    }
    if not methods:
        return []
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods | {"OPTIONS"})


def _dataset_first(request: web.Request, exchange: Exchange) -> None:
    """validate_dataset_token's lookup of the route's dataset: in the key's workspace after the key
    (1.14+), and before it in 1.12 (an unknown one is 404, one whose API is off 403, whatever the
    Authorization header). Either way it comes before the handler reads the query or the body."""
    wanted = request.match_info.get("dataset_id")
    if wanted is None:
        return
    from mockserver.actions.knowledge import api_dataset  # with the first dataset route, not at start-up

    state = request.app[TENANTS].get(tenant_of(request, authenticated=True)).state
    try:
        exchange.dataset = api_dataset(state, wanted)  # the action binds it (knowledge.the_dataset)
    except DifyError:
        # Dify's refusal for the state the request met (lint's probe has no dataset), as an action's is
        exchange.entry["refused_by"] = "action"
        raise


_LOOPBACK_NAMES: Final = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def _guard_control(request: web.Request) -> None:
    """Keep web pages out of the control plane: no other origin (CSRF), no rebound host name (DNS
    rebinding) unless an admin token guards it, and from a page, POST bodies only as JSON (a
    cross-site form cannot send that without a preflight the mock never grants).

    Without an Origin header the caller is no browser page (browsers send Origin on every POST), so
    the body is read as JSON whatever its Content-Type: `curl -d '{...}'` says form-urlencoded."""
    origin = request.headers.get("Origin")
    if origin and origin.split("://", 1)[-1].rstrip("/") != request.host:
        raise DifyError("mock_forbidden", f"The /_mock/ control plane does not answer pages of {origin}.")
    hostname = request.host.rsplit(":", 1)[0] if not request.host.startswith("[") else request.host.split("]")[0] + "]"
    if not request.app[SETTINGS].admin_token and hostname not in _LOOPBACK_NAMES:
        raise DifyError("mock_forbidden", f"The /_mock/ control plane answers loopback names only, not {hostname!r}.")
    json_body = request.content_type == "application/json"
    if request.method == "POST" and request.content_length and origin and not json_body:
        raise DifyError(
            "unsupported_media_type", "The /_mock/ control plane takes JSON (Content-Type: application/json)."
        )
