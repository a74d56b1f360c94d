"""The fault slot: faults from the X-Mock-Fault header, the tenant queue and the fixture, by precedence.

`latency` and `dribble` shape delivery and combine with anything; of the others one fires, the
header's before the queue's before the scenario's. The queue is FIFO: the first fault that applies
and whose schedule picks the call fires, while every fault it applies to counts the call."""

from __future__ import annotations

import fnmatch
import itertools
from collections.abc import Iterable, Mapping
from typing import Any, Final

from msgspec import Struct, field
from msgspec.structs import replace

from mockserver.errors import DifyError
from mockserver.faults.schedule import Counter, Verdict, commit, count, remaining
from mockserver.faults.spec import SCHEDULE_PARAMS, STREAM_KINDS, FaultSpec, FaultSyntaxError, parse

FAULT_HEADER: Final = "X-Mock-Fault"


def invalid(exc: FaultSyntaxError) -> DifyError:
    return DifyError("mock_invalid_fault", str(exc))


_PER_REQUEST: Final = frozenset({"p", "endpoint"})


def parse_header(text: str | None, aliases: Mapping[str, str]) -> list[FaultSpec]:
    """X-Mock-Fault: faults for this request only, so schedules that count calls do not apply."""
    if not text:
        return []
    try:
        faults = parse(text, aliases)
    except FaultSyntaxError as exc:
        raise invalid(exc) from None
    for item in text.split(","):
        for pair in item.split(";")[1:]:
            key = pair.partition("=")[0].strip()
            if key in SCHEDULE_PARAMS and key not in _PER_REQUEST:
                raise DifyError(
                    "mock_invalid_fault",
                    f"'{key}' counts calls, and X-Mock-Fault lasts one request: "
                    "queue the fault with POST /_mock/faults (or .fail()) instead",
                )
    return faults


def applies(fault: FaultSpec, endpoint: str, streaming: bool) -> bool:
    """Stream faults only touch streams; `endpoint=` narrows a fault to one endpoint."""
    if fault.kind in STREAM_KINDS and not streaming:
        return False
    return fault.schedule.endpoint is None or fault.schedule.endpoint == endpoint


class Candidate(Struct, eq=False):
    """A fault that would fire on this call; committing it spends one of its `times`."""

    fault: FaultSpec
    source: str  # "header" | "queue" | "scenario"
    counter: Counter
    verdict: Verdict


class Drawn(Struct, eq=False):
    """The faults drawn for one call: the one that answers, and those that shape the delivery."""

    main: Candidate | None = None
    shapers: list[Candidate] = field(default_factory=list)

    def journal(self) -> dict[str, Any] | None:
        chosen = ([self.main] if self.main else []) + self.shapers
        if not chosen:
            return None
        first, *others = chosen
        entry = first.fault.journal(first.source, first.fault.params.get("after"))
        if others:
            entry["with"] = [c.fault.journal(c.source, c.fault.params.get("after")) for c in others]
        return entry

    def retry_after(self) -> int | None:
        if self.main is None:
            return None
        given = self.main.fault.params.get("retry_after")
        if given is not None:
            return int(given)
        # A quota-scheduled 429 tells the client when the window reopens; Dify itself sends none.
        return self.main.verdict.retry_after if self.main.fault.status() == 429 else None


# What a request with no fault to draw from gets; shared, as nothing changes a Drawn after choose().
NOTHING_DRAWN: Final = Drawn()


def choose(candidates: Iterable[Candidate]) -> Drawn:
    """Precedence is the order of `candidates`; commits what fires."""
    drawn = Drawn()
    for candidate in candidates:
        if candidate.fault.shaper:
            drawn.shapers.append(candidate)
        elif drawn.main is None:
            drawn.main = candidate
        else:
            continue
        commit(candidate.counter)
    return drawn


def consider(
    fault: FaultSpec, source: str, counter: Counter, elapsed_s: float, key: tuple[Any, ...]
) -> Candidate | None:
    """Count this call for `fault`; a Candidate when its schedule picks the call."""
    verdict = count(fault.schedule, counter, elapsed_s, key)
    return Candidate(fault, source, counter, verdict) if verdict.fire else None


def header_candidates(faults: list[FaultSpec], endpoint: str, streaming: bool, key: tuple[Any, ...]) -> list[Candidate]:
    # A header fault lives for this request only: a fresh counter, no elapsed time.
    found = (
        consider(f, "header", Counter(), 0.0, (*key, "header", i))
        for i, f in enumerate(faults)
        if applies(f, endpoint, streaming)
    )
    return [c for c in found if c is not None]


class QueueEntry(Struct, eq=False):
    """A fault queued through /_mock/faults, with the tenants it selects and its call counters."""

    id: str
    selector: str | None  # tenant id or glob; None: every tenant, including later ones
    fault: FaultSpec
    text: str
    counters: dict[str, Counter] = field(default_factory=dict)

    def selects(self, tenant: str) -> bool:
        return self.selector is None or fnmatch.fnmatchcase(tenant, self.selector)

    def describe(self, tenants: Iterable[str]) -> dict[str, Any]:
        shown = [t for t in tenants if self.selects(t)]
        return {
            "id": self.id,
            "fault": self.text,
            "tenant": self.selector,
            "endpoint": self.fault.schedule.endpoint,
            "remaining": {t: remaining(self.fault.schedule, self.counters.get(t)) for t in shown},
            "fired": {t: c.fired for t, c in self.counters.items() if t in shown},
        }


class FaultQueue:
    """Faults queued through POST /_mock/faults (and the pytest handle), per tenant selector."""

    def __init__(self) -> None:
        self.entries: list[QueueEntry] = []
        self._ids = itertools.count(1)

    def add(
        self,
        text: str,
        selector: str | None,
        aliases: Mapping[str, str],
        endpoint: str | None,
        endpoints: Iterable[str],
    ) -> list[str]:
        try:
            faults = parse(text, aliases)
        except FaultSyntaxError as exc:
            raise invalid(exc) from None
        if not faults:
            raise DifyError("mock_invalid_fault", "no fault given")
        faults = [_narrowed(f, endpoint) if endpoint is not None else f for f in faults]
        known = set(endpoints)
        for fault in faults:
            if fault.schedule.endpoint is not None and fault.schedule.endpoint not in known:
                raise DifyError(
                    "mock_invalid_fault",
                    f"unknown endpoint '{fault.schedule.endpoint}' (see `dify-mockserver lint --list`)",
                )
        ids = []
        for fault in faults:
            entry = QueueEntry(f"f{next(self._ids)}", selector, fault, text)
            self.entries.append(entry)
            ids.append(entry.id)
        return ids

    def candidates(
        self, tenant: str, endpoint: str, streaming: bool, elapsed: tuple[float, float], key: tuple[Any, ...]
    ) -> list[Candidate]:
        """Every queued fault that applies counts the call; those whose schedule picks it are returned."""
        out = []
        for entry in self.entries:
            if not entry.selects(tenant) or not applies(entry.fault, endpoint, streaming):
                continue
            counter = entry.counters.setdefault(tenant, Counter())
            since = elapsed[1] if entry.fault.schedule.clock == "wall" else elapsed[0]
            # Keyed by what the fault is, never by its queue id, which counts every tenant's faults.
            candidate = consider(entry.fault, "queue", counter, since, (*key, "queue", entry.text, entry.fault.name))
            if candidate is not None:
                out.append(candidate)
        return out

    def clear(self, selector: str | None) -> int:
        """Remove the faults queued for `selector` (all when None). Faults that stay keep their counts."""
        before = len(self.entries)
        if selector is None:
            self.entries.clear()
            return before
        self.entries = [e for e in self.entries if not covered(e.selector, selector)]
        return before - len(self.entries)

    def drop_tenant(self, tenant: str) -> None:
        for entry in self.entries:
            entry.counters.pop(tenant, None)

    def forget(self, selector: str | None) -> None:
        for entry in self.entries:
            for tenant in [t for t in entry.counters if selector is None or fnmatch.fnmatchcase(t, selector)]:
                del entry.counters[tenant]


def covered(entry_selector: str | None, selector: str) -> bool:
    """Whether state kept for `entry_selector` belongs to what `selector` names."""
    if entry_selector is None:
        return False  # what was set for every tenant is cleared only without a selector
    return entry_selector == selector or fnmatch.fnmatchcase(entry_selector, selector)


def _narrowed(fault: FaultSpec, endpoint: str) -> FaultSpec:
    return replace(fault, schedule=replace(fault.schedule, endpoint=endpoint))
