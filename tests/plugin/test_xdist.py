"""48 tests under `pytest -n 4`: each sees only its own journal entries and conversations."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SUITE = """
import pytest, requests

@pytest.mark.parametrize("i", range(48))
def test_isolated(dify_mock_server, i):
    # Even tests use the session header; odd ones rely on the credential tenant being reset per test.
    headers = {"Authorization": "Bearer app-chat", **(dify_mock_server.headers if i % 2 == 0 else {})}
    url = dify_mock_server.url + "/chat-messages"
    user = f"user-{i}"
    first = requests.post(url, json={"inputs": {}, "query": f"q{i}", "user": user}, headers=headers).json()
    again = requests.post(url, json={"inputs": {}, "query": "more", "user": user,
                                      "conversation_id": first["conversation_id"]}, headers=headers).json()
    assert again["conversation_id"] == first["conversation_id"]
    journal = dify_mock_server.journal
    assert [e["body"]["user"] for e in journal] == [user, user]
    assert journal.call_count == 2 and not journal.unmatched
    # A fresh tenant starts its ids and clock at the beginning: the first reply of every test is
    # created at the mock clock's start instant.
    assert first["created_at"] == 1735689600
"""


def test_parallel_tests_do_not_bleed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_parallel=SUITE)
    result = pytester.runpytest_subprocess("-n", "4", "-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=48)
