"""The plugin's DSL options: `--dify-dsl FILE[=KEY]` and ini `dify_dsl` serve the user's exports to every test;
a broken DSL file is one usage error at session start in lint's words."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

FILES = Path(__file__).parents[1] / "dify" / "dsl_files"
USES_THE_DSL_APPS = """
    import requests

    def test_the_dsl_workflow_validates_by_its_form(dify_mock_server):
        headers = {"Authorization": "Bearer app-every-input"}
        resp = requests.get(dify_mock_server.url + "/info", headers=headers)
        assert resp.json()["name"] == "Every Input"
        body = {"inputs": {"name": "Annabel"}, "user": "u", "response_mode": "blocking"}
        resp = requests.post(dify_mock_server.url + "/workflows/run", json=body, headers=headers)
        assert resp.json()["message"] == "name in input form must be less than 5 characters"

    async def test_the_async_fixture_has_them_too(dify_mock):
        assert dify_mock.api_key("chat") == "app-basic"
"""


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_user=textwrap.dedent(source))
    return pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-o", "asyncio_mode=auto", "-o", "asyncio_default_fixture_loop_scope=function", *args
    )


def test_dify_dsl_options_serve_the_exports(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        USES_THE_DSL_APPS,
        "--dify-dsl",
        str(FILES / "every_input.yml"),
        "--dify-dsl",
        f"{FILES / 'basic_chat.yml'}=app-basic",
    )
    result.assert_outcomes(passed=2)


def test_the_ini_lines_are_relative_to_the_ini_file(pytester: pytest.Pytester) -> None:
    exports = pytester.mkdir("exports")
    shutil.copy(FILES / "every_input.yml", exports / "every_input.yml")
    shutil.copy(FILES / "basic_chat.yml", exports / "basic_chat.yml")
    pytester.makeini("[pytest]\ndify_dsl =\n    exports/every_input.yml\n    exports/basic_chat.yml=app-basic\n")
    result = run(pytester, USES_THE_DSL_APPS)
    result.assert_outcomes(passed=2)


def test_a_broken_dsl_file_is_one_usage_error(pytester: pytest.Pytester) -> None:
    broken = pytester.path / "broken.yml"
    broken.write_text("version: '0.7.0'\nkind: snippet\napp: {name: B, mode: chat}\nmodel_config: {}\n")
    result = run(pytester, "def test_one(dify_mock_server):\n    pass\n", "--dify-dsl", str(broken))
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + result.stderr.str()
    result.stderr.fnmatch_lines(
        [
            "ERROR: dify-mockserver: the fixtures do not load (`dify-mockserver lint` says):",
            f"{broken}:2:7: Unsupported DSL kind: snippet",
        ]
    )
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
