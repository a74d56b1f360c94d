"""dify-mockserver: a local, deterministic emulator of the Dify HTTP API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mockserver._version import __version__
from mockserver.errors import DifyError, FixtureError
from mockserver.settings import Settings

if TYPE_CHECKING:
    from mockserver.app import create_app

__all__ = ["DifyError", "FixtureError", "Settings", "__version__", "create_app"]


def __getattr__(name: str) -> Any:
    # create_app pulls in aiohttp, jsonschema and the fixture loader; importing it lazily keeps
    # `dify-mockserver --help` and `import mockserver.settings` instant.
    if name == "create_app":
        from mockserver.app import create_app

        return create_app
    raise AttributeError(f"module 'mockserver' has no attribute {name!r}")
