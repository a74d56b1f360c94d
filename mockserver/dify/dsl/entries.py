"""Where DSL apps come from: an `_apps.yaml` entry `{dsl: PATH, ...overrides}`, `serve --dsl FILE[=KEY]`
(DIFY_MOCK_DSL, pytest `--dify-dsl`), and `POST /_mock/apps`; each becomes an App (INTERFACE.md,
"Apps from Dify DSL exports")."""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any, Final

from msgspec.structs import replace

from mockserver.dify.apps import App, build_app
from mockserver.dify.dsl.knobs import Knobs, unknown_names
from mockserver.dify.dsl.load import CURRENT_DSL, Loaded, load_file, load_text
from mockserver.errors import Problem

# Entry keys that go into the DSL's own mapping rather than replace it.
_MERGED: Final = ("info", "site", "parameters")
_SLUG: Final = re.compile(r"[^a-z0-9]+")


def default_key(path: Path) -> str:
    """`app-` + the file stem as a lower-case ASCII slug; ValueError for a stem with no ASCII letter."""
    stem = path.name.split(".")[0] if path.name.startswith(".") else path.stem
    if not re.search(r"[A-Za-z]", stem):
        raise ValueError(f"{path}: the file name has no ASCII letter to make an app key of; name one: {path}=KEY")
    return "app-" + _SLUG.sub("-", stem.lower()).strip("-")


def parse_spec(spec: str) -> tuple[Path, str]:
    """`FILE[=KEY]` -> (file, key). The last `=` splits, unless what follows it is a path."""
    file, sep, key = spec.rpartition("=")
    if sep and key and "/" not in key and "\\" not in key:
        if not file:
            raise ValueError(f"{spec!r}: expected FILE[=KEY]")
        return Path(file), key
    path = Path(spec)
    return path, default_key(path)


def app_from(key: str, loaded: Loaded, overrides: dict[str, Any] | None = None, source: str = "") -> App:
    """The App of a loaded DSL document (no errors) under `key`; `overrides` (an `_apps.yaml` entry's other
    keys) replace what the DSL gives, `info`/`site`/`parameters` key by key."""
    entry = copy.deepcopy(loaded.entry)
    for name, value in (overrides or {}).items():
        if name in _MERGED and isinstance(value, dict) and isinstance(entry.get(name), dict):
            entry[name] = {**entry[name], **value}
        elif name != "dsl":
            entry[name] = value
    app = build_app(key, entry, source or loaded.source)
    warnings = [str(w) for w in loaded.warnings] + _unknown_knobs(key, overrides, loaded)
    notes = tuple(f"{loaded.source}: {note}" for note in loaded.notes)
    return replace(app, dsl=loaded.source, graph=loaded.graph, warnings=tuple(warnings), notes=notes)


def _unknown_knobs(key: str, overrides: dict[str, Any] | None, loaded: Loaded) -> list[str]:
    """A `graph:` knob of the entry that names no node (a typo, or a title two nodes share) would be
    ignored at run time: say so once, at load."""
    given = (overrides or {}).get("graph")
    if loaded.graph is None or not isinstance(given, dict):
        return []
    names = unknown_names(loaded.graph, Knobs.of(given))
    return [
        f"{key}: graph: {name!r} names no node of {loaded.source} (a node id or a unique title); the knob is ignored"
        for name in names
    ]


def _accepts(overrides: dict[str, Any] | None) -> bool:
    graph = (overrides or {}).get("graph")
    return isinstance(graph, dict) and graph.get("accept_version") is True


def from_entry(
    key: str, entry: dict[str, Any], apps_file: str, where: Problem, current: str = CURRENT_DSL
) -> tuple[App | None, list[Problem]]:
    """The App of an `_apps.yaml` entry with `dsl: PATH` (PATH relative to `apps_file`); `where` locates
    the `dsl` value for a file that cannot be read."""
    path = Path(entry["dsl"])
    if not path.is_absolute():
        path = Path(os.path.normpath(Path(apps_file).parent / path))
    if not path.is_file():
        return None, [replace(where, message=f"DSL file not found: {path}")]
    loaded = load_file(path, str(path), accept_version=_accepts(entry), current=current)
    if loaded.errors:
        return None, loaded.errors
    return app_from(key, loaded, entry, apps_file), []


def from_spec(spec: str, current: str = CURRENT_DSL) -> tuple[App | None, list[Problem]]:
    """The App of one `--dsl FILE[=KEY]`."""
    try:
        path, key = parse_spec(spec)
    except ValueError as exc:
        return None, [Problem(spec, 1, 1, str(exc))]
    if not path.is_file():
        return None, [Problem(str(path), 1, 1, "DSL file not found")]
    loaded = load_file(path, str(path), current=current)
    if loaded.errors:
        return None, loaded.errors
    return app_from(key, loaded), []


def from_text(
    key: str, text: str, name: str = "<POST /_mock/apps>", current: str = CURRENT_DSL
) -> tuple[App | None, list[Problem]]:
    """The App of DSL YAML text posted at run time."""
    loaded = load_text(text, name, current=current)
    if loaded.errors:
        return None, loaded.errors
    return app_from(key, loaded), []
