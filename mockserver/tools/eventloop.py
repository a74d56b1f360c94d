"""The event loop `serve` runs on: uvloop where it is installed (the `fast` extra), else asyncio's own.

uvloop does the socket reads and writes, the selector and the timers in C; on the bench's blocking chat
load it answered 2-5% more requests a second than asyncio's loop on the same core (bench/blocking.py's
mock-asyncio row), for about 2.4 MiB more resident memory and 2 KiB more a stream in flight. Nothing a
client sees depends on the loop: the same requests give the same bytes on either.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final

CHOICES: Final = ("auto", "asyncio", "uvloop")
INSTALL_HINT: Final = "pip install 'dify-mockserver[fast]'"

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def loop_factory(choice: str) -> tuple[LoopFactory | None, str]:
    """(what asyncio.Runner makes its loop with, None for asyncio's default; the loop's name).

    `auto` takes uvloop when it imports; `uvloop` insists on it (ValueError saying how to install it)."""
    if choice == "asyncio":
        return None, "asyncio"
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise ValueError(f"uvloop is not installed ({INSTALL_HINT})") from None
        return None, "asyncio"
    return uvloop.new_event_loop, "uvloop"


def running_loop_name() -> str:
    """The running loop's kind, as the banner names it."""
    return "uvloop" if type(asyncio.get_running_loop()).__module__.startswith("uvloop") else "asyncio"
