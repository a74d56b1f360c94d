"""Locates the built-in schemas/ and fixtures/: inside the wheel, or at the repository root."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _first_existing(name: str) -> Path:
    # A wheel carries the data under mockserver/_data/; an editable install or a checkout has it
    # at the repository root beside the package.
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"built-in {name}/ not found next to {_PACKAGE}")


def schemas_dir() -> Path:
    return _first_existing("schemas")


def fixtures_dir() -> Path:
    return _first_existing("fixtures")
