"""verdict(): each finding on the journal shapes that trigger it, and none on a well-behaved client."""

from __future__ import annotations

from typing import Any

from mockserver.testing.journal import Journal

CHAT = "/v1/chat-messages"


def entry(
    i: int,
    t: float,
    status: int = 200,
    *,
    path: str = CHAT,
    body: Any = None,
    retry_after: int | None = None,
    duration_ms: float = 10.0,
    outcome: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "id": i,
        "tenant": "s:t",
        "time": t,
        "method": "POST",
        "path": path,
        "body": body or {"query": "q"},
        "status": status,
        "retry_after": retry_after,
        "duration_ms": duration_ms,
        "outcome": outcome,
        "endpoint": "service.send_chat_message",
        "events": [],
        **extra,
    }


def names(entries: list[dict[str, Any]], **kw: Any) -> list[str]:
    return [f.name for f in Journal(entries).verdict(**kw).findings]


def test_a_patient_client_has_no_findings():
    entries = [entry(1, 0.0, 429, retry_after=1), entry(2, 1.5, 429, retry_after=1), entry(3, 3.6, 200)]
    verdict = Journal(entries).verdict()
    assert verdict.ok and bool(verdict) and str(verdict) == "no findings"


def test_retry_after_ignored():
    findings = Journal([entry(1, 0.0, 429, retry_after=2), entry(2, 0.5, 200)]).verdict().findings
    assert [f.name for f in findings] == ["retry_after_ignored"] and findings[0].requests == [1, 2]


def test_no_backoff_first_retry_too_soon_and_shrinking_gaps():
    assert names([entry(1, 0.0, 503), entry(2, 0.05, 200)]) == ["no_backoff"]
    shrinking = [entry(1, 0.0, 503), entry(2, 1.0, 503), entry(3, 1.5, 503), entry(4, 1.7, 200)]
    assert names(shrinking) == ["no_backoff"]
    growing = [entry(1, 0.0, 503), entry(2, 0.5, 503), entry(3, 1.6, 503), entry(4, 3.8, 200)]
    assert names(growing) == []


def test_retried_client_error_but_not_408_or_429():
    assert names([entry(1, 0.0, 400), entry(2, 1.0, 400)]) == ["retried_client_error"]
    assert names([entry(1, 0.0, 408), entry(2, 1.0, 200)]) == []


def test_retry_budget():
    chain = [entry(i, i * (i + 1) / 2, 503) for i in range(1, 9)]  # 7 retries, growing gaps
    assert names(chain) == ["retry_budget_exceeded"]
    assert names(chain, retry_budget=7) == []


def test_different_bodies_or_late_requests_are_not_retries():
    assert names([entry(1, 0.0, 503), entry(2, 0.01, 200, body={"query": "other"})]) == []
    assert names([entry(1, 0.0, 503), entry(2, 61.0, 503), entry(3, 61.02, 200)]) == ["no_backoff"]
    assert names([entry(1, 0.0, 200), entry(2, 0.01, 200)]) == []  # a success is not retried


def test_conversation_lost_after_a_broken_stream():
    cut = entry(1, 0.0, outcome="cut", conversation_id="c-1", events=["message"])
    lost = entry(2, 1.0, body={"query": "again"})
    kept = entry(2, 1.0, body={"query": "again", "conversation_id": "c-1"})
    assert names([cut, lost]) == ["conversation_lost"]
    assert names([cut, kept]) == []
    unsent = entry(1, 0.0, outcome="cut", conversation_id="c-1", events=[])  # cut before any event
    assert names([unsent, lost]) == []


def test_verification_helpers():
    journal = Journal([entry(1, 0.0, body={"query": "a", "user": "u"}), entry(2, 1.0, path="/v1/info", body=None)])
    assert journal.called and journal.call_count == 2 and journal.last["path"] == "/v1/info"
    assert journal.assert_called_with(CHAT, {"user": "u"})["id"] == 1
    journal.assert_called_exactly(1, CHAT)
    try:
        journal.assert_called_with(CHAT, {"user": "someone else"})
    except AssertionError as exc:
        assert "someone else" in str(exc)
    else:
        raise AssertionError("assert_called_with accepted a body it does not contain")
    assert journal.unmatched == []
