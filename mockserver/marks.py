"""Documents with the line/column mark of every value, so problems can name FILE:LINE:COLUMN. YAML is
composed by yamlmarks.py, imported by the first text parsed: a start-up whose parses all come from the
load cache (loadcache.py) never imports PyYAML."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from msgspec import Struct, field

from mockserver.errors import Problem
from mockserver.nearmiss import suggest

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

JsonPath = tuple[str | int, ...]


class Marked(Struct, eq=False):
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
    """`text` composed as YAML with every value's mark; None and the problem when it is not YAML."""
    from mockserver.yamlmarks import compose  # PyYAML: imported by the first text composed

    composed, problems = compose(text, name)
    if composed is None:
        return None, problems
    data, marks, key_marks = composed
    return Marked(name, data, marks, key_marks), problems


_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace
# What YAML's reader refuses (it keeps only printable characters), which a JSON string may hold raw:
# the complement of its printable set (tab, LF, CR, 0x20-0x7E, 0x85, 0xA0-0xD7FF, 0xE000-0xFFFD and
# above 0xFFFF) spelt out, as the negated class costs re 3 ms to compile at start-up and this 0.3 ms.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
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
