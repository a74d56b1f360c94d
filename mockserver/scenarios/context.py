"""Template context for one request, and the expansion of a scenario's respond block into data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mockserver.determinism import Draws
from mockserver.scenarios.model import EventTemplate, Fixture, Respond
from mockserver.scenarios.template import Template
from mockserver.validation import Call


class RequestContext:
    """Implements the template Context protocol for one admitted request."""

    __slots__ = ("_call", "_now", "_roots", "_var_cache", "_vars", "draws", "missing")

    def __init__(self, call: Call, fixture: Fixture, draws: Draws, now: int, n: int, action: dict[str, Any]) -> None:
        self.draws = draws
        # `FILE:LINE:COLUMN: {{ expr }} found nothing`, once per expression, for each template lookup
        # of this request that found nothing and had no `default` filter (the pipeline logs them).
        self.missing: list[str] = []
        self._vars = fixture.vars
        self._var_cache: dict[str, Any] = {}
        self._call, self._now = call, now
        # request, app, dify and clock are made when a template first reads them (_made). `vars` is this
        # context itself, answered in root(): kept in the dict, it made a cycle that only the garbage
        # collector could free (each request's call, draws and roots waited for it).
        self._roots: dict[str, Any] = {"n": n, "action": action, "ids": draws}

    def root(self, name: str) -> Any:
        roots = self._roots
        if name in roots:
            return roots[name]
        if name == "vars":
            return self
        value = roots[name] = self._made(name)
        return value

    def request_part(self, name: str | int) -> Any:
        """root("request")[name]: one part of the request's view, without making the rest (its headers)."""
        view = self._roots.get("request")
        if view is not None:
            return view.get(name) if isinstance(name, str) else None
        return self._call.part(name)

    def _made(self, name: str) -> Any:
        call = self._call
        if name == "request":
            return call.view()
        if name == "app":
            return call.app.root_for(call.release) if call.app is not None else {}
        if name == "dify":
            return call.release.root
        if name == "clock":
            now = self._now
            return {"now": now, "iso": datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z")}
        return None

    def fake(self, label: str, provider: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return self.draws.fake(label, provider, args, kwargs)

    def __contains__(self, name: object) -> bool:  # a var that renders to null was still found
        return name in self._vars

    def lookup(self, name: str) -> Any:  # `{{ vars.<name> }}`: rendered once per request
        if name not in self._var_cache:
            template = self._vars.get(name)
            self._var_cache[name] = template.render(self) if template is not None else None
        return self._var_cache[name]


def render_events(events: tuple[EventTemplate, ...], ctx: RequestContext) -> list[tuple[str, dict[str, Any], Any, Any]]:
    """(name, fields, split, delay_ms) per fixture event, fields rendered."""
    return [(e.event, e.fields.render(ctx), e.split, e.delay_ms) for e in events]


def render_optional(template: Template | None, ctx: RequestContext) -> Any:
    return None if template is None else template.render(ctx)


def render_respond(
    respond: Respond, ctx: RequestContext
) -> tuple[Any, list[tuple[str, dict[str, Any], Any, Any]] | None, Any]:
    events = render_events(respond.events, ctx) if respond.events is not None else None
    return render_optional(respond.blocking, ctx), events, render_optional(respond.error, ctx)
