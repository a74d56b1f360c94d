"""Every README snippet runs: pytest examples through pytester, SDK code and curl commands against a real
server, the fixture example through the loader."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mockserver.app import load
from mockserver.settings import Settings

pytest_plugins = ["pytester"]

README = Path(__file__).resolve().parents[2] / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
BLOCKS = [(lang, body) for lang, body in FENCE.findall(README.read_text(encoding="utf-8"))]
SETUP_COMMANDS = [b for lang, b in BLOCKS if lang == "sh" and "python3 -m venv" in b]


def _ids(blocks: list[str]) -> list[str]:
    return [f"{i}:{b.strip().splitlines()[0][:40]}" for i, b in enumerate(blocks)]


PYTEST_EXAMPLES = [b for lang, b in BLOCKS if lang == "python" and "def test_" in b]
SCRIPTS = [b for lang, b in BLOCKS if lang == "python" and "def test_" not in b]
CURLS = [b for lang, b in BLOCKS if lang == "sh" and "curl" in b]
FIXTURES = [b for lang, b in BLOCKS if lang == "yaml"]


def test_the_readme_has_exactly_two_setup_commands():
    assert len(SETUP_COMMANDS) == 2
    serve, tests = (c.strip() for c in SETUP_COMMANDS)
    assert serve.endswith("dify-mockserver serve") and "pip install -e ." in serve
    assert tests.endswith("python -m pytest") and "pip install -e '.[test]'" in tests
    # .ci/run runs that same test command
    ci = (README.parent / ".ci" / "run").read_text()
    assert "pip install -q -e '.[test]'" in ci and "python -m pytest" in ci


def _passes(result: pytest.RunResult) -> None:
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 1 and not outcomes.get("failed") and not outcomes.get("errors"), (
        result.stdout.str()
    )


@pytest.mark.parametrize("source", PYTEST_EXAMPLES, ids=_ids(PYTEST_EXAMPLES))
def test_pytest_examples_pass(pytester: pytest.Pytester, source: str):
    # As written (newcomer-trial F5): no asyncio_mode or other configuration the README does not show.
    pytester.makepyfile(test_example=source)
    _passes(pytester.runpytest_subprocess("-p", "no:cacheprovider"))


SHARED_SERVER_EXAMPLES = [b for b in PYTEST_EXAMPLES if "dify_mock_server" in b]


@pytest.mark.parametrize("source", SHARED_SERVER_EXAMPLES, ids=_ids(SHARED_SERVER_EXAMPLES))
def test_pytest_examples_pass_against_a_server_started_separately(
    pytester: pytest.Pytester, start_serve, monkeypatch: pytest.MonkeyPatch, source: str
):
    # newcomer-trial F1: with DIFY_MOCK_URL the same tests run unchanged, header-less clients included;
    # run twice so the second run proves the first left nothing behind (faults, journal, conversations).
    url = start_serve("--port", "0").wait_ready()
    monkeypatch.setenv("DIFY_MOCK_URL", url)
    pytester.makepyfile(test_example=source)
    for _ in range(2):
        _passes(pytester.runpytest_subprocess("-p", "no:cacheprovider"))


def _live(text: str, base_url: str) -> str:
    host_port = base_url.split("://", 1)[1]
    return text.replace("127.0.0.1:5001", host_port).replace("localhost:5001", host_port)


@pytest.mark.parametrize("source", SCRIPTS, ids=_ids(SCRIPTS))
def test_scripts_run_against_a_server(start_serve, source: str):
    url = start_serve("--port", "0").wait_ready()
    result = subprocess.run([sys.executable, "-c", _live(source, url)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for expected in re.findall(r"print\(.*\)\s+# (.+)", source):
        assert expected.strip() in result.stdout


def _serve_args(source: str) -> list[str]:
    """A block whose first line is `# with: serve ARGS` runs against a server started with ARGS (paths
    relative to the repository)."""
    first = source.strip().splitlines()[0]
    if not first.startswith("# with: serve "):
        return []
    root = README.parent
    return [str(root / a) if "/" in a and not a.startswith("-") else a for a in first.split()[3:]]


@pytest.mark.parametrize("source", CURLS, ids=_ids(CURLS))
def test_curl_commands_succeed_against_a_server(start_serve, source: str):
    url = start_serve("--port", "0", *_serve_args(source)).wait_ready()
    script = "set -e -o pipefail\n" + _live(source, url).replace("curl -s", "curl -sf")
    result = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=60, env={**os.environ, "LC_ALL": "C.UTF-8"}
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert result.stdout.strip()


@pytest.mark.parametrize("source", FIXTURES, ids=_ids(FIXTURES))
def test_fixture_examples_load(tmp_path: Path, source: str):
    first = source.strip().splitlines()[0]
    match = re.match(r"#\s*[\w.-]+/(\S+\.yaml)", first)
    assert match, f"a README fixture example starts with a '# DIR/path.yaml' comment: {first!r}"
    target = tmp_path / match.group(1)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(source)
    _, book = load(Settings(fixtures=(tmp_path,)))
    assert book.fixtures
