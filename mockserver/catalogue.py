"""The catalogue: schemas/<api>/<op>.json read into EndpointSpecs (endpoint.py), each x-endpoint block
checked against its closed vocabulary at load, every problem at FILE:LINE:COLUMN."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import orjson
from msgspec import Struct, field

from mockserver.endpoint import PARAM, EndpointSpec, FilePart, RequestKind, UserArg, route
from mockserver.errors import CODES, FixtureError, Problem
from mockserver.fastcheck import Check, compiled
from mockserver.loadcache import LoadCache, digest
from mockserver.marks import json_mark, located_schema_error, parse_marked
from mockserver.schemarefs import Schemas

if TYPE_CHECKING:
    # The Python validator words the problems of what the compiled checks (fastcheck.py) refuse, and
    # checks what --strict sends: it is imported when one of those first needs it, not at start-up.
    from jsonschema import Draft202012Validator
    from referencing import Registry

# `knowledge` is the dataset-key half of /v1 (endpoint ids knowledge.*), kept apart from the app-key half;
# `files` is Dify's files blueprint (/files/...): the signed URLs the APIs hand out.
API_PREFIX: Final[dict[str, str]] = {
    "service": "/v1",
    "knowledge": "/v1",
    "console": "/console/api",
    "web": "/api",
    "files": "/files",
}

EVENTS_REF: Final = "_shared/events.json"
ENDPOINT_META: Final = "_meta/endpoint.json"
JSON_CHECK: Final = "parses as JSON"  # the load cache's key of "this text is JSON" (with the text's hash)


class Catalogue(Struct, eq=False):
    """The endpoints read from schemas/, and the schema documents they refer to."""

    endpoints: Final[dict[str, EndpointSpec]]
    schemas: Final[Schemas]
    root: Final[Path]
    # A hash of every schema file's path and text: what a cached check against one of them depends on.
    content_key: Final[str] = ""
    _events: Final[list[Draft202012Validator | None]] = field(default_factory=list)  # never passed

    @property
    def events_validator(self) -> Draft202012Validator | None:
        """The validator of one emitted SSE event (None without _shared/events.json), made at first use."""
        if not self._events:
            self._events.append(self.validator_for(EVENTS_REF) if EVENTS_REF in self.schemas else None)
        return self._events[0]

    @property
    def registry(self) -> Registry[Any]:
        """The schemas as a `referencing` Registry, built at its first use (schemarefs.Schemas)."""
        return self.schemas.registry

    def __iter__(self) -> Iterator[EndpointSpec]:
        return iter(self.endpoints.values())

    def fast_check(self, rel: str) -> Check:
        """A compiled yes/no check against the whole schema document `rel` (see fastcheck.py)."""
        return compiled(self.schemas.contents(rel), self.schemas.contents)

    def validator_for(self, ref: str) -> Draft202012Validator:
        """A validator for a schema reference such as `_shared/events.json#/$defs/message`. A whole
        document is validated as itself, not through a `$ref` to it: a quarter less time per file."""
        from jsonschema import Draft202012Validator

        if "#" not in ref and ref in self.schemas:
            return Draft202012Validator(self.registry.contents(ref), registry=self.registry)
        return Draft202012Validator({"$ref": ref}, registry=self.registry)


def load_catalogue(root: Path, cache: LoadCache | None = None) -> Catalogue:
    """Read every schema under `root`; files and folders starting with `_` are shared, never endpoints.
    Every problem (unreadable JSON, an x-endpoint outside the vocabulary, a misplaced file, two
    endpoints on one route) is collected and raised as one FixtureError. An x-endpoint block `cache`
    saw pass its check with these very files is not checked again (loadcache.py)."""
    problems: list[Problem] = []
    documents: dict[str, dict[str, Any]] = {}
    pending: dict[str, str] = {}  # shared documents the cache saw parse: decoded at first use (Schemas)
    hashes: dict[str, bytes] = {}
    texts: dict[str, str] = {}  # while loading (a default action's place is found in them)
    files: dict[str, str] = {}  # each file's path: a Path is made only for an endpoint or a problem
    for rel, path in schema_files(root):
        files[rel] = path
        try:
            with open(path, "rb") as handle:
                text = handle.read().decode("utf-8")
            hashes[rel], texts[rel] = digest(text), text
            if cache is not None and _shared(rel):
                parses = digest(JSON_CHECK, hashes[rel].hex())
                if cache.passes(parses):
                    pending[rel] = text
                    continue
                documents[rel] = decode_json(text)
                cache.keep_pass(parses)
            else:
                documents[rel] = decode_json(text)
        except json.JSONDecodeError as exc:
            problems.append(Problem(path, exc.lineno, exc.colno, f"invalid JSON: {exc.msg}"))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(path, 1, 1, f"cannot read schema: {exc}"))
    schemas = Schemas(documents, pending)
    content_key = digest(*(f"{rel} {h.hex()}" for rel, h in hashes.items())).hex()
    made: list[Check] = []

    def fast(x: Any) -> bool:
        """The compiled check of an x-endpoint block, compiled by the first block the cache does not know."""
        if not made:
            made.append(compiled(schemas.contents(ENDPOINT_META), schemas.contents))
        return made[0](x)

    def passes(x: Any, rel: str) -> bool:
        if ENDPOINT_META not in schemas:
            return True
        key = digest(content_key, ENDPOINT_META, hashes[rel].hex())
        if cache is not None and cache.passes(key):
            return True
        if not fast(x):
            return False
        if cache is not None:
            cache.keep_pass(key)
        return True

    endpoints: dict[str, EndpointSpec] = {}
    routes: dict[tuple[str, str], str] = {}
    for rel, doc in list(documents.items()):  # a refused block's wording decodes the pending ones into it
        parts = rel.split("/")
        if _shared(rel):
            continue
        file = Path(files[rel])
        if len(parts) != 2 or parts[0] not in API_PREFIX:
            where = " or ".join(f"schemas/{api}/" for api in API_PREFIX)
            problems.append(Problem(str(file), 1, 1, f"an endpoint schema belongs directly in {where}"))
            continue
        found = _check(file, doc, schemas, partial(passes, rel=rel))
        if found:
            problems.extend(found)
            continue
        action_at = _action_mark(file, texts[rel], hashes[rel], cache) if "action" in doc["x-endpoint"] else (1, 1)
        spec = _spec(parts[0], parts[1][: -len(".json")], doc, file, schemas, action_at)
        for path in spec.all_routes:
            other = routes.setdefault((spec.method, path), spec.id)
            if other != spec.id:
                problems.append(_at(file, doc, ("x-endpoint", "path"), f"{spec.method} {path} is {other}'s route too"))
        endpoints[spec.id] = spec
    if problems:
        raise FixtureError(problems)
    return Catalogue(endpoints, schemas, root, content_key)


def schema_files(root: Path) -> list[tuple[str, str]]:
    """(path relative to `root` with `/`, path) of every *.json file under `root`, in the order of the
    sorted Paths of `root.rglob("*.json")` (by their parts; a linked folder is not entered, as rglob
    does not enter one), without a Path each: os.walk and plain strings take a third of pathlib's
    time, about a millisecond of start-up."""
    base = str(root)
    found = []
    for folder, _dirs, names in os.walk(base):
        prefix = folder[len(base) + 1 :].replace(os.sep, "/")
        for name in names:
            if name.endswith(".json"):
                found.append((f"{prefix}/{name}" if prefix else name, os.path.join(folder, name)))
    found.sort(key=lambda pair: pair[0].split("/"))
    return found


def decode_json(text: str) -> Any:
    """json.loads(text), decoded by orjson (twice as fast on the schemas); on a broken text the
    standard library's decoder raises, for its line, column and wording."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _shared(rel: str) -> bool:
    """A shared document (`_shared/...`, `_meta/...`, any `_` part), never an endpoint."""
    return any(p.startswith("_") for p in rel.split("/"))


def _check(file: Path, doc: Any, schemas: Schemas, passes: Check) -> list[Problem]:
    """The x-endpoint block against the vocabulary, and what a schema cannot say: a known mode_error."""
    x = doc.get("x-endpoint") if isinstance(doc, dict) else None
    if not isinstance(x, dict):
        return [Problem(str(file), 1, 1, "missing 'x-endpoint' (schemas/_meta/endpoint.json says what it holds)")]
    errors = []
    if not passes(x):  # refused: the Python validator says where and why
        from jsonschema import Draft202012Validator

        meta = Draft202012Validator(schemas.contents(ENDPOINT_META), registry=schemas.registry)
        errors = list(meta.iter_errors(x))
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
    in_path = {m.group(1) for m in PARAM.finditer(str(x["path"]))}
    stray = sorted(set(declared) - in_path)
    if stray:
        where = ("$defs", "request", "properties", "path", "properties", stray[0])
        return [_at(file, doc, where, f"path parameter '{stray[0]}' is not in x-endpoint.path {x['path']!r}")]
    return []


def _at(file: Path, doc: Any, path: tuple[str, ...], message: str) -> Problem:
    marked = parse_marked(file.read_text(encoding="utf-8"), str(file))[0]
    return marked.at(path, message) if marked is not None else Problem(str(file), 1, 1, message)


def _action_mark(file: Path, text: str, key: bytes, cache: LoadCache | None) -> tuple[int, int]:
    """Where x-endpoint.action's value stands in the schema's text, as parse_marked would place it."""
    found = cache.mark(key) if cache is not None else None
    if found is None:
        found = json_mark(text, ("x-endpoint", "action"))
    if found is None:  # not plain JSON objects down to it: ask the YAML composer
        marked = parse_marked(text, str(file))[0]
        found = marked.marks.get(("x-endpoint", "action"), (1, 1)) if marked is not None else (1, 1)
    if cache is not None:
        cache.keep_mark(key, found)
    return found


def _spec(
    api: str, stem: str, doc: dict[str, Any], file: Path, schemas: Schemas, action_mark: tuple[int, int]
) -> EndpointSpec:
    x: dict[str, Any] = doc["x-endpoint"]
    prefix = API_PREFIX[api]
    user = x.get("user")
    defs = doc.get("$defs") or {}
    parts = (defs.get("request") or {}).get("properties") or {}
    aiohttp_route, params = route(prefix + x["path"])
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
        path=PARAM.sub(r"{\1}", prefix + x["path"]),
        route=aiohttp_route,
        aliases=tuple(prefix + a for a in x.get("aliases", ())),
        path_params=params,
        auth=x.get("auth", "app"),
        user=user_arg,
        modes=frozenset(x["modes"]) if x.get("modes") else None,
        mode_error=x.get("mode_error", "app_unavailable"),
        request=request,
        request_model=x.get("request_model", "Request"),
        models_since=x.get("models_since"),
        models_deferred=bool(x.get("models_deferred", False)),
        files=FilePart(files["part"], files.get("limits", "upload")) if files else None,
        response=x.get("response", "json"),
        streams=bool(x.get("streams", False)),
        pagination=x.get("pagination"),
        status=int(x.get("status", 200)),
        since=x.get("since"),
        empty_since=x.get("empty_since"),
        action=x.get("action"),
        collection=x.get("collection"),
        operation_id=x.get("operation_id"),
        restx_404_help=tuple(x.get("restx_404_help", ())),
        schema_file=file,
        action_mark=action_mark,
        request_parts=parts,
        response_schema=defs.get("response"),
        events_schema=defs.get("events"),
        schemas=schemas,
    )
