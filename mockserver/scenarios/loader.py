"""Fixture directories -> Book: YAML with marks, the _meta schemas, merging, compiling; all problems at once."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from mockserver.apps import AppsBook, build_app
from mockserver.catalogue import Catalogue
from mockserver.errors import FixtureError, Problem
from mockserver.yamlmarks import JsonPath, Marked, load_marked

from .model import ANY, OPS, ROOTS, Book, EventTemplate, Fixture, Predicate, Respond, Scenario, Timing
from .template import Template, TemplateSyntaxError, compile_value

RESERVED_EVENT_KEYS = frozenset({"event", "split", "delay_ms"})
_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\*|-?\d+)\]")


@dataclass(slots=True)
class _Source:
    """One scenario (or vars/defaults entry) with the document it came from, for located problems."""

    doc: Marked
    path: JsonPath
    value: Any


@dataclass(slots=True)
class _Merged:
    rel: str
    display: str
    endpoint: str | None = None
    action: str | None = None
    defaults: dict[str, _Source] = field(default_factory=dict)
    vars: dict[str, _Source] = field(default_factory=dict)
    scenarios: dict[str, _Source] = field(default_factory=dict)


def load_book(catalogue: Catalogue, dirs: list[Path]) -> Book:
    """Load the fixture directories in order (later ones win). Raises FixtureError listing every problem."""
    problems: list[Problem] = []
    fixture_meta = catalogue.validator_for("_meta/fixture.json")
    apps_meta = catalogue.validator_for("_meta/apps.json")
    merged: dict[str, _Merged] = {}
    apps_raw: dict[str, dict[str, Any]] = {"apps": {}, "accounts": {}, "dataset_keys": {}}
    app_docs: dict[str, _Source] = {}
    for root in dirs:
        if not root.is_dir():
            problems.append(Problem(str(root), 1, 1, "fixture directory does not exist"))
            continue
        for file in sorted(root.rglob("*.yaml")):
            rel = file.relative_to(root).as_posix()
            doc, found = load_marked(file, str(file))
            problems.extend(found)
            if doc is None or found:
                continue
            validator = apps_meta if rel == "_apps.yaml" else fixture_meta
            schema_problems = _schema_problems(doc, validator)
            problems.extend(schema_problems)
            if schema_problems:
                continue
            if rel == "_apps.yaml":
                for section in apps_raw:
                    for key, value in (doc.data or {}).get(section, {}).items():
                        apps_raw[section][key] = value  # by key, whole; null removes
                        if section == "apps":
                            app_docs[key] = _Source(doc, (section, key), value)
                continue
            if rel.startswith("_") or "/_" in rel:
                continue  # shared files (e.g. _faults.yaml) are read by their own loaders
            endpoint = _endpoint_for(rel)
            if endpoint not in catalogue.endpoints:
                problems.append(
                    doc.at(
                        (),
                        f"no endpoint schema at schemas/{rel[:-5]}.json; fixtures change "
                        "behaviour, not the API surface (see `dify-mockserver lint --list`)",
                    )
                )
                continue
            _merge(merged.setdefault(endpoint, _Merged(rel, str(file))), doc)
    apps = _build_apps(apps_raw, app_docs, problems)
    fixtures: dict[str, Fixture] = {}
    for spec in catalogue:
        m = merged.get(spec.id)
        if m is None:
            problems.append(Problem(str(spec.schema_file), 1, 1, f"endpoint {spec.id} has no fixture file"))
            continue
        fixture = _compile_fixture(spec.id, m, problems)
        if fixture is not None:
            fixtures[spec.id] = fixture
    if problems:
        raise FixtureError(problems)
    return Book(fixtures, apps)


def _endpoint_for(rel: str) -> str:
    api, _, stem = rel[: -len(".yaml")].partition("/")
    return f"{api}.{stem}"


def _schema_problems(doc: Marked, validator: Draft202012Validator) -> list[Problem]:
    out = []
    for error in sorted(validator.iter_errors(doc.data), key=lambda e: list(map(str, e.absolute_path))):
        out.append(_located_schema_error(doc, error))
    return out


def _located_schema_error(doc: Marked, error: ValidationError) -> Problem:
    path = tuple(error.absolute_path)
    schema: Any = error.schema
    rule: Any = error.validator_value
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        if extra:
            hint = _did_you_mean(extra[0], allowed)
            return doc.at((*path, extra[0]), f"unknown key '{extra[0]}'{hint}", key=True)
    if error.validator in ("anyOf", "oneOf") and error.context:
        # Skip the branches that only failed on type (e.g. `null` beside an object) and report the
        # deepest remaining problem: it is the one closest to what the author meant.
        typed = [e for e in error.context if not (e.validator == "type" and e.instance is error.instance)]
        best = max(typed or error.context, key=lambda e: len(list(e.absolute_path)))
        if rule and all("required" in s for s in rule):
            names = " or ".join(f"'{s['required'][0]}'" for s in rule)
            return doc.at(path, f"needs {names}")
        return _located_schema_error(doc, best)
    where = ".".join(map(str, path)) or "document"
    return doc.at(path, f"{where}: {error.message}")


def _did_you_mean(word: str, options: set[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, sorted(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(sorted(options))})"


def _merge(into: _Merged, doc: Marked) -> None:
    data = doc.data or {}
    into.endpoint = data.get("endpoint", into.endpoint)
    into.action = data.get("action", into.action)
    for section in ("defaults", "vars"):
        for key, value in (data.get(section) or {}).items():
            getattr(into, section)[key] = _Source(doc, (section, key), value)
    incoming = data.get("scenarios") or {}
    fresh = {n: _Source(doc, ("scenarios", n), v) for n, v in incoming.items() if n not in into.scenarios}
    for name, value in incoming.items():
        if name in into.scenarios:
            into.scenarios[name] = _Source(doc, ("scenarios", name), value)
    # New scenarios of a later directory are tried before the rules loaded so far.
    into.scenarios = {**fresh, **into.scenarios}
    into.scenarios = {n: s for n, s in into.scenarios.items() if s.value is not None}


def _build_apps(raw: dict[str, dict[str, Any]], docs: dict[str, _Source], problems: list[Problem]) -> AppsBook:
    apps = {}
    codes: dict[str, str] = {}
    for key, value in raw["apps"].items():
        if value is None:
            continue
        app = build_app(key, value)
        if app.site_code:
            if app.site_code in codes:
                src = docs[key]
                problems.append(
                    src.doc.at(
                        (*src.path, "site", "code"),
                        f"site code '{app.site_code}' is already used by app '{codes[app.site_code]}'",
                    )
                )
            codes[app.site_code] = key
        apps[key] = app
    return AppsBook(
        apps=apps,
        accounts={k: v for k, v in raw["accounts"].items() if v is not None},
        dataset_keys={k: (v or {}) for k, v in raw["dataset_keys"].items() if k not in raw["apps"]},
    )


def _compile_fixture(endpoint: str, m: _Merged, problems: list[Problem]) -> Fixture | None:
    before = len(problems)
    if m.endpoint is not None and m.endpoint != endpoint:
        src = next(iter(m.scenarios.values()), None)
        if src is not None:
            problems.append(
                src.doc.at(("endpoint",), f"endpoint '{m.endpoint}' does not match the file's path ({endpoint})")
            )
    defaults_timing = Timing()
    if "timing" in m.defaults:
        defaults_timing = defaults_timing.over(m.defaults["timing"].value)
    default_clock = (m.defaults["clock"].value or {}).get("advance_s", 0) if "clock" in m.defaults else 0
    variables = {name: _template(src, src.path, problems) for name, src in m.vars.items()}
    scenarios = []
    for name, src in m.scenarios.items():
        scenario = _scenario(name, src, defaults_timing, float(default_clock), problems)
        if scenario is not None:
            scenarios.append(scenario)
    default = next((s for s in scenarios if s.name == "default"), None)
    if default is None:
        problems.append(Problem(m.display, 1, 1, "no 'default' scenario (every fixture needs one)"))
    if len(problems) > before or default is None:
        return None
    rules = tuple(s for s in scenarios if s.name != "default")
    return Fixture(endpoint, m.display, m.action, rules, default, {k: v for k, v in variables.items() if v})


def _template(src: _Source, path: JsonPath, problems: list[Problem], value: Any = None) -> Template | None:
    doc = src.doc
    rel = _relative_name(doc.file)

    def label(sub: tuple[str | int, ...]) -> str:
        line, col = doc.marks.get((*path, *sub), (0, 0))
        return f"fake@{rel}:{line}:{col}"

    try:
        return compile_value(src.value if value is None else value, label)
    except TemplateSyntaxError as exc:
        problems.append(doc.at((*path, *getattr(exc, "path", ())), str(exc)))
        return None


def _relative_name(file: str) -> str:
    # Seeds must not depend on where the fixtures are installed: keep `<api>/<op>.yaml`.
    parts = Path(file).parts
    return "/".join(parts[-2:])


def _scenario(name: str, src: _Source, timing: Timing, clock: float, problems: list[Problem]) -> Scenario | None:
    raw = src.value
    before = len(problems)
    line = src.doc.marks.get(src.path, (1, 1))[0]
    match = tuple(_predicates(src, problems))
    respond = _respond(src, problems) if "respond" in raw else None
    if len(problems) > before:
        return None
    return Scenario(
        name=name,
        file=src.doc.file,
        line=line,
        match=match,
        respond=respond,
        fault=raw.get("fault"),
        timing=timing.over(raw.get("timing")),
        action=raw.get("action"),
        clock_advance_s=float((raw.get("clock") or {}).get("advance_s", clock)),
        times=raw.get("times"),
    )


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


def _predicates(src: _Source, problems: list[Problem]) -> list[Predicate]:
    out = []
    for key, spec in (src.value.get("match") or {}).items():
        where = (*src.path, "match", key)
        try:
            path = parse_field_path(key)
        except ValueError as exc:
            problems.append(src.doc.at(where, str(exc), key=True))
            continue
        negate = False
        if isinstance(spec, dict) and set(spec) == {"not"}:
            negate, spec = True, spec["not"]
            where = (*where, "not")
        if not isinstance(spec, dict):
            out.append(Predicate(path, "eq", spec, negate))
            continue
        if len(spec) != 1:
            problems.append(src.doc.at(where, f"a predicate has exactly one operator, got {sorted(spec)}"))
            continue
        op, operand = next(iter(spec.items()))
        if op not in OPS:
            problems.append(src.doc.at((*where, op), f"unknown operator '{op}'{_did_you_mean(op, set(OPS))}", key=True))
            continue
        pattern = None
        if op == "regex":
            try:
                pattern = re.compile(str(operand))
            except re.error as exc:
                problems.append(src.doc.at((*where, op), f"bad regex: {exc}"))
                continue
        if op == "in" and not isinstance(operand, list):
            problems.append(src.doc.at((*where, op), "'in' needs a list"))
            continue
        if op in ("gt", "ge", "lt", "le") and (not isinstance(operand, int | float) or isinstance(operand, bool)):
            problems.append(src.doc.at((*where, op), f"'{op}' needs a number"))
            continue
        out.append(Predicate(path, op, operand, negate, pattern))
    return out


def _respond(src: _Source, problems: list[Problem]) -> Respond | None:
    raw = src.value["respond"]
    base = (*src.path, "respond")
    before = len(problems)
    blocking = _template(src, (*base, "blocking"), problems, raw["blocking"]) if "blocking" in raw else None
    error = _template(src, (*base, "error"), problems, raw["error"]) if "error" in raw else None
    events = None
    if "stream" in raw:
        items = []
        for i, event in enumerate(raw["stream"]["events"]):
            body = {k: v for k, v in event.items() if k not in RESERVED_EVENT_KEYS}
            fields = _template(src, (*base, "stream", "events", i), problems, body)
            if fields is None:
                continue
            split = event.get("split")
            if split is not None and event["event"] not in ("message", "agent_message", "text_chunk"):
                problems.append(
                    src.doc.at(
                        (*base, "stream", "events", i, "split"),
                        f"'split' applies to message, agent_message and text_chunk, not {event['event']}",
                    )
                )
            items.append(EventTemplate(event["event"], fields, split, event.get("delay_ms")))
        events = tuple(items)
    if len(problems) > before:
        return None
    return Respond(blocking, events, error)
