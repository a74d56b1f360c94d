"""The pytest plugin as a user meets it: fixtures, handle, markers, options, server-side problems."""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_user=textwrap.dedent(source))
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-o", "asyncio_mode=auto", *args)


def test_sync_fixture_with_the_official_sdk(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        from dify_client import ChatClient

        def test_chat(dify_mock_server):
            client = ChatClient(dify_mock_server.api_key("chat"))
            client.base_url = dify_mock_server.url
            reply = client.create_chat_message(inputs={}, query="hello", user="alice")
            assert reply.status_code == 200 and reply.json()["answer"] == "You asked: hello"
            journal = dify_mock_server.journal
            assert journal.called and journal.call_count == 1
            journal.assert_called_with("/v1/chat-messages", {"query": "hello", "user": "alice"})
            journal.assert_called_exactly(1, "/v1/chat-messages")

        def test_the_next_test_starts_fresh(dify_mock_server):
            assert dify_mock_server.journal.call_count == 0
            assert dify_mock_server.url.endswith("/v1") and dify_mock_server.base_url + "/v1" == dify_mock_server.url
            assert dify_mock_server.headers == {"X-Mock-Session": dify_mock_server.session_id}
            assert dify_mock_server.seed == 0
    """,
    )
    result.assert_outcomes(passed=2)


def test_async_fixture_is_a_private_server(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import aiohttp

        async def test_async(dify_mock):
            async with aiohttp.ClientSession() as session:
                async with session.post(dify_mock.url + "/chat-messages",
                                        json={"inputs": {}, "query": "hi", "user": "u", "response_mode": "streaming"},
                                        headers={"Authorization": "Bearer app-chat", **dify_mock.headers}) as resp:
                    body = await resp.read()
            assert body.startswith(b"data: ") and b'"event":"message_end"' in body
            assert dify_mock.journal.last["events"][-1] == "message_end"
    """,
    )
    result.assert_outcomes(passed=1)


def test_markers_and_handle_methods(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest, requests

        CHAT = {"inputs": {}, "query": "x", "user": "u"}
        AUTH = {"Authorization": "Bearer app-chat"}

        @pytest.mark.dify_fault("rate_limit", times=2, retry_after=1)
        def test_fault_marker(dify_mock_server):
            url = dify_mock_server.url + "/chat-messages"
            codes = [requests.post(url, json=CHAT, headers=AUTH).status_code for _ in range(3)]
            assert codes == [429, 429, 200]

        @pytest.mark.dify_scenario("chatflow")
        def test_scenario_marker(dify_mock_server):
            body = dict(CHAT, response_mode="streaming")
            text = requests.post(dify_mock_server.url + "/chat-messages", json=body, headers=AUTH).text
            assert text.startswith('data: {"event":"workflow_started"')

        def test_fail_reset_advance(dify_mock_server):
            dify_mock_server.fail("outage", times="*", endpoint="service.get_app_info")
            assert requests.get(dify_mock_server.url + "/info", headers=AUTH).status_code == 503
            dify_mock_server.reset()
            assert requests.get(dify_mock_server.url + "/info", headers=AUTH).status_code == 200
            dify_mock_server.advance(30)
            with pytest.raises(ValueError):
                dify_mock_server.api_key("chatbot")
            assert dify_mock_server.api_key("workflow") == "app-workflow"
    """,
    )
    result.assert_outcomes(passed=3)


def test_server_side_problems_fail_the_test_that_caused_them(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest, requests

        AUTH = {"Authorization": "Bearer app-chat"}

        def test_unserved_route(dify_mock_server):
            requests.get(dify_mock_server.url + "/no-such-route", headers=AUTH)

        def test_client_error_is_fine_by_default(dify_mock_server):
            assert requests.post(dify_mock_server.url + "/chat-messages", json={}, headers=AUTH).status_code == 400

        @pytest.mark.dify_strict
        def test_client_error_fails_when_strict(dify_mock_server):
            requests.post(dify_mock_server.url + "/chat-messages", json={}, headers=AUTH)

        def test_injected_errors_are_not_problems(dify_mock_server):
            dify_mock_server.fail("internal_server_error")
            assert requests.get(dify_mock_server.url + "/info", headers=AUTH).status_code == 500
    """,
    )
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(["*server-side problems*", "*GET /v1/no-such-route -> 404*no such route*"])
    result.stdout.fnmatch_lines(["*POST /v1/chat-messages -> 400 invalid_param*"])


def test_fixture_directories_from_the_option_and_the_ini(pytester: pytest.Pytester) -> None:
    fixtures = pytester.mkdir("my_fixtures")
    (fixtures / "service").mkdir()
    (fixtures / "service" / "get_app_info.yaml").write_text(
        "scenarios:\n  default:\n    respond:\n"
        "      blocking: {name: Mine, description: d, tags: [], mode: chat, author_name: me}\n"
    )
    source = """
        import requests

        def test_info(dify_mock_server):
            info = requests.get(dify_mock_server.url + "/info", headers={"Authorization": "Bearer app-chat"}).json()
            assert info["name"] == "Mine"
    """
    run(pytester, source, "--dify-fixtures", str(fixtures)).assert_outcomes(passed=1)
    pytester.makeini("[pytest]\ndify_fixtures = my_fixtures\n")
    run(pytester, source).assert_outcomes(passed=1)


def test_an_already_running_server_through_dify_mock_url(pytester: pytest.Pytester, start_serve, monkeypatch) -> None:
    url = start_serve("--port", "0").wait_ready()
    monkeypatch.setenv("DIFY_MOCK_URL", url)
    result = run(
        pytester,
        """
        import os, requests

        def test_remote(dify_mock_server):
            assert dify_mock_server.base_url == os.environ["DIFY_MOCK_URL"]
            headers = {"Authorization": "Bearer app-chat", **dify_mock_server.headers}
            assert requests.get(dify_mock_server.url + "/info", headers=headers).status_code == 200
            assert [e["path"] for e in dify_mock_server.journal] == ["/v1/info"]
    """,
    )
    result.assert_outcomes(passed=1)
