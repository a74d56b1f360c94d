"""`dify-mockserver lint`: each broken fixture in tests/lint_cases/ gives exactly its `# expect:` lines.

A case file opens with comment lines: `# expect: LINE:COLUMN: message` (one per problem, what follows
`FILE:` in lint's output; a trailing ` ...` matches the rest of the line), `# path: <api>/<op>.yaml`
(where it goes in a fixture directory) and, optionally, `# xfail: reason`.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mockserver.catalogue import load_catalogue
from mockserver.paths import schemas_dir
from mockserver.tools import lint
from tests.support.cli_inprocess import invoke
from tests.support.cli_process import run_cli

CASES = Path(__file__).resolve().parent.parent / "lint_cases"
SUMMARY = re.compile(r"^(\d+) fixture files, (\d+) scenarios OK$")


@dataclass(frozen=True)
class Case:
    source: Path
    path: str
    expect: tuple[str, ...]
    xfail: str | None

    @classmethod
    def read(cls, source: Path) -> Case:
        header: dict[str, list[str]] = {"expect": [], "path": [], "xfail": []}
        for line in source.read_text().splitlines():
            m = re.match(r"# (expect|path|xfail): (.*)$", line)
            if m:
                header[m.group(1)].append(m.group(2))
        assert header["expect"] and len(header["path"]) == 1, f"{source.name}: needs `# expect:` and one `# path:`"
        return cls(source, header["path"][0], tuple(header["expect"]), (header["xfail"] or [None])[0])

    def place(self, root: Path) -> Path:
        target = root / self.path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.source, target)
        return target


def all_cases() -> list[Any]:
    out = []
    for source in sorted(CASES.glob("*.yaml")):
        case = Case.read(source)
        marks = [pytest.mark.xfail(reason=case.xfail, strict=True)] if case.xfail else []
        out.append(pytest.param(case, id=source.stem, marks=marks))
    return out


def problem_lines(stdout: str) -> list[str]:
    """The first line of every error (hint lines are indented)."""
    return [line for line in stdout.splitlines() if line and not line[0].isspace()]


def assert_lines(found: list[str], target: Path, expect: tuple[str, ...]) -> None:
    wanted = [f"{target}:{e}" for e in expect]
    assert len(found) == len(wanted), "\n".join(found)
    for got, want in zip(found, wanted, strict=True):
        if want.endswith(" ..."):
            assert got.startswith(want[: -len(" ...")]), got
        else:
            assert got == want


def test_every_case_file_is_well_formed() -> None:
    cases = all_cases()
    assert len(cases) >= 20
    for param in cases:
        (case,) = param.values
        assert isinstance(case, Case) and re.fullmatch(r"\w+(/\w+)?\.ya?ml", case.path), case.source.name
        assert all(re.match(r"\d+:\d+: \S", e) for e in case.expect), case.source.name


@pytest.mark.parametrize("case", all_cases())
def test_lint_case(case: Case, tmp_path: Path) -> None:
    target = case.place(tmp_path)
    result = invoke("lint", str(tmp_path))
    assert result.exit_code == 1, result.stdout
    assert_lines(problem_lines(result.stdout), target, case.expect)
    assert re.search(r"lint: \d+ problems?$", result.stderr.strip()) and "scenarios OK" not in result.stdout


@pytest.mark.parametrize("name", ["misspelled_event_key", "deep_schema_violation"])
def test_lint_case_through_the_real_process(name: str, tmp_path: Path) -> None:
    case = Case.read(CASES / f"{name}.yaml")
    target = case.place(tmp_path)
    result = run_cli("lint", str(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert_lines(problem_lines(result.stdout), target, case.expect)
    assert "Traceback" not in result.stderr


def test_builtin_fixtures_lint_clean() -> None:
    result = run_cli("lint")
    assert result.returncode == 0, result.stdout + result.stderr
    m = SUMMARY.match(result.stdout.strip())
    assert m, result.stdout
    # /v1/parameters lost its file to its schema's default action (app.parameters)
    assert int(m.group(1)) >= 13 and int(m.group(2)) >= 15


def test_deep_check_renders_every_scenario_for_each_app_and_mode() -> None:
    catalogue, book = lint.load(lint.Settings())
    probes = list(lint.probes(catalogue, book))
    chat = {(p.scenario.name, p.key, p.response_mode) for p in probes if p.spec.id == "service.send_chat_message"}
    assert ("default", "app-chat", "blocking") in chat and ("default", "app-chat", "streaming") in chat
    assert ("chatflow", "app-advanced-chat", "streaming") in chat
    assert ("agent_chat", "app-agent-chat", "streaming") in chat
    assert not any(key in ("app-agent-chat", "app-agent") and mode == "blocking" for _, key, mode in chat)
    assert not any(key in ("app-completion", "app-workflow") for _, key, _ in chat)
    by_id = {p.spec.id: p for p in probes}
    assert by_id["service.get_index"].key is None
    assert by_id["service.run_workflow_by_id"].key == "app-workflow"
    assert lint.run([]).findings == []


def test_a_user_override_is_linted_in_context(tmp_path: Path) -> None:
    # No `default` here: the built-in file's default still stands once the directories merge.
    (tmp_path / "service").mkdir()
    (tmp_path / "service" / "send_chat_message.yaml").write_text(
        "scenarios:\n  greet:\n    match: {body.query: hi}\n    respond:\n      stream:\n        events:\n"
        "          - {event: message, answer: Hello}\n          - {event: message_end}\n"
    )
    result = invoke("lint", str(tmp_path))
    assert result.exit_code == 0, result.stdout
    files, scenarios = map(int, SUMMARY.match(result.stdout.strip()).groups())  # type: ignore[union-attr]
    builtin = map(int, SUMMARY.match(invoke("lint").stdout.strip()).groups())  # type: ignore[union-attr]
    assert (files, scenarios) == tuple(n + 1 for n in builtin)


def test_a_user_file_removing_the_default_fails(tmp_path: Path) -> None:
    (tmp_path / "service").mkdir()
    (tmp_path / "service" / "get_app_info.yaml").write_text("scenarios:\n  default: null\n")
    result = invoke("lint", str(tmp_path))
    assert result.exit_code == 1
    (line,) = problem_lines(result.stdout)
    assert line == f"{tmp_path / 'service' / 'get_app_info.yaml'}:2:3: no 'default' scenario (every fixture needs one)"


def test_error_scenarios_may_answer_4xx_and_each_sequence_turn_is_rendered(tmp_path: Path) -> None:
    (tmp_path / "service").mkdir()
    target = tmp_path / "service" / "send_chat_message.yaml"
    target.write_text(
        "scenarios:\n"
        "  refused: {respond: {error: {code: app_unavailable}}}\n"
        "  flaky:\n"
        "    sequence:\n"
        "      - {error: {code: too_many_requests}}\n"
        "      - {blocking: {answer: ok}, stream: {events: [{event: message, answer: ok}]}}\n"
    )
    result = invoke("lint", str(tmp_path))
    assert result.exit_code == 1
    lines = problem_lines(result.stdout)
    assert lines == [
        f"{target}:3:3: scenario 'flaky' (app-chat, streaming): the stream ends with 'message', "
        "not its terminal event (error, message_end, workflow_finished, workflow_paused)"
    ]
    assert result.stdout.splitlines()[1].startswith("  also (app-advanced-chat, streaming)")


def test_lint_list_names_every_endpoint_with_method_path_and_file() -> None:
    result = invoke("lint", "--list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == len(load_catalogue(schemas_dir()).endpoints)
    rows = {line.split()[0]: line.split() for line in lines}
    assert rows["service.send_chat_message"] == [
        "service.send_chat_message",
        "POST",
        "/v1/chat-messages",
        "service/send_chat_message.yaml",
    ]
    # aligned: every column starts at the same offset
    for column in range(1, 4):
        starts = {line.index(" " + line.split()[column] + (" " if column < 3 else "")) for line in lines}
        assert len(starts) == 1, lines


def test_lint_help_and_a_missing_directory() -> None:
    result = invoke("lint", "--help")
    assert result.exit_code == 0 and "--list" in result.stdout
    result = invoke("lint", "/nonexistent/fixtures")
    assert result.exit_code == 1
    assert problem_lines(result.stdout) == ["/nonexistent/fixtures:1:1: fixture directory does not exist"]


def test_directories_may_come_after_an_option(tmp_path: Path) -> None:
    # `lint A --dsl FILE B`: B is linted too (argparse alone would refuse it as an unknown argument).
    first, second = tmp_path / "a", tmp_path / "b"
    (first / "service").mkdir(parents=True)
    (second / "service").mkdir(parents=True)
    (second / "service" / "get_app_info.yaml").write_text("scenarios:\n  default: null\n")
    missing = tmp_path / "nope.yml"
    result = invoke("lint", str(first), "--dsl", str(missing), str(second))
    assert result.exit_code == 1, result.output
    lines = problem_lines(result.stdout)
    assert f"{missing}:1:1: DSL file not found" in lines
    assert f"{second / 'service' / 'get_app_info.yaml'}:2:3: no 'default' scenario (every fixture needs one)" in lines
    refused = invoke("lint", str(first), "--bogus", str(second))
    assert refused.exit_code == 2 and "lint: error: unrecognized arguments: --bogus" in refused.stderr
