"""What a fixture may write: known event names and each event's own keys (read from
schemas/_shared/events.json), and near misses of known keys; envelope keys are the mock's to set."""

from __future__ import annotations

import difflib
from collections.abc import Collection
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


def near_miss(word: str, options: Collection[str]) -> str | None:
    """The known word `word` is a typo of, strictly (ratio 0.8, or two letters swapped), for places
    where unknown words are otherwise allowed: a custom field must not be reported as a typo."""
    ordered = sorted(options)
    close = difflib.get_close_matches(word, ordered, n=1, cutoff=0.8)
    if close:
        return close[0]
    return next((option for option in ordered if _swapped(word, option)), None)


def _swapped(word: str, option: str) -> bool:
    """Two neighbouring letters swapped (`nmae` for `name`): difflib rates that low in short words."""
    if len(word) != len(option) or len(word) < 3:
        return False
    diff = [i for i, (a, b) in enumerate(zip(word, option, strict=True)) if a != b]
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and (word[diff[0]], word[diff[1]]) == (option[diff[1]], option[diff[0]])
    )


def did_you_mean(word: str, options: Any) -> str:
    """` (did you mean 'x'?)` for a near miss, else ` (known: ...)` for a short list, else ``."""
    ordered = sorted(options)
    close = difflib.get_close_matches(word, ordered, n=1)
    if close:
        return f" (did you mean '{close[0]}'?)"
    return f" (known: {', '.join(ordered)})" if len(ordered) <= 12 else ""
