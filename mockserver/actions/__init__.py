"""The @action registry. An action binds state before templates expand and commits after;
it returns data or raises DifyError, and never writes a response, shapes an error or sleeps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mockserver.determinism import Draws
from mockserver.settings import Settings
from mockserver.tenancy import Tenant
from mockserver.validation import Call


@dataclass(slots=True)
class ActContext:
    call: Call
    tenant: Tenant
    draws: Draws
    now: int
    settings: Settings
    bound: dict[str, Any] = field(default_factory=dict)  # what bind() returned: `{{ action.* }}`


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    bind: Callable[[ActContext], dict[str, Any]]
    # Called with the generated answer once the response is decided (never after an HTTP error).
    commit: Callable[[ActContext, str], None] | None = None


REGISTRY: dict[str, Action] = {}


def action(
    name: str, *, commit: Callable[[ActContext, str], None] | None = None
) -> Callable[[Callable[[ActContext], dict[str, Any]]], Callable[[ActContext], dict[str, Any]]]:
    def register(bind: Callable[[ActContext], dict[str, Any]]) -> Callable[[ActContext], dict[str, Any]]:
        if name in REGISTRY:
            raise ValueError(f"action {name!r} registered twice")
        REGISTRY[name] = Action(name, bind, commit)
        return bind

    return register


def get(name: str) -> Action:
    return REGISTRY[name]


def load_all() -> None:
    """Import the modules that register actions."""
    from . import apps, chat, workflows  # noqa: F401
