"""The plugin's usage errors: a bad fixture directory, a broken fixture, a bad marker argument or a
bad --dify-version is one error at session start with lint's words, never an error in every test;
plus --dify-version itself, the xdist + DIFY_MOCK_URL warning, and the handle's checks in a test."""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]

USES_THE_MOCK = """
    import requests

    def test_one(dify_mock_server):
        pass

    def test_two(dify_mock_server):
        pass

    def test_three(dify_mock_server):
        pass
"""


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_user=textwrap.dedent(source))
    return pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-o", "asyncio_mode=auto", "-o", "asyncio_default_fixture_loop_scope=function", *args
    )


def assert_one_usage_error(result: pytest.RunResult, *lines: str) -> None:
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + result.stderr.str()
    result.stderr.fnmatch_lines(lines)
    # Said once, and no test ran into it.
    assert result.stderr.str().count("ERROR: dify-mockserver") == 1
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert "passed" not in result.stdout.str() and " error" not in result.stdout.str()


# --- fixture directories --------------------------------------------------------------------------


def test_a_missing_fixture_directory_is_one_usage_error(pytester: pytest.Pytester) -> None:
    result = run(pytester, USES_THE_MOCK, "--dify-fixtures", "does-not-exist")
    assert_one_usage_error(
        result,
        "ERROR: dify-mockserver: the fixtures do not load (`dify-mockserver lint` says):",
        "*does-not-exist:1:1: fixture directory does not exist",
    )


def test_a_broken_fixture_from_the_ini_is_one_usage_error_in_lint_s_words(pytester: pytest.Pytester) -> None:
    fixtures = pytester.mkdir("my_fixtures")
    (fixtures / "service").mkdir()
    (fixtures / "service" / "send_chat_message.yaml").write_text(
        "scenarios:\n  refund:\n    match:\n      body.query: {regexp: refund}\n"
        "    respond: {blocking: {answer: five days}}\n"
    )
    pytester.makeini("[pytest]\ndify_fixtures = my_fixtures\n")
    result = run(pytester, USES_THE_MOCK)
    assert_one_usage_error(
        result,
        "*my_fixtures/service/send_chat_message.yaml:4:20: unknown operator 'regexp' (did you mean 'regex'?)",
    )


def test_good_fixtures_are_loaded_once_and_serve_every_test(pytester: pytest.Pytester) -> None:
    fixtures = pytester.mkdir("my_fixtures")
    (fixtures / "_apps.yaml").write_text("apps:\n  app-support: {mode: chat, name: Support}\n")
    result = run(
        pytester,
        """
        import requests

        def test_api_key_comes_from_the_user_apps(dify_mock_server):
            key = dify_mock_server.api_key("chat")
            assert key == "app-support"
            body = {"inputs": {}, "query": "hi", "user": "u"}
            resp = requests.post(dify_mock_server.url + "/chat-messages", json=body,
                                 headers={"Authorization": f"Bearer {key}"})
            assert resp.status_code == 200

        async def test_the_async_fixture_uses_them_too(dify_mock):
            assert dify_mock.api_key("chat") == "app-support"
        """,
        "--dify-fixtures",
        str(fixtures),
    )
    result.assert_outcomes(passed=2)


# --- markers --------------------------------------------------------------------------------------


def test_bad_marker_arguments_are_one_usage_error_naming_each(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest

        @pytest.mark.dify_fault("rate_limt")
        def test_fault(dify_mock_server):
            pass

        @pytest.mark.dify_scenario("chatflw")
        def test_scenario(dify_mock_server):
            pass

        @pytest.mark.dify_fault("rate_limit", retry=2)
        def test_parameter(dify_mock_server):
            pass

        @pytest.mark.dify_fault()
        def test_no_argument(dify_mock_server):
            pass

        @pytest.mark.dify_scenario("chatflow", endpoint="service.send_chat_mesage")
        def test_endpoint(dify_mock_server):
            pass

        @pytest.mark.dify_fault("outage")
        @pytest.mark.dify_scenario("chatflow")
        def test_good_ones_are_fine(dify_mock_server):
            pass
        """,
    )
    assert_one_usage_error(
        result,
        "ERROR: dify-mockserver: bad marker arguments:",
        "test_user.py::test_fault: @pytest.mark.dify_fault('rate_limt'): unknown fault 'rate_limt' "
        "(did you mean rate_limit, rate_limit_error, rate_limit_exceeded?)",
        "test_user.py::test_scenario: @pytest.mark.dify_scenario('chatflw'): no endpoint has a scenario named "
        "'chatflw' (did you mean 'chatflow'?); known: *",
        "test_user.py::test_parameter: @pytest.mark.dify_fault('rate_limit', retry=2): unknown parameter 'retry' "
        "for fault 'rate_limit' (did you mean 'retry_after'?)",
        "test_user.py::test_no_argument: @pytest.mark.dify_fault(): missing a required argument: 'fault'",
        "test_user.py::test_endpoint: @pytest.mark.dify_scenario('chatflow', endpoint='service.send_chat_mesage'): "
        "unknown endpoint 'service.send_chat_mesage' (did you mean 'service.send_chat_message'?)*",
    )
    assert "test_good_ones_are_fine" not in result.stderr.str()


def test_a_class_marker_is_reported_once_for_all_its_tests(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest

        @pytest.mark.dify_fault("outgae")
        class TestMany:
            def test_a(self, dify_mock_server): pass
            def test_b(self, dify_mock_server): pass
            def test_c(self, dify_mock_server): pass
        """,
    )
    assert_one_usage_error(
        result,
        "test_user.py::TestMany::test_a (and 2 more): @pytest.mark.dify_fault('outgae'): unknown fault 'outgae' "
        "(did you mean outage*",
    )


def test_bad_markers_under_xdist_stop_the_run_with_one_message(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest

        @pytest.mark.dify_scenario("chatflw")
        def test_scenario(dify_mock_server):
            pass

        def test_other(dify_mock_server):
            pass
        """,
        "-n",
        "2",
    )
    output = result.stdout.str() + result.stderr.str()
    assert result.ret != pytest.ExitCode.OK
    assert output.count("dify-mockserver: bad marker arguments:") == 1
    assert "no endpoint has a scenario named 'chatflw' (did you mean 'chatflow'?)" in output
    assert "INTERNALERROR" not in output and "passed" not in output


def test_markers_of_tests_that_do_not_use_the_mock_cost_nothing(pytester: pytest.Pytester) -> None:
    result = run(pytester, "def test_plain():\n    assert True\n", "--dify-version", "1.14")
    result.assert_outcomes(passed=1)


# --- --dify-version -------------------------------------------------------------------------------

SERVER_VERSION = """
    import requests

    def test_version(dify_mock_server):
        index = requests.get(dify_mock_server.url + "/", headers={"Authorization": "Bearer app-chat"}).json()
        assert index["server_version"].startswith("{expected}."), index
"""


def test_dify_version_from_the_option_and_the_ini(pytester: pytest.Pytester) -> None:
    run(pytester, SERVER_VERSION.replace("{expected}", "1.14"), "--dify-version", "1.14").assert_outcomes(passed=1)
    pytester.makeini("[pytest]\ndify_version = 1.12\n")
    run(pytester, SERVER_VERSION.replace("{expected}", "1.12")).assert_outcomes(passed=1)
    # The command line wins over the ini.
    run(pytester, SERVER_VERSION.replace("{expected}", "1.16"), "--dify-version", "1.16").assert_outcomes(passed=1)


def test_a_bad_dify_version_is_one_usage_error(pytester: pytest.Pytester) -> None:
    result = run(pytester, USES_THE_MOCK, "--dify-version", "one.two")
    assert_one_usage_error(result, "ERROR: dify-mockserver: --dify-version / dify_version 'one.two': *")


# --- a shared server ------------------------------------------------------------------------------


def test_xdist_with_dify_mock_url_warns_once(pytester: pytest.Pytester, start_serve, monkeypatch) -> None:
    monkeypatch.setenv("DIFY_MOCK_URL", start_serve("--port", "0").wait_ready())
    result = run(pytester, USES_THE_MOCK, "-n", "2")
    result.assert_outcomes(passed=3, warnings=1)
    output = result.stdout.str()
    assert output.count("several pytest-xdist workers share the server at DIFY_MOCK_URL") == 1
    assert "only clients that send `dify_mock_server.headers` are isolated" in output


def test_no_warning_without_xdist(pytester: pytest.Pytester, start_serve, monkeypatch) -> None:
    monkeypatch.setenv("DIFY_MOCK_URL", start_serve("--port", "0").wait_ready())
    run(pytester, USES_THE_MOCK).assert_outcomes(passed=3)


def test_dify_mock_url_with_nothing_listening_is_one_usage_error(pytester: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.setenv("DIFY_MOCK_URL", "http://127.0.0.1:9")  # the discard port: nothing answers
    result = run(pytester, USES_THE_MOCK)
    assert_one_usage_error(result, "ERROR: dify-mockserver: DIFY_MOCK_URL=http://127.0.0.1:9: no dify-mockserver*")


def test_dify_mock_url_with_nothing_listening_under_xdist_stops_with_one_message(
    pytester: pytest.Pytester, monkeypatch
) -> None:
    monkeypatch.setenv("DIFY_MOCK_URL", "http://127.0.0.1:9")
    result = run(pytester, USES_THE_MOCK, "-n", "2")
    output = result.stdout.str() + result.stderr.str()
    assert result.ret != pytest.ExitCode.OK
    assert output.count("DIFY_MOCK_URL=http://127.0.0.1:9: no dify-mockserver answers there") == 1
    assert "INTERNALERROR" not in output and "passed" not in output


def test_a_shared_server_that_wants_a_token_says_so(pytester: pytest.Pytester, start_serve, monkeypatch) -> None:
    monkeypatch.setenv("DIFY_MOCK_URL", start_serve("--port", "0", "--admin-token", "sesame").wait_ready())
    monkeypatch.delenv("DIFY_MOCK_ADMIN_TOKEN", raising=False)
    result = run(pytester, USES_THE_MOCK)
    assert_one_usage_error(result, "*refused the plugin: *X-Mock-Admin-Token*(*401 mock_admin_token_required)")
    monkeypatch.setenv("DIFY_MOCK_ADMIN_TOKEN", "sesame")
    run(pytester, USES_THE_MOCK).assert_outcomes(passed=3)


def test_against_a_shared_server_markers_are_checked_by_its_scenario_names(
    pytester: pytest.Pytester, start_serve, monkeypatch
) -> None:
    monkeypatch.setenv("DIFY_MOCK_URL", start_serve("--port", "0").wait_ready())
    source = """
        import pytest

        @pytest.mark.dify_scenario("chatflw")
        def test_scenario(dify_mock_server):
            pass
    """
    assert_one_usage_error(run(pytester, source), "*no endpoint has a scenario named 'chatflw'*")


# --- the handle's checks in a user's test -----------------------------------------------------------


def test_stub_verdict_and_faults_fired_from_a_user_s_test(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest, requests

        CHAT = {"inputs": {}, "query": "where is my refund?", "user": "u"}

        def test_stub(dify_mock_server):
            dify_mock_server.stub(
                "service.send_chat_message",
                match={"body.query": {"contains": "refund"}},
                respond={"blocking": {"answer": "Refunds take 5 days."}},
            )
            url = dify_mock_server.url + "/chat-messages"
            reply = requests.post(url, json=CHAT, headers={"Authorization": "Bearer app-chat"}).json()
            assert reply["answer"] == "Refunds take 5 days."
            dify_mock_server.journal.assert_called_with("/chat-messages", {"query": CHAT["query"]})
            dify_mock_server.journal.verdict().assert_ok()

        @pytest.mark.dify_fault("rate_limit", times=2)
        def test_fault_never_fired(dify_mock_server):
            dify_mock_server.assert_faults_fired()

        def test_stubs_do_not_outlive_their_test(dify_mock_server):
            url = dify_mock_server.url + "/chat-messages"
            reply = requests.post(url, json=CHAT, headers={"Authorization": "Bearer app-chat"}).json()
            assert reply["answer"] == "You asked: where is my refund?"
        """,
    )
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: queued faults that never fired:", "*rate_limit;times=2 (f*, f*)"])
