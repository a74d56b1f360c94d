"""`extends: <api>/<stem>`: the files of one endpoint, in directory order, after the files of the
endpoint it extends, so a scenario added to `service/run_workflow.yaml` also answers on every
endpoint whose fixture extends it."""

from __future__ import annotations

from collections.abc import Callable

from msgspec import Struct, field

from mockserver.errors import Problem
from mockserver.marks import Marked
from mockserver.nearmiss import suggest as did_you_mean
from mockserver.scenarios.compiler import Source

Layer = tuple[Marked, bool]  # a file, and whether it is inherited through `extends`


class Layers(Struct, eq=False):
    """The files of one endpoint's fixture, one per directory that has it, in loading order."""

    rel: str
    display: str
    own: list[Marked] = field(default_factory=list)

    def extends(self) -> Source | None:
        for doc in reversed(self.own):  # as `action`: the last directory that says it wins
            if isinstance(doc.data, dict) and "extends" in doc.data:
                return Source(doc, ("extends",), doc.data["extends"])
        return None


def name_of(endpoint: str) -> str:
    """service.run_workflow -> service/run_workflow: how `extends` names a fixture."""
    return endpoint.replace(".", "/", 1)


def resolve(
    layers: dict[str, Layers], kinds: dict[str, str], problems: list[Problem], order: Callable[[Marked], int]
) -> dict[str, list[Layer]]:
    """Endpoint id -> its files, the inherited ones first. An endpoint whose `extends` is broken
    (unknown, a cycle, another kind of endpoint) is left out, its problem reported at the key.
    `order(doc)` is when a file was loaded: a cycle is blamed on the `extends` loaded last, the
    one that closed it (a user's file, rather than the built-in file it turned into a cycle)."""
    done: dict[str, list[Layer] | None] = {}

    def chain(endpoint: str, path: tuple[str, ...]) -> list[Layer] | None:
        if endpoint in done:
            return done[endpoint]
        own = [(doc, False) for doc in layers[endpoint].own]
        src = layers[endpoint].extends()
        result: list[Layer] | None = own
        if src is not None:
            value = str(src.value)
            target = value.replace("/", ".", 1) if "/" in value else ""
            if target == endpoint or target in path:
                _cycle(
                    layers, (*path[path.index(target) :], endpoint) if target in path else (endpoint,), problems, order
                )
                result = None
            elif (problem := _problem(endpoint, target, value, kinds)) is not None:
                problems.append(src.at((), problem))
                result = None
            elif target not in layers:
                result = None  # the schema without a fixture file is reported by the loader
            else:
                base = chain(target, (*path, endpoint))
                result = None if base is None else [(doc, True) for doc, _ in base] + own
        done[endpoint] = result
        return result

    for endpoint in layers:
        chain(endpoint, ())
    return {endpoint: docs for endpoint, docs in done.items() if docs is not None}


def _cycle(
    layers: dict[str, Layers], members: tuple[str, ...], problems: list[Problem], order: Callable[[Marked], int]
) -> None:
    sources = {m: src for m in members if (src := layers[m].extends()) is not None}
    blamed = max(sources, key=lambda m: order(sources[m].doc))
    start = members.index(blamed)
    loop = (*members[start:], *members[:start], blamed)
    problems.append(sources[blamed].at((), "extends: a cycle: " + " -> ".join(name_of(e) for e in loop)))


def _problem(endpoint: str, target: str, value: str, kinds: dict[str, str]) -> str | None:
    if target not in kinds:
        names = sorted(name_of(e) for e in kinds)
        return f"extends: no fixture '{value}'{did_you_mean(value, names)}"
    if kinds[target] != kinds[endpoint]:
        return (
            f"extends: '{value}' is a {kinds[target]} endpoint and {name_of(endpoint)} is a {kinds[endpoint]} "
            "one; a fixture extends one of its own kind"
        )
    return None
