"""`dify-mockserver lint`: the loader's checks, then every scenario rendered through the real pipeline."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from aiohttp.test_utils import TestClient, TestServer
from msgspec import Struct
from msgspec.structs import replace

from mockserver.app import create_app, load
from mockserver.catalogue import Catalogue, load_catalogue
from mockserver.dify.apps import App
from mockserver.dify.events import TERMINAL
from mockserver.endpoint import EndpointSpec
from mockserver.errors import FixtureError, Problem
from mockserver.keys import TENANTS
from mockserver.marks import Marked, load_marked
from mockserver.paths import fixtures_dir
from mockserver.pipeline import SCENARIO_HEADER
from mockserver.scenarios.loader import fixture_files
from mockserver.scenarios.model import Book, Fixture, Respond, Scenario
from mockserver.settings import Settings
from mockserver.tenancy import SESSION_HEADER, tenant_id

SAMPLE_TEXT: Final = "lint"
SAMPLE_ID: Final = "00000000-0000-4000-8000-000000000001"  # any string does for a task id
NO_BLOCKING: Final = frozenset({"agent-chat", "agent"})  # Dify rejects their blocking mode
_PARAM: Final = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")
_INPUT_SAMPLES: Final[dict[str, Any]] = {
    "text-input": SAMPLE_TEXT,
    "paragraph": SAMPLE_TEXT,
    "number": 1,
    "checkbox": False,
    "json_object": {},
}


class Finding(Struct, frozen=True):
    """One lint error: a located problem plus indented hint lines."""

    problem: Problem
    hints: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        first, *rest = str(self.problem).split("\n")
        return [first, *(f"  {line}" for line in (*rest, *self.hints))]


class Report(Struct, frozen=True):
    files: int
    scenarios: int
    findings: list[Finding]
    warnings: tuple[str, ...] = ()  # DSL apps' load warnings (`FILE:LINE:COLUMN: text`); they fail nothing
    notes: tuple[str, ...] = ()  # what DSL apps only imitate (`FILE: text`); informational


def run(dirs: Sequence[Path], dsl: Sequence[str] = ()) -> Report:
    """Lint the built-in fixtures merged with `dirs` (as `serve --fixtures` merges them), the DSL files
    their `_apps.yaml` names, and the DSL apps `dsl` (`FILE[=KEY]`, as `serve --dsl` takes them)."""
    base = Settings().with_env()  # DIFY_MOCK_SCHEMAS_DIR and DIFY_MOCK_DIFY_VERSION apply as they do to serve
    settings = replace(
        base, strict=True, pace_scale=0.0, inject_faults=False, fixtures=tuple(dirs), dsl=(*base.dsl, *dsl)
    )
    files = sum(len(fixture_files(root)) for root in (fixtures_dir(), *dirs) if root.is_dir())
    try:
        catalogue, book = load(settings)
    except FixtureError as exc:
        return Report(files, 0, [Finding(p) for p in exc.problems])
    scenarios = sum(len(f.names) for f in book.fixtures.values())
    warnings = tuple(w for app in book.apps.apps.values() for w in app.warnings)
    notes = tuple(n for app in book.apps.apps.values() for n in app.notes)
    return Report(files, scenarios, asyncio.run(deep_check(settings, catalogue, book)), warnings, notes)


def endpoint_lines(catalogue: Catalogue | None = None) -> list[str]:
    """`lint --list`: endpoint id, method, path and fixture file, one aligned line each."""
    catalogue = catalogue or load_catalogue(Settings().with_env().schemas())
    rows = [(s.id, s.method, s.path, f"{s.api}/{s.id.partition('.')[2]}.yaml") for s in catalogue]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:<{widths[2]}}  {d}" for a, b, c, d in rows]


class Probe(Struct, frozen=True):
    """One request of the deep check: a scenario forced on one credential and response mode."""

    spec: EndpointSpec
    fixture: Fixture
    scenario: Scenario
    key: str | None
    app: App | None
    response_mode: str | None  # None: the endpoint does not stream

    @property
    def label(self) -> str:
        parts = [p for p in (self.key, self.response_mode) if p]
        return f"({', '.join(parts)})" if parts else ""

    def respond(self, turn: int) -> Respond | None:
        """What the pipeline answers on this turn of the scenario's sequence."""
        item = self.scenario.sequence[turn].respond if self.scenario.sequence else None
        return item or self.scenario.respond or self.fixture.default.respond


class _Crashes(logging.Handler):
    """Collects the mock's logged exceptions: a crash answers a bare 500 whose cause is only logged."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            self.seen.append(f"the mock crashed: {type(exc).__name__}: {exc}")


async def deep_check(settings: Settings, catalogue: Catalogue, book: Book) -> list[Finding]:
    """Every scenario of every endpoint, for each app and response mode it serves, over real HTTP."""
    app = create_app(replace(settings, max_tenants=1_000_000), catalogue=catalogue, book=book)
    crashes, logger = _Crashes(), logging.getLogger("mockserver")
    logger.addHandler(crashes)
    failed: dict[tuple[str, str, str], list[str]] = {}
    try:
        async with TestClient(TestServer(app)) as client:
            for n, probe in enumerate(probes(catalogue, book)):
                turns = len(probe.scenario.sequence or ()) or 1
                for turn in range(turns):
                    crashes.seen.clear()
                    message = await _probe(client, probe, turn, f"lint-{n}", crashes)
                    if message is not None:
                        failed.setdefault((probe.scenario.file, probe.scenario.name, message), []).append(probe.label)
    finally:
        logger.removeHandler(crashes)
    docs: dict[str, Marked | None] = {}
    return [_finding(file, name, message, labels, docs) for (file, name, message), labels in failed.items()]


def probes(catalogue: Catalogue, book: Book) -> Iterator[Probe]:
    for spec in catalogue:
        fixture = book.fixtures[spec.id]
        for scenario in (*fixture.rules, fixture.default):
            for key, app in _credentials(spec, book):
                for mode in _response_modes(spec, app):
                    yield Probe(spec, fixture, scenario, key, app, mode)


def _credentials(spec: EndpointSpec, book: Book) -> list[tuple[str | None, App | None]]:
    if spec.auth == "none":
        return [(None, None)]
    if spec.auth == "dataset":
        return [(key, None) for key in list(book.apps.dataset_keys)[:1]]
    needs_workflow = "{workflow_id" in spec.path
    return [
        (key, app)
        for key, app in book.apps.apps.items()
        if (spec.modes is None or app.mode in spec.modes) and (app.workflow_id or not needs_workflow)
    ]


def _response_modes(spec: EndpointSpec, app: App | None) -> list[str | None]:
    if not spec.streams:
        return [None]
    if app is not None and app.mode in NO_BLOCKING:
        return ["streaming"]
    return ["blocking", "streaming"]


async def _probe(client: TestClient[Any, Any], probe: Probe, turn: int, session: str, crashes: _Crashes) -> str | None:
    spec = probe.spec
    headers = {SCENARIO_HEADER: probe.scenario.name, SESSION_HEADER: session}
    if probe.key:
        headers["Authorization"] = f"Bearer {probe.key}"
    path = _PARAM.sub(lambda m: _path_value(m.group(1), probe.app), spec.path)
    request = _request_schema(spec)
    query = _sample(request.get("query") or {})
    if spec.user is not None and spec.user.source == "query":
        query["user"] = SAMPLE_TEXT
    body: dict[str, Any] | None = None
    # A JSON route gets a JSON body even when Dify reads it without a model (request.get_json()).
    wants_json = "body" in request or spec.user is not None or spec.request == "json"
    if spec.method in ("POST", "PUT", "PATCH", "DELETE") and wants_json:
        body = _sample(request.get("body") or {})
        if spec.user is not None:
            body["user"] = SAMPLE_TEXT
        if probe.response_mode:
            body["response_mode"] = probe.response_mode
        if probe.app is not None and "inputs" in body:
            body["inputs"] = _inputs(probe.app)
    async with client.request(spec.method, path, headers=headers, params=query, json=body) as resp:
        raw = await resp.read()
        status, content_type = resp.status, resp.content_type
    if crashes.seen:
        return crashes.seen[0]
    if status >= 400 and _refused_by_action(client, session):
        return None  # e.g. 404 for the conversation a probe never created: Dify's rule, not the fixture's
    respond = probe.respond(turn)
    return _verdict(probe, status, content_type, raw, respond is not None and respond.error is not None)


def _refused_by_action(client: TestClient[Any, Any], session: str) -> bool:
    entries, _ = client.app[TENANTS].journal(tenant_id(session))
    return bool(entries) and entries[-1].get("refused_by") == "action"


def _verdict(probe: Probe, status: int, content_type: str, raw: bytes, error_block: bool) -> str | None:
    if status >= 400:
        body = _json(raw)
        code, message = body.get("code"), str(body.get("message", raw[:200].decode(errors="replace")))
        if code == "mock_schema_violation":
            marker = f"scenario '{probe.scenario.name}': "
            return message.split(marker, 1)[1] if marker in message else message
        return None if error_block else f"answered {status} {code}: {message}"
    if probe.response_mode != "streaming":
        return None
    if content_type != "text/event-stream":
        return f"answered {content_type or 'no content type'}, not an event stream"
    events = []
    for frame in raw.split(b"\n\n"):
        if frame.startswith(b"data: "):
            events.append(_json(frame[len(b"data: ") :]).get("event"))
        elif frame.strip() and frame != b"event: ping":
            return f"malformed stream frame {frame[:80]!r}"
    mode = probe.app.mode if probe.app else ""
    ends = TERMINAL - {"message_end"} if mode == "workflow" else TERMINAL
    if not events or events[-1] not in ends:
        last = f"'{events[-1]}'" if events else "no event"
        return f"the stream ends with {last}, not its terminal event ({', '.join(sorted(ends))})"
    return None


def _finding(file: str, name: str, message: str, labels: list[str], docs: dict[str, Marked | None]) -> Finding:
    if file not in docs:
        docs[file] = load_marked(Path(file), file)[0]
    doc = docs[file]
    line, column = doc.key_marks.get(("scenarios", name), (1, 1)) if doc is not None else (1, 1)
    hints = (f"also {' '.join(labels[1:])}",) if len(labels) > 1 else ()
    where = f" {labels[0]}" if labels[0] else ""
    return Finding(Problem(file, line, column, f"scenario '{name}'{where}: {message}"), hints)


def _request_schema(spec: EndpointSpec) -> dict[str, Any]:
    return {part: spec.resolved(part) for part in spec.request_parts}


def _path_value(name: str, app: App | None) -> str:
    if name == "workflow_id" and app is not None and app.workflow_id:
        return app.workflow_id
    return SAMPLE_ID


def _inputs(app: App) -> dict[str, Any]:
    """Values for the app's required form inputs; optional ones take their defaults."""
    out: dict[str, Any] = {}
    for item in app.parameters.get("user_input_form") or []:
        if not isinstance(item, dict) or len(item) != 1:
            continue
        control, entity = next(iter(item.items()))
        if isinstance(entity, dict) and entity.get("required") and entity.get("variable"):
            options = entity.get("options") or []
            value = options[0] if control == "select" and options else _INPUT_SAMPLES.get(control)
            if value is not None:
                out[entity["variable"]] = value
    return out


def _sample(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema's first example, else an object holding only the required properties of `schema`,
    each with a simple valid value."""
    examples = schema.get("examples")
    if isinstance(examples, list) and examples and isinstance(examples[0], dict):
        return dict(examples[0])
    props = schema.get("properties") or {}
    return {name: _value(props.get(name) or {}) for name in schema.get("required") or ()}


def _value(schema: dict[str, Any]) -> Any:
    for key in ("const", "default"):
        if key in schema:
            return schema[key]
    named = schema.get("x-pydantic") or {}
    if schema.get("format") == "uuid" or "uuid" in str(named.get("validator", "")):
        return SAMPLE_ID
    if "enum" in schema:
        return next((v for v in schema["enum"] if v is not None), None)
    kinds = schema.get("type", "string")
    kind = next((k for k in kinds if k != "null"), "null") if isinstance(kinds, list) else kinds
    simple: dict[str, Any] = {"string": SAMPLE_TEXT, "integer": 1, "number": 1, "boolean": False, "array": []}
    return _sample(schema) if kind == "object" else simple.get(kind)


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
