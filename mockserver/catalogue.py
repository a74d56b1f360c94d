"""EndpointSpec per schemas/<api>/<op>.json: method, path, auth, modes, validators; the route table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from mockserver.payload import Model, compile_model

API_PREFIX: Final[dict[str, str]] = {"service": "/v1", "console": "/console/api", "web": "/api"}

EVENTS_REF: Final = "_shared/events.json"

Auth = Literal["none", "app", "dataset"]
Kind = Literal["generate", "plain", "stop"]


@dataclass(frozen=True, slots=True)
class UserArg:
    source: Literal["body", "query", "form"]
    required: bool


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    id: str  # "<api>.<file stem>", e.g. service.send_chat_message
    api: str
    method: str
    path: str  # full path with the API prefix, aiohttp route syntax
    aliases: tuple[str, ...]
    auth: Auth
    user: UserArg | None
    modes: frozenset[str] | None  # None = every mode
    mode_error: str
    kind: Kind
    streams: bool
    status: int
    operation_id: str | None
    body_model: Model | None  # the JSON body, checked as Dify's pydantic model checks it
    query_model: Model | None  # the query string, likewise (values arrive as text and are coerced)
    restx_404_help: tuple[str, ...]  # flask-restx's "did you mean" routes for a 404 of this path
    schema_file: Path
    response_validator: Draft202012Validator | None = field(compare=False, repr=False)
    raw: dict[str, Any] = field(compare=False, repr=False, default_factory=dict)

    @property
    def all_paths(self) -> tuple[str, ...]:
        return (self.path, *self.aliases)


@dataclass(frozen=True, slots=True)
class Catalogue:
    endpoints: dict[str, EndpointSpec]
    registry: Registry[Any] = field(repr=False)
    root: Path
    events_validator: Draft202012Validator | None = field(repr=False, default=None)  # one emitted SSE event

    def __iter__(self) -> Iterator[EndpointSpec]:
        return iter(self.endpoints.values())

    def validator_for(self, ref: str) -> Draft202012Validator:
        """A validator for a schema reference such as `_shared/events.json#/$defs/message`."""
        return Draft202012Validator({"$ref": ref}, registry=self.registry)


def load_catalogue(root: Path) -> Catalogue:
    """Read every schema under `root`; files and folders starting with `_` are shared, never endpoints."""
    documents: dict[str, dict[str, Any]] = {}
    for file in sorted(root.rglob("*.json")):
        rel = file.relative_to(root).as_posix()
        try:
            documents[rel] = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{file}: cannot load schema: {exc}") from exc
    registry: Registry[Any] = Registry().with_resources(
        (rel, Resource.from_contents(doc, default_specification=DRAFT202012)) for rel, doc in documents.items()
    )
    endpoints: dict[str, EndpointSpec] = {}
    for rel, doc in documents.items():
        parts = rel.split("/")
        if len(parts) != 2 or parts[0] not in API_PREFIX or parts[1].startswith("_"):
            continue
        spec = _spec(parts[0], parts[1][: -len(".json")], doc, root / rel, registry)
        endpoints[spec.id] = spec
    events = Draft202012Validator({"$ref": EVENTS_REF}, registry=registry) if EVENTS_REF in documents else None
    return Catalogue(endpoints, registry, root, events)


def _validator(rel: str, doc: dict[str, Any], name: str, registry: Registry[Any]) -> Draft202012Validator | None:
    part = doc.get("$defs", {}).get(name)
    if part is None:
        return None
    # Validate against the subschema itself rather than through a `$ref` to it: resolving that
    # reference on every request cost a third of the validation time. The sibling `$id` keeps
    # the subschema's relative references (../_shared/...) resolving as they do in the document.
    stem = rel[: -len(".json")]
    return Draft202012Validator({**part, "$id": f"{stem}.{name}.json"}, registry=registry)


def _model(x: dict[str, Any], request: dict[str, Any], part: str) -> Model | None:
    """The pydantic-style model of the body or query; `user` is Dify's to read before the model."""
    schema = request.get("properties", {}).get(part)
    if not isinstance(schema, dict):
        return None
    user = x.get("user") or {}
    skip = frozenset({"user"}) if user.get("in") == part else frozenset()
    return compile_model(x.get("request_model", "Request"), schema, skip)


def _spec(api: str, stem: str, doc: dict[str, Any], file: Path, registry: Registry[Any]) -> EndpointSpec:
    x = doc.get("x-endpoint")
    if not isinstance(x, dict):
        raise ValueError(f"{file}: missing 'x-endpoint'")
    prefix = API_PREFIX[api]
    user = x.get("user")
    request = doc.get("$defs", {}).get("request", {})
    modes = x.get("modes")
    rel = f"{api}/{stem}.json"
    return EndpointSpec(
        id=f"{api}.{stem}",
        api=api,
        method=str(x["method"]).upper(),
        path=prefix + x["path"],
        aliases=tuple(prefix + a for a in x.get("aliases", ())),
        auth=x.get("auth", "app"),
        user=UserArg(user["in"], bool(user.get("required", False))) if user else None,
        modes=frozenset(modes) if modes else None,
        mode_error=x.get("mode_error", "app_unavailable"),
        kind=x.get("kind", "plain"),
        streams=bool(x.get("streams", False)),
        status=int(x.get("status", 200)),
        operation_id=x.get("operation_id"),
        restx_404_help=tuple(x.get("restx_404_help", ())),
        schema_file=file,
        body_model=_model(x, request, "body"),
        query_model=_model(x, request, "query"),
        response_validator=_validator(rel, doc, "response", registry),
        raw=doc,
    )
