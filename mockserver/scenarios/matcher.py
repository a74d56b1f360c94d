"""select(): X-Mock-Scenario > forced for the tenant > first matching ad-hoc or fixture rule > default.

Also the per-scope cursors of `times` and `sequence`, and the fixture faults of the scenario: they
count the calls that satisfy its `match`; a fault-only scenario is chosen only on the calls its
fault fires on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from msgspec import Struct, field

from mockserver.dify import versions
from mockserver.faults.draw import Candidate, applies, consider
from mockserver.faults.schedule import Counter, Verdict
from mockserver.scenarios.model import ANY, Fixture, Predicate, Respond, Scenario
from mockserver.tenancy import Scope
from mockserver.validation import Call


class Selection(Struct, eq=False):
    """The scenario a call matched, what it answers and the fixture faults that would fire."""

    scenario: Scenario
    respond: Respond | None  # what to answer: the scenario's, or its sequence item's
    faults: list[Candidate] = field(default_factory=list)  # fixture faults that would fire


def select(
    fixture: Fixture,
    call: Call,
    scope: Scope,
    requested: str | None,
    forced: str | None,
    adhoc: Sequence[Scenario] = (),
) -> Selection:
    """`adhoc` scenarios (POST /_mock/scenarios, handle.stub) are tried before the fixture's own."""
    for name in (requested, forced):
        if name:
            named = next((s for s in adhoc if s.name == name), None) or fixture.named(name)
            if named is not None:
                return _chosen(fixture, named, call, scope)
    if adhoc or not fixture.fixed_choice:
        return _selected(fixture, call, scope, adhoc)
    # The same choice for every request of this app: remembered (a Selection is only read).
    chosen = _remembered(fixture.chosen_for, call)
    if chosen is _UNKNOWN:
        chosen = _remember(fixture.chosen_for, call, _selected(fixture, call, scope, adhoc))
    return chosen  # type: ignore[no-any-return]


def _selected(fixture: Fixture, call: Call, scope: Scope, adhoc: Sequence[Scenario]) -> Selection:
    """The first rule that holds and is taken, else the default."""
    roots = _Roots(call)
    for scenario in (*adhoc, *fixture.rules) if adhoc else fixture.rules:
        if scenario.match and not _holds_for(scenario, call, roots):
            continue
        if scenario.times is not None and scope.cursors.get((fixture.endpoint, scenario.name), 0) >= scenario.times:
            continue
        selection = _take(fixture, scenario, call, scope, forced=False)
        if selection is not None:
            return selection
    return _chosen(fixture, fixture.default, call, scope)


def _chosen(fixture: Fixture, scenario: Scenario, call: Call, scope: Scope) -> Selection:
    """A scenario picked by name (or the default): taken even when it only has a fault that does not fire."""
    selection = _take(fixture, scenario, call, scope, forced=True)
    assert selection is not None
    return selection


def _take(fixture: Fixture, scenario: Scenario, call: Call, scope: Scope, *, forced: bool) -> Selection | None:
    """The Selection for `scenario`, or None when it is a fault-only rule whose fault does not fire."""
    endpoint = fixture.endpoint
    fired = _fixture_faults(endpoint, scenario, call, scope) if scenario.faults else []
    # A scenario of directives alone (`indexing`) answers with the default's respond block; it is no fault rule.
    fault_only = scenario.respond is None and scenario.sequence is None and not scenario.directives
    if fault_only and not fired and not forced:
        return None
    if scenario.times is not None:
        used = (endpoint, scenario.name)
        scope.cursors[used] = scope.cursors.get(used, 0) + 1
    respond = scenario.respond
    if scenario.sequence:
        turns = (endpoint, f"{scenario.name}#sequence")
        turn = scope.cursors.get(turns, 0)
        scope.cursors[turns] = turn + 1
        size = len(scenario.sequence)
        item = scenario.sequence[turn % size if scenario.cycle else min(turn, size - 1)]
        respond = item.respond or respond
        # A sequence item's faults fire whenever the item comes up.
        fired.extend(
            Candidate(f, "scenario", Counter(), Verdict(True))
            for f in item.faults
            if applies(f, endpoint, call.streaming)
        )
    if respond is None:
        respond = fixture.default.respond
    return Selection(scenario, respond, fired)


def _fixture_faults(endpoint: str, scenario: Scenario, call: Call, scope: Scope) -> list[Candidate]:
    found = (
        consider(
            fault,
            "scenario",
            scope.fault_counters.setdefault((endpoint, scenario.name, i), Counter()),
            scope.elapsed(fault.schedule.clock),
            (*scope.key, endpoint, scenario.name, i),
        )
        for i, fault in enumerate(scenario.faults)
        if applies(fault, endpoint, call.streaming)
    )
    return [c for c in found if c is not None]


class _Roots:
    """The roots of `match` (the request view's keys, `app`, `dify`), each made when a predicate first
    reads it: most rules test `app.mode` alone and never need the request's view."""

    __slots__ = ("_call", "_parts")

    def __init__(self, call: Call) -> None:
        self._call = call
        self._parts: dict[Any, Any] = {}

    def get(self, name: Any) -> Any:
        call = self._call
        if name == "app":
            return call.app.root_for(call.release) if call.app is not None else {}
        if name == "dify":
            return call.release.root
        parts = self._parts
        if name not in parts:
            parts[name] = call.part(name)
        return parts[name]


def _resolve(value: Any, path: tuple[str | int, ...]) -> list[Any]:
    """Every value at `path` (several where `[*]` fans out); a missing step gives None."""
    if not path:
        return [value]
    step, rest = path[0], path[1:]
    if step == ANY:
        if not isinstance(value, list) or not value:
            return [None]
        return [v for item in value for v in _resolve(item, rest)]
    if isinstance(value, dict) and isinstance(step, str):
        return _resolve(value.get(step), rest)
    if isinstance(value, list) and isinstance(step, int) and -len(value) <= step < len(value):
        return _resolve(value[step], rest)
    return [None]


def _holds_for(scenario: Scenario, call: Call, roots: _Roots) -> bool:
    """_all_hold, remembered for a match that reads only the app and the release (`app.mode`)."""
    if not scenario.static_match:
        return _all_hold(scenario.match, roots)
    held = _remembered(scenario.held_for, call)
    if held is _UNKNOWN:
        held = _remember(scenario.held_for, call, _all_hold(scenario.match, roots))
    return bool(held)


# A memo per app and release: (id(app), release) -> (app, value). It holds the app, so its id is not
# reused while remembered, and it goes with its scenario or fixture on a reload.
Memo = dict[tuple[int, str], tuple[Any, Any]]
_UNKNOWN: Any = object()


def _remembered(memo: Memo, call: Call) -> Any:
    known = memo.get((id(call.app), call.release.name))
    return known[1] if known is not None and known[0] is call.app else _UNKNOWN


def _remember(memo: Memo, call: Call, value: Any) -> Any:
    memo[(id(call.app), call.release.name)] = (call.app, value)
    return value


def _all_hold(match: Sequence[Predicate], roots: _Roots) -> bool:
    for p in match:  # noqa: SIM110 - all() of a generator costs one generator per rule and request
        if not holds(p, roots):
            return False
    return True


def holds(p: Predicate, roots: _Roots | dict[str, Any]) -> bool:
    path = p.path
    if not path:
        values = [roots]
    else:
        head = roots.get(path[0]) if isinstance(path[0], str) else None
        if ANY not in path:  # one value at most: no fan-out to walk
            value = head
            for step in path[1:]:
                if isinstance(value, dict) and isinstance(step, str):
                    value = value.get(step)
                elif isinstance(value, list) and isinstance(step, int) and -len(value) <= step < len(value):
                    value = value[step]
                else:
                    value = None
                    break
            return _test(p, value) != p.negate
        values = _resolve(head, path[1:])
    result = any(_test(p, v) for v in values)
    return result != p.negate


def _test(p: Predicate, value: Any) -> bool:
    op, operand = p.op, p.operand
    if op == "eq":
        return bool(value == operand)
    if op == "exists":
        return (value is not None) == bool(operand)
    if op == "in":
        return value in operand
    if op == "version":
        return isinstance(value, str) and versions.compare(value, operand)
    if op == "contains":
        if isinstance(value, str):
            return str(operand) in value
        return isinstance(value, list | dict) and operand in value
    if op == "regex":
        return isinstance(value, str) and p.pattern is not None and p.pattern.search(value) is not None
    if op == "startswith":
        return isinstance(value, str) and value.startswith(str(operand))
    number = _as_number(value)
    if number is None:
        return False
    if op == "gt":
        return bool(number > operand)
    if op == "ge":
        return bool(number >= operand)
    if op == "lt":
        return bool(number < operand)
    return bool(number <= operand)


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
