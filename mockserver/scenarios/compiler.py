"""Merged fixture sources -> the compiled model: templates, predicates, faults, sequences, events.

Every problem is located at FILE:LINE:COLUMN and collected; nothing here raises for a user's mistake."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from msgspec import Struct, field

from mockserver.dify import versions
from mockserver.errors import CODES, Problem
from mockserver.faults.spec import FaultSpec, FaultSyntaxError, parse
from mockserver.marks import JsonPath, Marked
from mockserver.nearmiss import suggest as did_you_mean
from mockserver.scenarios.model import (
    ANY,
    OPS,
    ROOTS,
    VERSION_PATH,
    EventTemplate,
    Fixture,
    Predicate,
    Respond,
    Scenario,
    SequenceItem,
    Timing,
)
from mockserver.scenarios.template import Template, TemplateSyntaxError, compile_value
from mockserver.scenarios.vocabulary import RESERVED, BlockingKeys, EventVocabulary

_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\*|-?\d+)\]")
SPLITTABLE = frozenset({"message", "agent_message", "text_chunk"})
_VERSION_OPS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


@lru_cache(maxsize=256)  # a template per value of a few files: one Path a file, not one a template
def _seed_name(file: str) -> str:
    """`service/x.yaml` of a fixture file: seeds must not depend on where fixtures are installed."""
    return "/".join(Path(file).parts[-2:])


class Source(Struct, eq=False):
    """One value of a fixture file with the document it came from, for located problems."""

    doc: Marked
    path: JsonPath
    value: Any

    def at(self, sub: JsonPath, message: str, *, key: bool = False) -> Problem:
        return self.doc.at((*self.path, *sub), message, key=key)


class Merged(Struct, eq=False):
    """A fixture file after merging the directories: each part remembers where it came from."""

    rel: str
    display: str
    endpoint: Source | None = None  # the `endpoint:` key, if a file of this endpoint says it
    action: Source | None = None
    defaults: dict[str, Source] = field(default_factory=dict)
    vars: dict[str, Source] = field(default_factory=dict)
    scenarios: dict[str, Source] = field(default_factory=dict)
    removed: dict[str, Source] = field(default_factory=dict)  # scenarios a later directory set to null
    bases: list[Source] = field(default_factory=list)  # `default` scenarios a later directory replaced


class FakeUse(Struct, eq=False):
    """A `fake.<provider>()` a template used, checked against Faker once loading is done."""

    provider: str
    source: Source


# Scenario keys handed to the action as they are (fixture.json checks their shape): the Knowledge API's
# `indexing` says how the documents a create or update call makes are indexed; a DSL app's `graph` steers its run.
DIRECTIVES: Final = ("indexing", "graph")
NO_ACTION: Final = "none"  # a scenario's `action: none`: its body alone answers, no state is read or written


class Compiler(Struct, eq=False):
    """Compiles fixture documents into the book's scenarios, collecting every problem."""

    aliases: Mapping[str, str]
    vocabulary: EventVocabulary
    actions: frozenset[str]  # the action names fixtures may use
    problems: list[Problem] = field(default_factory=list)
    fakes: list[FakeUse] = field(default_factory=list)  # checked against Faker once, after loading
    # Generate endpoints' blocking-body keys by endpoint id (vocabulary.blocking_keys); others: none.
    blocking: Mapping[str, BlockingKeys] = field(default_factory=dict)

    def fixture(self, endpoint: str, m: Merged) -> Fixture | None:
        before = len(self.problems)
        if m.endpoint is not None and m.endpoint.value != endpoint:
            message = f"endpoint '{m.endpoint.value}' does not match the file's path ({endpoint})"
            self.problems.append(m.endpoint.at((), message))
        timing = Timing().over(m.defaults["timing"].value) if "timing" in m.defaults else Timing()
        clock = float((m.defaults["clock"].value or {}).get("advance_s", 0)) if "clock" in m.defaults else 0.0
        if m.action is not None:
            self.action(m.action, ())
        variables = {name: self.template(src, (), src.value) for name, src in m.vars.items()}
        scenarios = [s for name, src in m.scenarios.items() if (s := self.scenario(endpoint, name, src, timing, clock))]
        default = next((s for s in scenarios if s.name == "default"), None)
        if default is None and not any(p.file == m.display for p in self.problems[before:]):
            removed = m.removed.get("default")
            where = removed.at((), "", key=True) if removed else Problem(m.display, 1, 1, "")
            self.problems.append(
                Problem(where.file, where.line, where.column, "no 'default' scenario (every fixture needs one)")
            )
        if len(self.problems) > before or default is None:
            return None
        if default.respond is None and default.sequence is None:
            self.problems.append(
                Problem(m.display, default.line, 1, "the 'default' scenario needs 'respond' or 'sequence'")
            )
            return None
        rules = tuple(s for s in scenarios if s.name != "default")
        action = m.action.value if m.action is not None else None
        bases = tuple(b for src in m.bases if (b := self._base_body(src)) is not None)
        return Fixture(endpoint, m.display, action, rules, default, {k: v for k, v in variables.items() if v}, bases)

    def _base_body(self, src: Source) -> Template | None:
        """The blocking body of a replaced `default`, under which the new one is merged."""
        respond = src.value.get("respond") or {}
        return self.template(src, ("respond", "blocking"), respond["blocking"]) if "blocking" in respond else None

    def action(self, src: Source, sub: JsonPath) -> None:
        name = src.value if not sub else src.value.get(sub[0])
        if name not in self.actions and not (sub and name == NO_ACTION):  # a scenario may switch it off
            self.problems.append(src.at(sub, f"unknown action '{name}'{did_you_mean(str(name), self.actions)}"))

    def template(self, src: Source, sub: JsonPath, value: Any) -> Template | None:
        doc, base = src.doc, (*src.path, *sub)
        rel = _seed_name(doc.file)
        found: list[tuple[str, str]] = []
        where: dict[str, JsonPath] = {}

        def label(inner: tuple[str | int, ...]) -> str:
            line, col = doc.marks.get((*base, *inner), (0, 0))
            name = f"fake@{rel}:{line}:{col}"
            where[name] = (*base, *inner)
            return name

        def position(inner: tuple[str | int, ...]) -> str:
            # Where the template text is, for a lookup that finds nothing at run time.
            p = doc.at((*base, *inner), "")
            return f"{p.file}:{p.line}:{p.column}" if p.line else p.file

        try:
            template = compile_value(value, label, found, position)
        except TemplateSyntaxError as exc:
            self.problems.append(doc.at((*base, *getattr(exc, "path", ())), str(exc)))
            return None
        # A fake's label is its string's label plus `#<n>`: locate the problem at that string.
        self.fakes.extend(
            FakeUse(provider, Source(doc, where.get(lbl.rsplit("#", 1)[0], base), None)) for lbl, provider in found
        )
        return template

    def faults(self, endpoint: str, src: Source, sub: JsonPath, value: Any) -> tuple[FaultSpec, ...] | None:
        try:
            faults = parse(value, self.aliases)
        except FaultSyntaxError as exc:
            self.problems.append(src.at(sub, str(exc)))
            return None
        for fault in faults:
            if fault.schedule.endpoint not in (None, endpoint):
                self.problems.append(
                    src.at(
                        sub,
                        f"endpoint={fault.schedule.endpoint}: a fixture fault applies to its own endpoint ({endpoint})",
                    )
                )
                return None
        return tuple(faults)

    def scenario(self, endpoint: str, name: str, src: Source, timing: Timing, clock: float) -> Scenario | None:
        raw, before = src.value, len(self.problems)
        if "action" in raw:
            self.action(src, ("action",))
        match = tuple(self.predicates(src))
        respond = self.respond(src, ("respond",), raw["respond"], endpoint) if "respond" in raw else None
        faults = self.faults(endpoint, src, ("fault",), raw["fault"]) if "fault" in raw else ()
        sequence = None
        if "sequence" in raw:
            items = []
            for i, item in enumerate(raw["sequence"]):
                block = {k: v for k, v in item.items() if k != "fault"}
                item_respond = self.respond(src, ("sequence", i), block, endpoint) if block else None
                item_faults = (
                    self.faults(endpoint, src, ("sequence", i, "fault"), item["fault"]) if "fault" in item else ()
                )
                items.append(SequenceItem(item_respond, item_faults or ()))
            sequence = tuple(items)
        if len(self.problems) > before:
            return None
        return Scenario(
            name=name,
            file=src.doc.file,
            line=src.doc.key_marks.get(src.path, src.doc.marks.get(src.path, (1, 1)))[0],
            match=match,
            respond=respond,
            faults=faults or (),
            sequence=sequence,
            cycle=raw.get("then") == "cycle",
            timing=timing.over(raw.get("timing")),
            action=raw.get("action"),
            clock_advance_s=float((raw.get("clock") or {}).get("advance_s", clock)),
            times=raw.get("times"),
            directives={k: raw[k] for k in DIRECTIVES if k in raw},
        )

    def predicates(self, src: Source) -> list[Predicate]:
        out = []
        for key, spec in (src.value.get("match") or {}).items():
            where: JsonPath = ("match", key)
            try:
                path = parse_field_path(key)
            except ValueError as exc:
                self.problems.append(src.at(where, str(exc), key=True))
                continue
            negate = False
            if isinstance(spec, dict) and set(spec) == {"not"}:
                negate, spec, where = True, spec["not"], (*where, "not")
            if not isinstance(spec, dict):
                spec = {"eq": spec}  # a bare value: equal
            predicate = self._operator(src, where, path, spec, negate)
            if predicate is not None:
                out.append(predicate)
        return out

    def _operator(
        self, src: Source, where: JsonPath, path: tuple[str | int, ...], spec: dict[str, Any], negate: bool
    ) -> Predicate | None:
        if len(spec) != 1:
            self.problems.append(src.at(where, f"a predicate has exactly one operator, got {sorted(spec)}"))
            return None
        op, operand = next(iter(spec.items()))
        problem = None
        pattern = None
        if path == VERSION_PATH and op in ("eq", "gt", "ge", "lt", "le"):
            return self._version(src, (*where, op), spec, negate)
        if op not in OPS:
            self.problems.append(src.at((*where, op), f"unknown operator '{op}'{did_you_mean(op, OPS)}", key=True))
            return None
        if op == "regex":
            try:
                pattern = re.compile(str(operand))
            except re.error as exc:
                problem = f"bad regex: {exc}"
        elif op == "in" and not isinstance(operand, list):
            problem = "'in' needs a list"
        elif op in ("gt", "ge", "lt", "le") and (not isinstance(operand, int | float) or isinstance(operand, bool)):
            problem = f"'{op}' needs a number"
        if problem:
            self.problems.append(src.at((*where, op), problem))
            return None
        return Predicate(path, op, operand, negate, pattern)

    def _version(self, src: Source, where: JsonPath, spec: dict[str, Any], negate: bool) -> Predicate | None:
        """`dify.version: ">=1.14"` (or `{ge: 1.14}`): a condition on the emulated release."""
        op, operand = next(iter(spec.items()))
        text = str(operand) if op == "eq" else f"{_VERSION_OPS[op]}{operand}"
        try:
            versions.compare("1.16", text)
        except ValueError as exc:
            self.problems.append(src.at(where, f"dify.version: {exc}"))
            return None
        return Predicate(VERSION_PATH, "version", text, negate)

    def respond(self, src: Source, sub: JsonPath, raw: dict[str, Any], endpoint: str | None = None) -> Respond | None:
        before = len(self.problems)
        blocking = self.template(src, (*sub, "blocking"), raw["blocking"]) if "blocking" in raw else None
        keys = self.blocking.get(endpoint or "")
        if keys is not None and isinstance(raw.get("blocking"), dict):
            # The envelope reads only these keys: any other one would vanish from the answer unseen.
            for path, message in keys.problems(raw["blocking"]):
                self.problems.append(src.at((*sub, "blocking", *path), message, key=True))
        error = self.template(src, (*sub, "error"), raw["error"]) if "error" in raw else None
        if "error" in raw:
            code = raw["error"].get("code", "")
            if "{{" not in code and code not in CODES and "status" not in raw["error"]:
                self.problems.append(
                    src.at(
                        (*sub, "error", "code"),
                        f"unknown error code '{code}': give its status too{did_you_mean(code, CODES)}",
                    )
                )
        events = None
        if "stream" in raw:
            items = []
            for i, event in enumerate(raw["stream"]["events"]):
                where: JsonPath = (*sub, "stream", "events", i)
                for key, message in self.vocabulary.problems(event):
                    self.problems.append(
                        src.at((*where, key) if key else (*where, "event"), message, key=key is not None)
                    )
                fields = self.template(src, where, {k: v for k, v in event.items() if k not in RESERVED})
                if event.get("split") is not None and event["event"] not in SPLITTABLE:
                    self.problems.append(
                        src.at(
                            (*where, "split"),
                            f"'split' applies to {', '.join(sorted(SPLITTABLE))}, not {event['event']}",
                        )
                    )
                if fields is not None:
                    items.append(EventTemplate(event["event"], fields, event.get("split"), event.get("delay_ms")))
            events = tuple(items)
        if len(self.problems) > before:
            return None
        return Respond(blocking, events, error)


def parse_field_path(text: str) -> tuple[str | int, ...]:
    """`body.files[*].type` -> ("body", "files", "*", "type"); raises ValueError on a bad path."""
    out: list[str | int] = []
    pos = 0
    for m in _PATH_TOKEN.finditer(text):
        if m.start() != pos and text[pos : m.start()] != ".":
            raise ValueError(f"bad field path '{text}'")
        pos = m.end()
        if m.group(1) is not None:
            out.append(m.group(1))
        else:
            index = m.group(2)
            out.append(ANY if index == "*" else int(index))
    if pos != len(text) or not out:
        raise ValueError(f"bad field path '{text}'")
    if out[0] not in ROOTS:
        raise ValueError(f"field path '{text}' must start with one of {', '.join(sorted(ROOTS))}")
    if out[0] == "headers":
        out = [str(p).lower() for p in out]
    return tuple(out)
