"""EndpointSpec: every fact an endpoint schema's x-endpoint block declares (the closed vocabulary of
schemas/_meta/endpoint.json), with its request models and response validator compiled on first use."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from msgspec import Struct

from mockserver.payload import Model, compile_model
from mockserver.schemarefs import Schemas, bundled

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from referencing import Registry

# Flask's UUIDConverter: the five groups of hex digits, either case (the middle three as one repeat:
# aiohttp compiles a regex per route at start-up, and each character class spelt out cost ~7 us more).
UUID_SEGMENT: Final = r"[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}"
PARAM: Final = re.compile(r"\{([a-z_][a-z0-9_]*)(?::(uuid))?\}")

Auth = Literal["none", "app", "dataset", "console", "web"]
RequestKind = Literal["json", "multipart", "none"]
ResponseKind = Literal["json", "empty", "bytes", "page", "generate"]
Pagination = Literal["last_id", "first_id", "page"]


class UserArg(Struct, eq=False):
    """Where an endpoint reads the `user` argument, and whether it must be there."""

    source: Final[Literal["body", "query", "form"]]
    required: Final[bool]


class FilePart(Struct, eq=False):
    """A multipart request's file: the field it travels in and the size-limit table that applies."""

    part: Final[str]
    limits: Final[str]


class EndpointSpec(Struct, eq=False, dict=True):
    """One endpoint as its schema's x-endpoint block describes it, with its request and response schemas."""

    id: Final[str]  # "<api>.<file stem>", e.g. service.send_chat_message
    api: Final[str]
    title: Final[str]
    method: Final[str]
    path: Final[str]  # full path with the API prefix, `{name}` segments (OpenAPI's form)
    route: Final[str]  # the same for aiohttp's router: `{name:uuid}` becomes Flask's UUID pattern
    aliases: Final[tuple[str, ...]]
    path_params: Final[dict[str, str]]  # name -> "string" | "uuid", in path order
    auth: Final[Auth]
    user: Final[UserArg | None]
    modes: Final[frozenset[str] | None]  # None = every mode
    mode_error: Final[str]
    request: Final[RequestKind]
    request_model: Final[str]
    models_since: Final[str | None]  # the first release whose request model checks query and body (older: raw)
    models_deferred: Final[bool]  # the action applies the request model after its lookups (validation.apply_models)
    files: Final[FilePart | None]
    response: Final[ResponseKind]
    streams: Final[bool]
    pagination: Final[Pagination | None]
    status: Final[int]
    since: Final[str | None]  # the first Dify release with the route (`--dify-version` older: Flask's 404)
    empty_since: Final[str | None]  # the first release whose 204 is empty (older: flask-restx's 200 `204\n`)
    action: Final[str | None]  # the default action: an endpoint without a fixture file answers with it
    collection: Final[str | None]  # the store collection of a record.* action
    operation_id: Final[str | None]
    restx_404_help: Final[tuple[str, ...]]  # flask-restx's "did you mean" routes for a 404 of this path
    schema_file: Final[Path]
    # Where x-endpoint.action's value stands in schema_file, as marks.py places it (1, 1 without one):
    # a problem of the fixture the default action makes (loader.py) is located there.
    action_mark: Final[tuple[int, int]]
    request_parts: Final[dict[str, Any]]  # $defs.request.properties, as written
    response_schema: Final[dict[str, Any] | None]  # $defs.response, as written
    events_schema: Final[dict[str, Any] | None]  # $defs.events, as written
    schemas: Final[Schemas]  # the catalogue's

    @property
    def registry(self) -> Registry[Any]:
        """The catalogue's schemas as a `referencing` Registry (built at the first use of any endpoint)."""
        return self.schemas.registry

    @property
    def all_paths(self) -> tuple[str, ...]:
        """The path and its aliases in OpenAPI's form (`{name}`, the `:uuid` converter dropped)."""
        return (self.path, *(PARAM.sub(r"{\1}", a) for a in self.aliases))

    @property
    def all_routes(self) -> tuple[str, ...]:
        return (self.route, *(route(a)[0] for a in self.aliases))

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

    def models_at(self, release: str) -> tuple[Model | None, Model | None]:
        """(body_model, query_model) as `release` declares them (a validator or Enum its x-pydantic
        `since` says came later), worked out once per release."""
        known = self._models_by_release.get(release)
        if known is None:
            body = self._model("form" if self.request == "multipart" else "body", release)
            known = self._models_by_release[release] = (body, self._model("query", release))
        return known

    @cached_property
    def _models_by_release(self) -> dict[str, tuple[Model | None, Model | None]]:
        return {}

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
        from jsonschema import Draft202012Validator  # the Python validator: --strict's and the tests' only

        stem = self.base[: -len(".json")]
        return Draft202012Validator({**self.response_schema, "$id": f"{stem}.response.json"}, registry=self.registry)

    @cached_property
    def content_validator(self) -> Draft202012Validator | None:
        """A bytes response that is JSON of its own dialect (a form definition): its `contentSchema`."""
        content = (self.response_schema or {}).get("contentSchema")
        if not isinstance(content, dict):
            return None
        from jsonschema import Draft202012Validator

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

    def _model(self, part: str, release: str | None = None) -> Model | None:
        schema = self.resolved(part)
        if schema is None:
            return None
        # `user` is Dify's to read before the model (validate_app_token), which never declares it.
        skip = frozenset({"user"}) if self.user is not None and self.user.source == part else frozenset()
        return compile_model(self.request_model, schema, skip, release)


def route(path: str) -> tuple[str, dict[str, str]]:
    """(aiohttp route, {param: type}) of a path written with `{name}` / `{name:uuid}`."""
    params: dict[str, str] = {}

    def segment(m: re.Match[str]) -> str:
        params[m.group(1)] = m.group(2) or "string"
        return f"{{{m.group(1)}:{UUID_SEGMENT}}}" if m.group(2) else f"{{{m.group(1)}}}"

    return PARAM.sub(segment, path), params


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
