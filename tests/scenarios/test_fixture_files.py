"""F11: `.yml` files load like `.yaml`, and `_apps.yaml` typos are reported with a did-you-mean."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixture_dirs import write

from mockserver.app import load
from mockserver.catalogue import load_catalogue
from mockserver.dify.apps import DEFAULT_PARAMETERS, DEFAULT_SITE
from mockserver.dify.versions import DEFAULT, RELEASES
from mockserver.errors import FixtureError
from mockserver.paths import schemas_dir
from mockserver.scenarios.loader import fixture_files
from mockserver.scenarios.vocabulary import near_miss
from mockserver.settings import Settings
from mockserver.tools import lint

GREET = "scenarios:\n  greet:\n    match: {body.query: hi}\n    respond: {blocking: {answer: hello}}\n"


def load_problems(root: Path) -> list[str]:
    with pytest.raises(FixtureError) as info:
        load(Settings(fixtures=(root,)))
    return [str(p) for p in info.value.problems]


def test_a_yml_file_loads_like_a_yaml_file(tmp_path: Path) -> None:
    write(tmp_path, "service/send_chat_message.yml", GREET)
    write(tmp_path, "_apps.yml", "apps:\n  app-mine: {mode: chat}\n")
    _, book = load(Settings(fixtures=(tmp_path,)))
    assert book.fixtures["service.send_chat_message"].rules[0].name == "greet"
    assert "app-mine" in book.apps.apps
    assert [rel for _, rel in fixture_files(tmp_path)] == ["_apps.yaml", "service/send_chat_message.yaml"]


def test_a_yml_file_is_checked_like_a_yaml_file(tmp_path: Path) -> None:
    file = write(tmp_path, "service/send_chat_message.yml", GREET.replace("respond", "repsond"))
    assert load_problems(tmp_path) == [f"{file}:4:5: unknown key 'repsond' (did you mean 'respond'?)"]


def test_yaml_and_yml_for_one_endpoint_in_one_directory_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "service/send_chat_message.yaml", GREET)
    twin = write(tmp_path, "service/send_chat_message.yml", GREET)
    assert load_problems(tmp_path) == [
        f"{twin}:1:1: service/send_chat_message.yaml is the same fixture in this directory: keep one"
    ]


def test_lint_counts_yml_files(tmp_path: Path) -> None:
    before = lint.run([tmp_path]).files
    write(tmp_path, "service/send_chat_message.yml", GREET)
    report = lint.run([tmp_path])
    assert report.findings == [] and report.files == before + 1


@pytest.mark.parametrize(
    ("entry", "expect"),
    [
        ("nmae: Support bot", "4:5: unknown key 'nmae' (did you mean 'name'?)"),
        ("descripton: x", "4:5: unknown key 'descripton' (did you mean 'description'?)"),
        ("workflowid: x", "4:5: unknown key 'workflowid' (did you mean 'workflow_id'?)"),
        ("site: {titel: Bot}", "4:12: unknown key 'titel' (did you mean 'title'?)"),
        ("site: {code: bot, icon_typ: emoji}", "4:23: unknown key 'icon_typ' (did you mean 'icon_type'?)"),
        ("info: {author: me}", "4:12: unknown key 'author' (did you mean 'author_name'?)"),
        (
            "parameters: {opening_statment: hi}",
            "4:18: unknown key 'opening_statment' (did you mean 'opening_statement'?)",
        ),
    ],
)
def test_apps_typos_are_located(tmp_path: Path, entry: str, expect: str) -> None:
    file = write(tmp_path, "_apps.yaml", f"apps:\n  app-bot:\n    mode: chat\n    {entry}\n")
    assert load_problems(tmp_path) == [f"{file}:{expect}"]


def test_other_unknown_app_keys_are_custom_fields(tmp_path: Path) -> None:
    write(tmp_path, "_apps.yaml", "apps:\n  app-bot: {mode: chat, team: support, tags: [a]}\n")
    _, book = load(Settings(fixtures=(tmp_path,)))
    assert book.apps.apps["app-bot"].root_for(RELEASES[DEFAULT])["team"] == "support"


def test_the_apps_schema_knows_difys_keys() -> None:
    # The schema's key sets must follow the defaults the mock answers with, or a valid key is refused.
    app = load_catalogue(schemas_dir()).registry.contents("_meta/apps.json")["$defs"]["app"]["properties"]
    site = next(branch for branch in app["site"]["anyOf"] if branch.get("type") == "object")
    assert set(site["properties"]) == {*DEFAULT_SITE, "code"}
    assert set(app["parameters"]["properties"]) == set(DEFAULT_PARAMETERS)
    assert set(app["info"]["properties"]) == {"name", "description", "tags", "mode", "author_name"}


def test_near_miss_is_strict() -> None:
    known = {"mode", "id", "name", "description", "workflow_id", "info", "site", "meta", "parameters"}
    assert near_miss("nmae", known) == "name" and near_miss("mdoe", known) == "mode"
    assert near_miss("team", known) is None and near_miss("owner", known) is None
    assert near_miss("tags", known) is None and near_miss("metadata", known) is None


def test_a_typo_and_a_schema_problem_come_together(tmp_path: Path) -> None:
    file = write(
        tmp_path, "_apps.yaml", "apps:\n  app-x: {mode: chat, site: {titel: t}}\n  app-y: {mode: chat, nmae: Y}\n"
    )
    assert load_problems(tmp_path) == [
        f"{file}:2:30: unknown key 'titel' (did you mean 'title'?)",
        f"{file}:3:23: unknown key 'nmae' (did you mean 'name'?)",
    ]
