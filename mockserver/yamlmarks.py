"""YAML composed with the line/column mark of every value: the PyYAML half of marks.py, imported when
a text is first parsed. Returns plain data and marks (marks.py wraps them in a Marked)."""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from mockserver.errors import Problem

try:  # the C composer is several times faster; fall back where libyaml is missing
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

JsonPath = tuple[str | int, ...]
Marks = dict[JsonPath, tuple[int, int]]
Composed = tuple[Any, Marks, Marks]  # the data, each value's mark, each mapping key's mark


def compose(text: str, name: str) -> tuple[Composed | None, list[Problem]]:
    """(data, marks, key marks) of `text` and its problems; None (and why) when it is not YAML at all."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return None, [Problem(name, line, col, f"invalid YAML: {exc.problem or exc}")]
    except yaml.YAMLError as exc:
        return None, [Problem(name, 1, 1, f"invalid YAML: {exc}")]
    doc = _Doc(name)
    problems: list[Problem] = []
    data = None
    if node is not None:
        # A constructor per document: PyYAML's constructor caches every node it builds until a
        # whole-document construct clears it, which this loader never runs, so a shared one would
        # keep every fixture ever loaded (each --reload, lint and test load) alive.
        data = _build(node, (), doc, problems, SafeConstructor())
    return (data, doc.marks, doc.key_marks), problems


class _Doc:
    """Where _build puts the marks of the document it composes."""

    __slots__ = ("file", "key_marks", "marks")

    def __init__(self, file: str) -> None:
        self.file = file
        self.marks: Marks = {}
        self.key_marks: Marks = {}


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


def _build(node: yaml.Node, path: JsonPath, doc: _Doc, problems: list[Problem], scalars: SafeConstructor) -> Any:
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
