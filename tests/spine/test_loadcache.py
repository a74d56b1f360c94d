"""The load cache (loadcache.py): a start-up from it loads what a start-up without it loads, a changed
file is read afresh (a broken one fails at FILE:LINE:COLUMN as ever), and a bad cache is ignored."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from msgspec.structs import replace

from mockserver import loadcache
from mockserver.app import load
from mockserver.errors import FixtureError
from mockserver.loadcache import FILE_NAME, LoadCache
from mockserver.paths import schemas_dir
from mockserver.scenarios.loader import _load_marked
from mockserver.settings import Settings

GET_X = """scenarios:
  default:
    respond:
      blocking: {answer: "{{ fake.word() }}", n: 1}
"""


def _problems(settings: Settings) -> list[str]:
    with pytest.raises(FixtureError) as caught:
        load(settings)
    return [str(p) for p in caught.value.problems]


def _scenario_lines(settings: Settings) -> dict[str, list[int]]:
    book = load(settings)[1]
    return {k: [s.line for s in (*f.rules, f.default)] for k, f in book.fixtures.items()}


def test_a_cached_composition_is_what_the_yaml_composer_makes(tmp_path: Path) -> None:
    file = tmp_path / "get_x.yaml"
    file.write_text(GET_X)
    cold = _load_marked(file, None)[0]
    cache = LoadCache.open(tmp_path / "cache")
    first = _load_marked(file, cache)[0]
    cache.save()
    warm = _load_marked(file, LoadCache.open(tmp_path / "cache"))[0]
    assert cold is not None and first is not None and warm is not None
    for doc in (first, warm):
        assert (doc.file, doc.data, doc.marks, doc.key_marks) == (cold.file, cold.data, cold.marks, cold.key_marks)
        assert list(doc.marks) == list(cold.marks)


def test_a_start_from_the_cache_loads_the_same_book_and_imports_no_yaml_nor_jsonschema_rs(tmp_path: Path) -> None:
    code = """
import sys
from mockserver.app import load
from mockserver.settings import Settings
book = load(Settings(load_cache=__import__("pathlib").Path(sys.argv[1])))[1]
lines = {k: [s.line for s in (*f.rules, f.default)] for k, f in sorted(book.fixtures.items())}
print(sorted(m for m in ("yaml", "jsonschema_rs", "jsonschema") if m in sys.modules), lines)
"""
    runs = [
        subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60)
        for _ in range(2)
    ]
    assert all(run.returncode == 0 for run in runs), runs[0].stderr + runs[1].stderr
    cold, warm = (run.stdout for run in runs)
    assert cold.startswith("['jsonschema_rs', 'yaml'] ")
    assert warm.startswith("[] ")
    assert cold.split(" {", 1)[1] == warm.split(" {", 1)[1]  # every scenario at the same line
    assert (tmp_path / FILE_NAME).is_file()


def test_a_fixture_broken_after_it_was_cached_fails_at_its_line(tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures" / "service"
    fixtures.mkdir(parents=True)
    (fixtures / "get_index.yaml").write_text(GET_X.replace("answer", "welcome"))
    settings = Settings(fixtures=(tmp_path / "fixtures",), load_cache=tmp_path / "cache")
    plain = replace(settings, load_cache=None)
    assert _scenario_lines(settings) == _scenario_lines(plain)
    (fixtures / "get_index.yaml").write_text(GET_X.replace("respond:", "respnd:"))
    expected = _problems(plain)
    assert expected and f"{fixtures / 'get_index.yaml'}:3:" in expected[0]
    assert _problems(settings) == expected  # twice: a failed load keeps nothing that hides it
    assert _problems(settings) == expected
    (fixtures / "get_index.yaml").write_text(GET_X.replace("{{ fake.word() }}", "{{ nope"))
    assert _problems(settings) == _problems(plain)


def _loaded_copy(tmp_path: Path) -> tuple[Path, Settings]:
    """A copy of the built-in schemas, loaded once with a cache: (the copy, its settings)."""
    schemas = tmp_path / "schemas"
    shutil.copytree(schemas_dir(), schemas)
    settings = Settings(schemas_dir=schemas, load_cache=tmp_path / "cache")
    load(settings)
    return schemas, settings


def test_a_schema_broken_after_it_was_cached_fails_at_its_line(tmp_path: Path) -> None:
    schemas, settings = _loaded_copy(tmp_path)
    file = schemas / "service" / "get_index.json"
    doc = json.loads(file.read_text())
    doc["x-endpoint"]["auht"] = "none"
    file.write_text(json.dumps(doc, indent=2))
    expected = _problems(replace(settings, load_cache=None))
    assert any("unknown key 'auht'" in p for p in expected)
    assert _problems(settings) == expected


def test_a_changed_meta_schema_checks_every_file_again(tmp_path: Path) -> None:
    """A cached pass holds for the schema set it was made with: the fixtures' meta schema changed, a
    fixture the old one passed is refused."""
    schemas, settings = _loaded_copy(tmp_path)
    meta = schemas / "_meta" / "fixture.json"
    doc = json.loads(meta.read_text())
    doc["required"] = [*doc.get("required", []), "owner"]
    meta.write_text(json.dumps(doc, indent=2))
    found = _problems(settings)
    assert found == _problems(replace(settings, load_cache=None))
    assert any("'owner' is a required property" in p for p in found)


def test_shared_documents_the_cache_saw_parse_are_decoded_at_first_use(tmp_path: Path) -> None:
    """A warm start keeps a shared document's text and decodes it when first read: the same document,
    the same registry; one changed since is parsed at load, and broken it fails there as ever."""
    schemas, settings = _loaded_copy(tmp_path)
    warm = load(settings)[0].schemas
    assert "_shared/records.json" not in warm.documents and "_shared/records.json" in warm
    cold = load(replace(settings, load_cache=None))[0].schemas
    assert warm.contents("_shared/records.json") == json.loads((schemas / "_shared/records.json").read_text())
    assert warm.registry.contents("_shared/tags.json") == cold.registry.contents("_shared/tags.json")
    assert sorted(warm.documents) == sorted(cold.documents)
    (schemas / "_shared" / "tags.json").write_text('{"$defs": {\n  "tag": }')
    expected = _problems(replace(settings, load_cache=None))
    assert any("tags.json:2:" in p and "invalid JSON" in p for p in expected)
    assert _problems(settings) == expected


@pytest.mark.parametrize("content", [b"", b"not marshal at all", b"\xe3" + b"\x00" * 40])
def test_an_unreadable_cache_is_ignored_and_written_anew(tmp_path: Path, content: bytes) -> None:
    (tmp_path / FILE_NAME).write_bytes(content)
    settings = Settings(load_cache=tmp_path)
    assert _scenario_lines(settings) == _scenario_lines(replace(settings, load_cache=None))
    assert (tmp_path / FILE_NAME).read_bytes() != content
    assert LoadCache.open(tmp_path).passes(b"nothing") is False


def test_entries_made_by_other_code_are_not_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = LoadCache.open(tmp_path)
    cache.keep_pass(b"k")
    cache.save()
    assert LoadCache.open(tmp_path).passes(b"k")
    monkeypatch.setattr(loadcache, "FORMAT", loadcache.FORMAT + 1)
    assert not LoadCache.open(tmp_path).passes(b"k")


def test_a_cache_in_an_unwritable_place_costs_only_speed(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    settings = Settings(load_cache=blocker / "cache")  # under a file: never a directory
    assert _scenario_lines(settings) == _scenario_lines(replace(settings, load_cache=None))


def test_the_entries_of_the_latest_runs_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loadcache, "MAX_ENTRIES", 4)
    for run in range(3):  # three runs of two entries each: the last two runs' stay
        cache = LoadCache.open(tmp_path)
        cache.keep_pass(f"{run}a".encode())
        cache.keep_pass(f"{run}b".encode())
        cache.save()
    cache = LoadCache.open(tmp_path)
    assert [cache.passes(f"{run}{x}".encode()) for run in range(3) for x in "ab"] == [False, False, *[True] * 4]


def test_a_cached_default_action_place_is_where_the_schema_puts_it(tmp_path: Path) -> None:
    from mockserver.catalogue import load_catalogue

    marks = []
    for _ in range(2):  # cold, then from the cache
        cache = LoadCache.open(tmp_path)
        marks.append({s.id: s.action_mark for s in load_catalogue(schemas_dir(), cache)})
        cache.save()
    assert marks[0] == marks[1] == {s.id: s.action_mark for s in load_catalogue(schemas_dir())}
    assert len({m for m in marks[0].values()}) > 1  # real places, not (1, 1) everywhere


def test_the_default_place_follows_xdg_and_needs_a_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert loadcache.default_dir() == tmp_path / "dify-mockserver"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: (_ for _ in ()).throw(RuntimeError("no home"))))
    assert loadcache.default_dir() is None
