"""Ad-hoc scenarios (POST /_mock/scenarios with a scenario body, `handle.stub`): one scenario of the
fixture language, as JSON, checked by the `_meta` schema and compiled by the fixture compiler, so a
stub is refused for exactly what `lint` refuses in a fixture file. JSON has no lines, so each
problem is named by its JSON path: `scenario.respond.stream.events[0]: unknown key 'answr' ...`."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Final

from mockserver.catalogue import Catalogue
from mockserver.errors import DifyError, Problem
from mockserver.marks import JsonPath, Marked, located_schema_error
from mockserver.scenarios.checks import check_fakes, make_compiler
from mockserver.scenarios.compiler import Source
from mockserver.scenarios.model import Book, Scenario

ORIGIN: Final = "POST /_mock/scenarios"  # where a stub "comes from", in the mock's own messages
ROOT: Final = ("scenario",)
_SCENARIO_SCHEMA: Final = "_meta/fixture.json#/$defs/scenario"


class JsonDoc(Marked):
    """A Marked over JSON data: a problem is named by the JSON path of what it is about (for a bad
    key, the object holding it), never by a line."""

    names_paths = True

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
    errors = sorted(validator.iter_errors(raw), key=lambda e: list(map(str, e.path)))
    problems = [located_schema_error(doc, e, ROOT) for e in errors]
    scenario = None
    if not problems:
        compiler = make_compiler(catalogue, book.aliases, actions, problems)
        # A stub paces and moves the clock as the endpoint's default scenario does, unless it says otherwise.
        base = book.fixtures[endpoint].default
        scenario = compiler.scenario(endpoint, name, Source(doc, ROOT, raw), base.timing, base.clock_advance_s)
        check_fakes(compiler)
    if problems or scenario is None:
        raise DifyError("mock_invalid_scenario", "; ".join(f"{p.file}: {p.message}" for p in problems))
    return scenario
