"""The YAML mark loader keeps no node alive between loads (code-review §4.4)."""

from __future__ import annotations

import gc
import tracemalloc

import pytest

from mockserver.app import load
from mockserver.catalogue import load_catalogue
from mockserver.marks import json_mark, parse_marked
from mockserver.scenarios.loader import _synthesised
from mockserver.settings import Settings


def test_marks_and_values():
    doc, problems = parse_marked("a:\n  b: [1, two]\n", "x.yaml")
    assert problems == [] and doc is not None
    assert doc.data == {"a": {"b": [1, "two"]}}
    assert doc.marks[("a", "b", 1)] == (2, 10)


def test_fifty_reloads_keep_memory_flat():
    settings = Settings()
    load(settings)  # warm: imports, caches, the catalogue's first compile
    gc.collect()
    tracemalloc.start()
    growth = []
    try:
        for _ in range(2):
            gc.collect()
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(25):
                load(settings)
            gc.collect()
            growth.append(tracemalloc.get_traced_memory()[0] - before)
    finally:
        tracemalloc.stop()
    # The leak kept ~250 KiB per load of the built-in fixtures (12 MiB over 50 reloads), in every
    # window. CPython once grows its table of interned strings (~0.9 MiB) somewhere in the first
    # loads: a one-off, so the smaller of two windows is the steady state.
    assert min(growth) < 512 * 1024, f"memory grew by {[g // 1024 for g in growth]} KiB per 25 loads"


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "x-endpoint": {"path": "/x", "action": "record.get"}}',
        '{\n\t"$defs": {"q": [1, {"action": 2}]},\r\n  "x-endpoint" : {\n "method":"GET",\r "action"  :\t"a.b"}}',
        '{"d": "x\u2028y\x85z\ufeffw", "x-endpoint": {"action": "p"}}',
        '{"x-endpoint": {"action": "p", "action": "q"}}',
        '{"x-endpoint": {"a\\"ction": 1, "action": "p"}}',
        '{"x-endpoint": {"\\u0061ction": "p"}}',
        '{"d": "\\u2028", "x-endpoint": {"action": "p"}}',
    ],
)
def test_json_mark_places_a_value_where_the_yaml_composer_does(text: str) -> None:
    doc = parse_marked(text, "f.json")[0]
    assert doc is not None
    assert json_mark(text, ("x-endpoint", "action")) == doc.marks[("x-endpoint", "action")]


@pytest.mark.parametrize(
    "text", ['\ufeff{"x-endpoint": {"action": "p"}}', '{"d": "\x7f", "x-endpoint": {}}', '{"x-endpoint": []}', "[1]"]
)
def test_json_mark_leaves_what_is_not_plain_json_objects_to_the_composer(text: str) -> None:
    assert json_mark(text, ("x-endpoint", "action")) is None


def test_json_marks_unprintable_set_is_yaml_readers() -> None:
    """marks._UNPRINTABLE spells out the complement of PyYAML's printable set: the same code points."""
    from yaml.reader import Reader

    from mockserver.marks import _UNPRINTABLE

    every = "".join(map(chr, range(0x110000)))
    assert [m.start() for m in _UNPRINTABLE.finditer(every)] == [
        m.start() for m in Reader.NON_PRINTABLE.finditer(every)
    ]


def test_a_default_action_fixture_is_what_its_yaml_text_composes_to() -> None:
    """_synthesised builds the document directly; it must be what parse_marked made of its text."""
    specs = [spec for spec in load_catalogue(Settings().schemas()) if spec.action]
    assert specs
    for spec in specs:
        made = _synthesised(spec)
        text = f"action: {spec.action}\nscenarios:\n  default:\n    respond:\n"
        text += '      blocking: "{{ action.result }}"\n'
        composed, _ = parse_marked(text, str(spec.schema_file))
        schema, _ = parse_marked(spec.schema_file.read_text(encoding="utf-8"), str(spec.schema_file))
        assert composed is not None and schema is not None
        where = schema.marks[("x-endpoint", "action")]
        assert (made.file, made.data) == (composed.file, composed.data)
        assert made.marks == dict.fromkeys(composed.marks, where)
        assert made.key_marks == dict.fromkeys(composed.key_marks, where)
