"""The compiled scenario language: Predicate, Timing, EventTemplate, Respond, Scenario, Fixture, Book."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, Literal, NamedTuple

from msgspec import Struct, field
from msgspec.structs import force_setattr

from mockserver.dify.apps import AppsBook
from mockserver.dify.events import REPLY_EVENTS
from mockserver.faults.spec import FaultSpec
from mockserver.scenarios.template import Template

Op = Literal["eq", "contains", "in", "regex", "startswith", "exists", "gt", "ge", "lt", "le", "version"]
OPS: tuple[Op, ...] = ("eq", "contains", "in", "regex", "startswith", "exists", "gt", "ge", "lt", "le")
ROOTS = frozenset({"method", "path", "query", "headers", "body", "app", "dify"})
VERSION_PATH = ("dify", "version")  # compared as a release (`>=1.14`), never as text
ANY = "*"  # `[*]` in a field path: any element


class Predicate(Struct, eq=False):
    """One condition of a scenario's `match`: a path into the request, an operator and its operand."""

    path: Final[tuple[str | int, ...]]  # ("body", "files", "*", "type"); compiled at load
    op: Final[Op]
    operand: Final[Any]
    negate: Final[bool] = False
    pattern: Final[re.Pattern[str] | None] = None  # compiled `regex`


# Frozen: one instance is every Scenario's default (msgspec shares no mutable struct as a default).
class Timing(Struct, frozen=True, eq=False):
    """A stream's pacing: the first event's delay, the interval between events and their jitter."""

    first_event_ms: Final[float] = 0.0  # after the response head
    interval_ms: Final[float] = 0.0  # between events
    jitter_ms: Final[float] = 0.0  # uniform, seeded, added to each interval (floored at 0)

    def schedule(self, delays: list[Any], draws: Any) -> list[float]:
        """Scheduled ms of each event since the first one's start; an event's own delay (ms) wins over
        the spacing. The jitter is seeded from the request's draws, so bytes never vary."""
        rng = draws.random("timing")
        times, t = [], 0.0
        for i, delay in enumerate(delays):
            if delay is not None:
                step = float(delay)
            else:
                base = self.first_event_ms if i == 0 else self.interval_ms
                jitter = rng.uniform(-self.jitter_ms, self.jitter_ms) if self.jitter_ms else 0.0
                step = max(0.0, base + jitter)
            t += step
            times.append(round(t, 3))
        return times

    def over(self, raw: dict[str, Any] | None) -> Timing:
        if not raw:
            return self
        return Timing(
            float(raw.get("first_event_ms", self.first_event_ms)),
            float(raw.get("interval_ms", self.interval_ms)),
            float(raw.get("jitter_ms", self.jitter_ms)),
        )


Split = Literal["words", "chars"] | int | None


class EventTemplate(Struct, eq=False):
    """One event of a scenario's stream: its name, its fields' template, and how it splits."""

    event: Final[str]
    fields: Final[Template]  # the event's own fields in fixture order, minus `event`, `split`, `delay_ms`
    split: Final[Split] = None
    delay_ms: Final[float | None] = None


class Reply(NamedTuple):
    """What a blocking chat or completion keeps of its events: the answer, and the first message_end's
    metadata (`ended`: there was one)."""

    answer: str
    end: Any
    ended: bool


class Folded(Struct, eq=False):
    """A stream that folds to its answer alone: answer events whose other fields are constant, and
    constant message_ends that do not split. Its blocking answer renders only the answers' templates;
    the rest, constant, could neither vary nor find nothing."""

    answers: Final[tuple[str | Template, ...]]  # each answer event's text, or its `answer` template
    end: Final[Any]
    ended: Final[bool]
    only: Final[Template | None] = None  # the one answer, a template (the usual: no join)

    def __post_init__(self) -> None:
        answers = self.answers
        force_setattr(self, "only", answers[0] if len(answers) == 1 and not isinstance(answers[0], str) else None)

    def render(self, ctx: Any) -> Reply:
        # str() of each rendered answer, as the events' fold reads them (a null answer is "None").
        if self.only is not None:
            return Reply(str(self.only.render(ctx)), self.end, self.ended)
        text = "".join(a if isinstance(a, str) else str(a.render(ctx)) for a in self.answers)
        return Reply(text, self.end, self.ended)


def _folded(events: tuple[EventTemplate, ...]) -> Folded | None:
    answers: list[str | Template] = []
    end, ended = None, False
    for e in events:
        fields = e.fields
        if e.event in REPLY_EVENTS and fields.constant:
            answers.append(str(fields.value().get("answer", "")))
        elif e.event in REPLY_EVENTS and fields.parts is not None:
            if not all(t.constant for k, t in fields.parts.items() if k != "answer"):
                return None
            answer = fields.parts.get("answer")
            answers.append("" if answer is None else str(answer.value()) if answer.constant else answer)
        elif e.event == "message_end" and not e.split and fields.constant:
            if not ended:
                end, ended = fields.value().get("metadata"), True
        else:
            return None
    return Folded(tuple(answers), end, ended)


class Respond(Struct, eq=False):
    """What a scenario answers: a blocking body, a stream of events, or an error."""

    blocking: Final[Template | None] = None  # None: folded from `events`
    events: Final[tuple[EventTemplate, ...] | None] = None
    error: Final[Template | None] = None  # renders to {code, message?, status?}
    # Made by __post_init__: the events as a blocking answer folds them, where only answers vary (else None).
    folded: Final[Folded | None] = None

    def __post_init__(self) -> None:
        plain = self.blocking is None and self.error is None
        force_setattr(self, "folded", _folded(self.events) if plain and self.events is not None else None)


class SequenceItem(Struct, eq=False):
    """One turn of a scenario's sequence: what it answers and the faults it fires."""

    respond: Final[Respond | None] = None  # None: the scenario's own respond (or the default's)
    faults: Final[tuple[FaultSpec, ...]] = ()  # fire whenever this item comes up


STATIC_ROOTS: Final = frozenset({"app", "dify"})  # `match` roots that are the same for all of an app's requests


class Scenario(Struct, eq=False):
    """One scenario of a fixture: when it matches, what it answers, its faults and timing."""

    name: Final[str]
    file: Final[str]
    line: Final[int]
    match: Final[tuple[Predicate, ...]] = ()
    respond: Final[Respond | None] = None
    faults: Final[tuple[FaultSpec, ...]] = ()  # fire on the matching calls their schedule picks
    sequence: Final[tuple[SequenceItem, ...] | None] = None  # per-tenant turns; the last repeats unless `cycle`
    cycle: Final[bool] = False
    timing: Final[Timing] = Timing()  # read-only (Final): one default serves all
    action: Final[str | None] = None
    clock_advance_s: Final[float] = 0.0
    times: Final[int | None] = None
    # What the action is told beyond the request: `indexing` (how a Knowledge API document is indexed).
    directives: Final[Mapping[str, Any]] = field(default_factory=dict)
    # The next two are made by __post_init__, never passed (nor carried over by replace).
    # Whether `match` reads only the app and the release, so holds or fails alike for every request of an
    # app (the matcher remembers its answer).
    static_match: Final[bool] = False
    # (id(app), release) -> (app, whether a static match holds for it): the matcher's memory; the app is
    # held, so its id is not reused while remembered, and the memory goes with the scenario on a reload.
    held_for: Final[dict[tuple[int, str], tuple[Any, bool]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        static = bool(self.match) and all(p.path and p.path[0] in STATIC_ROOTS for p in self.match)
        force_setattr(self, "static_match", static)
        force_setattr(self, "held_for", {})


class Fixture(Struct, eq=False):
    """An endpoint's scenarios from its fixture files: the rules in order, then the default."""

    endpoint: Final[str]
    file: Final[str]
    action: Final[str | None]
    rules: Final[tuple[Scenario, ...]]  # every scenario but `default`, in file order (user ones first)
    default: Final[Scenario]
    vars: Final[dict[str, Template]] = field(default_factory=dict)
    # Record endpoints: the blocking bodies of the `default`s a later directory replaced, oldest first.
    # A scenario's partial body goes over the default's, which goes over these.
    bases: Final[tuple[Template, ...]] = ()
    # The next two are made by __post_init__, never passed.
    # Whether the scenario a request gets depends on its app and release alone: every `match` static,
    # no `times`, no faults, no sequence (the matcher then remembers its choice per app and release).
    fixed_choice: Final[bool] = False
    # (id(app), release) -> (app, the selection): that memory; the app is held, so its id is not reused.
    chosen_for: Final[dict[tuple[int, str], tuple[Any, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        fixed = all(
            (not s.match or s.static_match) and s.times is None and not s.faults and not s.sequence
            for s in (*self.rules, self.default)
        )
        force_setattr(self, "fixed_choice", fixed)
        force_setattr(self, "chosen_for", {})

    def named(self, name: str) -> Scenario | None:
        if name == "default":
            return self.default
        return next((s for s in self.rules if s.name == name), None)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.rules] + ["default"]


class Book(Struct, eq=False):
    """Everything loaded from fixture directories; shared read-only by all tenants."""

    fixtures: Final[dict[str, Fixture]]
    apps: Final[AppsBook]
    aliases: Final[dict[str, str]] = field(default_factory=dict)  # fault name -> the fault it stands for
