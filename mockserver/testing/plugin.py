"""pytest plugin: `dify_mock` (async, a private server per test) and `dify_mock_server` (one threaded
server per pytest process, a fresh session per test), markers, and server-side problems failing the
test that caused them."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from mockserver.settings import Settings
from mockserver.testing import checks
from mockserver.testing.handle import DifyMock, HttpControl, session_id_for

if TYPE_CHECKING:  # the server's modules load only when a session uses the mock
    from aiohttp import web

    from mockserver.catalogue import Catalogue
    from mockserver.scenarios.model import Book

_HANDLE = pytest.StashKey[DifyMock]()
_SETTINGS = pytest.StashKey[Settings]()
# (catalogue, book), loaded once per session and shared by every server.
_LOADED = pytest.StashKey["tuple[Catalogue, Book]"]()
MARKERS = {
    "dify_scenario": "dify_scenario(name, endpoint=None): force a dify-mockserver scenario for this test",
    "dify_fault": "dify_fault(fault, times=1, **params): queue a dify-mockserver fault for this test",
    "dify_strict": "dify_strict: fail the test on any request the mock refused (4xx) that no fault injected",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dify-mockserver")
    group.addoption(
        "--dify-fixtures",
        action="append",
        default=[],
        metavar="DIR",
        help="a fixture directory loaded over the built-in ones (repeatable)",
    )
    group.addoption(
        "--dify-dsl",
        action="append",
        default=[],
        metavar="FILE[=KEY]",
        help="an app made from a Dify DSL export (repeatable; KEY defaults to app-<file stem>)",
    )
    group.addoption(
        "--dify-version",
        default=None,
        metavar="X.Y",
        help="the Dify release to emulate: 1.12, 1.14 or 1.16 (other versions map to the nearest)",
    )
    parser.addini("dify_fixtures", "dify-mockserver fixture directories, one per line", type="paths", default=[])
    parser.addini("dify_dsl", "Dify DSL exports served as apps, FILE[=KEY] one per line", type="linelist", default=[])
    parser.addini("dify_version", "the Dify release dify-mockserver emulates (X.Y)", default="")


def pytest_configure(config: pytest.Config) -> None:
    for text in MARKERS.values():
        config.addinivalue_line("markers", text)
    xdist = config.pluginmanager.hasplugin("xdist") and config.getoption("numprocesses", None)
    controller = not hasattr(config, "workerinput")  # xdist workers would each say it again
    if xdist and controller and os.environ.get(checks.REMOTE_ENV):
        config.issue_config_time_warning(pytest.PytestWarning(checks.SHARED_SERVER_WARNING), stacklevel=2)


@pytest.hookimpl(tryfirst=True)  # before xdist starts workers that would each fail the same way
def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    settings = config.stash[_SETTINGS] = checks.settings_for(config)
    if settings.fixtures or settings.dsl:  # the built-in fixtures are checked by the package's own tests
        config.stash[_LOADED] = checks.load(settings)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every bad marker argument of the session, as one usage error, before any test runs."""
    if not checks.uses_the_mock(items):
        return
    try:
        _check_markers(config, items)
    except pytest.UsageError as exc:
        if not hasattr(config, "workerinput"):
            raise
        # An xdist worker that raised would be reported as a crash with its traceback: instead it runs
        # nothing and asks the controller to stop, which prints the message once.
        items.clear()
        session.shouldstop = str(exc)


def _check_markers(config: pytest.Config, items: list[pytest.Item]) -> None:
    remote = os.environ.get(checks.REMOTE_ENV)
    if remote:  # its fixtures and fault aliases are the server's: only its scenario names can be known
        problems = checks.marker_problems(items, checks.remote_scenarios(remote), None)
    else:
        _, book = _loaded(config)
        names = {endpoint: fixture.names for endpoint, fixture in book.fixtures.items()}
        problems = checks.marker_problems(items, names, lambda text: _fault_problem(text, book.aliases))
    if problems:
        raise pytest.UsageError("dify-mockserver: bad marker arguments:\n" + "\n".join(problems))


def _fault_problem(text: str, aliases: dict[str, str]) -> str | None:
    from mockserver.faults.spec import FaultSyntaxError, parse

    try:
        parse(text, aliases)
    except FaultSyntaxError as exc:
        return str(exc)
    return None


def _settings(config: pytest.Config) -> Settings:
    if _SETTINGS not in config.stash:
        config.stash[_SETTINGS] = checks.settings_for(config)
    return config.stash[_SETTINGS]


def _loaded(config: pytest.Config) -> tuple[Catalogue, Book]:
    if _LOADED not in config.stash:
        config.stash[_LOADED] = checks.load(_settings(config))
    return config.stash[_LOADED]


def _new_app(config: pytest.Config) -> web.Application:
    """An app on the session's loaded fixtures: no server re-reads them."""
    from mockserver.app import create_app

    catalogue, book = _loaded(config)
    return create_app(_settings(config), catalogue=catalogue, book=book)


def _apply_markers(handle: DifyMock, node: pytest.Item) -> None:
    for marker in node.iter_markers("dify_scenario"):
        handle.scenario(*marker.args, **marker.kwargs)
    for marker in node.iter_markers("dify_fault"):
        handle.fail(*marker.args, **marker.kwargs)


class _SharedServer:
    """The process's server (or DIFY_MOCK_URL's), and how each test starts fresh on it."""

    def __init__(self, config: pytest.Config) -> None:
        from mockserver.control.api import LocalControl
        from mockserver.testing.server import ThreadedMockServer

        settings = _settings(config)
        self.remote = os.environ.get(checks.REMOTE_ENV)
        self.server: ThreadedMockServer | None = None
        if self.remote:
            self.base_url = self.remote.rstrip("/")
            self.control: Any = HttpControl(self.base_url, os.environ.get(checks.ADMIN_TOKEN_ENV))
            self.seed = settings.seed
            return
        self.server = ThreadedMockServer(settings, app=_new_app(config))
        self.base_url = self.server.start()
        server = self.server
        self.control = LocalControl(server.app, lambda fn: server.call(lambda _app: fn()))
        self.seed = settings.seed

    def begin_test(self, node: pytest.Item) -> DifyMock:
        handle = DifyMock(
            self.base_url,
            self.control,
            session_id_for(node.nodeid),
            self.seed,
        )
        handle.reset()  # fixture setup: user fixtures that take the handle already see the fresh test
        _apply_markers(handle, node)
        return handle

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


@pytest.fixture(scope="session")
def _dify_shared_server(pytestconfig: pytest.Config) -> Iterator[_SharedServer]:
    shared = _SharedServer(pytestconfig)
    yield shared
    shared.close()


@pytest.fixture
def dify_mock_server(_dify_shared_server: _SharedServer, request: pytest.FixtureRequest) -> DifyMock:
    """The process's thread-backed mock, fresh for this test (its own session; credential tenants reset)."""
    handle = _dify_shared_server.begin_test(request.node)
    request.node.stash[_HANDLE] = handle
    return handle


try:
    import pytest_asyncio

    @pytest_asyncio.fixture
    async def dify_mock(request: pytest.FixtureRequest, pytestconfig: pytest.Config) -> AsyncIterator[DifyMock]:
        """A private mock for this test, on a free port, in the test's event loop."""
        from mockserver.control.api import LocalControl
        from mockserver.testing.server import MockServer

        settings = _settings(pytestconfig)
        server = MockServer(settings, app=_new_app(pytestconfig))
        base_url = await server.start()
        try:
            assert server.app is not None
            handle = DifyMock(
                base_url,
                LocalControl(server.app),
                session_id_for(request.node.nodeid),
                settings.seed,
            )
            _apply_markers(handle, request.node)
            request.node.stash[_HANDLE] = handle
            yield handle
        finally:
            await server.stop()
except ImportError:  # pragma: no cover - pytest-asyncio (pytest-aiohttp) is not installed

    @pytest.fixture
    def dify_mock() -> DifyMock:
        raise pytest.UsageError("dify_mock needs pytest-asyncio (pip install pytest-aiohttp)")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    result = yield  # a test that failed already keeps its own failure
    handle = item.stash.get(_HANDLE, None)
    if handle is not None:
        problems = handle.problems(strict=item.get_closest_marker("dify_strict") is not None)
        if problems:
            listed = "\n  ".join(problems)
            pytest.fail(f"dify-mockserver saw server-side problems during this test:\n  {listed}", pytrace=False)
    return result
