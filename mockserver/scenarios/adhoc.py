"""Ad-hoc scenarios (POST /_mock/scenarios with a scenario body, `handle.stub`): one scenario of the
fixture language, as JSON, checked by the `_meta` schema and compiled by the fixture compiler, so a
stub is refused for exactly what `lint` refuses in a fixture file. JSON has no lines, so each
problem is named by its JSON path: `scenario.respond.stream.events[0]: unknown key 'answr' ...`."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Final

from jsonschema.exceptions import ValidationError

from mockserver.catalogue import EVENTS_REF, Catalogue
from mockserver.determinism import FakerSource
from mockserver.errors import DifyError, Problem
from mockserver.yamlmarks import JsonPath, Marked

from .compiler import Compiler, Source
from .model import Book, Scenario
from .vocabulary import EventVocabulary, blocking_keys, did_you_mean

ORIGIN: Final = "POST /_mock/scenarios"  # where a stub "comes from", in the mock's own messages
ROOT: Final = ("scenario",)
_SCENARIO_SCHEMA: Final = "_meta/fixture.json#/$defs/scenario"


class JsonDoc(Marked):
    """A Marked over JSON data: a problem is named by the JSON path of what it is about (for a bad
    key, the object holding it), never by a line."""

    __slots__ = ()

    def at(self, path: JsonPath, message: str, *, key: bool = False) -> Problem:
        where = path[:-1] if key and path else path
        return Problem(json_path(where), 0, 0, message)


def json_path(path: JsonPath) -> str:
    """("scenario", "respond", "stream", "events", 0) -> `scenario.respond.stream.events[0]`."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out or "scenario"


def _number(doc: Marked, value: Any, path: JsonPath, seen: list[int]) -> None:
    """Give every value a distinct pseudo-mark: the compiler seeds each `fake.*()` by its mark, and
    without them every fake of a stub would draw the same value."""
    seen[0] += 1
    doc.marks[path] = (seen[0], 1)
    if isinstance(value, dict):
        for k, v in value.items():
            _number(doc, v, (*path, str(k)), seen)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _number(doc, v, (*path, i), seen)


def compile_stub(
    catalogue: Catalogue, book: Book, actions: Collection[str], endpoint: str, name: str, raw: Any
) -> Scenario:
    """The Scenario for `raw` on `endpoint`; raises 400 mock_invalid_scenario naming every problem."""
    doc = JsonDoc(ORIGIN, {"scenario": raw})
    _number(doc, raw, ROOT, [0])
    validator = catalogue.validator_for(_SCENARIO_SCHEMA)
    problems = [_located(doc, e) for e in sorted(validator.iter_errors(raw), key=lambda e: list(map(str, e.path)))]
    scenario = None
    if not problems:
        events = catalogue.registry.contents(EVENTS_REF) if EVENTS_REF in catalogue.registry else None
        spec = catalogue.endpoints[endpoint]
        keys = blocking_keys(spec.kind, spec.raw)  # as the loader builds its compiler, for this endpoint
        compiler = Compiler(
            book.aliases,
            EventVocabulary.from_schema(events),
            frozenset(actions),
            problems,
            blocking={endpoint: keys} if keys is not None else {},
        )
        # A stub paces and moves the clock as the endpoint's default scenario does, unless it says otherwise.
        base = book.fixtures[endpoint].default
        scenario = compiler.scenario(endpoint, name, Source(doc, ROOT, raw), base.timing, base.clock_advance_s)
        if compiler.fakes:
            faker = FakerSource()
            problems += [
                u.source.at((), f"unknown Faker provider 'fake.{u.provider}()'")
                for u in compiler.fakes
                if not faker.has_provider(u.provider)
            ]
    if problems or scenario is None:
        raise DifyError("mock_invalid_scenario", "; ".join(f"{p.file}: {p.message}" for p in problems))
    return scenario


def _located(doc: Marked, error: ValidationError) -> Problem:
    """One schema error of the scenario in lint's words (the loader's rules, named by JSON path)."""
    path: JsonPath = (*ROOT, *error.absolute_path)
    rule: Any = error.validator_value
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        schema: Any = error.schema
        allowed = set(schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        if extra:
            return doc.at((*path, extra[0]), f"unknown key '{extra[0]}'{did_you_mean(extra[0], allowed)}", key=True)
    if error.validator in ("anyOf", "oneOf") and error.context:
        if rule and all("required" in s for s in rule):
            return doc.at(path, "needs " + " or ".join(f"'{s['required'][0]}'" for s in rule))
        # As the loader does: skip branches that failed only on type, report the deepest remaining one.
        typed = [e for e in error.context if not (e.validator == "type" and e.instance is error.instance)]
        return _located(doc, max(typed or error.context, key=lambda e: len(list(e.absolute_path))))
    return doc.at(path, error.message)
