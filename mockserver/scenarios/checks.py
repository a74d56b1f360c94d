"""What the fixture loader and ad-hoc scenarios (stubs) check alike: the compiler set up for a catalogue,
Faker providers, and schema errors in lint's words. One place, so a stub is refused for exactly what
lint refuses in a fixture file."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from mockserver.catalogue import EVENTS_REF, Catalogue
from mockserver.determinism import FakerSource
from mockserver.errors import Problem
from mockserver.scenarios.compiler import Compiler
from mockserver.scenarios.vocabulary import EventVocabulary, blocking_keys


def make_compiler(
    catalogue: Catalogue, aliases: Mapping[str, str], actions: Collection[str], problems: list[Problem]
) -> Compiler:
    """A Compiler for fixtures of `catalogue`: its event vocabulary and each generate endpoint's blocking keys."""
    events = catalogue.schemas.contents(EVENTS_REF) if EVENTS_REF in catalogue.schemas else None
    blocking = {s.id: keys for s in catalogue if (keys := blocking_keys(s.response, s.response_schema)) is not None}
    return Compiler(aliases, EventVocabulary.from_schema(events), frozenset(actions), problems, blocking=blocking)


def check_fakes(compiler: Compiler) -> None:
    """Every `fake.<provider>()` the compiler saw must be one Faker has; Faker is imported only if used."""
    if not compiler.fakes:
        return
    faker = FakerSource()
    for use in compiler.fakes:
        if not faker.has_provider(use.provider):
            compiler.problems.append(use.source.at((), f"unknown Faker provider 'fake.{use.provider}()'"))
