"""The README's endpoint table and coverage line, generated from the catalogue and checked against
Dify's published Service API (`dify-api/openapi/openapi_service.json`, DESIGN §10 "Coverage is generated").

    python -m mockserver.tools.coverage --write README.md   # rewrite the region between the markers
    python -m mockserver.tools.coverage --check README.md   # exit 1 when that region is stale

A catalogue endpoint covers a published operation when its `operation_id` names it, else when its
method and path (the `/v1` prefix dropped, `{param}` names ignored) are the operation's. Seed aliases
never count: they are the seed reference's paths, which real Dify does not serve. The wheel does not
ship the published spec, so `--openapi PATH` names it; the default is the one beside this checkout."""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

from msgspec import Struct

from mockserver.catalogue import API_PREFIX, load_catalogue
from mockserver.endpoint import EndpointSpec
from mockserver.paths import schemas_dir

START: Final = "<!-- endpoints:start -->"
END: Final = "<!-- endpoints:end -->"
COMMAND: Final = "python -m mockserver.tools.coverage --write README.md"
SERVICE_PREFIX: Final = "/v1"  # the published spec's server URL ends in /v1; its paths are relative to it
_HTTP_METHODS: Final = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_PARAM: Final = re.compile(r"\{[^}]*\}")
# The order INTERFACE.md lists the built-in apps in; an unknown mode sorts after them, by name.
_MODE_ORDER: Final = ("chat", "advanced-chat", "agent-chat", "agent", "completion", "workflow")
_API_TITLES: Final = {
    "service": "Service API (`/v1`, app keys)",
    "knowledge": "Knowledge API (`/v1`, knowledge keys)",
    "console": "Console API (`/console/api`)",
    "web": "Web App API (`/api`)",
    "files": "Files (`/files`, the signed URLs the APIs hand out)",
}
_NO_APP_MODE: Final = {"none": "no key", "dataset": "knowledge key", "console": "console account"}


def default_openapi() -> Path | None:
    """`../shared/dify-api/openapi/openapi_service.json` beside the repository root, when it is there."""
    root = Path(__file__).resolve().parents[2]
    candidate = (root / ".." / "shared" / "dify-api" / "openapi" / "openapi_service.json").resolve()
    return candidate if candidate.is_file() else None


def normalise_path(path: str) -> str:
    """`/chat-messages/{task_id}/stop` -> `/chat-messages/{}/stop`: parameter names (and a
    converter such as `{id:uuid}`) do not change which route a path is."""
    return _PARAM.sub("{}", path)


class Operation(Struct, frozen=True, order=True):
    """One method + path of the published spec; `path` as published, relative to `/v1`."""

    path: str
    method: str  # upper case
    operation_id: str | None
    summary: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return self.method, normalise_path(self.path)

    @property
    def full_path(self) -> str:
        return SERVICE_PREFIX + self.path


def load_operations(openapi: Path) -> list[Operation]:
    """Every method + path pair under the document's `paths`, in the document's order."""
    document: dict[str, Any] = json.loads(openapi.read_text(encoding="utf-8"))
    return [
        Operation(path, method.upper(), op.get("operationId"), str(op.get("summary") or ""))
        for path, item in document.get("paths", {}).items()
        for method, op in item.items()
        if method in _HTTP_METHODS and isinstance(op, dict)
    ]


class Coverage(Struct, frozen=True):
    operations: tuple[Operation, ...]  # everything published
    covered: tuple[tuple[Operation, EndpointSpec], ...]  # each published operation at most once
    missing: tuple[Operation, ...]  # published, not emulated
    extra: tuple[EndpointSpec, ...]  # emulated under /v1, not a published operation (e.g. GET /v1/)
    problems: tuple[str, ...]  # an operation_id the spec lacks, or one naming another route

    @property
    def line(self) -> str:
        return coverage_line(len(self.covered), len(self.operations))


def _service_key(spec: EndpointSpec) -> tuple[str, str] | None:
    """The endpoint's method and path relative to `/v1`, or None for an API the spec does not publish."""
    prefix = API_PREFIX.get(spec.api)
    if prefix != SERVICE_PREFIX or not spec.path.startswith(SERVICE_PREFIX + "/"):
        return None
    return spec.method.upper(), normalise_path(spec.path[len(SERVICE_PREFIX) :])


def match(endpoints: Iterable[EndpointSpec], operations: Sequence[Operation]) -> Coverage:
    """Which published operations the catalogue emulates. Only the endpoint's own path counts, not
    its aliases; Console and Web App endpoints are outside the Service API spec and are skipped."""
    by_id = {op.operation_id: op for op in operations if op.operation_id}
    by_key = {op.key: op for op in operations}
    covered: dict[Operation, EndpointSpec] = {}
    extra: list[EndpointSpec] = []
    problems: list[str] = []
    for spec in sorted(endpoints, key=lambda s: s.id):
        key = _service_key(spec)
        if key is None:
            continue
        if spec.operation_id:
            op = by_id.get(spec.operation_id)
            if op is None:
                problems.append(
                    f"{spec.id}: operation_id {spec.operation_id!r} is no operationId of the published spec"
                )
                continue
            if op.key != key:
                problems.append(
                    f"{spec.id}: operation_id {spec.operation_id!r} is {op.method} {op.full_path} in the published"
                    f" spec, but the endpoint is {spec.method} {spec.path}"
                )
        else:
            found = by_key.get(key)
            if found is None:
                extra.append(spec)
                continue
            op = found
        covered.setdefault(op, spec)
    missing = tuple(sorted(op for op in operations if op not in covered))
    return Coverage(
        operations=tuple(operations),
        covered=tuple(sorted(covered.items(), key=lambda kv: kv[0])),
        missing=missing,
        extra=tuple(extra),
        problems=tuple(problems),
    )


def coverage_line(covered: int, published: int) -> str:
    return f"{covered} of {published} Dify Service API operations emulated"


def _modes(spec: EndpointSpec) -> str:
    if spec.auth in _NO_APP_MODE:
        return _NO_APP_MODE[spec.auth]
    if spec.modes is None:
        return "all"
    rank = {mode: n for n, mode in enumerate(_MODE_ORDER)}
    return ", ".join(sorted(spec.modes, key=lambda m: (rank.get(m, len(rank)), m)))


def _response(spec: EndpointSpec) -> str:
    if spec.response == "empty":
        return str(spec.status)
    if spec.response == "generate":
        return "json / SSE" if spec.streams else "json"
    return spec.response


def endpoint_table(endpoints: Iterable[EndpointSpec]) -> str:
    """One Markdown table per API (in API_PREFIX's order), rows sorted by path then method."""
    groups: dict[str, list[EndpointSpec]] = {}
    for spec in endpoints:
        groups.setdefault(spec.api, []).append(spec)
    order = [*API_PREFIX, *sorted(set(groups) - set(API_PREFIX))]
    blocks: list[str] = []
    for api in order:
        if api not in groups:
            continue
        rows = [
            f"**{_API_TITLES.get(api, api)}**",
            "",
            "| Method | Path | Endpoint id | App modes | Response | Seed alias |",
            "|---|---|---|---|---|---|",
        ]
        for spec in sorted(groups[api], key=lambda s: (s.path, s.method)):
            aliases = ", ".join(f"`{a}`" for a in spec.all_paths[1:])
            rows.append(
                f"| {spec.method} | `{spec.path}` | `{spec.id}` | {_modes(spec)} | {_response(spec)} | {aliases} |"
            )
        blocks.append("\n".join(rows))
    return "\n\n".join(blocks)


def render_region(endpoints: Sequence[EndpointSpec], operations: Sequence[Operation]) -> str:
    """What goes between the markers (markers excluded): the table, the coverage line, what is missing."""
    coverage = match(endpoints, operations)
    parts = [
        f"<!-- generated from schemas/ and Dify's openapi_service.json by `{COMMAND}`; do not edit by hand -->",
        endpoint_table(endpoints),
        coverage.line,
    ]
    if coverage.extra:
        extra = ", ".join(f"`{s.method} {s.path}`" for s in sorted(coverage.extra, key=lambda s: (s.path, s.method)))
        parts.append(f"Emulated beyond the published spec: {extra}.")
    if coverage.missing:
        items = [
            f"- {op.method} `{op.full_path}`" + (f" ({op.operation_id})" if op.operation_id else "")
            for op in coverage.missing
        ]
        parts.append(
            "<details>\n"
            f"<summary>The {len(coverage.missing)} published operations not emulated yet</summary>\n\n"
            + "\n".join(items)
            + "\n\n</details>"
        )
    return "\n\n".join(parts)


class MarkerError(ValueError):
    pass


def _bounds(text: str) -> tuple[int, int]:
    start, end = text.find(START), text.find(END)
    if start < 0 or end < 0 or end < start or text.count(START) != 1 or text.count(END) != 1:
        raise MarkerError(f"expected one {START} followed by one {END}")
    return start + len(START), end


def current_region(text: str) -> str:
    start, end = _bounds(text)
    return text[start:end].strip("\n")


def replace_region(text: str, region: str) -> str:
    start, end = _bounds(text)
    return text[:start] + "\n" + region + "\n" + text[end:]


def _diff(old: str, new: str, name: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), f"{name} (now)", f"{name} (generated)", lineterm="", n=1
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mockserver.tools.coverage",
        description="Generate the README's endpoint table and Dify Service API coverage line.",
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", metavar="README", type=Path, help="rewrite the region between the markers")
    action.add_argument("--check", metavar="README", type=Path, help="exit 1 when that region is stale")
    action.add_argument("--print", action="store_true", help="print the region on stdout")
    parser.add_argument(
        "--openapi",
        type=Path,
        default=default_openapi(),
        help="Dify's published openapi_service.json (default: ../shared/dify-api/openapi/ beside the checkout)",
    )
    args = parser.parse_args(argv)
    if args.openapi is None:
        parser.error("Dify's openapi_service.json is not beside this checkout: pass --openapi PATH")
    endpoints = list(load_catalogue(schemas_dir()))
    operations = load_operations(args.openapi)
    coverage = match(endpoints, operations)
    for problem in coverage.problems:
        print(f"warning: {problem}", file=sys.stderr)
    region = render_region(endpoints, operations)
    if args.print:
        print(region)
        return 0
    readme: Path = args.write or args.check
    text = readme.read_text(encoding="utf-8")
    try:
        now = current_region(text)
    except MarkerError as exc:
        print(f"{readme}: {exc}", file=sys.stderr)
        return 1
    if args.check:
        if now == region:
            print(coverage.line)
            return 0
        print(f"{readme}: the endpoint table is stale; run `{COMMAND}`", file=sys.stderr)
        print(_diff(now, region, str(readme)), file=sys.stderr)
        return 1
    if now != region:
        readme.write_text(replace_region(text, region), encoding="utf-8")
        print(f"{readme}: rewritten; {coverage.line}")
    else:
        print(f"{readme}: up to date; {coverage.line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
