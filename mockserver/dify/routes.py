"""The routes real Dify serves, so that a 404 can say "not emulated yet" rather than "check your spelling"."""

from __future__ import annotations

import re
from functools import cache
from typing import Final

from mockserver.endpoint import UUID_SEGMENT

_API_NAMES: Final = {"/console/api": "Console API", "/api": "Web App API"}


@cache
def _service_routes() -> tuple[tuple[str, re.Pattern[str]], ...]:
    from importlib.resources import files  # a 404's wording only: not loaded at start-up (~0.9 ms)

    text = files("mockserver.dify").joinpath("service_routes.txt").read_text(encoding="utf-8")
    out = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            method, path = line.split()
            pattern = re.escape(path.rstrip("/"))
            pattern = re.sub(r"\\\{[a-z_]+:uuid\\\}", UUID_SEGMENT.replace("\\", "\\\\"), pattern)
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
            # Flask's strict slashes: a rule without a trailing slash does not match a path with one.
            out.append((method, re.compile(f"^/v1{pattern}/?$" if not pattern else f"^/v1{pattern}$")))
    return tuple(out)


def not_emulated(method: str, path: str) -> str | None:
    """Why the mock has no route for a path real Dify serves; None when Dify has no such route either."""
    for prefix, name in _API_NAMES.items():
        if path.startswith(prefix + "/"):
            return f"dify-mockserver does not emulate Dify's {name} yet ({method} {path})."
    methods = [m for m, pattern in _service_routes() if pattern.match(path)]
    if method in methods or (method == "HEAD" and "GET" in methods):
        return (
            f"dify-mockserver does not emulate {method} {path} yet: real Dify serves it. "
            "`dify-mockserver lint --list` lists what is emulated."
        )
    return None
