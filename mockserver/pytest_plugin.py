"""pytest plugin: `dify_mock` (async, a private server per test) and `dify_mock_server` (one threaded
server per pytest process, a fresh session per test), markers, and server-side problems failing the
test that caused them."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from .handle import DifyMock, HttpControl, session_id_for
from .settings import Settings

_HANDLE = pytest.StashKey[DifyMock]()
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
    parser.addini("dify_fixtures", "dify-mockserver fixture directories, one per line", type="paths", default=[])


def pytest_configure(config: pytest.Config) -> None:
    for text in MARKERS.values():
        config.addinivalue_line("markers", text)


def _settings(config: pytest.Config) -> Settings:
    dirs = [Path(p) for p in config.getini("dify_fixtures")]
    dirs += [Path(p).resolve() for p in config.getoption("dify_fixtures")]
    return Settings(pace_scale=0.0, fixtures=tuple(dirs)).with_env()


def _apply_markers(handle: DifyMock, node: pytest.Item) -> None:
    for marker in node.iter_markers("dify_scenario"):
        handle.scenario(*marker.args, **marker.kwargs)
    for marker in node.iter_markers("dify_fault"):
        handle.fail(*marker.args, **marker.kwargs)


class _SharedServer:
    """The process's server (or DIFY_MOCK_URL's), and how each test starts fresh on it."""

    def __init__(self, settings: Settings) -> None:
        from .control import LocalControl
        from .server import ThreadedMockServer

        self.remote = os.environ.get("DIFY_MOCK_URL")
        self.server: ThreadedMockServer | None = None
        if self.remote:
            self.base_url = self.remote.rstrip("/")
            self.control: Any = HttpControl(self.base_url, os.environ.get("DIFY_MOCK_ADMIN_TOKEN"))
            self.seed = settings.seed
            return
        self.server = ThreadedMockServer(settings)
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
    shared = _SharedServer(_settings(pytestconfig))
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
        from .control import LocalControl
        from .server import MockServer

        settings = _settings(pytestconfig)
        server = MockServer(settings)
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
