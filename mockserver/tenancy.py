"""Tenants (X-Mock-Session, else the shared `default` workspace), their per-app scopes, and the TenantRegistry."""

from __future__ import annotations

import fnmatch
import itertools
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

from msgspec import Struct, field

from mockserver.faults.draw import FaultQueue, covered
from mockserver.faults.schedule import Counter
from mockserver.state.journal import Kept, kept, matches, shown
from mockserver.state.store import Store, StoreLimits

if TYPE_CHECKING:
    from mockserver.scenarios.model import Scenario

log = logging.getLogger("mockserver.tenancy")

SESSION_HEADER = "X-Mock-Session"


DEFAULT_TENANT: Final = "default"  # every credential without X-Mock-Session: one shared workspace
UNAUTHENTICATED: Final = "-"  # refused credentials without X-Mock-Session


def tenant_id(session: str | None) -> str:
    return f"s:{session}" if session else DEFAULT_TENANT


class Scope(Struct, eq=False):
    """What one app (or dataset) owns inside a tenant: its call counters, mock clock, scenario
    cursors and fixture-fault counters. Scopes never share them, so requests to one app never
    change another app's answers, however the two interleave in the tenant."""

    id: str
    clock: float
    key: tuple[Any, ...] = ()  # (seed, tenant, scope): what the scope's seeded draws start from
    counters: dict[str, int] = field(default_factory=dict)  # per endpoint: n of the next admitted call
    cursors: dict[tuple[str, str], int] = field(default_factory=dict)  # (endpoint, scenario) -> matches
    fault_counters: dict[tuple[str, str, int], Counter] = field(default_factory=dict)  # fixture faults
    now: float = 0.0  # mock time of the call being served
    first_call: float | None = None  # mock time of the scope's first admitted call
    first_wall: float | None = None  # monotonic wall time of it, for `clock=wall` schedules

    def admit(self, endpoint: str, clock_step: float) -> tuple[int, int]:
        """Assign this call its per-endpoint `n` and its mock time, then step the clock."""
        n = self.counters.get(endpoint, 0)
        self.counters[endpoint] = n + 1
        now = int(self.clock)
        self.now = self.clock
        if self.first_call is None:
            self.first_call, self.first_wall = self.clock, time.monotonic()
        self.clock += clock_step
        return n, now

    def elapsed(self, clock: str) -> float:
        """Seconds since the scope's first call, on the mock clock (default) or the wall clock."""
        if self.first_call is None or self.first_wall is None:
            return 0.0
        if clock == "wall":
            return time.monotonic() - self.first_wall
        return max(0.0, self.now - self.first_call)


class Tenant(Struct, weakref=True, eq=False):  # weak: an in-flight stream's (pipeline.handle)
    """Everything one tenant owns; catalogue, book, apps and settings are shared and read-only."""

    id: str
    seed: int
    clock_start: int
    journal_size: int
    # Made at the tenant's first entry: a stream in flight keeps its tenant alive, journal still empty.
    # Each entry as journal.kept() keeps it; `journal` shows them.
    recorded: deque[Kept] | tuple[()] = ()
    advanced: float = 0.0  # seconds POST /_mock/clock moved this tenant (every scope, later ones too)
    scopes: dict[str, Scope] = field(default_factory=dict)
    state: Store = field(default_factory=Store)
    dropped: int = 0  # journal entries dropped because the journal was full
    # Derived ids asked for again and again (an app's end user by `user` string): a bounded memo
    memo: dict[tuple[str, ...], str] = field(default_factory=dict)

    def scope(self, scope_id: str) -> Scope:
        scope = self.scopes.get(scope_id)
        if scope is None:
            clock = float(self.clock_start) + self.advanced
            scope = self.scopes[scope_id] = Scope(scope_id, clock, (self.seed, self.id, scope_id))
        return scope

    def advance(self, seconds: float) -> None:
        self.advanced += seconds
        for scope in self.scopes.values():
            scope.clock += seconds

    def clock(self) -> dict[str, Any]:
        """What GET /_mock/clock shows: the offset, where a new scope starts, each scope's next mock time."""
        return {
            "tenant": self.id,
            "advanced": self.advanced,
            "start": self.clock_start + self.advanced,
            "next": {s.id: s.clock for s in self.scopes.values()},
        }

    def record(self, entry: dict[str, Any]) -> None:
        journal = self.recorded
        if not isinstance(journal, deque):
            journal = self.recorded = deque(maxlen=self.journal_size)
        if journal.maxlen is not None and len(journal) == journal.maxlen:
            self.dropped += 1
        journal.append(kept(entry))

    @property
    def journal(self) -> list[dict[str, Any]]:
        """The tenant's journal entries, oldest first."""
        return [shown(item) for item in self.recorded]


class TenantRegistry:
    """Tenants by id, created on first use, least recently used dropped beyond `max_tenants`."""

    def __init__(
        self, seed: int, clock_start: int, journal_size: int, max_tenants: int, limits: StoreLimits | None = None
    ) -> None:
        self.limits = limits or StoreLimits()
        self.default_seed = seed
        self.clock_start = clock_start
        self.journal_size = journal_size
        self.max_tenants = max_tenants
        self._tenants: OrderedDict[str, Tenant] = OrderedDict()
        self._seeds: dict[str, int] = {}  # seeds set by POST /_mock/reset for one selector
        self.queue = FaultQueue()
        self._forced: list[tuple[str | None, str, str]] = []  # (selector, endpoint, scenario)
        self._adhoc: list[tuple[str | None, str, Scenario]] = []  # POST /_mock/scenarios, handle.stub
        self._stub_names = itertools.count(1)

    def get(self, tenant_id: str) -> Tenant:
        tenant = self._tenants.get(tenant_id)
        if tenant is not None:
            self._tenants.move_to_end(tenant_id)
            return tenant
        tenant = Tenant(
            tenant_id,
            self._seed_for(tenant_id),
            self.clock_start,
            self.journal_size,
            state=Store(self.limits),
        )
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
        self.drop_forced(selector)
        self.drop_adhoc(selector)
        return len(doomed)

    def add_adhoc(self, selector: str | None, endpoint: str, scenario: Scenario) -> None:
        """An ad-hoc scenario for the selected tenants; one of the same name and selector is replaced."""
        self._adhoc = [a for a in self._adhoc if (a[0], a[1], a[2].name) != (selector, endpoint, scenario.name)]
        self._adhoc.append((selector, endpoint, scenario))

    def next_stub_name(self) -> str:
        """A name for a stub posted without one: unique, so two unnamed stubs never replace each other."""
        return f"stub-{next(self._stub_names)}"

    def drop_adhoc(self, selector: str | None) -> int:
        before = len(self._adhoc)
        self._adhoc = [a for a in self._adhoc if selector is not None and not covered(a[0], selector)]
        return before - len(self._adhoc)

    def adhoc(self, tenant_id: str, endpoint: str) -> list[Scenario]:
        """The tenant's ad-hoc scenarios of `endpoint`, newest first (a later stub wins)."""
        if not self._adhoc:
            return []
        return [
            scenario
            for selector, on, scenario in reversed(self._adhoc)
            if on == endpoint and (selector is None or fnmatch.fnmatchcase(tenant_id, selector))
        ]

    def adhoc_list(self, selector: str | None) -> list[dict[str, Any]]:
        return [
            {"tenant": t, "endpoint": e, "scenario": s.name, "times": s.times}
            for t, e, s in self._adhoc
            if selector is None or t is None or covered(t, selector) or fnmatch.fnmatchcase(selector, t)
        ]

    def force(self, selector: str | None, endpoint: str, scenario: str | None) -> None:
        """Force `scenario` on `endpoint` for the selected tenants (later ones too); None lifts it."""
        self._forced = [f for f in self._forced if (f[0], f[1]) != (selector, endpoint)]
        if scenario is not None:
            self._forced.append((selector, endpoint, scenario))

    def drop_forced(self, selector: str | None) -> int:
        """Lift the forcings set for `selector` (all when None); returns how many went."""
        before = len(self._forced)
        self._forced = [f for f in self._forced if selector is not None and not covered(f[0], selector)]
        return before - len(self._forced)

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
            tenant.advance(seconds)
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
            tenant.recorded = ()
            tenant.dropped = 0

    def __len__(self) -> int:
        return len(self._tenants)
