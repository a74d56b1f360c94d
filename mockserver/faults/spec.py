"""The fault grammar shared by X-Mock-Fault, POST /_mock/faults and fixtures: `name[;key=value]...`,
several joined by `,`; in YAML that string, a mapping `{name: ..., key: value}` or a list of them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, Literal

from msgspec import Struct, field

from mockserver.errors import CODES, SEED_STATUS
from mockserver.nearmiss import closest

Kind = Literal[
    "http", "latency", "stream_cut", "stream_error", "stream_malformed", "stream_stall", "dribble", "reset", "empty"
]
SHAPERS: Final = frozenset({"latency", "dribble"})  # shape delivery; combine with any other fault
STREAM_KINDS: Final = frozenset({"stream_cut", "stream_error", "stream_malformed", "stream_stall"})
_MOCK_ONLY: Final = frozenset(c for c in CODES if c.startswith("mock_"))  # the mock's own errors

_HTTP_PARAMS: Final = {"status": "int", "message": "str", "retry_after": "int"}
KIND_PARAMS: Final[dict[str, dict[str, str]]] = {
    "http": _HTTP_PARAMS,
    "error": {**_HTTP_PARAMS, "code": "str"},
    "latency": {"ms": "int", "jitter": "float", "dist": "dist"},
    "stream_cut": {"after": "int", "after_node": "str"},
    "stream_error": {"after": "int", "code": "str", "message": "str", "as": "as"},
    "stream_malformed": {"after": "int", "form": "form"},
    "stream_stall": {"after": "int", "ms": "int", "ping_ms": "int"},
    "dribble": {"bytes": "int", "ms": "int"},
    "reset": {},
    "empty": {},
}
SCHEDULE_PARAMS: Final = {
    "times": "times",
    "skip": "int",
    "every": "int",
    "window": "int_range",
    "during": "range",
    "quota": "int",
    "per": "float",
    "p": "prob",
    "endpoint": "str",
    "clock": "clock",
}
_ENUMS: Final = {
    "dist": ("fixed", "uniform", "lognormal"),
    "form": ("json", "framing"),
    "clock": ("mock", "wall"),
    "as": ("node", "event"),  # stream_error on a workflow or chatflow: a failing node, or a non-graph error
}
_MAX_INT: Final = 1_000_000_000
_HOUR_MS: Final = 3_600_000
# Bounds that keep a fault from hanging or breaking the mock: delays up to an hour, Retry-After up to a day.
_LIMITS: Final = {"ms": _HOUR_MS, "ping_ms": _HOUR_MS, "retry_after": 86_400, "jitter": _HOUR_MS, "status": 599}
_MINIMUMS: Final = {"ping_ms": 10, "bytes": 1}
_RANGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*$")
DEFAULT_ALIASES: Final = {
    "rate_limit": "rate_limit_exceeded",
    "outage": "app_unavailable",
    "bad_key": "invalid_api_key",
}


class FaultSyntaxError(ValueError):
    """A fault the mock cannot apply; answered 400 mock_invalid_fault, or a located load problem."""


# Frozen: one instance is every FaultSpec's default (msgspec shares no mutable struct as a default).
class Schedule(Struct, frozen=True, eq=False):
    """Which calls a fault fires on: its schedule parameters (times, skip, every, window, ...)."""

    times: Final[int | None] = 1  # None: unlimited
    skip: Final[int] = 0
    every: Final[int | None] = None
    window: Final[tuple[int, int] | None] = None
    during: Final[tuple[float, float] | None] = None
    quota: Final[int | None] = None
    per: Final[float | None] = None
    p: Final[float | None] = None
    endpoint: Final[str | None] = None
    clock: Final[str] = "mock"


class FaultSpec(Struct, eq=False):
    """One parsed fault: its kind, parameters and schedule."""

    name: Final[str]  # as written (an alias stays an alias), for the journal
    kind: Final[Kind]
    params: Final[dict[str, Any]] = field(default_factory=dict)
    schedule: Final[Schedule] = Schedule()  # read-only (Final): one default serves all
    code: Final[str | None] = None  # http kinds: the error code answered

    @property
    def shaper(self) -> bool:
        return self.kind in SHAPERS

    def status(self) -> int:
        """The HTTP status of an http fault: `status=`, else the seed's for seed codes, else Dify's."""
        if "status" in self.params:
            return int(self.params["status"])
        assert self.code is not None
        if self.name != "error" and self.code in SEED_STATUS:
            return SEED_STATUS[self.code]
        return CODES[self.code].status if self.code in CODES else 400

    def journal(self, source: str, after_events: int | None = None) -> dict[str, Any]:
        return {"name": self.name, "source": source, "params": dict(self.params), "after_events": after_events}


def valid_names(aliases: Mapping[str, str]) -> list[str]:
    codes = (c for c in CODES if c not in _MOCK_ONLY)
    return sorted({*codes, *aliases, *(k for k in KIND_PARAMS if k != "http")})


def parse(value: Any, aliases: Mapping[str, str] = DEFAULT_ALIASES) -> list[FaultSpec]:
    """Faults from a header/control string, a YAML mapping, or a list of either."""
    if isinstance(value, str):
        return [_one(*_split(item), aliases) for item in value.split(",") if item.strip()]
    if isinstance(value, Mapping):
        if "name" not in value or not isinstance(value["name"], str):
            raise FaultSyntaxError("a fault mapping needs 'name'")
        params = {str(k): v for k, v in value.items() if k != "name"}
        return [_one(value["name"], params, aliases)]
    if isinstance(value, list):
        return [spec for item in value for spec in parse(item, aliases)]
    raise FaultSyntaxError(f"a fault is a string, a mapping or a list, not {type(value).__name__}")


def _split(item: str) -> tuple[str, dict[str, Any]]:
    name, *pairs = [p.strip() for p in item.split(";")]
    params: dict[str, Any] = {}
    for pair in pairs:
        if not pair:
            continue
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise FaultSyntaxError(f"bad fault parameter '{pair}' in '{item.strip()}' (expected key=value)")
        params[key.strip()] = raw.strip()
    return name, params


def _kind_of(name: str) -> tuple[Kind, str | None, str]:
    """(kind, error code, parameter table) of a non-alias fault name."""
    if name == "error":
        return "http", None, "error"
    if name in KIND_PARAMS and name != "http":
        return name, None, name  # type: ignore[return-value]
    if name in CODES and name not in _MOCK_ONLY:
        return "http", name, "http"
    raise KeyError(name)


def _one(
    name: str, params: dict[str, Any], aliases: Mapping[str, str], depth: int = 0, written: str | None = None
) -> FaultSpec:
    """`written` is the name the user typed (an alias), which every message names: the user never
    wrote the fault the alias stands for."""
    name = name.strip()
    shown = written or name
    if name in aliases:
        if depth > 4:
            raise FaultSyntaxError(f"fault alias '{name}' refers to itself")
        # An alias is its target with the caller's parameters laid over the alias's own.
        base_name, base_params = _split(aliases[name])
        spec = _one(base_name, {**base_params, **params}, aliases, depth + 1, shown)
        return FaultSpec(name, spec.kind, spec.params, spec.schedule, spec.code)
    try:
        kind, code, table = _kind_of(name)
    except KeyError:
        raise FaultSyntaxError(_unknown_fault(name, aliases)) from None
    allowed = KIND_PARAMS[table]
    typed: dict[str, Any] = {}
    sched: dict[str, Any] = {}
    for key, raw in params.items():
        if key in allowed:
            typed[key] = _convert(shown, key, allowed[key], raw)
        elif key in SCHEDULE_PARAMS:
            sched[key] = _convert(shown, key, SCHEDULE_PARAMS[key], raw)
        else:
            raise FaultSyntaxError(f"unknown parameter '{key}' for fault '{shown}'{_known_params(key, allowed)}")
    if table == "error":
        code = typed.pop("code", None)
        if not code:
            raise FaultSyntaxError("fault 'error' needs code=... (any Dify error code)")
        if code not in CODES and "status" not in typed:
            raise FaultSyntaxError(f"fault 'error': unknown code '{code}' needs status=...")
    if "status" in typed and not 400 <= typed["status"] <= 599:
        raise FaultSyntaxError(f"status of fault '{shown}' must be between 400 and 599")
    if kind == "stream_error" and typed.get("code", "completion_request_error") in _MOCK_ONLY:
        raise FaultSyntaxError("stream_error takes a Dify error code")
    return FaultSpec(name, kind, typed, _schedule(shown, sched), code)


def _unknown_fault(name: str, aliases: Mapping[str, str]) -> str:
    """The three closest fault names, or all of them when none is close: 60 names hide the near miss."""
    names = valid_names(aliases)
    near = closest(name, names, n=3)
    if near:
        return f"unknown fault '{name}' (did you mean {', '.join(near)}?)"
    return f"unknown fault '{name}'; valid faults: {', '.join(names)}"


def _known_params(key: str, allowed: Mapping[str, str]) -> str:
    known = sorted({*allowed, *SCHEDULE_PARAMS})
    near = closest(key, known)
    return f" (did you mean '{near[0]}'?)" if near else f" (known: {', '.join(known)})"


def _schedule(name: str, raw: dict[str, Any]) -> Schedule:
    if ("quota" in raw) != ("per" in raw):
        raise FaultSyntaxError(f"fault '{name}': quota and per go together (quota=N;per=SECONDS)")
    selective = any(k in raw for k in ("every", "window", "during", "quota", "p"))
    # `times` defaults to 1, except where another schedule already says which calls fail.
    times = raw.get("times", None if selective else 1)
    return Schedule(
        times=None if times == "*" else times,
        skip=raw.get("skip", 0),
        every=raw.get("every"),
        window=raw.get("window"),
        during=raw.get("during"),
        quota=raw.get("quota"),
        per=raw.get("per"),
        p=raw.get("p"),
        endpoint=raw.get("endpoint"),
        clock=raw.get("clock", "mock"),
    )


def _convert(name: str, key: str, kind: str, raw: Any) -> Any:
    text = str(raw).strip() if not isinstance(raw, bool) else str(raw).lower()
    bad = FaultSyntaxError(f"fault '{name}': {key}={raw!r} is not {_DESCRIBE.get(kind, kind)}")
    if kind == "str":
        if not text:
            raise bad
        return text
    if kind in _ENUMS:
        if text not in _ENUMS[kind]:
            raise FaultSyntaxError(f"fault '{name}': {key} must be one of {', '.join(_ENUMS[kind])}")
        return text
    if kind == "times" and text == "*":
        return "*"
    if kind in ("int", "times"):
        if not re.fullmatch(r"\d{1,12}", text) or (kind == "times" and int(text) < 1):
            raise bad
        number = int(text)
        if number > _LIMITS.get(key, _MAX_INT) or number < _MINIMUMS.get(key, 0):
            raise FaultSyntaxError(
                f"fault '{name}': {key}={text} is out of range "
                f"({_MINIMUMS.get(key, 0)} to {_LIMITS.get(key, _MAX_INT)})"
            )
        return number
    if kind in ("float", "prob"):
        try:
            real = float(text)
        except ValueError:
            raise bad from None
        # `not <=` also refuses NaN, which would make every comparison quietly false.
        if not 0 <= real <= (1 if kind == "prob" else _LIMITS.get(key, _MAX_INT)) or (key == "per" and real <= 0):
            raise bad
        return real
    m = _RANGE.match(text)
    if not m or float(m.group(1)) > float(m.group(2)):
        raise bad
    if kind == "int_range":
        if "." in text:
            raise bad
        return int(m.group(1)), int(m.group(2))
    return float(m.group(1)), float(m.group(2))


_DESCRIBE: Final = {
    "int": "a whole number",
    "times": "a whole number >= 1 or *",
    "float": "a number >= 0",
    "prob": "a probability between 0 and 1",
    "int_range": "a range of calls A-B",
    "range": "a range of seconds T1-T2",
    "str": "a non-empty value",
}
