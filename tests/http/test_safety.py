"""Fixture, DSL and template safety (issue 13, robustness): YAML is data only (a `!!python/...` tag is a
located lint error, never constructed); templates reach no Python object, attribute or file; no path in
a fixture or a request reads outside its directory.

What is allowed on purpose: a `dsl:` path in `_apps.yaml` may point outside the fixture directory (a DSL
export often lives elsewhere in a repository; the path is the fixture author's, as `serve --dsl FILE`
is); the file is read with the same safe loader, as DSL data only."""

from __future__ import annotations

import builtins
import io
import os
from pathlib import Path
from typing import Any

import pytest
from dify_facts import multipart

from mockserver.app import load
from mockserver.errors import FixtureError
from mockserver.scenarios.template import TemplateSyntaxError, compile_expr
from mockserver.settings import Settings
from tests.support.cli_inprocess import invoke

ENDPOINT = "service.send_chat_message"
CHAT_BODY = {"inputs": {}, "query": "hello", "user": "u", "response_mode": "blocking"}


# --- YAML: a safe loader, data only ----------------------------------------------------------------

HOSTILE_YAML = """\
scenarios:
  - name: apply
    respond:
      blocking: !!python/object/apply:os.system ["touch {marker}"]
  - name: name
    respond:
      blocking:
        answer: !!python/name:os.system
  - name: object
    respond:
      blocking: !!python/object:argparse.Namespace {{answer: x}}
  - name: custom
    respond:
      blocking: !mytag {{answer: x}}
"""


def test_python_yaml_tags_are_located_lint_errors_never_constructed(tmp_path: Path) -> None:
    marker = tmp_path / "constructed"
    fixture = tmp_path / "fx" / "service" / "send_chat_message.yaml"
    fixture.parent.mkdir(parents=True)
    fixture.write_text(HOSTILE_YAML.format(marker=marker))
    with pytest.raises(FixtureError) as caught:
        load(Settings(fixtures=(tmp_path / "fx",)))
    where = [(p.line, p.column, p.message) for p in caught.value.problems if p.file == str(fixture)]
    assert where == [
        (4, 17, "YAML tag !!python/object/apply:os.system is not allowed: only plain data"),
        (8, 17, "YAML tag !!python/name:os.system is not allowed: only plain data"),
        (11, 17, "YAML tag !!python/object:argparse.Namespace is not allowed: only plain data"),
        (14, 17, "YAML tag !mytag is not allowed: only plain data"),
    ]
    assert not marker.exists()
    # `lint` says the same, FILE:LINE:COLUMN first, and no traceback.
    result = invoke("lint", str(tmp_path / "fx"))
    assert result.exit_code == 1
    assert f"{fixture}:4:17: YAML tag !!python/object/apply:os.system is not allowed" in result.output
    assert "Traceback" not in result.output
    assert not marker.exists()


def test_a_tagged_dsl_is_refused_at_run_time_and_from_apps_yaml(tmp_path: Path) -> None:
    marker = tmp_path / "constructed"
    dsl = tmp_path / "evil.yml"
    dsl.write_text(f'app: !!python/object/apply:os.system ["touch {marker}"]\nkind: app\nversion: 0.3.0\n')
    (tmp_path / "fx").mkdir()
    (tmp_path / "fx" / "_apps.yaml").write_text("apps:\n  app-evil:\n    dsl: ../evil.yml\n")
    with pytest.raises(FixtureError) as caught:
        load(Settings(fixtures=(tmp_path / "fx",)))
    assert any("!!python/object/apply:os.system" in p.message and p.line == 1 for p in caught.value.problems)
    assert not marker.exists()


async def test_posted_dsl_text_with_a_python_tag_is_a_400(client: Any) -> None:
    text = 'app: !!python/object/apply:os.system ["echo pwned"]\nkind: app\nversion: 0.3.0\n'
    resp = await client.post("/_mock/apps", json={"key": "app-evil", "dsl": text})
    assert resp.status == 400
    assert "!!python/object/apply:os.system" in (await resp.json())["message"]
    assert (await client.get("/_mock/health")).status == 200


# --- templates: no Python objects, attributes or files ---------------------------------------------

REFUSED = [
    "''.__class__",
    "request.__class__",
    "request.headers.__class__.__mro__",
    "().__class__.__bases__[0].__subclasses__()",
    "request._call",
    "__import__('os').system('id')",
    "open('/etc/passwd').read()",
    "eval('1')",
    "getattr(request, 'headers')",
    "request.body.keys()",
    "[c for c in request]",
    "lambda: 1",
    "request if request else app",
    "fake.provider('faker.providers.address')",
    "fake.get_providers()",
    "fake.add_provider('os')",
    "fake.set_formatter('name', None)",
    "fake.seed_instance(1)",
    "fake.pyobject()",
    "fake.__class__()",
    "usage(**{'a': 1})",
    "request.body | json(__import__)",
]


@pytest.mark.parametrize("source", REFUSED)
async def test_templates_refuse_what_would_reach_python(client: Any, source: str) -> None:
    """Refused when the stub is posted (400 naming the expression), as `lint` refuses it in a file."""
    scenario = {"respond": {"blocking": {"answer": "{{ " + source + " }}"}}}
    resp = await client.post("/_mock/scenarios", json={"endpoint": ENDPOINT, "scenario": scenario, "tenant": "s:t"})
    assert resp.status == 400, await resp.text()
    body = await resp.json()
    assert body["code"] == "mock_invalid_scenario", body


@pytest.mark.parametrize("source", REFUSED)
def test_compile_expr_refuses(source: str) -> None:
    from mockserver.determinism import FakerSource

    fakes: list[tuple[str, str]] = []
    try:
        compile_expr(source, "label", fakes)
    except TemplateSyntaxError:
        return
    # fake.<name>() compiles; the loader's provider check refuses what is not a data provider.
    assert fakes and not FakerSource().has_provider(fakes[0][1]), source


WALKS = [
    "request['__class__']",
    "request.body['__class__']",
    "request.headers.items",
    "request.headers['__init__']",
    "app['__dict__']",
    "vars['__class__']",
    "dify['__globals__']",
]  # (`ids[...]` takes any label: `ids['__class__']` is an id derived from that text, no attribute)


@pytest.mark.parametrize("source", WALKS)
async def test_key_lookups_never_become_attribute_lookups(client: Any, source: str) -> None:
    """A key that names a Python attribute is only a key: it finds nothing, renders as ""."""
    scenario = {"respond": {"blocking": {"answer": "[{{ " + source + " | default('') }}]"}}}
    resp = await client.post("/_mock/scenarios", json={"endpoint": ENDPOINT, "scenario": scenario, "tenant": "s:t"})
    assert resp.status == 201, await resp.text()
    chat = await client.post(
        "/v1/chat-messages", json=CHAT_BODY, headers={"Authorization": "Bearer app-chat", "X-Mock-Session": "t"}
    )
    assert chat.status == 200, await chat.text()
    assert (await chat.json())["answer"] == "[]"


async def test_faker_values_are_plain_json(client: Any) -> None:
    """Providers that return sets, decimals or timedeltas render as JSON, never as Python objects."""
    answer = "{{ fake.pyset(nb_elements=2) }}|{{ fake.pydecimal(left_digits=2) }}|{{ fake.time_delta() }}"
    scenario = {"respond": {"blocking": {"answer": answer}}}
    resp = await client.post("/_mock/scenarios", json={"endpoint": ENDPOINT, "scenario": scenario, "tenant": "s:t"})
    assert resp.status == 201, await resp.text()
    chat = await client.post(
        "/v1/chat-messages", json=CHAT_BODY, headers={"Authorization": "Bearer app-chat", "X-Mock-Session": "t"}
    )
    assert chat.status == 200, await chat.text()
    text = (await chat.json())["answer"]
    assert "object at 0x" not in text and "Decimal(" not in text and "{" not in text.split("|")[0][:1]


# --- paths: nothing reads outside its directory ----------------------------------------------------


def test_a_fixture_linking_outside_its_directory_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("scenarios: [{name: leaked, respond: {blocking: {answer: SECRET-CONTENT}}}]\n")
    fixture = tmp_path / "fx" / "service" / "send_chat_message.yaml"
    fixture.parent.mkdir(parents=True)
    fixture.symlink_to(secret)
    with pytest.raises(FixtureError) as caught:
        load(Settings(fixtures=(tmp_path / "fx",)))
    (problem,) = caught.value.problems
    assert problem.file == str(fixture)
    assert problem.message == "links outside its fixture directory: not read"
    assert "SECRET" not in str(caught.value)


@pytest.mark.parametrize("target", ["../../../etc/passwd", "/etc/passwd", "service/../../x", "..\\..\\x"])
def test_extends_names_a_fixture_never_a_file(tmp_path: Path, target: str) -> None:
    fixture = tmp_path / "fx" / "service" / "send_chat_message.yaml"
    fixture.parent.mkdir(parents=True)
    fixture.write_text(f"extends: '{target}'\n")
    with pytest.raises(FixtureError) as caught:
        load(Settings(fixtures=(tmp_path / "fx",)))
    messages = [p.message for p in caught.value.problems]
    assert any(m.startswith("extends:") for m in messages), messages
    assert not any("root:" in m for m in messages)


def test_a_dsl_path_outside_the_fixture_directory_is_read_as_dsl(tmp_path: Path) -> None:
    """Allowed on purpose (module docstring): read with the safe loader, as DSL only; a file that is
    not a DSL export is refused without its content in the message."""
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:SECRET-CONTENT:/root:/bin/bash\n")
    (tmp_path / "fx").mkdir()
    (tmp_path / "fx" / "_apps.yaml").write_text("apps:\n  app-x:\n    dsl: ../secret.txt\n")
    with pytest.raises(FixtureError) as caught:
        load(Settings(fixtures=(tmp_path / "fx",)))
    assert "SECRET-CONTENT" not in str(caught.value)


TRAVERSALS = [
    "..%2F..%2F..%2Fetc%2Fpasswd",
    "%2Fetc%2Fpasswd",
    "....%2F%2F....%2F%2Fetc",
    "..",
    "%2e%2e",
    "00000000-0000-0000-0000-000000000000",
    "C:%5Cwindows%5Cwin.ini",
]


@pytest.mark.parametrize("file_id", TRAVERSALS)
async def test_request_file_ids_never_reach_the_filesystem(
    client: Any, monkeypatch: pytest.MonkeyPatch, file_id: str
) -> None:
    """File ids are looked up in the tenant's store only: with every way to open a file blocked, a
    traversal id is refused as any unknown id is (404, or 400 for a signed route's missing signature)."""
    body, headers = multipart(("file", "a.txt", "text/plain", b"hello"), ("user", None, None, b"u"))
    headers = {**headers, "Authorization": "Bearer app-chat"}
    upload = await client.post("/v1/files/upload", data=body, headers=headers)
    assert upload.status == 201
    paths = (f"/v1/files/{file_id}/preview", f"/files/{file_id}/file-preview", f"/files/{file_id}/image-preview")
    for path in paths:  # warm-up: the mock's own lazy reads (its route table) happen before the block
        await client.get(path, headers={"Authorization": "Bearer app-chat"})

    def blocked(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"a request opened a file: {args!r}")

    monkeypatch.setattr(builtins, "open", blocked)
    monkeypatch.setattr(io, "open", blocked)
    monkeypatch.setattr(os, "open", blocked)
    monkeypatch.setattr(Path, "open", blocked)
    for path in paths:
        resp = await client.get(path, headers={"Authorization": "Bearer app-chat"})
        assert 400 <= resp.status < 500, (path, resp.status, await resp.text())
    monkeypatch.undo()
    entries = (await (await client.get("/_mock/journal")).json())["data"]
    assert not [e for e in entries if (e.get("error") or {}).get("crash")]
