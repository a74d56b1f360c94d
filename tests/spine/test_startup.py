"""Start-up loads only what serving needs (issue 13): action modules, the Python jsonschema, Faker and
watchfiles wait for their first use, and what stands in for them until then stays faithful."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import mockserver
import mockserver.actions
from mockserver.actions import MODULES, registry

# Imported by `serve` before its first answer only if start-up regressed.
NOT_AT_START = (
    "jsonschema",
    "referencing",
    "faker",
    "watchfiles",
    "mockserver.actions.documents",
    "mockserver.actions.chat",
    "mockserver.dify.dsl",
    "mockserver.control.verdict",
    "mockserver.state.knowledge",  # the Knowledge API's records: its first request
    "mockserver.actions.knowledge",
    "hmac",
    "importlib.resources",
)
# Likewise, but aiohttp's test client loads it itself (unittest): checked once the app is made.
NOT_AT_CREATE = ("difflib",)  # near misses (nearmiss.close_matches): the built-in fixtures have none

CODE = """
import asyncio, sys
from mockserver.app import create_app
from mockserver.settings import Settings

create_app(Settings())
print(" ".join(sorted(m for m in sys.modules if m in sys.argv[1].split(","))))
from aiohttp.test_utils import TestClient, TestServer

async def main():
    async with TestClient(TestServer(create_app(Settings()))) as client:
        resp = await client.get("/v1/")
        assert resp.status == 200, resp.status
    unwanted = sys.argv[2:]
    print(" ".join(sorted(m for m in sys.modules if any(m == u or m.startswith(u + ".") for u in unwanted))))
    from mockserver.keys import ACTIONS
    actions = create_app(Settings())[ACTIONS]
    actions["documents.list"]
    print("documents" if "mockserver.actions.documents" in sys.modules else "-")

asyncio.run(main())
"""


def test_the_table_of_action_names_is_what_the_modules_define() -> None:
    for module, names in MODULES.items():
        defined = importlib.import_module(f"mockserver.actions.{module}").ACTIONS
        assert [a.name for a in defined] == list(names), module


def test_every_action_of_the_package_is_in_the_table() -> None:
    tabled = {name for names in MODULES.values() for name in names}
    for info in pkgutil.iter_modules(mockserver.actions.__path__):
        module = importlib.import_module(f"mockserver.actions.{info.name}")
        for act in getattr(module, "ACTIONS", ()):
            assert act.name in tabled, f"{info.name}: {act.name} is missing from mockserver.actions.MODULES"


def test_the_registry_answers_names_and_loads_actions() -> None:
    actions = registry()
    assert len(actions) == sum(len(names) for names in MODULES.values())
    assert "record.get" in actions and "record.gett" not in actions
    assert actions["record.get"].name == "record.get"
    assert actions.get("record.gett") is None


def test_serving_the_first_answer_leaves_the_rest_unloaded() -> None:
    argv = [sys.executable, "-c", CODE, ",".join(NOT_AT_CREATE), *NOT_AT_START]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    made, loaded, documents = out.stdout.splitlines()
    assert made == loaded == ""
    assert documents == "documents"  # looked up: loaded


def test_the_package_defines_records_as_structs_not_dataclasses() -> None:
    """The dataclass decorator exec()s generated code for each class (issue 13: ~200 us a class at
    start-up, and the code stays in memory): records are msgspec Structs, or plain classes."""
    import dataclasses

    for info in pkgutil.walk_packages(mockserver.__path__, "mockserver."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, type) and value.__module__ == info.name:
                assert not dataclasses.is_dataclass(value), f"{info.name}.{name} is a dataclass"
