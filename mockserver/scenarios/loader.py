"""Fixture directories -> Book: YAML with marks, the _meta schemas, merging by name and key, `extends`,
then the compiler; every problem of every file at once, each at FILE:LINE:COLUMN."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Final

from mockserver.catalogue import Catalogue
from mockserver.dify.apps import App, AppsBook, build_app
from mockserver.endpoint import EndpointSpec
from mockserver.errors import FixtureError, Problem
from mockserver.fastcheck import Check
from mockserver.loadcache import LoadCache, digest
from mockserver.marks import Marked, load_marked, located_schema_error, parse_marked
from mockserver.scenarios.checks import check_fakes, make_compiler
from mockserver.scenarios.compiler import Merged, Source
from mockserver.scenarios.layers import Layers, resolve
from mockserver.scenarios.model import Book
from mockserver.scenarios.vocabulary import near_miss

_SHARED_FILES: Final = {"_apps.yaml": "_meta/apps.json", "_faults.yaml": "_meta/faults.json"}
_FIXTURE_META: Final = "_meta/fixture.json"
SUFFIXES: Final = (".yaml", ".yml")  # `.yml` is as common a YAML name; both load the same


def fixture_files(root: Path) -> list[tuple[Path, str]]:
    """Every fixture file under `root` with its relative path spelt `.yaml` (what names the endpoint)."""
    found = (f for suffix in SUFFIXES for f in root.rglob(f"*{suffix}") if f.is_file())
    return sorted(
        ((f, f.relative_to(root).with_suffix(".yaml").as_posix()) for f in found),
        key=lambda pair: (pair[1], pair[0].suffix != ".yaml"),
    )


def load_book(
    catalogue: Catalogue,
    dirs: list[Path],
    actions: Collection[str],
    dsl: Sequence[str] = (),
    current_dsl: str | None = None,
    *,
    cache: LoadCache | None = None,
) -> Book:
    """Load the fixture directories in order (later ones win), then the DSL apps of `dsl` (`FILE[=KEY]`
    each, over the directories' apps); `actions` are the action names fixtures may use; DSL files are
    checked against `current_dsl`, the emulated release's DSL version (default: dify/dsl/load.py's
    CURRENT_DSL). Raises FixtureError listing every problem. A file `cache` knows is taken from it
    composed and checked (loadcache.py)."""
    problems: list[Problem] = []
    # Most files are valid: a compiled check passes them, only the others meet the slow, located one.
    # Each schema's check is compiled when a file the cache does not know first needs it.
    fast: dict[str, Check] = {}
    layers: dict[str, Layers] = {}
    loaded: dict[int, int] = {}
    apps_raw: dict[str, dict[str, Any]] = {"apps": {}, "accounts": {}, "dataset_keys": {}}
    app_docs: dict[str, Source] = {}
    aliases: dict[str, str | None] = {}
    for root in dirs:
        if not root.is_dir():
            what = "is a file, not a fixture directory" if root.exists() else "fixture directory does not exist"
            problems.append(Problem(str(root), 1, 1, what))
            continue
        seen: dict[str, Path] = {}
        inside = root.resolve()
        for file, rel in fixture_files(root):
            if rel in seen:
                other = seen[rel].relative_to(root).as_posix()
                problems.append(Problem(str(file), 1, 1, f"{other} is the same fixture in this directory: keep one"))
                continue
            seen[rel] = file
            if not file.resolve().is_relative_to(inside):
                # A fixture directory is read from inside only: a link out of it (to /etc/passwd, to
                # another project's files) is refused unread.
                problems.append(Problem(str(file), 1, 1, "links outside its fixture directory: not read"))
                continue
            doc, found, text_key = _load_marked(file, cache)
            problems.extend(found)
            if doc is None or found:
                continue
            ref = _SHARED_FILES.get(rel, _FIXTURE_META)
            passed_key = digest(catalogue.content_key, ref, text_key) if cache is not None else b""
            valid = cache is not None and cache.passes(passed_key)
            if not valid:
                check = fast.get(ref)
                if check is None:
                    check = fast[ref] = catalogue.fast_check(ref)
                valid = check(doc.data)
                if valid and cache is not None:
                    cache.keep_pass(passed_key)
            schema_problems = [] if valid else _schema_problems(doc, catalogue, ref)
            if rel == "_apps.yaml":  # typos are reported beside the schema's problems, all at once
                schema_problems = sorted(schema_problems + _app_typos(doc, catalogue), key=lambda p: (p.line, p.column))
            problems.extend(schema_problems)
            if schema_problems:
                continue
            data = doc.data or {}
            if rel == "_apps.yaml":
                for section in apps_raw:
                    for key, value in data.get(section, {}).items():
                        apps_raw[section][key] = value  # by key, whole; null removes
                        if section == "apps":
                            app_docs[key] = Source(doc, (section, key), value)
            elif rel == "_faults.yaml":
                aliases.update(data.get("aliases") or {})  # by name; null removes
            elif rel.startswith("_") or "/_" in rel:
                continue
            elif (endpoint := _endpoint_for(rel)) not in catalogue.endpoints:
                problems.append(
                    doc.at(
                        (),
                        f"no endpoint schema at schemas/{rel[: -len('.yaml')]}.json; fixtures change "
                        "behaviour, not the API surface (see `dify-mockserver lint --list`)",
                    )
                )
            else:
                layers.setdefault(endpoint, Layers(rel, str(file))).own.append(doc)
                loaded[id(doc)] = len(loaded)  # when, across directories: a cycle is blamed on the last
    for spec in catalogue:
        if spec.action is not None:
            # The schema's default action answers without a fixture file; files only add what differs.
            synthetic = _synthesised(spec)
            loaded[id(synthetic)] = -1  # before every directory's files
            rel = f"{spec.id.replace('.', '/', 1)}.yaml"
            layers.setdefault(spec.id, Layers(rel, str(spec.schema_file))).own.insert(0, synthetic)
    apps = _build_apps(apps_raw, app_docs, problems, dsl, current_dsl)
    known_aliases = {k: v for k, v in aliases.items() if v is not None}
    compiler = make_compiler(catalogue, known_aliases, actions, problems)
    resolved = resolve(layers, {s.id: s.response for s in catalogue}, problems, lambda doc: loaded[id(doc)])
    fixtures = {}
    for spec in catalogue:
        if spec.id not in layers:
            problems.append(Problem(str(spec.schema_file), 1, 1, f"endpoint {spec.id} has no fixture file"))
        elif (docs := resolved.get(spec.id)) is not None:  # None: its `extends` is broken (reported)
            merged = Merged(layers[spec.id].rel, layers[spec.id].display)
            for doc, inherited in docs:
                _merge(merged, doc, inherited)
            if (fixture := compiler.fixture(spec.id, merged)) is not None:
                fixtures[spec.id] = fixture
    check_fakes(compiler)
    if problems:
        # An inherited scenario is compiled for each endpoint that extends its file: say it once.
        raise FixtureError(list(dict.fromkeys(problems)))
    return Book(fixtures, apps, known_aliases)


def _load_marked(file: Path, cache: LoadCache | None) -> tuple[Marked | None, list[Problem], str]:
    """load_marked(file), composed by `cache` when it knows the text; and the text's hash (with a cache)."""
    name = str(file)
    try:
        text = file.read_text(encoding="utf-8") if cache is not None else None
    except (OSError, UnicodeDecodeError):
        text = None
    if cache is None or text is None:
        return (*load_marked(file, name), "")
    key = digest(text)
    composed = cache.composed(key)
    if composed is not None:
        return Marked(name, *composed), [], key.hex()
    doc, found = parse_marked(text, name)
    if doc is not None and not found:
        cache.keep_composed(key, (doc.data, doc.marks, doc.key_marks))
    return doc, found, key.hex()


def _synthesised(spec: EndpointSpec) -> Marked:
    """The fixture an endpoint with a default action has without a file: that action, and a default
    scenario answering what it returns (`{{ action.result }}`)."""
    # A problem in it (an unknown action) is the schema's: point at x-endpoint.action there.
    where, action = spec.action_mark, spec.action or ""
    if _PLAIN_NAME.fullmatch(action) and action.lower() not in _YAML_WORDS:
        # What parse_marked makes of the text below, made directly (every mark is `where` anyway).
        data = {"action": action, "scenarios": {"default": {"respond": {"blocking": _ACTION_RESULT}}}}
        paths = [("action",), ("scenarios",), ("scenarios", "default"), ("scenarios", "default", "respond")]
        paths.append(("scenarios", "default", "respond", "blocking"))
        return Marked(str(spec.schema_file), data, dict.fromkeys([(), *paths], where), dict.fromkeys(paths, where))
    text = f'action: {spec.action}\nscenarios:\n  default:\n    respond:\n      blocking: "{_ACTION_RESULT}"\n'
    doc = parse_marked(text, str(spec.schema_file))[0]
    assert doc is not None
    doc.marks = dict.fromkeys(doc.marks, where)
    doc.key_marks = dict.fromkeys(doc.key_marks, where)
    return doc


_ACTION_RESULT: Final = "{{ action.result }}"
# An action name YAML reads as that very string when written plain (`record.get`), not a bool or null.
_PLAIN_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*")
_YAML_WORDS: Final = frozenset({"y", "yes", "n", "no", "true", "false", "on", "off", "null"})  # any case


def _endpoint_for(rel: str) -> str:
    api, _, stem = rel[: -len(".yaml")].partition("/")
    return f"{api}.{stem}"


def _app_typos(doc: Marked, catalogue: Catalogue) -> list[Problem]:
    """Keys of app entries that are near misses of a known key. Other unknown keys are the user's
    own fields (`{{ app.team }}`), so only a near miss (`nmae`) is taken for a typo."""
    known = set(catalogue.schemas.contents("_meta/apps.json")["$defs"]["app"]["properties"])
    apps = doc.data.get("apps") if isinstance(doc.data, dict) else None
    out = []
    for app, entry in (apps or {}).items() if isinstance(apps, dict) else ():
        for key in entry if isinstance(entry, dict) else ():
            if key not in known and (close := near_miss(key, known)) is not None:
                out.append(doc.at(("apps", app, key), f"unknown key '{key}' (did you mean '{close}'?)", key=True))
    return out


def _schema_problems(doc: Marked, catalogue: Catalogue, ref: str) -> list[Problem]:
    """The located problems of a file the compiled check refused, in the Python validator's words."""
    errors = sorted(catalogue.validator_for(ref).iter_errors(doc.data), key=lambda e: list(map(str, e.absolute_path)))
    return [located_schema_error(doc, error) for error in errors]


def _merge(into: Merged, doc: Marked, inherited: bool = False) -> None:
    """One file over what the files before it gave. An `extends`-inherited file gives its action,
    defaults, vars and scenarios; its `endpoint` names the file it came from, not this one."""
    data = doc.data or {}
    if not inherited and "endpoint" in data:
        into.endpoint = Source(doc, ("endpoint",), data["endpoint"])
    if "action" in data:
        into.action = Source(doc, ("action",), data["action"])
    for section in ("defaults", "vars"):
        for key, value in (data.get(section) or {}).items():
            getattr(into, section)[key] = Source(doc, (section, key), value)
    incoming = {n: Source(doc, ("scenarios", n), v) for n, v in (data.get("scenarios") or {}).items()}
    replaced = into.scenarios.get("default")
    if replaced is not None and incoming.get("default") is not None:
        into.bases.append(replaced)  # a record endpoint's new default may give only what it changes
    # A known name is replaced in place; new scenarios of a later directory are tried first.
    fresh = {n: s for n, s in incoming.items() if n not in into.scenarios}
    into.scenarios = {**fresh, **{n: incoming.get(n, s) for n, s in into.scenarios.items()}}
    into.removed.update({n: s for n, s in into.scenarios.items() if s.value is None})
    into.scenarios = {n: s for n, s in into.scenarios.items() if s.value is not None}


def _dsl_entries() -> ModuleType:
    """The DSL loader, imported when an app is made from a DSL file rather than by every start-up."""
    from mockserver.dify.dsl import entries

    return entries


def _current(current_dsl: str | None) -> str:
    from mockserver.dify.dsl.load import CURRENT_DSL

    return current_dsl or CURRENT_DSL


def _build_apps(
    raw: dict[str, dict[str, Any]],
    docs: dict[str, Source],
    problems: list[Problem],
    dsl: Sequence[str],
    current_dsl: str | None,
) -> AppsBook:
    made: dict[str, App] = {}
    for key, value in raw["apps"].items():
        if value is None:
            continue
        if "dsl" in value:
            where = docs[key].at(("dsl",), "")
            entries = _dsl_entries()
            made_app, found = entries.from_entry(key, value, docs[key].doc.file, where, _current(current_dsl))
            problems.extend(found)
            if made_app is not None:
                made[key] = made_app
        else:
            made[key] = build_app(key, value, docs[key].doc.file if key in docs else "")
    for spec in dsl:  # `serve --dsl`: over the directories' apps
        made_app, found = _dsl_entries().from_spec(spec, _current(current_dsl))
        problems.extend(found)
        if made_app is not None:
            made[made_app.key] = made_app
    apps = {}
    codes: dict[str, str] = {}
    for key, app in made.items():
        if app.site_code:
            if app.site_code in codes:
                problems.append(
                    docs[key].at(
                        ("site", "code"), f"site code '{app.site_code}' is already used by app '{codes[app.site_code]}'"
                    )
                )
            codes[app.site_code] = key
        apps[key] = app
    return AppsBook(
        apps=apps,
        accounts={k: v for k, v in raw["accounts"].items() if v is not None},
        dataset_keys={k: (v or {}) for k, v in raw["dataset_keys"].items() if k not in raw["apps"] and v is not None},
    )
