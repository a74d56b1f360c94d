"""select(): X-Mock-Scenario > forced for the tenant > first matching rule > default; `times` cursors."""

from __future__ import annotations

from typing import Any

from mockserver.tenancy import Tenant
from mockserver.validation import Call

from .model import ANY, Fixture, Predicate, Scenario

_MISSING = object()


def select(fixture: Fixture, call: Call, tenant: Tenant, requested: str | None) -> tuple[Scenario, bool]:
    """The scenario for this call, and whether a requested name was unknown (journal `unmatched`)."""
    if requested:
        named = fixture.named(requested)
        if named is not None:
            return named, False
    forced = tenant.forced.get(fixture.endpoint)
    if forced:
        named = fixture.named(forced)
        if named is not None:
            return named, False
    roots = _roots(call)
    for scenario in fixture.rules:
        if scenario.match and not all(holds(p, roots) for p in scenario.match):
            continue
        if not scenario.match and scenario.respond is None:
            continue  # a fault-only rule without `match` fires through the fault slot, not here
        if scenario.times is not None:
            key = (fixture.endpoint, scenario.name)
            used = tenant.cursors.get(key, 0)
            if used >= scenario.times:
                continue
            tenant.cursors[key] = used + 1
        return scenario, False
    return fixture.default, bool(requested)


def _roots(call: Call) -> dict[str, Any]:
    view = call.view()
    view["app"] = call.app.as_template_root() if call.app is not None else {}
    return view


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


def holds(p: Predicate, roots: dict[str, Any]) -> bool:
    result = any(_test(p, v) for v in _resolve(roots, p.path))
    return result != p.negate


def _test(p: Predicate, value: Any) -> bool:
    op, operand = p.op, p.operand
    if op == "eq":
        return bool(value == operand)
    if op == "exists":
        return (value is not None) == bool(operand)
    if op == "in":
        return value in operand
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
