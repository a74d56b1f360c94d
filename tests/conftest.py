"""Shared fixtures: a real `python -m mockserver serve --port 0` process."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

READY_PREFIX = "dify-mockserver listening on "
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0


class ServeProcess:
    """One `serve` subprocess: stdout read line by line on a thread, stderr captured to a file."""

    def __init__(self, *args: str, cwd: Path | None = None) -> None:
        self.args = ["serve", *args]
        self._stderr = tempfile.TemporaryFile(mode="w+b")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mockserver", *self.args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            cwd=cwd,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()
        self.url: str | None = None

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> str:
        """The base URL from the listening line; fails with the server's stderr if it never comes."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self._lines.get(timeout=max(left, 0.01))
            except queue.Empty:
                self.stop()
                pytest.fail(f"no listening line within {timeout}s; stderr:\n{self.stderr()}")
            if line is None:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
                pytest.fail(f"serve exited with {self.proc.returncode} before listening; stderr:\n{self.stderr()}")
            if line.startswith(READY_PREFIX):
                self.url = line[len(READY_PREFIX) :].strip()
                return self.url

    def stdout_rest(self) -> list[str]:
        """Lines printed after the listening line (call once the process has ended)."""
        self._reader.join(timeout=STOP_TIMEOUT_S)
        out: list[str] = []
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                return out
            if line is not None:
                out.append(line)

    def stderr(self) -> str:
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def send(self, sig: signal.Signals) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def wait(self, timeout: float = STOP_TIMEOUT_S) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL if it does not end in time; idempotent."""
        if self.proc.poll() is None:
            self.send(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT_S)
        return self.proc.returncode

    def close(self) -> None:
        self.stop()
        self._reader.join(timeout=STOP_TIMEOUT_S)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()


@pytest.fixture(scope="session", autouse=True)
def _load_cache_of_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every `serve` the tests spawn keeps its load cache (loadcache.py) in one folder of the session,
    never in the user's ~/.cache: the servers after the first start from it, as a user's do."""
    name = "DIFY_MOCK_LOAD_CACHE"
    before = os.environ.get(name)
    os.environ[name] = str(tmp_path_factory.mktemp("load-cache"))
    yield
    if before is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = before


@pytest.fixture
def start_serve() -> Iterator[type[ServeProcess]]:
    """A factory: `start_serve("--port", "0")` spawns a server; every one spawned is stopped after the test."""
    started: list[ServeProcess] = []

    class _Tracked(ServeProcess):
        def __init__(self, *args: str, cwd: Path | None = None) -> None:
            super().__init__(*args, cwd=cwd)
            started.append(self)

    yield _Tracked
    for server in started:
        with contextlib.suppress(Exception):
            server.close()


@pytest.fixture(scope="module")
def running_server() -> Iterator[str]:
    """The root URL (`http://127.0.0.1:PORT`) of a real `serve --port 0` process, shared by a module."""
    server = ServeProcess("--port", "0")
    try:
        yield server.wait_ready()
    finally:
        server.close()
