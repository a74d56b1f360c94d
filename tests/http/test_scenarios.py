"""The scenario language through user fixture directories (README, "Scenarios"): predicates,
first match and user-before-built-in order, X-Mock-Scenario, forced scenarios, sequences and cycles,
`times`, and fixture faults (with a fault-only scenario that fires only on the calls it picks)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from dify_facts import auth

from mockserver.app import create_app, load
from mockserver.catalogue import Catalogue
from mockserver.keys import TENANTS
from mockserver.scenarios.model import Book
from mockserver.settings import Settings

CHAT = "/v1/chat-messages"
DEFAULT_ANSWER = "You asked: {query}"

PREDICATES = """\
scenarios:
  by_header:
    match: {headers.X-Test-Case: Slow}
    respond: {blocking: {answer: by_header}}
  by_query_number:
    match: {query.page: {gt: 2}}
    respond: {blocking: {answer: by_query_number}}
  by_query:
    match: {query.variant: b}
    respond: {blocking: {answer: by_query}}
  by_eq:
    match: {body.query: exact words}
    respond: {blocking: {answer: by_eq}}
  by_regex:
    match: {body.query: {regex: "(?i)\\\\bweather\\\\b"}}
    respond: {blocking: {answer: by_regex}}
  by_contains_text:
    match: {body.query: {contains: needle}}
    respond: {blocking: {answer: by_contains_text}}
  by_contains_list:
    match: {body.inputs.tags: {contains: urgent}}
    respond: {blocking: {answer: by_contains_list}}
  by_startswith:
    match: {body.user: {startswith: vip-}}
    respond: {blocking: {answer: by_startswith}}
  by_in:
    match: {body.user: {in: [alice, bob]}}
    respond: {blocking: {answer: by_in}}
  by_gt:
    match: {body.inputs.n: {gt: 100}}
    respond: {blocking: {answer: by_gt}}
  by_ge:
    match: {body.inputs.n: {ge: 50}}
    respond: {blocking: {answer: by_ge}}
  by_lt:
    match: {body.inputs.n: {lt: -10}}
    respond: {blocking: {answer: by_lt}}
  by_le:
    match: {body.inputs.n: {le: 0}}
    respond: {blocking: {answer: by_le}}
  by_exists:
    match: {body.inputs.city: {exists: true}}
    respond: {blocking: {answer: by_exists}}
  by_absent:
    match: {body.query: absent, body.inputs.city: {exists: false}}
    respond: {blocking: {answer: by_absent}}
  by_not:
    match: {body.query: {startswith: "not "}, body.user: {not: {eq: ordinary}}}
    respond: {blocking: {answer: by_not}}
  by_not_regex:
    match: {body.query: {startswith: "nope "}, body.user: {not: {regex: "^u\\\\d$"}}}
    respond: {blocking: {answer: by_not_regex}}
  by_any_element:
    match: {"body.inputs.items[*].kind": image}
    respond: {blocking: {answer: by_any_element}}
  by_index:
    match: {"body.inputs.items[1].kind": second}
    respond: {blocking: {answer: by_index}}
  by_app_key:
    match: {app.key: app-advanced-chat, body.query: app key}
    respond: {blocking: {answer: by_app_key}}
  by_app_mode:
    match: {app.mode: chat, body.query: app mode}
    respond: {blocking: {answer: by_app_mode}}
  by_app_field:
    match: {app.name: Demo Chat, body.query: app field}
    respond: {blocking: {answer: by_app_field}}
  by_method:
    match: {method: POST, body.query: method}
    respond: {blocking: {answer: by_method}}
  by_all:
    match:
      body.query: {startswith: all}
      body.user: {in: [carol]}
      headers.x-tier: gold
    respond: {blocking: {answer: by_all}}
  first_a:
    match: {body.query: {startswith: first}}
    respond: {blocking: {answer: first_a}}
  first_b:
    match: {body.query: {startswith: first wins}}
    respond: {blocking: {answer: first_b}}
"""


def write_fixtures(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def chat_body(query: str = "hello there", user: str = "u1", **extra: Any) -> dict[str, Any]:
    return {"inputs": {}, "query": query, "user": user, **extra}


def headers(session: str, key: str = "app-chat", **extra: str) -> dict[str, str]:
    return auth(key, **{"X-Mock-Session": session}, **extra)


async def answer(client, session: str, body: dict[str, Any], key: str = "app-chat", path: str = CHAT, **hdrs: str):
    """(status, answer or error code, Retry-After) of a blocking chat."""
    resp = await client.post(path, json=body, headers=headers(session, key, **hdrs))
    data = await resp.json()
    return resp.status, data.get("answer", data.get("code")), resp.headers.get("Retry-After")


async def answers(client, session: str, users: list[str], query: str = "hi") -> list[str]:
    out = []
    for user in users:
        status, text, _ = await answer(client, session, chat_body(query, user))
        out.append(text if status == 200 else str(status))
    return out


def journal(client, tenant: str) -> list[dict[str, Any]]:
    return list(client.app[TENANTS].get(tenant).journal)


@pytest.fixture(scope="module")
def predicates_book(tmp_path_factory: pytest.TempPathFactory) -> tuple[Catalogue, Book]:
    """The built-ins plus PREDICATES, loaded once: the book is immutable, all state lives in the app."""
    root = write_fixtures(tmp_path_factory.mktemp("predicates"), {"service/send_chat_message.yaml": PREDICATES})
    return load(Settings(fixtures=(root,)))


@pytest.fixture
async def predicates_client(aiohttp_client, predicates_book):
    catalogue, book = predicates_book
    settings = Settings(pace_scale=0.0, strict=True, seed=0)
    return await aiohttp_client(create_app(settings, catalogue=catalogue, book=book))


# --- predicates -----------------------------------------------------------------------------------

CASES = [
    # (expected scenario, body, extra headers, query string)
    ("by_header", chat_body(), {"x-test-case": "Slow"}, ""),
    ("by_header", chat_body(), {"X-TEST-CASE": "Slow"}, ""),
    ("default", chat_body(), {"x-test-case": "slow"}, ""),  # names are case-insensitive, values are not
    ("by_query_number", chat_body(), {}, "?page=5"),  # a number after coercion
    ("default", chat_body(), {}, "?page=2"),
    ("default", chat_body(), {}, "?page=many"),  # a non-number fails
    ("by_query", chat_body(), {}, "?variant=b"),
    ("by_eq", chat_body("exact words"), {}, ""),
    ("default", chat_body("exact words!"), {}, ""),
    ("by_regex", chat_body("What is the Weather like?"), {}, ""),
    ("default", chat_body("weatherman"), {}, ""),
    ("by_contains_text", chat_body("a needle in a haystack"), {}, ""),
    ("by_contains_list", chat_body(inputs={"tags": ["later", "urgent"]}), {}, ""),
    ("default", chat_body(inputs={"tags": ["urgently"]}), {}, ""),
    ("by_startswith", chat_body(user="vip-7"), {}, ""),
    ("default", chat_body(user="not-vip-7"), {}, ""),
    ("by_in", chat_body(user="bob"), {}, ""),
    ("default", chat_body(user="bobby"), {}, ""),
    ("by_gt", chat_body(inputs={"n": 150}), {}, ""),
    ("by_ge", chat_body(inputs={"n": 50}), {}, ""),
    ("by_ge", chat_body(inputs={"n": 100}), {}, ""),
    ("by_lt", chat_body(inputs={"n": -20}), {}, ""),
    ("by_le", chat_body(inputs={"n": 0}), {}, ""),
    ("by_le", chat_body(inputs={"n": -10}), {}, ""),
    ("default", chat_body(inputs={"n": 10}), {}, ""),
    ("default", chat_body(inputs={"n": True}), {}, ""),  # a boolean is no number
    ("by_exists", chat_body(inputs={"city": "Paris"}), {}, ""),
    ("by_absent", chat_body("absent"), {}, ""),
    ("by_exists", chat_body("absent", inputs={"city": "Paris"}), {}, ""),
    ("by_not", chat_body("not this", user="someone"), {}, ""),
    ("default", chat_body("not this", user="ordinary"), {}, ""),
    ("by_not_regex", chat_body("nope x", user="carol"), {}, ""),
    ("default", chat_body("nope x", user="u7"), {}, ""),
    ("by_any_element", chat_body(inputs={"items": [{"kind": "text"}, {"kind": "image"}]}), {}, ""),
    ("by_index", chat_body(inputs={"items": [{"kind": "first"}, {"kind": "second"}]}), {}, ""),
    ("default", chat_body(inputs={"items": [{"kind": "second"}]}), {}, ""),
    ("by_app_mode", chat_body("app mode"), {}, ""),
    ("by_app_field", chat_body("app field"), {}, ""),
    ("default", chat_body("app key"), {}, ""),  # app-chat is not app-advanced-chat
    ("by_method", chat_body("method"), {}, ""),
    ("by_all", chat_body("all of them", user="carol"), {"X-Tier": "gold"}, ""),
    ("default", chat_body("all of them", user="carol"), {"X-Tier": "silver"}, ""),
    ("first_a", chat_body("first wins, file order"), {}, ""),
]


@pytest.mark.parametrize(("expected", "body", "extra", "query"), CASES)
async def test_predicates(predicates_client, expected, body, extra, query):
    client = predicates_client
    resp = await client.post(CHAT + query, json=body, headers=headers("pred", **extra))
    assert resp.status == 200, await resp.text()
    reply = await resp.json()
    want = DEFAULT_ANSWER.format(query=body["query"]) if expected == "default" else expected
    assert reply["answer"] == want
    (entry,) = journal(client, "s:pred")
    assert entry["scenario"] == expected and entry["unmatched"] is False


async def test_app_key_predicate(predicates_client):
    status, text, _ = await answer(predicates_client, "key", chat_body("app key"), key="app-advanced-chat")
    assert (status, text) == (200, "by_app_key")


async def test_path_parameter_predicate(make_client, tmp_path: Path):
    fixtures = write_fixtures(
        tmp_path,
        {
            "service/stop_chat_message.yaml": """\
            scenarios:
              stale_task:
                match: {path.task_id: {startswith: dead}}
                respond: {error: {code: not_found, message: Task gone}}
            """
        },
    )
    client = await make_client(fixtures=(fixtures,))
    resp = await client.post("/v1/chat-messages/deadbeef-1/stop", json={"user": "u1"}, headers=headers("path"))
    assert resp.status == 404
    assert await resp.json() == {"code": "not_found", "message": "Task gone", "status": 404}
    resp = await client.post("/v1/chat-messages/cafe-1/stop", json={"user": "u1"}, headers=headers("path"))
    assert resp.status == 200 and await resp.json() == {"result": "success"}


# --- order: user before built-in, replacing and removing ------------------------------------------


async def test_user_scenarios_are_tried_before_built_in_ones(make_client, tmp_path: Path):
    fixtures = write_fixtures(
        tmp_path,
        {
            "service/send_chat_message.yaml": """\
            scenarios:
              mine:
                match: {app.mode: advanced-chat}
                respond: {blocking: {answer: mine}}
            """
        },
    )
    client = await make_client(fixtures=(fixtures,))
    assert await answer(client, "order", chat_body(), key="app-advanced-chat") == (200, "mine", None)
    # Built-in rules still apply where the user's do not match.
    resp = await client.post(CHAT, json=chat_body(response_mode="streaming"), headers=headers("order", "app-agent"))
    assert b'"event":"agent_thought"' in await resp.read()
    names = (await (await client.get("/_mock/scenarios")).json())["data"]["service.send_chat_message"]
    assert names == ["mine", "agent_chat", "agent", "chatflow", "default"]


async def test_a_user_scenario_replaces_a_built_in_one_by_name_and_null_removes_one(make_client, tmp_path: Path):
    fixtures = write_fixtures(
        tmp_path,
        {
            "service/send_chat_message.yaml": """\
            scenarios:
              chatflow:
                match: {app.mode: advanced-chat}
                respond: {blocking: {answer: replaced}}
              agent: null
            """
        },
    )
    client = await make_client(fixtures=(fixtures,))
    assert await answer(client, "repl", chat_body(), key="app-advanced-chat") == (200, "replaced", None)
    names = (await (await client.get("/_mock/scenarios")).json())["data"]["service.send_chat_message"]
    assert names == ["agent_chat", "chatflow", "default"]
    resp = await client.post(CHAT, json=chat_body(response_mode="streaming"), headers=headers("repl", "app-agent"))
    assert resp.status == 200
    assert b"agent_thought" not in await resp.read()
    assert journal(client, "s:repl")[-1]["scenario"] == "default"


async def test_later_user_directories_win(make_client, tmp_path: Path):
    template = "scenarios:\n  s:\n    match: {{body.user: x}}\n    respond: {{blocking: {{answer: {}}}}}\n"
    one = write_fixtures(tmp_path / "one", {"service/send_chat_message.yaml": template.format("one")})
    two = write_fixtures(tmp_path / "two", {"service/send_chat_message.yaml": template.format("two")})
    client = await make_client(fixtures=(one, two))
    assert await answer(client, "dirs", chat_body(user="x")) == (200, "two", None)


# --- X-Mock-Scenario and forced scenarios ---------------------------------------------------------


async def test_x_mock_scenario_picks_one_by_name(predicates_client):
    client = predicates_client
    status, text, _ = await answer(client, "named", chat_body("anything"), **{"X-Mock-Scenario": "by_gt"})
    assert (status, text) == (200, "by_gt")
    # It wins over a matching rule, and `default` is a name too.
    status, text, _ = await answer(client, "named", chat_body("exact words"), **{"X-Mock-Scenario": "by_in"})
    assert (status, text) == (200, "by_in")
    status, text, _ = await answer(client, "named", chat_body("exact words"), **{"X-Mock-Scenario": "default"})
    assert (status, text) == (200, "You asked: exact words")
    assert [e["scenario"] for e in journal(client, "s:named")] == ["by_gt", "by_in", "default"]


async def test_an_unknown_scenario_name_is_a_400_with_a_did_you_mean(predicates_client):
    # INTERFACE: an unknown X-Mock-Scenario answers 400 mock_unknown_scenario listing the endpoint's names.
    client = predicates_client
    resp = await client.post(
        "/v1/chat-messages",
        json=chat_body("exact words"),
        headers={**auth("app-chat"), "X-Mock-Session": "unk", "X-Mock-Scenario": "by_eqq"},
    )
    assert resp.status == 400
    body = await resp.json()
    assert body["code"] == "mock_unknown_scenario"
    assert "has no scenario 'by_eqq' (did you mean 'by_eq'?)" in body["message"]
    assert "by_lt" in body["message"] and "default" in body["message"]
    (entry,) = journal(client, "s:unk")
    assert entry["unmatched"] is True and entry["status"] == 400
    assert entry["scenario"] is None  # refused before any scenario was chosen


async def test_forced_scenarios_per_tenant_and_their_removal(predicates_client):
    client = predicates_client
    endpoint = "service.send_chat_message"
    resp = await client.post("/_mock/scenarios", json={"endpoint": endpoint, "scenario": "by_lt", "tenant": "s:f1"})
    assert resp.status == 200
    assert await answers(client, "f1", ["u1", "u2"]) == ["by_lt", "by_lt"]
    assert await answers(client, "f2", ["u1"]) == ["You asked: hi"]
    # X-Mock-Scenario still wins over the forcing.
    assert (await answer(client, "f1", chat_body(), **{"X-Mock-Scenario": "by_gt"}))[1] == "by_gt"
    listing = await (await client.get("/_mock/scenarios", params={"tenant": "s:f1"})).json()
    assert {"tenant": "s:f1", "endpoint": endpoint, "scenario": "by_lt"} in listing["forced"]

    resp = await client.post("/_mock/scenarios", json={"endpoint": endpoint, "scenario": None, "tenant": "s:f1"})
    assert resp.status == 200
    assert await answers(client, "f1", ["u1"]) == ["You asked: hi"]
    listing = await (await client.get("/_mock/scenarios")).json()
    assert listing["forced"] == []


async def test_forcing_for_every_tenant_and_by_glob(predicates_client):
    client = predicates_client
    endpoint = "service.send_chat_message"
    await client.post("/_mock/scenarios", json={"endpoint": endpoint, "scenario": "by_ge", "tenant": "s:grp-*"})
    assert await answers(client, "grp-1", ["u1"]) == ["by_ge"]
    assert await answers(client, "solo", ["u1"]) == ["You asked: hi"]
    await client.post("/_mock/scenarios", json={"endpoint": endpoint, "scenario": "by_le"})
    assert await answers(client, "solo", ["u1"]) == ["by_le"]
    assert await answers(client, "created-later", ["u1"]) == ["by_le"]
    # The forcing applies to its endpoint only.
    resp = await client.post(
        "/v1/completion-messages", json={"inputs": {}, "user": "u1"}, headers=headers("solo", "app-completion")
    )
    assert resp.status == 200 and "Here is a short text" in (await resp.json())["answer"]
    await client.post("/_mock/scenarios", json={"endpoint": endpoint, "scenario": None})
    assert await answers(client, "solo", ["u1"]) == ["You asked: hi"]


async def test_forcing_is_refused_for_unknown_names_and_lifted_by_reset(predicates_client):
    client = predicates_client
    endpoint = "service.send_chat_message"
    resp = await client.post("/_mock/scenarios", json={"endpoint": endpoint, "scenario": "nope", "tenant": "s:r"})
    assert resp.status == 400 and (await resp.json())["code"] == "invalid_param"
    resp = await client.post("/_mock/scenarios", json={"endpoint": "service.nope", "scenario": "default"})
    assert resp.status == 400
    resp = await client.post("/_mock/scenarios", json={"scenario": "default"})
    assert resp.status == 400
    await client.post("/_mock/scenarios", json={"endpoint": endpoint, "scenario": "by_gt", "tenant": "s:r"})
    assert await answers(client, "r", ["u1"]) == ["by_gt"]
    await client.post("/_mock/reset", json={"tenant": "s:r"})
    assert await answers(client, "r", ["u1"]) == ["You asked: hi"]


async def test_get_scenarios_lists_names_per_endpoint(predicates_client):
    data = (await (await predicates_client.get("/_mock/scenarios")).json())["data"]
    assert data["service.send_chat_message"][:3] == ["by_header", "by_query_number", "by_query"]
    assert data["service.send_chat_message"][-4:] == ["agent_chat", "agent", "chatflow", "default"]
    assert data["service.run_workflow"] == ["human_input", "default"]
    assert "service.get_app_parameters" in data


# --- sequences and times --------------------------------------------------------------------------

SEQUENCES = """\
scenarios:
  flaky_start:
    match: {body.user: {startswith: retry-}}
    sequence:
      - {fault: outage}
      - {fault: outage}
      - {blocking: {answer: third time lucky}}
  cycling:
    match: {body.user: cycler}
    then: cycle
    sequence:
      - {blocking: {answer: one}}
      - {fault: "rate_limit;retry_after=3"}
      - {blocking: {answer: three}}
  limited:
    match: {body.user: limited}
    times: 2
    respond: {blocking: {answer: limited}}
"""


@pytest.fixture
async def sequences_client(make_client, tmp_path: Path):
    return await make_client(fixtures=(write_fixtures(tmp_path, {"service/send_chat_message.yaml": SEQUENCES}),))


async def test_a_sequence_fails_twice_then_answers_and_the_last_item_repeats(sequences_client):
    client = sequences_client
    assert await answers(client, "seq", ["retry-1"] * 5) == [
        "503",
        "503",
        "third time lucky",
        "third time lucky",
        "third time lucky",
    ]
    status, code, _ = await answer(client, "seq2", chat_body(user="retry-1"))
    assert (status, code) == (503, "app_unavailable")  # per tenant: another tenant starts over
    faults = [e["fault"] for e in journal(client, "s:seq")]
    assert [f["name"] if f else None for f in faults] == ["outage", "outage", None, None, None]
    assert faults[0]["source"] == "scenario"


async def test_a_sequence_counts_only_its_matching_calls(sequences_client):
    users = ["other", "retry-a", "other", "retry-b", "other", "retry-c"]
    assert await answers(sequences_client, "only", users) == [
        "You asked: hi",
        "503",
        "You asked: hi",
        "503",
        "You asked: hi",
        "third time lucky",
    ]


async def test_a_streaming_call_gets_the_sequence_item_too(sequences_client):
    client = sequences_client
    for _ in range(2):
        resp = await client.post(CHAT, json=chat_body(user="retry-s", response_mode="streaming"), headers=headers("ss"))
        assert resp.status == 503 and (await resp.json())["code"] == "app_unavailable"
    resp = await client.post(CHAT, json=chat_body(user="retry-s", response_mode="streaming"), headers=headers("ss"))
    assert resp.status == 200
    raw = await resp.read()
    assert b'"answer":"third time lucky"' in raw and b'"event":"message_end"' in raw


async def test_then_cycle_loops(sequences_client):
    client = sequences_client
    seen = []
    for _ in range(7):
        status, text, retry_after = await answer(client, "cyc", chat_body(user="cycler"))
        seen.append((status, text, retry_after))
    one, limited, three = (200, "one", None), (429, "rate_limit_exceeded", "3"), (200, "three", None)
    assert seen == [one, limited, three, one, limited, three, one]


async def test_reset_starts_sequences_and_times_over(sequences_client):
    client = sequences_client
    assert await answers(client, "rs", ["retry-1"] * 3) == ["503", "503", "third time lucky"]
    assert await answers(client, "rs", ["limited"] * 3) == ["limited", "limited", "You asked: hi"]
    resp = await client.post("/_mock/reset", json={"tenant": "s:rs"})
    assert resp.status == 200
    assert await answers(client, "rs", ["retry-1", "limited"]) == ["503", "limited"]
    await client.post("/_mock/reset", json={})
    assert await answers(client, "rs", ["retry-1"]) == ["503"]


async def test_times_uses_a_scenario_for_the_first_n_matches_per_tenant(sequences_client):
    client = sequences_client
    assert await answers(client, "t1", ["limited", "other", "limited", "limited"]) == [
        "limited",
        "You asked: hi",
        "limited",
        "You asked: hi",
    ]
    assert await answers(client, "t2", ["limited"]) == ["limited"]
    assert [e["scenario"] for e in journal(client, "s:t1")] == ["limited", "default", "limited", "default"]


async def test_a_forced_scenario_with_a_sequence(sequences_client):
    client = sequences_client
    await client.post(
        "/_mock/scenarios", json={"endpoint": "service.send_chat_message", "scenario": "flaky_start", "tenant": "s:fs"}
    )
    assert await answers(client, "fs", ["anyone", "anyone", "anyone"]) == ["503", "503", "third time lucky"]


# --- fixture faults -------------------------------------------------------------------------------

FIXTURE_FAULTS = """\
scenarios:
  flaky_every_other:
    match: {body.user: flaky}
    fault: "outage;every=2"
  rate_limited:
    match: {body.user: {regex: "^load-\\\\d+$"}}
    fault: {name: rate_limit, retry_after: 2, times: 2}
  answered:
    match: {body.user: answered}
    fault: "too_many_requests;skip=1"
    respond: {blocking: {answer: answered}}
  timed:
    match: {body.user: timed}
    fault: "outage;during=10-20"
  cutter:
    match: {body.user: cutter}
    fault: "stream_cut;after=1;times=*"
  quota:
    match: {body.user: metered}
    fault: "rate_limit;quota=2;per=30"
"""


@pytest.fixture
async def faults_client(make_client, tmp_path: Path):
    return await make_client(fixtures=(write_fixtures(tmp_path, {"service/send_chat_message.yaml": FIXTURE_FAULTS}),))


async def test_a_fault_only_scenario_fires_only_on_the_calls_its_schedule_picks(faults_client):
    client = faults_client
    users = ["flaky", "other", "flaky", "other", "other", "flaky", "flaky"]
    assert await answers(client, "fo", users) == [
        "You asked: hi",
        "You asked: hi",
        "503",
        "You asked: hi",
        "You asked: hi",
        "You asked: hi",
        "503",
    ]
    scenarios = [e["scenario"] for e in journal(client, "s:fo")]
    assert scenarios == [
        "default",
        "default",
        "flaky_every_other",
        "default",
        "default",
        "default",
        "flaky_every_other",
    ]
    fired = journal(client, "s:fo")[2]["fault"]
    assert fired == {"name": "outage", "source": "scenario", "params": {}, "after_events": None}


async def test_the_design_example_rate_limits_twice_per_tenant(faults_client):
    client = faults_client
    seen = [await answer(client, "load", chat_body("hi", user)) for user in ("load-1", "load-2", "load-1")]
    assert seen == [(429, "rate_limit_exceeded", "2"), (429, "rate_limit_exceeded", "2"), (200, "You asked: hi", None)]
    assert (await answer(client, "load-b", chat_body(user="load-1")))[0] == 429


async def test_a_fault_beside_respond_fires_on_its_calls_and_respond_answers_the_rest(faults_client):
    client = faults_client
    seen = [(await answer(client, "ans", chat_body(user="answered")))[:2] for _ in range(3)]
    assert seen == [(200, "answered"), (429, "too_many_requests"), (200, "answered")]
    assert [e["scenario"] for e in journal(client, "s:ans")] == ["answered"] * 3


async def test_fixture_faults_use_the_tenants_mock_clock(faults_client):
    client = faults_client
    assert await answers(client, "tm", ["timed"]) == ["You asked: hi"]
    resp = await client.post("/_mock/clock", json={"tenant": "s:tm", "advance": 12})
    assert resp.status == 200
    assert await answers(client, "tm", ["timed", "timed"]) == ["503", "503"]
    await client.post("/_mock/clock", json={"tenant": "s:tm", "advance": 30})
    assert await answers(client, "tm", ["timed"]) == ["You asked: hi"]


async def test_a_fixture_quota(faults_client):
    client = faults_client
    seen = [await answer(client, "mq", chat_body("hi", "metered")) for _ in range(3)]
    assert seen[:2] == [(200, "You asked: hi", None)] * 2
    assert seen[2] == (429, "rate_limit_exceeded", "28")  # the third call, at second 2 of a 30 s window


async def test_a_fixture_stream_fault_leaves_blocking_calls_alone(faults_client):
    client = faults_client
    assert await answers(client, "sc", ["cutter", "cutter"]) == ["You asked: hi"] * 2
    resp = await client.post(CHAT, json=chat_body(user="cutter", response_mode="streaming"), headers=headers("sc"))
    assert resp.status == 200
    first = await resp.content.readuntil(b"\n\n")
    assert first.startswith(b'data: {"event":"message"')
    with pytest.raises(aiohttp.ClientPayloadError):
        await resp.read()
    entry = journal(client, "s:sc")[-1]
    assert entry["scenario"] == "cutter" and entry["fault"]["source"] == "scenario"
    assert entry["outcome"] == "cut"


async def test_queued_faults_take_precedence_over_fixture_faults_without_spending_them(faults_client):
    client = faults_client
    resp = await client.post("/_mock/faults", json={"fault": "quota_exceeded", "tenant": "s:pq"})
    assert resp.status == 201
    seen = [await answer(client, "pq", chat_body("hi", "load-1")) for _ in range(4)]
    assert seen == [
        (429, "quota_exceeded", None),
        (429, "rate_limit_exceeded", "2"),
        (429, "rate_limit_exceeded", "2"),
        (200, "You asked: hi", None),
    ]


async def test_inject_faults_off_silences_queue_and_fixture_faults_but_not_the_header(make_client, tmp_path: Path):
    fixtures = write_fixtures(tmp_path, {"service/send_chat_message.yaml": FIXTURE_FAULTS})
    client = await make_client(fixtures=(fixtures,), inject_faults=False)
    await client.post("/_mock/faults", json={"fault": "outage;times=*"})
    assert await answers(client, "off", ["load-1", "flaky", "flaky"]) == ["You asked: hi"] * 3
    status, code, _ = await answer(client, "off", chat_body(), **{"X-Mock-Fault": "bad_key"})
    assert (status, code) == (401, "invalid_api_key")
