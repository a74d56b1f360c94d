"""What the fixture loader and ad-hoc scenarios (stubs) check alike: the compiler set up for a catalogue,
Faker providers, and schema errors in lint's words. One place, so a stub is refused for exactly what
lint refuses in a fixture file."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from jsonschema.exceptions import ValidationError

from mockserver.catalogue import EVENTS_REF, Catalogue
from mockserver.determinism import FakerSource
from mockserver.errors import Problem
from mockserver.scenarios.compiler import Compiler
from mockserver.scenarios.vocabulary import EventVocabulary, blocking_keys, did_you_mean
from mockserver.scenarios.yamlmarks import JsonPath, Marked


def make_compiler(
    catalogue: Catalogue, aliases: Mapping[str, str], actions: Collection[str], problems: list[Problem]
) -> Compiler:
    """A Compiler for fixtures of `catalogue`: its event vocabulary and each generate endpoint's blocking keys."""
    events = catalogue.registry.contents(EVENTS_REF) if EVENTS_REF in catalogue.registry else None
    blocking = {s.id: keys for s in catalogue if (keys := blocking_keys(s.kind, s.raw)) is not None}
    return Compiler(aliases, EventVocabulary.from_schema(events), frozenset(actions), problems, blocking=blocking)


def check_fakes(compiler: Compiler) -> None:
    """Every `fake.<provider>()` the compiler saw must be one Faker has; Faker is imported only if used."""
    if not compiler.fakes:
        return
    faker = FakerSource()
    for use in compiler.fakes:
        if not faker.has_provider(use.provider):
            compiler.problems.append(use.source.at((), f"unknown Faker provider 'fake.{use.provider}()'"))


def located_schema_error(doc: Marked, error: ValidationError, root: JsonPath = ()) -> Problem:
    """One schema error at its place, in lint's words: unknown keys with a did-you-mean; of a failed
    anyOf/oneOf, the deepest branch that did not fail on type alone (the one closest to what the author
    meant). `root` is where the validated value sits in `doc`."""
    path: JsonPath = (*root, *error.absolute_path)
    schema: Any = error.schema
    rule: Any = error.validator_value
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        if extra:
            return doc.at((*path, extra[0]), f"unknown key '{extra[0]}'{did_you_mean(extra[0], allowed)}", key=True)
    if error.validator in ("anyOf", "oneOf") and error.context:
        if rule and all("required" in s for s in rule):
            return doc.at(path, "needs " + " or ".join(f"'{s['required'][0]}'" for s in rule))
        typed = [e for e in error.context if not (e.validator == "type" and e.instance is error.instance)]
        return located_schema_error(doc, max(typed or error.context, key=lambda e: len(list(e.absolute_path))), root)
    if doc.names_paths:
        return doc.at(path, error.message)
    where = ".".join(map(str, path)) or "document"
    return doc.at(path, f"{where}: {error.message}")
