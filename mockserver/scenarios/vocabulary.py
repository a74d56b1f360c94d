"""What a fixture may write in a stream event: known event names and each event's own keys,
read from schemas/_shared/events.json; envelope keys are the mock's to set."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Final

ENVELOPE_KEYS: Final = frozenset({"conversation_id", "message_id", "created_at", "task_id", "workflow_run_id"})
RESERVED: Final = frozenset({"event", "split", "delay_ms"})


@dataclass(frozen=True, slots=True)
class EventVocabulary:
    fields: dict[str, frozenset[str]]  # event name -> keys a fixture may set

    @classmethod
    def from_schema(cls, events_schema: dict[str, Any] | None) -> EventVocabulary:
        defs = (events_schema or {}).get("$defs", {})
        names = defs.get("event_name", {}).get("enum") or [k for k in defs if k.islower() and "_" not in k]
        fields = {}
        for name in names:
            own = set((defs.get(name) or {}).get("properties", {})) - {"event"}
            fields[name] = frozenset(own - ENVELOPE_KEYS)
        if fields:
            fields["ping"] = frozenset()  # `{event: ping}` writes a literal keep-alive
        return cls(fields)

    def problems(self, event: dict[str, Any]) -> list[tuple[str | None, str]]:
        """(offending key or None for the event itself, message) for each problem of one fixture event."""
        name = event.get("event")
        if self.fields and name not in self.fields:
            return [(None, f"unknown event '{name}'{did_you_mean(str(name), self.fields)}")]
        out: list[tuple[str | None, str]] = []
        allowed = self.fields.get(str(name), frozenset())
        for key in event:
            if key in RESERVED:
                continue
            if key in ENVELOPE_KEYS:
                out.append((key, f"'{key}' is an envelope key: the mock sets it"))
            elif allowed and key not in allowed:
                out.append((key, f"unknown key '{key}' in a {name} event{did_you_mean(key, allowed)}"))
        return out


def did_you_mean(word: str, options: Any) -> str:
    """` (did you mean 'x'?)` for a near miss, else ` (known: ...)` for a short list, else ``."""
    ordered = sorted(options)
    close = difflib.get_close_matches(word, ordered, n=1)
    if close:
        return f" (did you mean '{close[0]}'?)"
    return f" (known: {', '.join(ordered)})" if len(ordered) <= 12 else ""
