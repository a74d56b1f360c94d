"""Fault schedules on queued faults (README, "Faults"): times, skip, every,
window, during (mock clock, POST /_mock/clock), quota/per with Retry-After, p, endpoint, clock=wall;
the queue's GET/DELETE and tenant selectors; determinism of p and latency jitter per seed."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from dify_facts import auth, queue

CHAT = "/v1/chat-messages"
WORKFLOW = "/v1/workflows/run"
CHAT_BODY = {"inputs": {}, "query": "hello there", "user": "u1"}
WORKFLOW_BODY = {"inputs": {}, "user": "u1"}


def session_headers(session: str | None, key: str = "app-chat", fault: str | None = None) -> dict[str, str]:
    extra = {"X-Mock-Session": session} if session is not None else {}
    if fault is not None:
        extra["X-Mock-Fault"] = fault
    return auth(key, **extra)


async def chat(client, session: str | None, key: str = "app-chat", fault: str | None = None):
    resp = await client.post(CHAT, json=CHAT_BODY, headers=session_headers(session, key, fault))
    await resp.read()
    return resp


async def statuses(client, session: str | None, calls: int, key: str = "app-chat") -> list[int]:
    return [(await chat(client, session, key)).status for _ in range(calls)]


async def workflow(client, session: str) -> int:
    resp = await client.post(WORKFLOW, json=WORKFLOW_BODY, headers=session_headers(session, "app-workflow"))
    await resp.read()
    return resp.status


async def listed(client, tenant: str | None = None) -> list[dict[str, Any]]:
    resp = await client.get("/_mock/faults", params={"tenant": tenant} if tenant else {})
    assert resp.status == 200
    return (await resp.json())["data"]


async def advance(client, tenant: str | None, seconds: float) -> dict[str, Any]:
    payload: dict[str, Any] = {"advance": seconds}
    if tenant is not None:
        payload["tenant"] = tenant
    resp = await client.post("/_mock/clock", json=payload)
    assert resp.status == 200, await resp.text()
    return await resp.json()


# --- counting schedules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("outage", [503, 200, 200]),  # times defaults to 1
        ("outage;times=3", [503, 503, 503, 200]),
        ("outage;times=*", [503] * 6),
        ("outage;skip=2", [200, 200, 503, 200, 200]),  # still once
        ("outage;skip=1;times=2", [200, 503, 503, 200]),
        ("outage;every=3", [200, 200, 503, 200, 200, 503, 200]),  # every K-th call, unlimited
        ("outage;every=2;times=1", [200, 503, 200, 200, 200]),
        ("outage;every=2;skip=1", [200, 200, 503, 200, 503]),
        ("outage;window=2-4", [200, 503, 503, 503, 200, 200]),
        ("outage;window=3-3", [200, 200, 503, 200]),
        ("outage;during=2-3", [200, 200, 503, 503, 200]),  # the mock clock steps 1 s per call
        ("outage;p=0", [200] * 5),
        ("outage;p=1", [503] * 5),
    ],
)
async def test_schedules_pick_the_calls(client, fault, expected):
    await queue(client, fault, tenant="s:sched")
    assert await statuses(client, "sched", len(expected)) == expected


async def test_times_star_is_listed_as_unlimited(client):
    await queue(client, "rate_limit;times=*", tenant="s:star")
    assert await statuses(client, "star", 3) == [429, 429, 429]
    (entry,) = await listed(client, "s:star")
    assert entry["remaining"] == {"s:star": None}
    assert entry["fired"] == {"s:star": 3}


async def test_a_retry_with_the_same_tenant_sees_the_next_scheduled_answer(client):
    await queue(client, "rate_limit;times=2;retry_after=1", tenant="s:retry")
    first = await chat(client, "retry")
    assert first.status == 429 and first.headers["Retry-After"] == "1"
    second = await chat(client, "retry")
    assert second.status == 429
    assert (await chat(client, "retry")).status == 200


# --- time schedules -------------------------------------------------------------------------------


async def test_during_follows_the_tenants_mock_clock(client):
    await queue(client, "outage;during=100-200", tenant="s:win")
    moved = await advance(client, "s:win", 150)  # before the first call: the window counts from it
    assert moved["tenants"] == ["s:win"]
    assert await statuses(client, "win", 1) == [200]
    await advance(client, "s:win", 120)
    assert await statuses(client, "win", 2) == [503, 503]
    await advance(client, "s:win", 100)
    assert await statuses(client, "win", 1) == [200]


async def test_the_clock_of_one_tenant_does_not_move_another(client):
    await queue(client, "outage;during=50-60")
    assert await statuses(client, "c1", 1) == [200]
    assert await statuses(client, "c2", 1) == [200]
    await advance(client, "s:c1", 54)
    assert await statuses(client, "c1", 1) == [503]
    assert await statuses(client, "c2", 1) == [200]


async def test_clock_advance_takes_a_glob_and_refuses_going_back(client):
    await queue(client, "outage;during=30-40")
    await statuses(client, "g-1", 1)
    await statuses(client, "g-2", 1)
    await statuses(client, "other", 1)
    moved = await advance(client, "s:g-*", 35)
    assert sorted(moved["tenants"]) == ["s:g-1", "s:g-2"]
    assert await statuses(client, "g-1", 1) == [503]
    assert await statuses(client, "g-2", 1) == [503]
    assert await statuses(client, "other", 1) == [200]
    resp = await client.post("/_mock/clock", json={"tenant": "s:g-1", "advance": -5})
    assert resp.status == 400 and (await resp.json())["code"] == "invalid_param"
    resp = await client.post("/_mock/clock", json={"tenant": "s:g-1", "advance": "5"})
    assert resp.status == 400
    resp = await client.post("/_mock/clock", json={"tenant": "s:g-1"})
    assert resp.status == 400


async def test_quota_per_window_answers_429_with_the_seconds_left(client):
    await queue(client, "rate_limit;quota=3;per=60", tenant="s:quota")
    results = []
    for _ in range(5):  # calls at mock seconds 0..4 since the first
        resp = await chat(client, "quota")
        results.append((resp.status, resp.headers.get("Retry-After")))
    assert results == [(200, None), (200, None), (200, None), (429, "57"), (429, "56")]
    body_resp = await client.post(CHAT, json=CHAT_BODY, headers=session_headers("quota"))
    assert await body_resp.json() == {
        "code": "rate_limit_exceeded",
        "message": "Request rate limit exceeded.",
        "status": 429,
    }
    await advance(client, "s:quota", 60)  # now at second 66: the second window, 54 s left
    results = []
    for _ in range(4):
        resp = await chat(client, "quota")
        results.append((resp.status, resp.headers.get("Retry-After")))
    assert results == [(200, None), (200, None), (200, None), (429, "51")]


async def test_quota_gives_retry_after_only_to_429s_and_retry_after_wins(client):
    await queue(client, "outage;quota=1;per=10", tenant="s:q503")
    await chat(client, "q503")
    resp = await chat(client, "q503")
    assert resp.status == 503 and "Retry-After" not in resp.headers
    await queue(client, "too_many_requests;quota=1;per=10;retry_after=2", tenant="s:q429")
    await chat(client, "q429")
    resp = await chat(client, "q429")
    assert resp.status == 429 and resp.headers["Retry-After"] == "2"


async def test_clock_wall_ignores_the_mock_clock(client):
    await queue(client, "outage;during=100-200;clock=wall", tenant="s:wall")
    await queue(client, "rate_limit;during=100-200", tenant="s:mock")
    for tenant in ("wall", "mock"):
        assert await statuses(client, tenant, 1) == [200]
        await advance(client, f"s:{tenant}", 150)
    assert await statuses(client, "wall", 1) == [200]
    assert await statuses(client, "mock", 1) == [429]


async def test_clock_wall_counts_real_seconds(client):
    await queue(client, "outage;during=0.25-60;clock=wall", tenant="s:real")
    assert await statuses(client, "real", 2) == [200, 200]
    await asyncio.sleep(0.3)
    assert await statuses(client, "real", 1) == [503]


# --- endpoint -------------------------------------------------------------------------------------


async def test_endpoint_narrows_a_fault_to_one_endpoint(client):
    await queue(client, "outage;times=*;endpoint=service.run_workflow", tenant="s:ep")
    await queue(client, "rate_limit;times=*", tenant="s:ep2", endpoint="service.send_chat_message")
    assert await statuses(client, "ep", 1) == [200]
    assert await workflow(client, "ep") == 503
    assert await statuses(client, "ep2", 1) == [429]
    assert await workflow(client, "ep2") == 200
    entries = {e["id"]: e for e in await listed(client)}
    assert {e["endpoint"] for e in entries.values()} == {"service.run_workflow", "service.send_chat_message"}


async def test_schedules_count_only_the_calls_to_their_endpoint(client):
    await queue(client, "outage;skip=1;endpoint=service.send_chat_message", tenant="s:cnt")
    assert [await workflow(client, "cnt") for _ in range(2)] == [200, 200]
    assert await statuses(client, "cnt", 3) == [200, 503, 200]
    # Without endpoint= every endpoint's calls count.
    await queue(client, "outage;skip=1", tenant="s:all")
    assert await workflow(client, "all") == 200
    assert await statuses(client, "all", 2) == [503, 200]


async def test_an_unknown_endpoint_is_refused(client):
    resp = await client.post("/_mock/faults", json={"fault": "outage", "endpoint": "service.nowhere"})
    assert resp.status == 400
    resp = await client.post("/_mock/faults", json={"fault": "outage;endpoint=service.nowhere"})
    assert resp.status == 400 and (await resp.json())["code"] == "mock_invalid_fault"
    assert await listed(client) == []


# --- tenant selectors -----------------------------------------------------------------------------


async def test_no_tenant_means_every_tenant_including_later_ones_each_with_its_own_count(client):
    assert await statuses(client, "early", 1) == [200]
    await queue(client, "rate_limit")
    assert await statuses(client, "early", 2) == [429, 200]
    assert await statuses(client, "late", 2) == [429, 200]
    assert await statuses(client, None, 2) == [429, 200]  # header-less: the shared `default` tenant
    # One workspace for every credential: the other app's calls count in the same tenant.
    assert await statuses(client, None, 2, key="app-advanced-chat") == [200, 200]


async def test_a_tenant_id_selects_that_tenant_only(client):
    await queue(client, "rate_limit", tenant="s:one")
    assert await statuses(client, "two", 1) == [200]
    assert await statuses(client, "one", 2) == [429, 200]


async def test_glob_selectors(client):
    await queue(client, "outage", tenant="s:team-*")
    await queue(client, "rate_limit", tenant="def*")
    assert await statuses(client, "team-1", 2) == [503, 200]
    assert await statuses(client, "team-2", 1) == [503]
    assert await statuses(client, "other", 1) == [200]
    assert await statuses(client, None, 2) == [429, 200]  # default
    completion = []
    for _ in range(2):
        resp = await client.post(
            "/v1/completion-messages",
            json={"inputs": {}, "user": "u1"},
            headers=session_headers(None, "app-completion"),
        )
        await resp.read()
        completion.append(resp.status)
    assert completion == [200, 200]  # the same `default` tenant: its one 429 is spent


async def test_get_lists_the_queue_with_remaining_counts(client):
    a = await queue(client, "rate_limit;times=2", tenant="s:a")
    b = await queue(client, "outage;times=3", tenant="s:b")
    everyone = await queue(client, "quota_exceeded;skip=10")
    await statuses(client, "a", 1)
    await statuses(client, "b", 2)

    data = await listed(client, "s:a")
    assert [e["id"] for e in data] == [a, everyone]
    by_id = {e["id"]: e for e in data}
    assert by_id[a]["fault"] == "rate_limit;times=2"
    assert by_id[a]["tenant"] == "s:a"
    assert by_id[a]["remaining"] == {"s:a": 1}
    assert by_id[everyone]["tenant"] is None
    assert by_id[everyone]["remaining"] == {"s:a": 1}

    data = {e["id"]: e for e in await listed(client, "s:b")}
    assert set(data) == {b, everyone}
    assert data[b]["remaining"] == {"s:b": 1}

    data = {e["id"]: e for e in await listed(client)}
    assert set(data) == {a, b, everyone}
    assert data[everyone]["remaining"] == {"s:a": 1, "s:b": 1}

    await statuses(client, "a", 2)
    assert {e["id"]: e["remaining"] for e in await listed(client, "s:a")}[a] == {"s:a": 0}


async def test_get_shows_the_remaining_count_before_the_tenants_first_call(client):
    await queue(client, "rate_limit;times=2", tenant="s:fresh")
    (entry,) = await listed(client, "s:fresh")
    assert entry["remaining"] == {"s:fresh": 2}


async def test_delete_clears_the_queue_of_the_selected_tenants(client):
    await queue(client, "outage;times=*", tenant="s:d1")
    await queue(client, "outage;times=*", tenant="s:d2")
    resp = await client.delete("/_mock/faults", params={"tenant": "s:d1"})
    assert resp.status == 200 and (await resp.json())["removed"] == 1
    assert await statuses(client, "d1", 1) == [200]
    assert await statuses(client, "d2", 1) == [503]
    assert [e["tenant"] for e in await listed(client)] == ["s:d2"]

    await queue(client, "rate_limit;times=*")
    await queue(client, "outage;times=*", tenant="s:d*")
    resp = await client.delete("/_mock/faults")
    assert resp.status == 200 and (await resp.json())["removed"] == 3
    assert await listed(client) == []
    assert await statuses(client, "d2", 1) == [200]
    assert await statuses(client, "new", 1) == [200]


async def test_delete_with_a_glob(client):
    await queue(client, "outage;times=*", tenant="s:x-1")
    await queue(client, "outage;times=*", tenant="s:x-2")
    await queue(client, "outage;times=*", tenant="s:y")
    resp = await client.delete("/_mock/faults", params={"tenant": "s:x-*"})
    assert (await resp.json())["removed"] == 2
    assert await statuses(client, "x-1", 1) == [200]
    assert await statuses(client, "y", 1) == [503]


async def test_reset_clears_the_tenants_faults_and_counters(client):
    await queue(client, "rate_limit")  # every tenant, once each
    await queue(client, "outage;times=*", tenant="s:r1")
    assert await statuses(client, "r1", 1) == [429]
    assert await statuses(client, "r2", 2) == [429, 200]
    resp = await client.post("/_mock/reset", json={"tenant": "s:r1"})
    assert resp.status == 200
    # s:r1's own fault is gone; the every-tenant fault stays, its count for s:r1 back to 0.
    assert await statuses(client, "r1", 2) == [429, 200]
    assert await statuses(client, "r2", 1) == [200]
    resp = await client.post("/_mock/reset", json={})
    assert resp.status == 200
    assert await listed(client) == []
    assert await statuses(client, "r2", 1) == [200]


# --- determinism ----------------------------------------------------------------------------------


async def _p_pattern(client, session: str, calls: int = 16, p: float = 0.5) -> list[int]:
    await queue(client, f"outage;p={p}", tenant=f"s:{session}")
    return await statuses(client, session, calls)


async def test_p_is_seeded_the_same_seed_gives_the_same_pattern(make_client):
    first = await _p_pattern(await make_client(), "pp")
    second = await _p_pattern(await make_client(), "pp")
    assert first == second
    assert 200 in first and 503 in first  # a probability, not all or nothing
    other = await _p_pattern(await make_client(seed=12345), "pp")
    assert other != first  # another seed, another pattern
    assert other == await _p_pattern(await make_client(seed=12345), "pp")


async def test_p_with_a_seed_set_by_reset(make_client):
    client = await make_client()
    await client.post("/_mock/reset", json={"seed": 12345})
    assert await _p_pattern(client, "pp") == await _p_pattern(await make_client(seed=12345), "pp")


async def test_p_replays_the_same_after_a_reset(make_client):
    client = await make_client()
    first = await _p_pattern(client, "pp")
    await client.post("/_mock/reset", json={})
    assert await _p_pattern(client, "pp") == first


async def test_p_of_one_tenant_does_not_depend_on_another_tenants_queue(make_client):
    alone = await _p_pattern(await make_client(), "pp")
    client = await make_client()
    await queue(client, "outage;times=1", tenant="s:someone-else")
    assert await _p_pattern(client, "pp") == alone


async def test_p_fires_on_about_its_share_of_calls(client):
    pattern = await _p_pattern(client, "share", calls=100, p=0.2)
    assert 8 <= pattern.count(503) <= 35


async def _timed_calls(client, session: str, fault: str, calls: int) -> list[float]:
    await queue(client, fault, tenant=f"s:{session}")
    out = []
    for _ in range(calls):
        t0 = time.perf_counter()
        resp = await chat(client, session)
        assert resp.status == 200
        out.append(time.perf_counter() - t0)
    return out


async def test_latency_jitter_is_seeded_the_same_seed_gives_the_same_delays(make_client):
    # ms=100 +- 90: for this seed and session the three drawn delays lie far apart (some 20, 90 and
    # 190 ms), so their order survives a loaded machine.
    fault = "latency;ms=100;jitter=90;dist=uniform;times=*"
    first = await _timed_calls(await make_client(), "j3", fault, 3)
    second = await _timed_calls(await make_client(), "j3", fault, 3)
    assert sorted(range(3), key=first.__getitem__) == sorted(range(3), key=second.__getitem__)
    assert max(first) - min(first) > 0.08  # jitter spreads them
    for a, b in zip(first, second, strict=True):
        assert a >= 0.009 and b >= 0.009
        assert abs(a - b) < 0.06


async def _session_bytes(client, session: str) -> list[bytes]:
    await queue(client, "outage;p=0.4", tenant=f"s:{session}")
    await queue(client, "stream_cut;p=0.3;after=2", tenant=f"s:{session}")
    out = []
    for i in range(8):
        body = {**CHAT_BODY, "query": f"call {i}", "response_mode": "streaming" if i % 2 else "blocking"}
        resp = await client.post(CHAT, json=body, headers=session_headers(session))
        try:
            out.append(bytes(str(resp.status), "ascii") + b" " + await resp.read())
        except aiohttp.ClientPayloadError as exc:  # a cut stream: record that it was cut
            out.append(b"cut " + type(exc).__name__.encode())
    return out


async def test_the_same_seed_gives_the_same_bodies_and_fault_pattern(make_client):
    first = await _session_bytes(await make_client(), "bytes")
    second = await _session_bytes(await make_client(), "bytes")
    assert first == second
    assert any(b.startswith(b"503") for b in first) and any(b.startswith(b"200") for b in first)


async def test_delete_for_one_tenant_never_makes_a_fault_fire_again(client):
    await queue(client, "rate_limit")  # every tenant, once each
    assert await statuses(client, "da", 2) == [429, 200]
    resp = await client.delete("/_mock/faults", params={"tenant": "s:da"})
    assert resp.status == 200
    assert await statuses(client, "da", 1) == [200]


async def test_queued_shapers_combine_with_an_error_and_keep_their_own_count(client):
    await queue(client, "latency;ms=150", tenant="s:shape")
    await queue(client, "rate_limit;retry_after=1", tenant="s:shape")
    t0 = time.perf_counter()
    first = await chat(client, "shape")
    t_first = time.perf_counter() - t0
    assert first.status == 429 and first.headers["Retry-After"] == "1"
    t0 = time.perf_counter()
    second = await chat(client, "shape")
    t_second = time.perf_counter() - t0
    assert second.status == 200
    assert t_first >= 0.14
    assert t_second < t_first / 2  # the latency was spent with the first call


async def test_fixture_fault_p_replays_the_same_after_a_reset(make_client, tmp_path):
    (tmp_path / "service").mkdir()
    (tmp_path / "service" / "send_chat_message.yaml").write_text(
        'scenarios:\n  coin:\n    match: {body.user: u1}\n    fault: "outage;p=0.5"\n', encoding="utf-8"
    )
    client = await make_client(fixtures=(tmp_path,))
    first = await statuses(client, "fp", 16)
    assert 200 in first and 503 in first
    await client.post("/_mock/reset", json={})
    assert await statuses(client, "fp", 16) == first
    twin = await make_client(fixtures=(tmp_path,))
    assert await statuses(twin, "fp", 16) == first
