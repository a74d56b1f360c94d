"""Per-tenant stores of typed records: conversations, messages and running tasks (stop flags)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Message:
    id: str
    conversation_id: str
    query: str
    answer: str
    inputs: dict[str, Any]
    created_at: int
    status: str = "normal"


@dataclass(slots=True)
class Conversation:
    id: str
    app_key: str
    user: str
    inputs: dict[str, Any]
    created_at: int
    updated_at: int
    name: str = "New conversation"
    messages: list[Message] = field(default_factory=list)


@dataclass(slots=True)
class RunningTask:
    """A generation in progress; `POST .../stop` sets `stopped`, the stream writer notices it."""

    task_id: str
    app_key: str
    user: str
    mode: str  # the app's mode
    stopped: asyncio.Event = field(default_factory=asyncio.Event)
    by_owner: bool = True  # False: a chatflow stopped by another end user (only the graph stop applies)


@dataclass(slots=True)
class TenantState:
    conversations: dict[str, Conversation] = field(default_factory=dict)
    tasks: dict[str, RunningTask] = field(default_factory=dict)
