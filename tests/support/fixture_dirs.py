"""Writing fixture files into a temporary directory and reading the loader's problems with them
(imported as `fixture_dirs`: tests/support is on pytest's pythonpath)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mockserver.app import load
from mockserver.errors import FixtureError
from mockserver.settings import Settings


def write(root: Path, rel: str, text: str) -> Path:
    """`text` (dedented) at `root/rel`, directories made."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def problems(tmp_path: Path, rel: str, text: str) -> list[str]:
    """The problems of loading the built-ins plus `text` at `rel`, each minus the file's name; all of
    them must be about that file."""
    file = write(tmp_path, rel, text)
    with pytest.raises(FixtureError) as info:
        load(Settings(fixtures=(tmp_path,)))
    found = [str(p) for p in info.value.problems]
    assert all(p.startswith(f"{file}:") for p in found), found
    return [p[len(str(file)) + 1 :] for p in found]
