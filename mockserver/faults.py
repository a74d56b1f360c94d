"""Fault grammar (`name[;key=value]...`, several joined by `,`) and the fault slot of the pipeline.

This is the slot's first shape: HTTP error faults from the X-Mock-Fault header. The tenant queue,
fixture faults, schedules and stream faults plug in here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from .errors import CODES, SEED_STATUS, DifyError

FAULT_HEADER: Final = "X-Mock-Fault"
ALIASES: Final = {"rate_limit": "rate_limit_exceeded", "outage": "app_unavailable", "bad_key": "invalid_api_key"}
_MOCK_ONLY: Final = frozenset({"mock_invalid_fault", "mock_schema_violation"})
ERROR_PARAMS: Final = frozenset({"status", "message", "retry_after", "code"})


@dataclass(frozen=True, slots=True)
class Fault:
    name: str
    params: dict[str, str] = field(default_factory=dict)
    source: str = "header"

    def journal(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "params": dict(self.params), "after_events": None}


def valid_names() -> list[str]:
    return sorted({*(c for c in CODES if c not in _MOCK_ONLY), *ALIASES, "error"})


def _invalid(message: str) -> DifyError:
    return DifyError("mock_invalid_fault", f"{message}. Valid faults: {', '.join(valid_names())}")


def parse(text: str, source: str = "header") -> list[Fault]:
    faults = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        name, *pairs = [p.strip() for p in item.split(";")]
        params = {}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep or not key.strip():
                raise _invalid(f"bad fault parameter '{pair}' in '{item}' (expected key=value)")
            params[key.strip()] = value.strip()
        if name not in ALIASES and name != "error" and (name not in CODES or name in _MOCK_ONLY):
            raise _invalid(f"unknown fault '{name}'")
        unknown = set(params) - ERROR_PARAMS - ({"code"} if name == "error" else set())
        if unknown or (name != "error" and "code" in params):
            bad = sorted(unknown or {"code"})[0]
            raise _invalid(f"unknown parameter '{bad}' for fault '{name}' (known: message, retry_after, status)")
        faults.append(Fault(name, params, source))
    return faults


def to_error(fault: Fault) -> DifyError:
    """The HTTP error a fault answers: the seed's status for seed codes, Dify's otherwise."""
    code = fault.params.get("code") if fault.name == "error" else ALIASES.get(fault.name, fault.name)
    if not code:
        raise _invalid("fault 'error' needs code=...")
    status_text = fault.params.get("status")
    try:
        status = int(status_text) if status_text else None
        retry_after = int(fault.params["retry_after"]) if "retry_after" in fault.params else None
    except ValueError:
        raise _invalid(f"status and retry_after of fault '{fault.name}' must be integers") from None
    if status is not None and not 400 <= status <= 599:
        raise _invalid(f"status of fault '{fault.name}' must be between 400 and 599")
    if status is None:
        status = CODES[code].status if fault.name == "error" and code in CODES else SEED_STATUS.get(code)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return DifyError(code, fault.params.get("message"), status=status, headers=headers)


def draw(header: str | None) -> Fault | None:
    """The fault for this call, if any. Raises DifyError(mock_invalid_fault) for a bad header."""
    if not header:
        return None
    faults = parse(header)
    for fault in faults:
        to_error(fault)  # validate every parameter before firing any
    return faults[0] if faults else None
