"""The closed x-endpoint vocabulary: a schema outside it is refused at load, at FILE:LINE:COLUMN."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mockserver.catalogue import load_catalogue, schema_files
from mockserver.endpoint import UUID_SEGMENT
from mockserver.errors import FixtureError
from mockserver.paths import schemas_dir


def catalogue_dir(tmp_path: Path, files: dict[str, str]) -> Path:
    shutil.copytree(schemas_dir() / "_meta", tmp_path / "_meta")
    for rel, text in files.items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return tmp_path


def problems(tmp_path: Path, files: dict[str, str]) -> list[str]:
    root = catalogue_dir(tmp_path, files)
    with pytest.raises(FixtureError) as caught:
        load_catalogue(root)
    return [str(p).replace(f"{root}/", "") for p in caught.value.problems]


def endpoint(**x: object) -> str:
    return json.dumps({"x-endpoint": x}, indent=2)


def test_an_unknown_key_is_named_with_a_near_miss_at_its_line(tmp_path: Path) -> None:
    found = problems(tmp_path, {"service/get_x.json": endpoint(method="GET", path="/x", auht="app")})
    assert found == ["service/get_x.json:5:5: unknown key 'auht' (did you mean 'auth'?)"]


def test_a_value_outside_the_vocabulary_names_the_choices(tmp_path: Path) -> None:
    found = problems(tmp_path, {"service/get_x.json": endpoint(method="GET", path="/x", response="list")})
    assert found == [
        "service/get_x.json:5:17: x-endpoint.response: 'list' is not one of "
        "['json', 'empty', 'bytes', 'page', 'generate']"
    ]


def test_a_missing_method_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    found = problems(tmp_path, {"service/get_x.json": endpoint(path="/x")})
    assert found == ["service/get_x.json:2:17: x-endpoint: 'method' is a required property"]


def test_words_that_need_each_other(tmp_path: Path) -> None:
    files = {
        "service/a.json": endpoint(method="POST", path="/a", streams=True),
        "service/b.json": endpoint(method="GET", path="/b", response="page"),
        "service/c.json": endpoint(method="GET", path="/c", modes=["chat"]),
        "service/d.json": endpoint(method="POST", path="/d", files={"part": "file"}),
    }
    found = problems(tmp_path, files)
    assert found == [
        "service/a.json:2:17: x-endpoint: 'response' is a required property",
        "service/b.json:2:17: x-endpoint: 'pagination' is a required property",
        "service/c.json:2:17: x-endpoint: 'mode_error' is a required property",
        "service/d.json:2:17: x-endpoint: 'request' is a required property",
    ]


def test_an_unknown_mode_error_code(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        {"service/get_x.json": endpoint(method="GET", path="/x", modes=["chat"], mode_error="not_chat")},
    )
    assert found == ["service/get_x.json:8:19: unknown error code 'not_chat'"]


def test_invalid_json_and_misplaced_files(tmp_path: Path) -> None:
    files = {
        "service/broken.json": '{"x-endpoint": {"method": "GET",}}',
        "service/nested/get_y.json": endpoint(method="GET", path="/y"),
        "admin/get_z.json": endpoint(method="GET", path="/z"),
    }
    found = problems(tmp_path, files)
    where = "schemas/service/ or schemas/knowledge/ or schemas/console/ or schemas/web/ or schemas/files/"
    assert found == [
        "service/broken.json:1:33: invalid JSON: Expecting property name enclosed in double quotes",
        f"admin/get_z.json:1:1: an endpoint schema belongs directly in {where}",
        f"service/nested/get_y.json:1:1: an endpoint schema belongs directly in {where}",
    ]


def test_two_endpoints_on_one_route(tmp_path: Path) -> None:
    files = {
        "service/a.json": endpoint(method="GET", path="/same"),
        "service/b.json": endpoint(method="GET", path="/other", aliases=["/same"]),
    }
    assert problems(tmp_path, files) == ["service/b.json:4:13: GET /v1/same is service.a's route too"]


def test_facts_of_a_uuid_path_and_a_paged_list(tmp_path: Path) -> None:
    root = catalogue_dir(
        tmp_path,
        {
            "service/list_things.json": endpoint(
                method="GET", path="/things/{thing_id:uuid}/parts", response="page", pagination="last_id"
            )
        },
    )
    spec = load_catalogue(root).endpoints["service.list_things"]
    assert spec.path == "/v1/things/{thing_id}/parts"
    assert spec.route == f"/v1/things/{{thing_id:{UUID_SEGMENT}}}/parts"
    assert spec.path_params == {"thing_id": "uuid"}
    assert (spec.request, spec.response, spec.pagination, spec.auth) == ("none", "page", "last_id", "app")


def test_request_models_resolve_shared_refs(tmp_path: Path) -> None:
    shared = {"$id": "_shared/params.json", "$defs": {"limit": {"type": "integer", "minimum": 1, "maximum": 100}}}
    schema = {
        "x-endpoint": {"method": "GET", "path": "/x"},
        "$defs": {
            "request": {
                "properties": {"query": {"properties": {"limit": {"$ref": "../_shared/params.json#/$defs/limit"}}}}
            }
        },
    }
    root = catalogue_dir(
        tmp_path, {"_shared/params.json": json.dumps(shared), "service/get_x.json": json.dumps(schema)}
    )
    spec = load_catalogue(root).endpoints["service.get_x"]
    assert spec.resolved("query") == {"properties": {"limit": {"type": "integer", "minimum": 1, "maximum": 100}}}
    assert spec.query_model is not None and spec.query_model.validate({"limit": "7"}, "2.12") == {"limit": 7}


def test_a_record_action_needs_a_known_collection(tmp_path: Path) -> None:
    files = {
        "service/a.json": endpoint(method="GET", path="/a", action="record.get"),
        "service/b.json": endpoint(method="GET", path="/b", action="record.get", collection="tasks"),
    }
    found = problems(tmp_path, files)
    assert found[0] == "service/a.json:2:17: x-endpoint: 'collection' is a required property"
    assert found[1].startswith("service/b.json:6:19: x-endpoint.collection: 'tasks' is not one of")


def test_the_collection_words_are_the_stores() -> None:
    from mockserver.state.store import COLLECTIONS

    meta = json.loads((schemas_dir() / "_meta" / "endpoint.json").read_text())
    assert meta["properties"]["collection"]["enum"] == list(COLLECTIONS)


def test_a_path_parameter_the_path_lacks(tmp_path: Path) -> None:
    doc = {
        "x-endpoint": {"method": "GET", "path": "/files/{file_id:uuid}"},
        "$defs": {"request": {"properties": {"path": {"properties": {"file_idx": {"type": "string"}}}}}},
    }
    found = problems(tmp_path, {"service/get_x.json": json.dumps(doc, indent=1)})
    assert found == [
        "service/get_x.json:11:19: path parameter 'file_idx' is not in x-endpoint.path '/files/{file_id:uuid}'"
    ]


def test_an_unknown_default_action_is_reported_at_the_schemas_line(tmp_path: Path) -> None:
    from mockserver.actions import registry
    from mockserver.scenarios.loader import load_book

    root = catalogue_dir(
        tmp_path, {"service/get_x.json": endpoint(method="GET", path="/x", action="record.gett", collection="files")}
    )
    (tmp_path / "_shared").mkdir(exist_ok=True)
    with pytest.raises(FixtureError) as caught:
        load_book(load_catalogue(root), [], registry())
    (problem,) = [str(p).replace(f"{root}/", "") for p in caught.value.problems]
    assert problem == "service/get_x.json:5:15: unknown action 'record.gett' (did you mean 'record.get'?)"


def test_models_since_hands_older_releases_the_raw_query(tmp_path: Path) -> None:
    from mockserver.dify.versions import RELEASES
    from mockserver.errors import DifyError
    from mockserver.validation import ANONYMOUS, Call, _check_schema

    doc = {
        "x-endpoint": {"method": "GET", "path": "/x", "models_since": "1.15", "request_model": "XQuery"},
        "$defs": {"request": {"properties": {"query": {"properties": {"limit": {"type": "integer", "minimum": 1}}}}}},
    }
    root = catalogue_dir(tmp_path, {"service/get_x.json": json.dumps(doc)})
    spec = load_catalogue(root).endpoints["service.get_x"]
    assert spec.models_since == "1.15"

    def checked(release: str) -> Call:
        call = Call(spec, RELEASES[release], ANONYMOUS, None, "GET", {}, {"limit": "abc"}, {}, None, None)
        _check_schema(spec, call)
        return call

    assert checked("1.14").params == {"limit": "abc"}  # the action parses it as that release did
    with pytest.raises(DifyError) as caught:
        checked("1.16")
    assert caught.value.message.startswith("1 validation error for XQuery\nlimit\n")


def test_models_since_is_a_release_number(tmp_path: Path) -> None:
    found = problems(tmp_path, {"service/get_x.json": endpoint(method="GET", path="/x", models_since="1.15.0")})
    assert found == ["service/get_x.json:5:21: x-endpoint.models_since: '1.15.0' does not match '^[0-9]+\\\\.[0-9]+$'"]


def test_schema_files_are_found_in_the_order_of_sorted_paths(tmp_path: Path) -> None:
    # By parts, as sorted Paths compare: `a/x` before `a-b/x`, though '-' sorts before '/' in a string.
    for rel in ("a-b/x.json", "a/x.json", "a/b/c.json", "_shared/e.json", "z.json", "a/notes.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}")
    (tmp_path / "folder.json").mkdir()  # a folder is no schema
    (tmp_path / "linked").symlink_to(tmp_path / "a", target_is_directory=True)  # not entered, as rglob
    found = schema_files(tmp_path)
    depth = len(tmp_path.parts)
    expected = [("/".join(f.parts[depth:]), str(f)) for f in sorted(tmp_path.rglob("*.json")) if f.is_file()]
    assert found == expected
    assert [rel for rel, _ in found] == ["_shared/e.json", "a/b/c.json", "a/x.json", "a-b/x.json", "z.json"]


def test_a_schema_that_is_not_utf8_is_a_located_problem(tmp_path: Path) -> None:
    root = catalogue_dir(tmp_path, {})
    (root / "service").mkdir()
    (root / "service" / "latin.json").write_bytes(b'{"title": "caf\xe9"}')
    with pytest.raises(FixtureError) as caught:
        load_catalogue(root)
    (problem,) = [str(p) for p in caught.value.problems]
    assert problem.startswith(f"{root / 'service' / 'latin.json'}:1:1: cannot read schema: 'utf-8' codec")
