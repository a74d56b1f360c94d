"""When a fault fires: its schedule over the tenant's calls that it applies to, counted per tenant."""

from __future__ import annotations

import math
from typing import Final

from msgspec import Struct

from mockserver.determinism import derive_random
from mockserver.faults.spec import Schedule


class Counter(Struct, eq=False):
    """One fault's counters for one tenant."""

    calls: int = 0  # calls the fault applied to
    fired: int = 0
    window_index: int = -1  # quota: the current `per` window since the tenant's first call
    window_calls: int = 0


# Made and read within one request: read-only by type (Final), which mypy enforces.
class Verdict(Struct, eq=False):
    """Whether a fault fires on this call, and a quota's Retry-After."""

    fire: Final[bool]
    retry_after: Final[int | None] = None  # a quota's seconds left in its window


def count(schedule: Schedule, counter: Counter, elapsed_s: float, key: tuple[object, ...]) -> Verdict:
    """Count one applicable call and decide whether the fault would fire on it; `commit` makes it so.

    `elapsed_s` is the time since the tenant's first call on the schedule's clock; `key` seeds `p`.
    """
    counter.calls += 1
    k = counter.calls
    retry_after = None
    quota_exceeded = True
    if schedule.quota is not None and schedule.per is not None:
        index = int(elapsed_s // schedule.per)
        if index != counter.window_index:
            counter.window_index, counter.window_calls = index, 0
        counter.window_calls += 1
        quota_exceeded = counter.window_calls > schedule.quota
        retry_after = max(1, math.ceil((index + 1) * schedule.per - elapsed_s))
    fire = (
        quota_exceeded
        and (schedule.times is None or counter.fired < schedule.times)
        and k > schedule.skip
        and (schedule.every is None or (k - schedule.skip) % schedule.every == 0)
        and (schedule.window is None or schedule.window[0] <= k <= schedule.window[1])
        and (schedule.during is None or schedule.during[0] <= elapsed_s <= schedule.during[1])
        and (schedule.p is None or derive_random((*key, k)).random() < schedule.p)
    )
    return Verdict(fire, retry_after if fire else None)


def commit(counter: Counter) -> None:
    counter.fired += 1


def remaining(schedule: Schedule, counter: Counter | None) -> int | None:
    """How many more times the fault may fire for a tenant; None when unlimited."""
    if schedule.times is None:
        return None
    return max(0, schedule.times - (counter.fired if counter else 0))
