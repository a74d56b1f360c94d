"""schemas/<api>/<op>.json -> EndpointSpec: every fact of the closed x-endpoint vocabulary
(schemas/_meta/endpoint.json), checked at load at FILE:LINE:COLUMN; request models and response
validators are compiled on first use, so start-up does not grow with the number of endpoints."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Final, Literal

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from mockserver.errors import CODES, FixtureError, Problem
from mockserver.fastcheck import Check, compiled
from mockserver.marks import located_schema_error, parse_marked
from mockserver.payload import Model, compile_model
from mockserver.schemarefs import bundled

# `knowledge` is the dataset-key half of /v1 (endpoint ids knowledge.*), kept apart from the app-key half.
API_PREFIX: Final[dict[str, str]] = {"service": "/v1", "knowledge": "/v1", "console": "/console/api", "web": "/api"}

EVENTS_REF: Final = "_shared/events.json"
ENDPOINT_META: Final = "_meta/endpoint.json"
# Flask's UUIDConverter: the five groups of hex digits, either case.
UUID_SEGMENT: Final = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_PARAM: Final = re.compile(r"\{([a-z_][a-z0-9_]*)(?::(uuid))?\}")

Auth = Literal["none", "app", "dataset", "console", "web"]
RequestKind = Literal["json", "multipart", "none"]
ResponseKind = Literal["json", "empty", "bytes", "page", "generate"]
Pagination = Literal["last_id", "first_id", "page"]


@dataclass(frozen=True, slots=True)
class UserArg:
    source: Literal["body", "query", "form"]
    required: bool


@dataclass(frozen=True, slots=True)
class FilePart:
    """A multipart request's file: the field it travels in and the size-limit table that applies."""

    part: str
    limits: str


@dataclass(frozen=True)
class EndpointSpec:
    id: str  # "<api>.<file stem>", e.g. service.send_chat_message
    api: str
    title: str
    method: str
    path: str  # full path with the API prefix, `{name}` segments (OpenAPI's form)
    route: str  # the same for aiohttp's router: `{name:uuid}` becomes Flask's UUID pattern
    aliases: tuple[str, ...]
    path_params: dict[str, str]  # name -> "string" | "uuid", in path order
    auth: Auth
    user: UserArg | None
    modes: frozenset[str] | None  # None = every mode
    mode_error: str
    request: RequestKind
    request_model: str
    models_since: str | None  # the first release whose request model checks query and body (older: raw)
    files: FilePart | None
    response: ResponseKind
    streams: bool
    pagination: Pagination | None
    status: int
    since: str | None  # the first Dify release with the route (`--dify-version` older: Flask's 404)
    action: str | None  # the default action: an endpoint without a fixture file answers with it
    collection: str | None  # the store collection of a record.* action
    operation_id: str | None
    restx_404_help: tuple[str, ...]  # flask-restx's "did you mean" routes for a 404 of this path
    schema_file: Path
    request_parts: dict[str, Any] = field(compare=False, repr=False)  # $defs.request.properties, as written
    response_schema: dict[str, Any] | None = field(compare=False, repr=False)  # $defs.response, as written
    events_schema: dict[str, Any] | None = field(compare=False, repr=False)  # $defs.events, as written
    registry: Registry[Any] = field(compare=False, repr=False)

    @property
    def all_paths(self) -> tuple[str, ...]:
        return (self.path, *self.aliases)

    @property
    def all_routes(self) -> tuple[str, ...]:
        return (self.route, *(_route(a)[0] for a in self.aliases))

    @property
    def base(self) -> str:
        """The schema's own URI in the registry: relative `$ref`s resolve against it."""
        return f"{self.api}/{self.schema_file.name}"

    def part(self, name: str) -> dict[str, Any] | None:
        """The request's `body`, `query`, `form` or `path` schema as written, or None."""
        schema = self.request_parts.get(name)
        return schema if isinstance(schema, dict) else None

    @cached_property
    def body_model(self) -> Model | None:
        """The JSON body (or the multipart form's fields), checked as Dify's pydantic model checks it."""
        return self._model("form" if self.request == "multipart" else "body")

    @cached_property
    def query_model(self) -> Model | None:
        """The query string, likewise: values arrive as text and are coerced by the schema's types."""
        return self._model("query")

    @cached_property
    def query_defaults(self) -> dict[str, Any]:
        """The query fields' `default`s: what Dify's model holds when the caller omits them."""
        return _defaults(self.resolved("query"), self.user)

    @cached_property
    def body_defaults(self) -> dict[str, Any]:
        """Likewise for the body; none for a generation, whose rules tell an omitted field from a given one."""
        if self.response == "generate":
            return {}
        return _defaults(self.resolved("form" if self.request == "multipart" else "body"), self.user)

    @cached_property
    def list_params(self) -> frozenset[str]:
        """Query parameters declared as arrays: their repeated keys are kept as a list."""
        props = (self.resolved("query") or {}).get("properties") or {}
        return frozenset(k for k, v in props.items() if isinstance(v, dict) and _types(v) & {"array"})

    @cached_property
    def response_validator(self) -> Draft202012Validator | None:
        if self.response_schema is None:
            return None
        # Validate against the subschema itself rather than through a `$ref` to it: resolving that
        # reference on every request cost a third of the validation time. The sibling `$id` keeps
        # its relative references (../_shared/...) resolving as they do in the document.
        stem = self.base[: -len(".json")]
        return Draft202012Validator({**self.response_schema, "$id": f"{stem}.response.json"}, registry=self.registry)

    @cached_property
    def content_validator(self) -> Draft202012Validator | None:
        """A bytes response that is JSON of its own dialect (a form definition): its `contentSchema`."""
        content = (self.response_schema or {}).get("contentSchema")
        if not isinstance(content, dict):
            return None
        stem = self.base[: -len(".json")]
        return Draft202012Validator({**content, "$id": f"{stem}.content.json"}, registry=self.registry)

    @cached_property
    def record_schema(self) -> dict[str, Any] | None:
        """The response's record schema with every `$ref` inlined: a list's item (a page, or a body that
        is only `{"data": [...]}`, as /v1/app/feedbacks), else the body itself."""
        if self.response_schema is None:
            return None
        schema = bundled(self.response_schema, self.base, self.registry)
        props = schema.get("properties") or {}
        if self.response == "page" or list(props) == ["data"]:
            items = props.get("data", {}).get("items")
            return items if isinstance(items, dict) else None
        return schema

    def resolved(self, part: str) -> dict[str, Any] | None:
        """A request part with its `$ref`s inlined (shared parameter definitions keep the fast path)."""
        schema = self.part(part)
        return bundled(schema, self.base, self.registry) if schema is not None else None

    def _model(self, part: str) -> Model | None:
        schema = self.resolved(part)
        if schema is None:
            return None
        # `user` is Dify's to read before the model (validate_app_token), which never declares it.
        skip = frozenset({"user"}) if self.user is not None and self.user.source == part else frozenset()
        return compile_model(self.request_model, schema, skip)


@dataclass(frozen=True, slots=True)
class Catalogue:
    endpoints: dict[str, EndpointSpec]
    registry: Registry[Any] = field(repr=False)
    root: Path
    events_validator: Draft202012Validator | None = field(repr=False, default=None)  # one emitted SSE event

    def __iter__(self) -> Iterator[EndpointSpec]:
        return iter(self.endpoints.values())

    def fast_check(self, rel: str) -> Check:
        """A compiled yes/no check against the whole schema document `rel` (see fastcheck.py)."""
        return compiled(self.registry.contents(rel), self.registry.contents)

    def validator_for(self, ref: str) -> Draft202012Validator:
        """A validator for a schema reference such as `_shared/events.json#/$defs/message`. A whole
        document is validated as itself, not through a `$ref` to it: a quarter less time per file."""
        if "#" not in ref and ref in self.registry:
            return Draft202012Validator(self.registry.contents(ref), registry=self.registry)
        return Draft202012Validator({"$ref": ref}, registry=self.registry)


def load_catalogue(root: Path) -> Catalogue:
    """Read every schema under `root`; files and folders starting with `_` are shared, never endpoints.
    Every problem (unreadable JSON, an x-endpoint outside the vocabulary, a misplaced file, two
    endpoints on one route) is collected and raised as one FixtureError."""
    problems: list[Problem] = []
    documents: dict[str, dict[str, Any]] = {}
    for file in sorted(root.rglob("*.json")):
        rel = file.relative_to(root).as_posix()
        try:
            documents[rel] = json.loads(file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            problems.append(Problem(str(file), exc.lineno, exc.colno, f"invalid JSON: {exc.msg}"))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(str(file), 1, 1, f"cannot read schema: {exc}"))
    registry: Registry[Any] = Registry().with_resources(
        (rel, Resource.from_contents(doc, default_specification=DRAFT202012)) for rel, doc in documents.items()
    )
    meta = Draft202012Validator(documents[ENDPOINT_META], registry=registry) if ENDPOINT_META in documents else None
    fast = compiled(documents[ENDPOINT_META], registry.contents) if ENDPOINT_META in documents else None
    endpoints: dict[str, EndpointSpec] = {}
    routes: dict[tuple[str, str], str] = {}
    for rel, doc in documents.items():
        parts = rel.split("/")
        if any(p.startswith("_") for p in parts):
            continue
        file = root / rel
        if len(parts) != 2 or parts[0] not in API_PREFIX:
            where = " or ".join(f"schemas/{api}/" for api in API_PREFIX)
            problems.append(Problem(str(file), 1, 1, f"an endpoint schema belongs directly in {where}"))
            continue
        found = _check(file, doc, meta, fast)
        if found:
            problems.extend(found)
            continue
        spec = _spec(parts[0], parts[1][: -len(".json")], doc, file, registry)
        for path in spec.all_routes:
            other = routes.setdefault((spec.method, path), spec.id)
            if other != spec.id:
                problems.append(_at(file, doc, ("x-endpoint", "path"), f"{spec.method} {path} is {other}'s route too"))
        endpoints[spec.id] = spec
    if problems:
        raise FixtureError(problems)
    events = Draft202012Validator({"$ref": EVENTS_REF}, registry=registry) if EVENTS_REF in documents else None
    return Catalogue(endpoints, registry, root, events)


def _check(file: Path, doc: Any, meta: Draft202012Validator | None, fast: Check | None) -> list[Problem]:
    """The x-endpoint block against the vocabulary, and what a schema cannot say: a known mode_error."""
    x = doc.get("x-endpoint") if isinstance(doc, dict) else None
    if not isinstance(x, dict):
        return [Problem(str(file), 1, 1, "missing 'x-endpoint' (schemas/_meta/endpoint.json says what it holds)")]
    errors = list(meta.iter_errors(x)) if meta is not None and not (fast is not None and fast(x)) else []
    if errors:
        marked = parse_marked(file.read_text(encoding="utf-8"), str(file))[0]
        if marked is None:
            return [Problem(str(file), 1, 1, f"x-endpoint: {errors[0].message}")]
        return [located_schema_error(marked, e, ("x-endpoint",)) for e in errors]
    if "mode_error" in x and x["mode_error"] not in CODES:
        return [_at(file, doc, ("x-endpoint", "mode_error"), f"unknown error code {x['mode_error']!r}")]
    declared = ((((doc.get("$defs") or {}).get("request") or {}).get("properties") or {}).get("path") or {}).get(
        "properties"
    ) or {}
    in_path = {m.group(1) for m in _PARAM.finditer(str(x["path"]))}
    stray = sorted(set(declared) - in_path)
    if stray:
        where = ("$defs", "request", "properties", "path", "properties", stray[0])
        return [_at(file, doc, where, f"path parameter '{stray[0]}' is not in x-endpoint.path {x['path']!r}")]
    return []


def _at(file: Path, doc: Any, path: tuple[str, ...], message: str) -> Problem:
    marked = parse_marked(file.read_text(encoding="utf-8"), str(file))[0]
    return marked.at(path, message) if marked is not None else Problem(str(file), 1, 1, message)


def _route(path: str) -> tuple[str, dict[str, str]]:
    """(aiohttp route, {param: type}) of a path written with `{name}` / `{name:uuid}`."""
    params: dict[str, str] = {}

    def segment(m: re.Match[str]) -> str:
        params[m.group(1)] = m.group(2) or "string"
        return f"{{{m.group(1)}:{UUID_SEGMENT}}}" if m.group(2) else f"{{{m.group(1)}}}"

    return _PARAM.sub(segment, path), params


def _defaults(schema: dict[str, Any] | None, user: UserArg | None) -> dict[str, Any]:
    props = (schema or {}).get("properties") or {}
    return {
        k: v["default"]
        for k, v in props.items()
        if isinstance(v, dict) and "default" in v and not (user is not None and k == "user")
    }


def _types(schema: dict[str, Any]) -> set[str]:
    kinds = schema.get("type", [])
    return set(kinds) if isinstance(kinds, list) else {kinds}


def _spec(api: str, stem: str, doc: dict[str, Any], file: Path, registry: Registry[Any]) -> EndpointSpec:
    x: dict[str, Any] = doc["x-endpoint"]
    prefix = API_PREFIX[api]
    user = x.get("user")
    defs = doc.get("$defs") or {}
    parts = (defs.get("request") or {}).get("properties") or {}
    route, params = _route(prefix + x["path"])
    method = str(x["method"]).upper()
    user_arg = UserArg(user["in"], bool(user.get("required", False))) if user else None
    has_body = "body" in parts or (user_arg is not None and user_arg.source == "body")
    request: RequestKind = x.get("request") or (
        "json" if has_body and method in ("POST", "PUT", "PATCH", "DELETE") else "none"
    )
    files = x.get("files")
    return EndpointSpec(
        id=f"{api}.{stem}",
        api=api,
        title=str(doc.get("title", f"{api}.{stem}")),
        method=method,
        path=_PARAM.sub(r"{\1}", prefix + x["path"]),
        route=route,
        aliases=tuple(prefix + a for a in x.get("aliases", ())),
        path_params=params,
        auth=x.get("auth", "app"),
        user=user_arg,
        modes=frozenset(x["modes"]) if x.get("modes") else None,
        mode_error=x.get("mode_error", "app_unavailable"),
        request=request,
        request_model=x.get("request_model", "Request"),
        models_since=x.get("models_since"),
        files=FilePart(files["part"], files.get("limits", "upload")) if files else None,
        response=x.get("response", "json"),
        streams=bool(x.get("streams", False)),
        pagination=x.get("pagination"),
        status=int(x.get("status", 200)),
        since=x.get("since"),
        action=x.get("action"),
        collection=x.get("collection"),
        operation_id=x.get("operation_id"),
        restx_404_help=tuple(x.get("restx_404_help", ())),
        schema_file=file,
        request_parts=parts,
        response_schema=defs.get("response"),
        events_schema=defs.get("events"),
        registry=registry,
    )
