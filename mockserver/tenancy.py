"""Tenant resolution (X-Mock-Session, else the credential) and the TenantRegistry of per-tenant state."""

from __future__ import annotations

import fnmatch
import logging
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .state import TenantState

log = logging.getLogger("mockserver.tenancy")

SESSION_HEADER = "X-Mock-Session"


@dataclass(slots=True)
class Tenant:
    """Everything one tenant owns; catalogue, book, apps and settings are shared and read-only."""

    id: str
    seed: int
    clock_start: int
    journal: deque[dict[str, Any]]
    clock: float = 0.0
    admitted: int = 0
    counters: dict[str, int] = field(default_factory=dict)  # per endpoint: n of the next admitted call
    cursors: dict[tuple[str, str], int] = field(default_factory=dict)  # (endpoint, scenario) -> matches
    forced: dict[str, str] = field(default_factory=dict)  # endpoint -> scenario forced by the control API
    state: TenantState = field(default_factory=TenantState)
    dropped: int = 0  # journal entries dropped because the journal was full

    def __post_init__(self) -> None:
        self.clock = float(self.clock_start)

    def admit(self, endpoint: str, clock_step: float) -> tuple[int, int]:
        """Assign this call its per-endpoint `n` and its mock time, then step the clock."""
        n = self.counters.get(endpoint, 0)
        self.counters[endpoint] = n + 1
        self.admitted += 1
        now = int(self.clock)
        self.clock += clock_step
        return n, now

    def record(self, entry: dict[str, Any]) -> None:
        if self.journal.maxlen is not None and len(self.journal) == self.journal.maxlen:
            self.dropped += 1
        self.journal.append(entry)


def session_tenant(session: str | None) -> str | None:
    return f"s:{session}" if session else None


class TenantRegistry:
    """Tenants by id, created on first use, least recently used dropped beyond `max_tenants`."""

    def __init__(self, seed: int, clock_start: int, journal_size: int, max_tenants: int) -> None:
        self.default_seed = seed
        self.clock_start = clock_start
        self.journal_size = journal_size
        self.max_tenants = max_tenants
        self._tenants: OrderedDict[str, Tenant] = OrderedDict()
        self._seeds: dict[str, int] = {}  # seeds set by POST /_mock/reset for one selector

    def get(self, tenant_id: str) -> Tenant:
        tenant = self._tenants.get(tenant_id)
        if tenant is not None:
            self._tenants.move_to_end(tenant_id)
            return tenant
        tenant = Tenant(tenant_id, self._seed_for(tenant_id), self.clock_start, deque(maxlen=self.journal_size))
        self._tenants[tenant_id] = tenant
        if len(self._tenants) > self.max_tenants:
            evicted, _ = self._tenants.popitem(last=False)
            log.warning("tenant %s evicted (more than %d tenants)", evicted, self.max_tenants)
        return tenant

    def _seed_for(self, tenant_id: str) -> int:
        for pattern, seed in reversed(self._seeds.items()):
            if fnmatch.fnmatchcase(tenant_id, pattern):
                return seed
        return self.default_seed

    def select(self, selector: str | None) -> Iterator[Tenant]:
        for tenant_id in list(self._tenants):
            if selector is None or fnmatch.fnmatchcase(tenant_id, selector):
                yield self._tenants[tenant_id]

    def reset(self, selector: str | None = None, seed: int | None = None) -> int:
        """Drop the selected tenants (they come back fresh on next use); returns how many existed."""
        if seed is not None:
            if selector is None:
                self.default_seed, self._seeds = seed, {}
            else:
                self._seeds.pop(selector, None)
                self._seeds[selector] = seed
        doomed = [t.id for t in self.select(selector)]
        for tenant_id in doomed:
            del self._tenants[tenant_id]
        return len(doomed)

    def __len__(self) -> int:
        return len(self._tenants)
