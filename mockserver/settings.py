"""Frozen server settings: defaults, overridable by DIFY_MOCK_* environment variables and the CLI."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_PORT = 5001  # Dify API's own default port
DEFAULT_CLOCK_START = 1735689600  # 2025-01-01T00:00:00Z


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    seed: int = 0
    fixtures: tuple[Path, ...] = ()
    # 1 = the fixtures' timing as written; 0 = nothing sleeps (tests). Fault delays never scale.
    pace_scale: float = 1.0
    strict: bool = False
    # False: fixture and queued faults never fire (lint renders every scenario's response this way).
    inject_faults: bool = True
    # Watch the fixture directories and swap the book on change (`serve --reload`).
    reload: bool = False
    log_level: str = "INFO"
    admin_token: str | None = None
    clock_start: int = DEFAULT_CLOCK_START
    clock_step: int = 1
    ping_interval_s: float = 10.0
    dify_version: str = "1.9.0"
    journal_size: int = 1000
    max_tenants: int = 1000
    max_body_bytes: int = 15 * 1024 * 1024
    extra: dict[str, Any] = field(default_factory=dict)

    def with_env(self, environ: dict[str, str] | None = None) -> Settings:
        """Apply DIFY_MOCK_<FIELD> variables (e.g. DIFY_MOCK_SEED=3) over these settings."""
        env = os.environ if environ is None else environ
        changes: dict[str, Any] = {}
        for f in fields(self):
            raw = env.get(f"DIFY_MOCK_{f.name.upper()}")
            if raw is None or f.name in ("extra", "fixtures"):
                continue
            current = getattr(self, f.name)
            if f.name == "admin_token":
                changes[f.name] = raw or None
            elif isinstance(current, bool):
                changes[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
            elif isinstance(current, int):
                changes[f.name] = _number(f.name, raw, int)
            elif isinstance(current, float):
                changes[f.name] = _number(f.name, raw, float)
            else:
                changes[f.name] = raw
        return replace(self, **changes)


def _number(name: str, raw: str, kind: type[int] | type[float]) -> int | float:
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"DIFY_MOCK_{name.upper()}={raw!r} is not a {kind.__name__}") from None
