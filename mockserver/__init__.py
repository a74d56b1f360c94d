"""dify-mockserver: a local, deterministic emulator of the Dify HTTP API."""

from .app import create_app
from .errors import DifyError, FixtureError
from .settings import Settings

__all__ = ["DifyError", "FixtureError", "Settings", "create_app"]
