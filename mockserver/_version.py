"""The package version, written once: pyproject.toml reads it from here ([tool.hatch.version]), so a wheel,
an editable install and a checkout all report the same. The server never asks importlib.metadata (0.8 MiB
and ~4 ms at start-up, a walk of sys.path per lookup). A module of its own, at the bottom of the layers,
so that any layer may import it (the package's __init__ reaches up to mockserver.app)."""

__version__ = "0.1.0"
