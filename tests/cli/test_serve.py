"""The real `serve` process: listening line, serving, clean stops, refusals, --help."""

from __future__ import annotations

import gc
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from importlib.metadata import version as installed_version
from pathlib import Path

import pytest

from tests.support.cli_process import run_cli as _run_cli

LISTENING = re.compile(r"^dify-mockserver listening on http://127\.0\.0\.1:(\d+)$")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return _run_cli(*args, timeout=30)  # these commands end or refuse at once


def get_json(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_port_0_prints_the_listening_line_and_serves(start_serve):
    server = start_serve("--port", "0")
    url = server.wait_ready()
    match = LISTENING.match(f"dify-mockserver listening on {url}")
    assert match, url
    assert int(match.group(1)) > 0

    status, body = get_json(f"{url}/v1/")
    assert status == 200
    assert body["welcome"] == "Dify OpenAPI"
    assert body["api_version"] == "v1"

    status, body = get_json(f"{url}/_mock/health")
    assert status == 200
    assert body["status"] == "ok"
    # mockserver._version is what pyproject.toml builds the distribution's metadata from.
    assert body["version"] == installed_version("dify-mockserver")


def test_serves_the_service_api_with_a_builtin_key(start_serve):
    url = start_serve("--port", "0", "--seed", "7", "--log-level", "warning").wait_ready()
    request = urllib.request.Request(
        f"{url}/v1/chat-messages",
        method="POST",
        data=json.dumps({"inputs": {}, "query": "hi", "user": "u1"}).encode(),
        headers={"Authorization": "Bearer app-chat", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 200
        body = json.load(resp)
    assert body["event"] == "message"
    assert body["mode"] == "chat"
    assert body["answer"] == "You asked: hi"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_cleanly(start_serve, sig):
    server = start_serve("--port", "0")
    url = server.wait_ready()
    assert get_json(f"{url}/_mock/health")[0] == 200

    server.send(sig)
    assert server.wait(timeout=5) == 0
    stderr = server.stderr()
    assert "Traceback" not in stderr
    assert "KeyboardInterrupt" not in stderr
    assert server.stdout_rest() == []  # notices go to stderr, stdout only carries the listening line
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url}/_mock/health", timeout=2)


def test_non_loopback_host_without_admin_token_refuses_to_start():
    result = run_cli("serve", "--host", "0.0.0.0", "--port", "0")
    assert result.returncode != 0
    assert "--admin-token" in result.stderr
    assert "listening" not in result.stdout


def test_busy_port_is_a_clear_error(start_serve):
    first = start_serve("--port", "0")
    port = first.wait_ready().rsplit(":", 1)[1]

    result = run_cli("serve", "--port", port)
    assert result.returncode != 0
    assert "listening" not in result.stdout
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
    # the first server is unharmed
    assert get_json(f"{first.url}/_mock/health")[0] == 200


def test_admin_token_guards_the_control_plane(start_serve):
    url = start_serve("--port", "0", "--admin-token", "s3cret").wait_ready()
    assert get_json(f"{url}/_mock/health", {"X-Mock-Admin-Token": "s3cret"})[0] == 200
    assert get_json(f"{url}/_mock/health")[0] in (401, 403)


def test_python_m_help():
    result = run_cli("--help")
    assert result.returncode == 0
    assert "serve" in result.stdout
    result = run_cli("serve", "--help")
    assert result.returncode == 0
    for option in ("--host", "--port", "--seed", "--log-level", "--admin-token", "--fixtures"):
        assert option in result.stdout


def test_console_script_help():
    script = Path(sys.executable).with_name("dify-mockserver")
    found = str(script) if script.exists() else shutil.which("dify-mockserver")
    if found is None:
        pytest.skip("the dify-mockserver console script is not installed in this environment")
    result = subprocess.run([found, "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert "serve" in result.stdout
    assert "dify-mockserver" in result.stdout or "Usage" in result.stdout


def test_broken_fixture_refuses_to_start_naming_file_line_and_problem(tmp_path: Path):
    broken = tmp_path / "service" / "send_chat_message.yaml"
    broken.parent.mkdir()
    broken.write_text("scenarios:\n  hello:\n    respond:\n      blocking: {answer: '{{ nope.x }}'}\n")
    result = run_cli("serve", "--port", "0", "--fixtures", str(tmp_path))
    assert result.returncode == 1
    assert f"{broken}:4:" in result.stderr and "unknown name 'nope'" in result.stderr
    assert "listening" not in result.stdout


def test_user_fixture_directory_is_served_over_the_builtins(start_serve, tmp_path: Path):
    (tmp_path / "service").mkdir()
    (tmp_path / "service" / "get_app_info.yaml").write_text(
        "scenarios:\n  default:\n    respond:\n"
        "      blocking: {name: Custom, description: mine, tags: [x], mode: '{{ app.mode }}', author_name: me}\n"
    )
    url = start_serve("--port", "0", "--fixtures", str(tmp_path)).wait_ready()
    status, body = get_json(f"{url}/v1/info", {"Authorization": "Bearer app-workflow"})
    assert status == 200 and body["name"] == "Custom" and body["mode"] == "workflow"
    status, body = get_json(f"{url}/v1/site", {"Authorization": "Bearer app-chat"})
    assert status == 200 and body["title"] == "Demo Chat"  # the built-in fixtures still answer


def test_dify_version_is_configurable_from_the_environment(tmp_path: Path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "DIFY_MOCK_DIFY_VERSION": "1.14"},
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().rsplit(" ", 1)[1]
        status, body = get_json(f"{url}/v1/")
        assert status == 200 and body["server_version"] == "1.14.2"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_openapi_command_prints_the_emulated_apis():
    result = run_cli("openapi")
    assert result.returncode == 0
    document = json.loads(result.stdout)
    assert document["openapi"].startswith("3.1") and "/v1/chat-messages" in document["paths"]
    control = json.loads(run_cli("openapi", "--control").stdout)
    assert "/_mock/faults" in control["paths"]


def test_sigterm_is_prompt_even_with_an_open_stream(start_serve):
    import threading

    server = start_serve("--port", "0")
    url = server.wait_ready()

    def hold() -> None:
        request = urllib.request.Request(
            f"{url}/v1/chat-messages",
            data=json.dumps({"inputs": {}, "query": "q", "user": "u", "response_mode": "streaming"}).encode(),
            headers={
                "Authorization": "Bearer app-chat",
                "Content-Type": "application/json",
                "X-Mock-Fault": "stream_stall;after=1;ms=600000;ping_ms=1000",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                resp.read()
        except Exception:
            pass

    threading.Thread(target=hold, daemon=True).start()
    import time

    time.sleep(0.5)
    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=10) == 0
    assert time.monotonic() - started < 5


def test_environment_settings_are_honoured_and_checked(start_serve, monkeypatch):
    monkeypatch.setenv("DIFY_MOCK_ADMIN_TOKEN", "from-env")
    url = start_serve("--port", "0").wait_ready()
    assert get_json(f"{url}/_mock/health")[0] == 401
    assert get_json(f"{url}/_mock/health", {"X-Mock-Admin-Token": "from-env"})[0] == 200
    monkeypatch.setenv("DIFY_MOCK_SEED", "abc")
    result = run_cli("serve", "--port", "0")
    assert result.returncode == 2 and "DIFY_MOCK_SEED" in result.stderr and "Traceback" not in result.stderr


# --- what the server says (newcomer-trial F3, F4, F6, F15, F16, F21) ------------------------------


def test_short_help_and_version_flags_and_a_bare_command():
    assert "serve" in run_cli("-h").stdout
    version = run_cli("-V")
    assert version.returncode == 0 and f"version {installed_version('dify-mockserver')}" in version.stdout
    bare = run_cli()
    assert bare.returncode == 0 and "serve" in bare.stdout and "Usage" in bare.stdout
    serve_help = run_cli("serve", "-h").stdout
    for option in ("--dify-version", "--quiet", "--reload", "DIFY_MOCK_PACE_SCALE", "DIFY_MOCK_FIXTURES"):
        assert option in serve_help


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("DIFY_MOCK_SEED", "abc", "DIFY_MOCK_SEED='abc': expected a whole number"),
        ("DIFY_MOCK_LOG_LEVEL", "loud", "DIFY_MOCK_LOG_LEVEL='loud': expected one of debug, info, warning, error"),
        ("DIFY_MOCK_STRICT", "maybe", "DIFY_MOCK_STRICT='maybe': expected true or false"),
        ("DIFY_MOCK_DIFY_VERSION", "latest", "DIFY_MOCK_DIFY_VERSION='latest': 'latest' is not a Dify version"),
        ("DIFY_MOCK_PACE_SCALE", "-1", "DIFY_MOCK_PACE_SCALE='-1': expected a number >= 0"),
        ("DIFY_MOCK_EVENT_LOOP", "trio", "DIFY_MOCK_EVENT_LOOP='trio': expected auto, asyncio or uvloop"),
    ],
)
def test_a_bad_environment_variable_is_one_line_without_a_traceback(name, value, says):
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, name: value},
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert says in line


def test_environment_log_level_is_case_insensitive_and_fixtures_are_a_path_list(start_serve, tmp_path: Path):
    first, second = tmp_path / "one", tmp_path / "two"
    for root, name in ((first, "One"), (second, "Two")):
        (root / "service").mkdir(parents=True)
        (root / "service" / "get_app_info.yaml").write_text(
            "scenarios:\n  default:\n    respond:\n      blocking: {name: " + name + "}\n"
        )
    os.environ["DIFY_MOCK_LOG_LEVEL"] = "debug"
    os.environ["DIFY_MOCK_FIXTURES"] = f"{first}{os.pathsep}{second}"
    try:
        server = start_serve("--port", "0")
        url = server.wait_ready()
    finally:
        del os.environ["DIFY_MOCK_LOG_LEVEL"], os.environ["DIFY_MOCK_FIXTURES"]
    status, body = get_json(f"{url}/v1/info", {"Authorization": "Bearer app-chat"})
    assert status == 200 and body["name"] == "Two"  # the later directory wins, merged over the default body
    assert body["mode"] == "chat"


def test_the_banner_and_one_log_line_per_request(start_serve):
    server = start_serve("--port", "0")
    url = server.wait_ready()
    get_json(f"{url}/v1/info", {"Authorization": "Bearer app-chatt"})
    get_json(f"{url}/v1/info", {"Authorization": "Bearer app-chat", "X-Mock-Session": "t1"})
    server.stop()
    err = server.stderr()
    assert "Dify 1.16 (server_version 1.16.1)" in err
    assert re.search(r"app-agent-chat\s+agent-chat\s+Demo Agent", err)
    assert "knowledge keys: dataset-demo" in err
    assert f"inspector: {url}/_mock/" in err
    assert re.search(
        r"GET /v1/info 401 [\d.]+ms - unauthorized: unknown app key 'app-chatt' \(did you mean 'app-chat'\?\)", err
    )
    assert re.search(r"GET /v1/info 200 [\d.]+ms s:t1 scenario=default", err)


def test_quiet_logs_no_requests(start_serve):
    server = start_serve("--port", "0", "--quiet")
    url = server.wait_ready()
    get_json(f"{url}/v1/info", {"Authorization": "Bearer app-chat"})
    server.stop()
    assert "GET /v1/info" not in server.stderr()


def test_ctrl_c_during_a_stream_says_so_and_stops_soon_after_the_stream_ends(start_serve):
    import http.client
    import time

    server = start_serve("--port", "0")
    url = server.wait_ready()
    host, port = url.rsplit("/", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    body = {"inputs": {}, "query": "a fairly long question to stream", "user": "u", "response_mode": "streaming"}
    conn.request(
        "POST",
        "/v1/chat-messages",
        json.dumps(body),
        {"Authorization": "Bearer app-chat", "Content-Type": "application/json"},
    )
    resp = conn.getresponse()
    assert resp.status == 200
    server.send(signal.SIGINT)
    rest = resp.read()  # the stream still ends properly, within the grace period
    ended = time.monotonic()
    assert b"message_end" in rest
    assert server.wait(timeout=5) == 0
    assert time.monotonic() - ended < 1.0
    assert "stopping; 1 open stream may finish" in server.stderr()


def test_a_second_ctrl_c_cuts_open_streams(start_serve):
    import http.client
    import time

    server = start_serve("--port", "0")
    url = server.wait_ready()
    host, port = url.rsplit("/", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request(
        "POST",
        "/v1/chat-messages",
        json.dumps({"inputs": {}, "query": "q", "user": "u", "response_mode": "streaming"}),
        {
            "Authorization": "Bearer app-chat",
            "Content-Type": "application/json",
            "X-Mock-Fault": "stream_stall;after=1;ms=60000",
        },
    )
    resp = conn.getresponse()
    assert resp.status == 200
    server.send(signal.SIGINT)
    time.sleep(0.2)  # two signals sent at once arrive as one
    server.send(signal.SIGINT)
    assert server.wait(timeout=2) == 0
    assert "stream=cut" in server.stderr()


def test_an_idle_server_stops_within_half_a_second(start_serve):
    import time

    server = start_serve("--port", "0")
    server.wait_ready()
    started = time.monotonic()
    server.send(signal.SIGINT)
    assert server.wait(timeout=5) == 0
    assert time.monotonic() - started < 0.5


def test_busy_port_suggests_port_0(start_serve):
    first = start_serve("--port", "0")
    port = first.wait_ready().rsplit(":", 1)[1]
    result = run_cli("serve", "--port", port)
    assert "--port 0 picks a free port" in result.stderr


def test_a_file_given_as_a_fixture_directory_says_it_is_a_file(tmp_path: Path):
    file = tmp_path / "pytest.ini"
    file.write_text("[pytest]\n")
    result = run_cli("serve", "--port", "0", "--fixtures", str(file))
    assert result.returncode == 1
    assert f"{file}:1:1: is a file, not a fixture directory" in result.stderr
    assert "1 fixture problem;" in result.stderr


def test_an_older_release_is_named_with_a_notice(start_serve):
    server = start_serve("--port", "0", "--dify-version", "1.13")
    url = server.wait_ready()
    assert get_json(f"{url}/v1/")[1]["server_version"] == "1.14.2"
    server.stop()
    assert "Dify 1.13 is emulated as Dify 1.14 (1.14.2)" in server.stderr()


def test_a_wildcard_bind_names_a_url_this_machine_can_open(start_serve):
    server = start_serve("--host", "0.0.0.0", "--port", "0", "--admin-token", "t")
    url = server.wait_ready()
    assert url.startswith("http://0.0.0.0:")
    server.stop()
    port = url.rsplit(":", 1)[1]
    assert f"bound to every interface; from this machine: http://127.0.0.1:{port}" in server.stderr()
    assert f"inspector: http://127.0.0.1:{port}/_mock/" in server.stderr()
    assert "/_mock/ requires header X-Mock-Admin-Token" in server.stderr()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--port", "web"], "argument --port: invalid int value: 'web'"),
        (["--log-level", "loud"], "argument --log-level: invalid choice: 'loud'"),
        (["--header-timeout", "-1"], "argument --header-timeout: '-1' is not above 0"),
        (["--colour"], "unrecognized arguments: --colour"),
    ],
)
def test_a_bad_flag_is_a_usage_error_naming_it(args: list[str], says: str):
    result = run_cli("serve", *args)
    assert result.returncode == 2 and "listening" not in result.stdout
    assert result.stderr.startswith("Usage: dify-mockserver serve")
    assert says in result.stderr and "Traceback" not in result.stderr


def test_a_log_level_flag_is_case_insensitive(start_serve):
    server = start_serve("--port", "0", "--log-level", "WARNING")
    url = server.wait_ready()
    assert get_json(f"{url}/_mock/health")[0] == 200


def test_a_reader_that_leaves_early_gets_no_traceback():
    # `dify-mockserver lint --list | head -1`: the pipe is closed before the command writes to it.
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "lint", "--list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=30) == 1
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr


def test_a_refused_start_leaves_the_collector_on():
    # `serve` pauses the collector while it starts; a start refused in this process must not keep it off.
    from tests.support.cli_inprocess import invoke

    result = invoke("serve", "--port", "0", env={"DIFY_MOCK_SEED": "abc"})
    assert result.exit_code == 2 and "DIFY_MOCK_SEED" in result.stderr
    assert gc.isenabled()


def test_ctrl_c_before_the_server_listens_is_one_word_not_a_traceback(monkeypatch: pytest.MonkeyPatch):
    # Ctrl-C while serve starts (its signal handlers come with the loop) or while lint runs.
    from mockserver import cli
    from tests.support.cli_inprocess import invoke

    def interrupted(args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_lint", interrupted)
    result = invoke("lint")
    assert result.exit_code == 1 and result.stderr.strip() == "Aborted!"


def test_an_unknown_option_before_the_command_is_refused_by_the_top_parser():
    from tests.support.cli_inprocess import invoke

    result = invoke("--bogus", "serve", "--port", "0")
    assert result.exit_code == 2 and "listening" not in result.stdout
    assert result.stderr.startswith("Usage: dify-mockserver [-h]")
    assert "dify-mockserver: error: unrecognized arguments: --bogus" in result.stderr
