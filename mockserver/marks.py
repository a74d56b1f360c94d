"""YAML loading that keeps line/column marks for every value, so problems can name FILE:LINE:COLUMN."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from yaml.constructor import SafeConstructor

from mockserver.errors import Problem
from mockserver.nearmiss import suggest

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

try:  # the C composer is several times faster; fall back where libyaml is missing
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

JsonPath = tuple[str | int, ...]


@dataclass(slots=True)
class Marked:
    """A parsed document plus the 1-based (line, column) of every value, keyed by its JSON path."""

    file: str
    data: Any
    marks: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    names_paths = False  # a document with no lines (JSON) names each problem by its path instead

    def at(self, path: JsonPath, message: str, *, key: bool = False) -> Problem:
        """A Problem located at `path` (or its closest marked ancestor)."""
        table = self.key_marks if key else self.marks
        probe = tuple(path)
        while probe not in table and probe:
            probe = probe[:-1]
        line, col = table.get(probe, self.marks.get(probe, (1, 1)))
        return Problem(self.file, line, col, message)


def load_marked(path: Path, display: str | None = None) -> tuple[Marked | None, list[Problem]]:
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(name, 1, 1, f"cannot read file: {exc}")]
    return parse_marked(text, name)


def parse_marked(text: str, name: str) -> tuple[Marked | None, list[Problem]]:
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return None, [Problem(name, line, col, f"invalid YAML: {exc.problem or exc}")]
    except yaml.YAMLError as exc:
        return None, [Problem(name, 1, 1, f"invalid YAML: {exc}")]
    doc = Marked(name, None)
    problems: list[Problem] = []
    if node is not None:
        # A constructor per document: PyYAML's constructor caches every node it builds until a
        # whole-document construct clears it, which this loader never runs, so a shared one would
        # keep every fixture ever loaded (each --reload, lint and test load) alive.
        doc.data = _build(node, (), doc, problems, SafeConstructor())
    return doc, problems


_YAML_TAGS = "tag:yaml.org,2002:"  # the YAML types: str, int, float, bool, null, map, seq, timestamp, ...
_MERGE = _YAML_TAGS + "merge"
_PLAIN = frozenset(_YAML_TAGS + name for name in ("str", "int", "float", "bool", "null", "map", "seq"))


def _refused(node: yaml.Node, file: str) -> Problem | None:
    """Fixtures and DSL files are data: a tag that would make an object (`!!python/object`,
    `!!python/name`, an application's `!tag`) is a problem where it stands, never constructed."""
    tag = node.tag
    if tag in _PLAIN:
        return None
    where = (node.start_mark.line + 1, node.start_mark.column + 1)
    if tag == _MERGE:
        return Problem(file, *where, "YAML merge keys (<<) are not supported")
    if tag.startswith(_YAML_TAGS) and not tag.startswith(_YAML_TAGS + "python/"):
        return None
    shown = "!!" + tag.removeprefix(_YAML_TAGS) if tag.startswith(_YAML_TAGS) else tag
    return Problem(file, *where, f"YAML tag {shown} is not allowed: only plain data")


def _scalar(node: yaml.Node, file: str, problems: list[Problem], scalars: SafeConstructor) -> Any:
    """A scalar as the safe loader reads it, or a located problem (a text its tag cannot read: !!int abc)."""
    try:
        return scalars.construct_object(node)
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        where = (node.start_mark.line + 1, node.start_mark.column + 1)
        problems.append(Problem(file, *where, f"invalid YAML: {str(exc).splitlines()[0]}"))
        return None


def _build(node: yaml.Node, path: JsonPath, doc: Marked, problems: list[Problem], scalars: SafeConstructor) -> Any:
    doc.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if (refused := _refused(node, doc.file)) is not None:
        problems.append(refused)
        return None
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            where = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if (refused := _refused(key_node, doc.file)) is not None:
                problems.append(refused)
                continue
            key = _scalar(key_node, doc.file, problems, scalars) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str | int | float | bool) or key is None:
                problems.append(Problem(doc.file, *where, "mapping keys must be scalars"))
                continue
            skey = str(key) if not isinstance(key, bool) else str(key).lower()
            if skey in out:
                problems.append(Problem(doc.file, *where, f"duplicate key '{skey}'"))
                continue
            doc.key_marks[(*path, skey)] = where
            out[skey] = _build(value_node, (*path, skey), doc, problems, scalars)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), doc, problems, scalars) for i, item in enumerate(node.value)]
    value = _scalar(node, doc.file, problems, scalars)
    # Timestamps and binary scalars have no JSON form; keep their text.
    if not isinstance(value, str | int | float | bool) and value is not None:
        return node.value
    return value


_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace
# What YAML's reader refuses (it keeps only printable characters), which a JSON string may hold raw.
_UNPRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")  # what YAML's reader counts as a new line


def json_mark(text: str, path: tuple[str, ...]) -> tuple[int, int] | None:
    """The (line, column) parse_marked gives the value at `path` (object keys) of a JSON text, found
    without composing the document as YAML (a whole schema costs milliseconds that way). None when
    the text is not plain JSON objects down to `path`, or holds what YAML refuses: ask parse_marked."""
    if _UNPRINTABLE.search(text):
        return None
    at = _SPACE.match(text).end()  # type: ignore[union-attr]  # always matches
    for key in path:
        if not text.startswith("{", at):
            return None
        at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
        while True:
            if not text.startswith('"', at):
                return None
            try:
                name, at = _DECODER.raw_decode(text, at)
            except ValueError:
                return None
            at = _SPACE.match(text, at).end()  # type: ignore[union-attr]
            if not text.startswith(":", at):
                return None
            at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
            if name == key:  # the first of duplicate keys, as _build keeps
                break
            try:
                at = _DECODER.raw_decode(text, at)[1]
            except ValueError:
                return None
            at = _SPACE.match(text, at).end()  # type: ignore[union-attr]
            if not text.startswith(",", at):
                return None
            at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
    breaks = list(_BREAK.finditer(text, 0, at))
    line_start = breaks[-1].end() if breaks else 0
    return len(breaks) + 1, at - line_start + 1  # libyaml's column: characters since the line break


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
            return doc.at((*path, extra[0]), f"unknown key '{extra[0]}'{suggest(extra[0], allowed)}", key=True)
    if error.validator in ("anyOf", "oneOf") and error.context:
        if rule and all("required" in s for s in rule):
            return doc.at(path, "needs " + " or ".join(f"'{s['required'][0]}'" for s in rule))
        typed = [e for e in error.context if not (e.validator == "type" and e.instance is error.instance)]
        return located_schema_error(doc, max(typed or error.context, key=lambda e: len(list(e.absolute_path))), root)
    if doc.names_paths:
        return doc.at(path, error.message)
    where = ".".join(map(str, path)) or "document"
    return doc.at(path, f"{where}: {error.message}")
