"""What a fixture may write: known event names and each event's own keys (read from
schemas/_shared/events.json), the keys of a generate endpoint's blocking body, and near misses of
known keys; envelope keys are the mock's to set."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Final

from msgspec import Struct

from mockserver.nearmiss import close_matches
from mockserver.nearmiss import suggest as did_you_mean

ENVELOPE_KEYS: Final = frozenset({"conversation_id", "message_id", "created_at", "task_id", "workflow_run_id"})
RESERVED: Final = frozenset({"event", "split", "delay_ms"})


class EventVocabulary(Struct, eq=False):
    """The stream events a fixture may write, and the fields each may set."""

    fields: Final[dict[str, frozenset[str]]]  # event name -> keys a fixture may set

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


class BlockingKeys(Struct, eq=False):
    """The keys a generate endpoint's `blocking:` may set: what render/endings.py reads from it
    (everything else of Dify's blocking body is envelope), and under `data` for a workflow."""

    family: Final[str]
    keys: Final[frozenset[str]]
    data: Final[frozenset[str]] = frozenset()

    def problems(self, body: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
        """(key path inside the body, message) for each key the mock would silently ignore."""
        out: list[tuple[tuple[str, ...], str]] = []
        for key, value in body.items():  # in file order
            if key not in self.keys:
                out.append(((key,), self._unknown(key, self.keys, "a blocking body")))
            elif key == "data" and self.data and isinstance(value, dict):
                for sub in value:
                    if sub not in self.data:
                        out.append((("data", sub), self._unknown(sub, self.data, "a blocking body's data")))
        return out

    @staticmethod
    def _unknown(key: str, allowed: frozenset[str], where: str) -> str:
        if key in ENVELOPE_KEYS | _BLOCKING_ENVELOPE:
            return f"'{key}' is an envelope key: the mock sets it"
        return f"unknown key '{key}' in {where}{did_you_mean(key, allowed)}"


# Set by the envelope in a blocking body besides the stream's envelope keys (REFERENCE §3.7).
_BLOCKING_ENVELOPE: Final = frozenset({"event", "id", "mode"})
_WORKFLOW_DATA: Final = frozenset(
    {
        "id",
        "workflow_id",
        "status",
        "outputs",
        "error",
        "elapsed_time",
        "total_tokens",
        "total_steps",
        "created_at",
        "finished_at",
    }
)
# By the `$defs.response` a generate endpoint's schema refers to (schemas/_shared/responses.json).
BLOCKING: Final[dict[str, BlockingKeys]] = {
    "chat_blocking": BlockingKeys("chat", frozenset({"answer", "metadata"})),
    "completion_blocking": BlockingKeys("completion", frozenset({"answer", "metadata"})),
    "workflow_blocking": BlockingKeys("workflow", frozenset({"data"}), _WORKFLOW_DATA),
}


def blocking_keys(response: str, schema: dict[str, Any] | None) -> BlockingKeys | None:
    """What a generate endpoint's blocking body may hold, from its response schema's `$ref`;
    None for other endpoints (their blocking body is the whole response, checked by its schema)."""
    if response != "generate" or schema is None:
        return None
    ref = str(schema.get("$ref", ""))
    return BLOCKING.get(ref.rpartition("/")[2])


def near_miss(word: str, options: Collection[str]) -> str | None:
    """The known word `word` is a typo of, strictly (ratio 0.8, or two letters swapped), for places
    where unknown words are otherwise allowed: a custom field must not be reported as a typo."""
    ordered = sorted(options)
    close = close_matches(word, ordered, cutoff=0.8)
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
