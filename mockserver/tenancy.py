"""Tenant resolution (X-Mock-Session, else the credential) and the TenantRegistry of per-tenant state."""

from __future__ import annotations

import fnmatch
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .faults import FaultQueue, covered
from .journal import matches
from .schedule import Counter
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
    fault_counters: dict[tuple[str, str, int], Counter] = field(default_factory=dict)  # fixture faults
    now: float = 0.0  # mock time of the call being served
    first_call: float | None = None  # mock time of the tenant's first admitted call
    first_wall: float | None = None  # monotonic wall time of it, for `clock=wall` schedules
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
        self.now = self.clock
        if self.first_call is None:
            self.first_call, self.first_wall = self.clock, time.monotonic()
        self.clock += clock_step
        return n, now

    def elapsed(self, clock: str) -> float:
        """Seconds since the tenant's first call, on the mock clock (default) or the wall clock."""
        if self.first_call is None or self.first_wall is None:
            return 0.0
        if clock == "wall":
            return time.monotonic() - self.first_wall
        return max(0.0, self.now - self.first_call)

    def record(self, entry: dict[str, Any]) -> None:
        if self.journal.maxlen is not None and len(self.journal) == self.journal.maxlen:
            self.dropped += 1
        self.journal.append(entry)


class TenantRegistry:
    """Tenants by id, created on first use, least recently used dropped beyond `max_tenants`."""

    def __init__(self, seed: int, clock_start: int, journal_size: int, max_tenants: int) -> None:
        self.default_seed = seed
        self.clock_start = clock_start
        self.journal_size = journal_size
        self.max_tenants = max_tenants
        self._tenants: OrderedDict[str, Tenant] = OrderedDict()
        self._seeds: dict[str, int] = {}  # seeds set by POST /_mock/reset for one selector
        self.queue = FaultQueue()
        self._forced: list[tuple[str | None, str, str]] = []  # (selector, endpoint, scenario)

    def get(self, tenant_id: str) -> Tenant:
        tenant = self._tenants.get(tenant_id)
        if tenant is not None:
            self._tenants.move_to_end(tenant_id)
            return tenant
        tenant = Tenant(tenant_id, self._seed_for(tenant_id), self.clock_start, deque(maxlen=self.journal_size))
        self._tenants[tenant_id] = tenant
        if len(self._tenants) > self.max_tenants:
            evicted, _ = self._tenants.popitem(last=False)
            self.queue.drop_tenant(evicted)
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
        self.queue.clear(selector)
        self.queue.forget(selector)  # faults queued for every tenant count afresh for the reset ones
        self._forced = [f for f in self._forced if selector is not None and not covered(f[0], selector)]
        return len(doomed)

    def force(self, selector: str | None, endpoint: str, scenario: str | None) -> None:
        """Force `scenario` on `endpoint` for the selected tenants (later ones too); None lifts it."""
        self._forced = [f for f in self._forced if (f[0], f[1]) != (selector, endpoint)]
        if scenario is not None:
            self._forced.append((selector, endpoint, scenario))

    def forced(self, tenant_id: str, endpoint: str) -> str | None:
        for selector, forced_endpoint, scenario in reversed(self._forced):
            if forced_endpoint == endpoint and (selector is None or fnmatch.fnmatchcase(tenant_id, selector)):
                return scenario
        return None

    def forced_list(self, selector: str | None) -> list[dict[str, str | None]]:
        return [
            {"tenant": t, "endpoint": e, "scenario": s}
            for t, e, s in self._forced
            if selector is None or t is None or covered(t, selector) or fnmatch.fnmatchcase(selector, t)
        ]

    def advance(self, selector: str | None, seconds: float) -> list[str]:
        """Move the selected tenants' mock clocks; a plain tenant id is created if it is new."""
        if selector is not None and not any(c in selector for c in "*?["):
            self.get(selector)
        moved = []
        for tenant in self.select(selector):
            tenant.clock += seconds
            moved.append(tenant.id)
        return moved

    def journal(
        self, selector: str | None, path: str | None = None, status: str | None = None, since: float | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """The selected tenants' journal entries, oldest first, and how many were dropped."""
        tenants = list(self.select(selector))
        entries = [e for t in tenants for e in t.journal if matches(e, path, status, since)]
        return sorted(entries, key=lambda e: e["id"]), sum(t.dropped for t in tenants)

    def clear_journal(self, selector: str | None) -> None:
        for tenant in self.select(selector):
            tenant.journal.clear()
            tenant.dropped = 0

    def __len__(self) -> int:
        return len(self._tenants)
