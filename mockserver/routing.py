"""Routes matched segment by segment. aiohttp's DynamicResource compiles a regular expression per route
when it is added: about 100 us each, 6 ms of start-up for the catalogue's sixty-odd routes with a
variable segment (issue 13). The catalogue's routes need only three kinds of segment, matched here
without a pattern of their own: literal text, `{name}` (any non-empty segment) and `{name:<UUID>}`
(Flask's UUID converter, endpoint.UUID_SEGMENT). Any other route goes to aiohttp's own resources."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web
from yarl import URL

from mockserver.endpoint import UUID_SEGMENT

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_VARIABLE: Final = re.compile(r"\{([_a-zA-Z][_a-zA-Z0-9]*)(?::(.*))?\}")
_UUID: Final = re.compile(UUID_SEGMENT)
_PLAIN: Final = re.compile(r"[A-Za-z0-9._~-]*")  # a literal segment that needs no quoting
# A segment: (literal, None, False) or (None, variable name, whether it must be a UUID).
Segment = tuple[str | None, str | None, bool]


def _segments(path: str) -> tuple[Segment, ...] | None:
    """`path`'s segments after its leading "/", or None when a segment is not of the three kinds."""
    segments: list[Segment] = []
    for part in path.split("/")[1:]:
        if (var := _VARIABLE.fullmatch(part)) is not None:
            if var.group(2) not in (None, UUID_SEGMENT):
                return None
            segments.append((None, var.group(1), var.group(2) is not None))
        elif _PLAIN.fullmatch(part) is None:
            return None
        else:
            segments.append((part, None, False))
    return tuple(segments)


def _unquote(value: str) -> str:
    # aiohttp matches against the path with "/" and "%" still escaped in a segment, and unescapes
    # them in what it captures: the same here.
    return value.replace("%2F", "/").replace("%25", "%") if "%" in value else value


class SegmentResource(web.Resource):
    """A route of literal, `{name}` and `{name:<UUID>}` segments."""

    def __init__(self, path: str, segments: tuple[Segment, ...], *, name: str | None = None) -> None:
        super().__init__(name=name)
        self._path = path  # as given, the way aiohttp's raw_match compares
        self._segments = segments
        self._count = len(segments)
        # The form aiohttp's router indexes by (`{name}` for every variable) and url_for fills in.
        self._formatter = "/" + "/".join(text if text is not None else f"{{{var}}}" for text, var, _ in segments)

    @property
    def canonical(self) -> str:
        return self._formatter

    def add_prefix(self, prefix: str) -> None:
        """The app mounted as a sub-application under `prefix`: its segments come first, as literals."""
        self._segments = tuple((part, None, False) for part in prefix.split("/")[1:]) + self._segments
        self._count = len(self._segments)
        self._path, self._formatter = prefix + self._path, prefix + self._formatter

    def _match(self, path: str) -> dict[str, str] | None:
        # A cheap count first: most candidates under a shared prefix differ in length.
        if path.count("/") != self._count:
            return None
        found: dict[str, str] = {}
        for part, (text, var, uuid) in zip(path.split("/")[1:], self._segments, strict=True):
            if text is not None:
                if part != text:
                    return None
            elif not part or (uuid and _UUID.fullmatch(part) is None):
                return None
            else:
                found[var or ""] = _unquote(part)
        return found

    def raw_match(self, path: str) -> bool:
        return path == self._path

    def get_info(self) -> dict[str, str]:  # type: ignore[override]
        return {"formatter": self._formatter}

    def url_for(self, **parts: str) -> URL:
        filled = self._formatter.format_map({k: URL.build(path=v).raw_path for k, v in parts.items()})
        return URL.build(path=filled, encoded=True)

    def __repr__(self) -> str:
        return f"<SegmentResource {self.name!r} {self._formatter}>"


def add_route(router: web.UrlDispatcher, method: str, path: str, handler: Handler, name: str) -> None:
    """`router.add_route`, with a SegmentResource where `path` allows one; a GET answers HEAD too (as
    Flask does wherever it answers GET)."""
    segments = _segments(path) if "{" in path else None
    if segments is None:
        if method == "GET":
            router.add_get(path, handler, name=name, allow_head=True)
        else:
            router.add_route(method, path, handler, name=name)
        return
    resource = SegmentResource(path, segments, name=name)
    router.register_resource(resource)
    if method == "GET":
        resource.add_route("HEAD", handler)
    resource.add_route(method, handler)
