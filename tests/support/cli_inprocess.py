"""The CLI run in this process, as `dify-mockserver ARGS` would: exit status, stdout and stderr captured."""

from __future__ import annotations

import contextlib
import io
import os
from typing import NamedTuple
from unittest import mock

from mockserver.cli import main


class Invoked(NamedTuple):
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def invoke(*args: str, env: dict[str, str] | None = None) -> Invoked:
    """main(args) with `env` added to the environment; a SystemExit is its exit status, as in a shell."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with mock.patch.dict(os.environ, env or {}), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return Invoked(code, out.getvalue(), err.getvalue())
