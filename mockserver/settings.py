"""Frozen server settings: defaults, overridable by DIFY_MOCK_* environment variables and the CLI."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from msgspec import Struct
from msgspec.structs import replace

from mockserver.dify.files import CATEGORIES, DEFAULT_LIMITS_MB

DEFAULT_PORT = 5001  # Dify API's own default port
DEFAULT_CLOCK_START = 1735689600  # 2025-01-01T00:00:00Z
LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR")
ENV_PREFIX: Final = "DIFY_MOCK_"


class Settings(Struct, frozen=True):
    """The server's settings: defaults, then DIFY_MOCK_* variables (with_env), then CLI flags."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    seed: int = 0
    fixtures: tuple[Path, ...] = ()
    dsl: tuple[str, ...] = ()  # `serve --dsl FILE[=KEY]`: apps made from Dify DSL exports
    # Endpoint schemas read instead of the built-in schemas/ (development: a catalogue under work, the
    # bench's 150-endpoint start-up). Its _meta/ and _shared/ must come along.
    schemas_dir: Path | None = None
    # 1 = the fixtures' timing as written; 0 = nothing sleeps (tests). Fault delays never scale.
    pace_scale: float = 1.0
    strict: bool = False
    # False: fixture and queued faults never fire (lint renders every scenario's response this way).
    inject_faults: bool = True
    # Watch the fixture directories and swap the book on change (`serve --reload`).
    reload: bool = False
    quiet: bool = False  # no request log lines
    log_level: str = "INFO"
    admin_token: str | None = None
    clock_start: int = DEFAULT_CLOCK_START
    clock_step: int = 1
    ping_interval_s: float = 10.0
    dify_version: str = "1.16"  # the Dify release emulated: 1.12, 1.14 or 1.16 (other X.Y map to one)
    journal_size: int = 1000
    max_tenants: int = 1000
    max_body_bytes: int = 15 * 1024 * 1024
    # A connection that has not sent a whole request head this many seconds after connecting or after
    # its last response is closed: a client dribbling its headers, or an idle keep-alive connection
    # (`serve --header-timeout`; nginx's client_header_timeout in front of Dify is 60 s).
    header_timeout: float = 60.0
    # Upload size limits in MB by category (image, video, audio, other) over Dify's defaults
    # (UPLOAD_IMAGE_FILE_SIZE_LIMIT and its siblings): `serve --upload-limit image=20`.
    upload_limit: tuple[tuple[str, int], ...] = ()
    # Bytes one tenant keeps of uploaded files and of message texts; beyond them the oldest go. The
    # store's memory is bounded by max_tenants x (these two): lower them for a long soak of many sessions.
    max_upload_store_bytes: int = 64 * 1024 * 1024
    max_message_store_bytes: int = 64 * 1024 * 1024
    # Where start-up keeps what it works out from file contents alone (loadcache.py); None: nowhere.
    # `serve` keeps it in the user's cache directory unless DIFY_MOCK_LOAD_CACHE says otherwise ("" = none).
    load_cache: Path | None = None
    # The event loop `serve` runs on (tools/eventloop.py): auto = uvloop when installed, else asyncio.
    event_loop: str = "auto"

    def schemas(self) -> Path:
        """Where the endpoint schemas come from."""
        from mockserver.paths import schemas_dir

        return self.schemas_dir or schemas_dir()

    def upload_limit_mb(self, category: str) -> int:
        return dict(self.upload_limit).get(category, DEFAULT_LIMITS_MB[category])

    def with_env(self, environ: Mapping[str, str] | None = None) -> Settings:
        """Apply DIFY_MOCK_<FIELD> variables (e.g. DIFY_MOCK_SEED=3) over these settings; a bad value
        raises ValueError with one line naming the variable."""
        env = os.environ if environ is None else environ
        changes: dict[str, Any] = {}
        for field in self.__struct_fields__:
            name = ENV_PREFIX + field.upper()
            raw = env.get(name)
            if raw is None:
                continue
            convert = _CONVERTERS.get(field) or _by_type(getattr(self, field))
            try:
                changes[field] = convert(raw)
            except ValueError as exc:
                raise ValueError(f"{name}={raw!r}: {exc}") from None
        return replace(self, **changes)


def _boolean(raw: str) -> bool:
    word = raw.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def _whole(raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ValueError("expected a whole number") from None


def _real(raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ValueError("expected a number") from None
    if value != value or value < 0:  # NaN or negative
        raise ValueError("expected a number >= 0")
    return value


def _positive(raw: str) -> float:
    value = _real(raw)
    if value == 0:
        raise ValueError("expected a number > 0")
    return value


def _level(raw: str) -> str:
    level = raw.strip().upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(w.lower() for w in LOG_LEVELS)}")
    return level


def _event_loop(raw: str) -> str:
    choice = raw.strip().lower()
    if choice not in ("auto", "asyncio", "uvloop"):
        raise ValueError("expected auto, asyncio or uvloop")
    return choice


def _paths(raw: str) -> tuple[Path, ...]:
    return tuple(Path(p) for p in raw.split(os.pathsep) if p)


def _version(raw: str) -> str:
    from mockserver.dify import versions

    versions.parse(raw)
    return raw.strip()


def upload_limits(raw: str) -> tuple[tuple[str, int], ...]:
    """`image=20,video=200` (MB per category) as settings keep it."""
    out: dict[str, int] = {}
    for item in filter(None, (p.strip() for p in raw.split(","))):
        name, sep, value = item.partition("=")
        name = name.strip().lower()
        if not sep or name not in CATEGORIES:
            raise ValueError(f"expected CATEGORY=MB with CATEGORY one of {', '.join(CATEGORIES)}, got {item!r}")
        size = _whole(value)
        if size < 0:
            raise ValueError(f"expected a size in MB >= 0, got {item!r}")
        out[name] = size
    return tuple(out.items())


def _by_type(current: Any) -> Callable[[str], Any]:
    if isinstance(current, bool):
        return _boolean
    if isinstance(current, int):
        return _whole
    if isinstance(current, float):
        return _real
    return lambda raw: raw


_CONVERTERS: Final[dict[str, Callable[[str], Any]]] = {
    "fixtures": _paths,
    "dsl": lambda raw: tuple(p for p in raw.split(os.pathsep) if p),
    "schemas_dir": lambda raw: Path(raw) if raw else None,
    "load_cache": lambda raw: Path(raw) if raw else None,
    "log_level": _level,
    "event_loop": _event_loop,
    "header_timeout": _positive,
    "admin_token": lambda raw: raw or None,
    "dify_version": _version,
    "upload_limit": upload_limits,
}
