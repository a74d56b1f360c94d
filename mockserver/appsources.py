"""Which `_apps.yaml` each app comes from, for GET /_mock/apps: the book keeps apps, not their files."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Final

import yaml

BUILT_IN: Final = "built-in"


def app_sources(dirs: Iterable[Path]) -> dict[str, str]:
    """App key -> the user `_apps.yaml` that defines it, the last directory winning as the loader
    merges them; keys not listed come from the built-in fixtures. Reads the files again: this runs
    once per GET /_mock/apps, and the loaded book holds no paths."""
    found: dict[str, str] = {}
    for root in dirs:
        file = Path(root) / "_apps.yaml"
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue  # a broken file never loaded: whatever the book holds did not come from it
        apps = data.get("apps") if isinstance(data, dict) else None
        for key, value in (apps or {}).items():
            if value is None:
                found.pop(str(key), None)  # `key: null` removed it; a later directory may add it back
            else:
                found[str(key)] = str(file)
    return found
