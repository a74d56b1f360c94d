"""What the pytest plugin checks once per session: its options, the fixture directories and the
arguments of its markers. A mistake there is one `pytest.UsageError` with lint's words at session
start, never the same traceback as an error in every test that uses the mock."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pytest
from msgspec.structs import replace

from mockserver.nearmiss import did_you_mean
from mockserver.settings import Settings
from mockserver.testing.handle import ControlError, DifyMock, HttpControl, fault_text

if TYPE_CHECKING:  # the app's modules load only when a session uses the mock
    from mockserver.catalogue import Catalogue
    from mockserver.scenarios.model import Book

REMOTE_ENV: Final = "DIFY_MOCK_URL"
ADMIN_TOKEN_ENV: Final = "DIFY_MOCK_ADMIN_TOKEN"
MARKERS: Final = ("dify_scenario", "dify_fault")
FIXTURES: Final = frozenset({"dify_mock", "dify_mock_server"})
SHARED_SERVER_WARNING: Final = (
    "dify-mockserver: several pytest-xdist workers share the server at DIFY_MOCK_URL; each test's "
    "markers, .fail(), .scenario(), .stub() and .journal also act on the shared `default` tenant, so "
    "only clients that send `dify_mock_server.headers` are isolated from the other workers' tests"
)


def settings_for(config: pytest.Config) -> Settings:
    """The plugin's settings: DIFY_MOCK_* variables, then the ini, then the command line (as `serve`
    takes them); a bad value is a UsageError naming where it came from."""
    try:
        base = Settings(pace_scale=0.0).with_env()
    except ValueError as exc:
        raise pytest.UsageError(f"dify-mockserver: bad environment variable: {exc}") from None
    dirs = [Path(p) for p in config.getini("dify_fixtures")]
    dirs += [Path(p).resolve() for p in config.getoption("dify_fixtures")]
    version = config.getoption("dify_version") or config.getini("dify_version") or base.dify_version
    from mockserver.dify import versions

    try:
        versions.resolve(version)
    except ValueError as exc:
        raise pytest.UsageError(f"dify-mockserver: --dify-version / dify_version {version!r}: {exc}") from None
    # ini lines are relative to the ini file's directory, option values to the working directory
    root = config.inipath.parent if config.inipath else Path.cwd()
    dsl = [_rooted(line, root) for line in config.getini("dify_dsl") if line.strip()]
    dsl += [_rooted(spec, Path.cwd()) for spec in config.getoption("dify_dsl")]
    return replace(base, fixtures=(*base.fixtures, *dirs), dsl=(*base.dsl, *dsl), dify_version=version)


def _rooted(spec: str, root: Path) -> str:
    """`FILE[=KEY]` with FILE made absolute from `root` (the key keeps its default from the stem)."""
    spec = spec.strip()
    file, sep, key = spec.rpartition("=")
    if not (sep and key and "/" not in key and "\\" not in key):
        file, sep, key = spec, "", ""
    return str((root / file).resolve()) + (f"={key}" if sep else "")


def load(settings: Settings) -> tuple[Catalogue, Book]:
    """(catalogue, book) for `settings`; a broken fixture directory is a UsageError with lint's lines."""
    from mockserver.app import load as load_book
    from mockserver.errors import FixtureError

    try:
        return load_book(settings)
    except FixtureError as exc:
        lines = "\n".join(str(p) for p in exc.problems)
        raise pytest.UsageError(
            f"dify-mockserver: the fixtures do not load (`dify-mockserver lint` says):\n{lines}"
        ) from None


def uses_the_mock(items: Iterable[pytest.Item]) -> bool:
    return any(FIXTURES & set(getattr(i, "fixturenames", ())) or any(i.iter_markers(m) for m in MARKERS) for i in items)


def remote_scenarios(url: str) -> dict[str, list[str]]:
    """The scenario names of the server at DIFY_MOCK_URL; a UsageError when nothing answers there."""
    control = HttpControl(url, os.environ.get(ADMIN_TOKEN_ENV))
    try:
        listed: dict[str, list[str]] = control.get("/_mock/scenarios", {})["data"]
    except ControlError as exc:  # it answered, and refused (most often: DIFY_MOCK_ADMIN_TOKEN is missing)
        raise pytest.UsageError(f"dify-mockserver: {REMOTE_ENV}={url} refused the plugin: {exc}") from None
    except (OSError, ValueError, KeyError) as exc:  # nothing listens, or what does is no dify-mockserver
        raise pytest.UsageError(
            f"dify-mockserver: {REMOTE_ENV}={url}: no dify-mockserver answers there ({exc})"
        ) from None
    return listed


def marker_problems(
    items: Iterable[pytest.Item], names: dict[str, list[str]], check_fault: Callable[[str], str | None] | None
) -> list[str]:
    """One line per distinct bad marker: where it is, what it says, what is wrong. `names` are the
    scenario names per endpoint; `check_fault` returns a fault text's problem (None: do not check)."""
    found: dict[str, list[str]] = {}  # problem -> the tests it reaches (a class marker reaches many)
    for item in items:
        for marker in item.iter_markers():
            if marker.name == "dify_scenario":
                problem = _scenario_problem(marker, names)
            elif marker.name == "dify_fault":
                problem = _fault_problem(marker, names, check_fault)
            else:
                continue
            if problem is not None:
                shown = ", ".join([repr(a) for a in marker.args] + [f"{k}={v!r}" for k, v in marker.kwargs.items()])
                found.setdefault(f"@pytest.mark.{marker.name}({shown}): {problem}", []).append(item.nodeid)
    lines = []
    for problem, nodeids in found.items():
        more = f" (and {len(nodeids) - 1} more)" if len(nodeids) > 1 else ""
        lines.append(f"{nodeids[0]}{more}: {problem}")
    return lines


def _bind(method: Callable[..., Any], marker: pytest.Mark) -> inspect.BoundArguments | str:
    try:
        return inspect.signature(method).bind(None, *marker.args, **marker.kwargs)
    except TypeError as exc:
        return str(exc)


def _endpoint_problem(endpoint: Any, names: dict[str, list[str]]) -> str | None:
    if endpoint is None or endpoint in names:
        return None
    return f"unknown endpoint {endpoint!r}{did_you_mean(str(endpoint), names)} (see `dify-mockserver lint --list`)"


def _scenario_problem(marker: pytest.Mark, names: dict[str, list[str]]) -> str | None:
    bound = _bind(DifyMock.scenario, marker)
    if isinstance(bound, str):
        return bound
    name, endpoint = bound.arguments.get("name"), bound.arguments.get("endpoint")
    problem = _endpoint_problem(endpoint, names)
    if problem is not None:
        return problem
    known = sorted({n for e, listed in names.items() if endpoint in (None, e) for n in listed})
    if name in known:
        return None
    where = f"endpoint {endpoint}" if endpoint else "no endpoint"
    return f"{where} has a scenario named {name!r}{did_you_mean(str(name), known)}; known: {', '.join(known)}"


def _fault_problem(
    marker: pytest.Mark, names: dict[str, list[str]], check_fault: Callable[[str], str | None] | None
) -> str | None:
    bound = _bind(DifyMock.fail, marker)
    if isinstance(bound, str):
        return bound
    args = bound.arguments
    problem = _endpoint_problem(args.get("endpoint"), names)
    if problem is not None or check_fault is None:
        return problem
    return check_fault(fault_text(str(args["fault"]), args.get("times", 1), args.get("params", {})))
