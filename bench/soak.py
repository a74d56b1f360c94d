"""Soak: a long, bounded mixed load against one mock server; its memory and open files must stay flat.

The mock runs as a subprocess (`python -m mockserver serve`, the fixtures' own spacing) pinned to one
core; client tasks on the other core loop over a seeded mix of every endpoint family for `--minutes`
(default 10), over loopback only: blocking and streaming chats (a share abandoned after the first
frame), completions, workflow runs, conversation and message reads, renames, feedback, file uploads,
Knowledge datasets, documents by text and their lists, injected faults (429s, cut and failing
streams), tenant resets, and `/_mock/health`. Sessions cycle over more tenants than the server keeps,
and a tenth of the calls go to a few hot sessions; the server runs with caps scaled to the soak
(CAPS, as DIFY_MOCK_* variables), so tenant eviction, the journal's cap and the stores' caps are
all reached, and after the run the script checks that they were and held: every hot session's
journal is full with entries dropped, no more tenants are kept than the cap, and each hot session's
first conversation and first upload are gone (evicted, oldest first).

Every `--sample` seconds the server's RSS and open file descriptors are read from /proc. After the
warm-up (the first fifth of the run), neither may grow by more than 10% to the end. Any 5xx the
script did not ask for, or a health check that fails, fails the run. `--smoke`: 20 seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from blocking import MOCK, Server, pin_cores

from mockserver.determinism import derive_random

GROWTH_LIMIT = 0.10
WORKERS = 24
SESSIONS = 1500  # more than the server keeps (CAPS): eviction is part of the soak
HOT = 4  # sessions that get a tenth of the calls, so their journals and stores reach their caps
HOT_SHARE = 0.1
JOURNAL_CAP = 200
TENANT_CAP = 1000
# The server's caps for the soak (what `serve` reads from the environment): the byte caps small enough
# for a hot session to pass them within minutes (uploads of 100 B to 200 kB, chat turns of ~100 B).
CAPS = {
    "DIFY_MOCK_JOURNAL_SIZE": str(JOURNAL_CAP),
    "DIFY_MOCK_MAX_TENANTS": str(TENANT_CAP),
    "DIFY_MOCK_MAX_UPLOAD_STORE_BYTES": str(1024 * 1024),
    "DIFY_MOCK_MAX_MESSAGE_STORE_BYTES": str(64 * 1024),
}
APP = {"Authorization": "Bearer app-chat"}
COMPLETION = {"Authorization": "Bearer app-completion"}
WORKFLOW = {"Authorization": "Bearer app-workflow"}
KNOWLEDGE = {"Authorization": "Bearer dataset-demo"}


@dataclass
class Tally:
    calls: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    health_failures: int = 0


class Load:
    """The client side: one aiohttp session, a seeded mix, a tally of what came back."""

    def __init__(self, url: str, session: aiohttp.ClientSession, seed: int) -> None:
        self.url, self.session, self.rng = url, session, derive_random(("soak", seed))
        self.tally = Tally()
        self.datasets: dict[str, str] = {}  # session -> its dataset id
        self.conversations: dict[str, str] = {}  # session -> a conversation id
        self.firsts: dict[str, dict[str, str]] = {}  # hot session -> its first conversation and upload

    async def call(
        self, method: str, path: str, headers: dict[str, str], *, expect_5xx: bool = False, **kwargs: Any
    ) -> tuple[int, Any]:
        async with self.session.request(method, self.url + path, headers=headers, **kwargs) as resp:
            raw = await resp.read()
            status = resp.status
        self.tally.statuses[status] += 1
        if status >= 500 and not expect_5xx:
            self.tally.unexpected.append(f"{method} {path}: {status} {raw[:200]!r}")
        try:
            return status, json.loads(raw) if raw.startswith(b"{") else None
        except ValueError:
            return status, None

    def who(self, hot: bool = True) -> tuple[str, dict[str, str]]:
        if hot and self.rng.random() < HOT_SHARE:
            sid = f"hot{self.rng.randrange(HOT)}"
        else:
            sid = f"soak{self.rng.randrange(SESSIONS)}"
        return sid, {"X-Mock-Session": sid}

    def first(self, sid: str, kind: str, value: Any) -> None:
        if sid.startswith("hot") and isinstance(value, str):
            self.firsts.setdefault(sid, {}).setdefault(kind, value)

    async def chat(self) -> None:
        sid, extra = self.who()
        body: dict[str, Any] = {"inputs": {}, "query": "How are you?", "user": "soaker"}
        if sid in self.conversations and self.rng.random() < 0.5:
            body["conversation_id"] = self.conversations[sid]
        status, data = await self.call("POST", "/v1/chat-messages", {**APP, **extra}, json=body)
        if status == 200 and isinstance(data, dict) and data.get("conversation_id"):
            self.conversations[sid] = data["conversation_id"]
            self.first(sid, "conversation", data["conversation_id"])
        elif status == 404:
            self.conversations.pop(sid, None)  # its tenant was reset or evicted

    async def stream(self, abandon: bool) -> None:
        _, extra = self.who()
        body = {"inputs": {}, "query": "Tell me more", "user": "soaker", "response_mode": "streaming"}
        async with self.session.post(self.url + "/v1/chat-messages", json=body, headers={**APP, **extra}) as resp:
            self.tally.statuses[resp.status] += 1
            if abandon:
                await resp.content.readuntil(b"\n\n")
                resp.close()  # the client leaves mid-stream
                return
            await resp.read()

    async def completion(self) -> None:
        _, extra = self.who()
        body = {"inputs": {"query": "Write a haiku"}, "user": "soaker"}
        await self.call("POST", "/v1/completion-messages", {**COMPLETION, **extra}, json=body)

    async def workflow(self) -> None:
        _, extra = self.who()
        mode = self.rng.choice(["blocking", "streaming"])
        body = {"inputs": {"query": "report"}, "user": "soaker", "response_mode": mode}
        await self.call("POST", "/v1/workflows/run", {**WORKFLOW, **extra}, json=body)

    async def reads(self) -> None:
        sid, extra = self.who()
        await self.call("GET", "/v1/conversations?user=soaker&limit=20", {**APP, **extra})
        conversation = self.conversations.get(sid)
        if conversation:
            path = f"/v1/messages?user=soaker&conversation_id={conversation}"
            status, data = await self.call("GET", path, {**APP, **extra})
            messages = (data or {}).get("data") or [] if status == 200 else []
            if messages:
                feedback = {"rating": "like", "user": "soaker"}
                await self.call("POST", f"/v1/messages/{messages[0]['id']}/feedbacks", {**APP, **extra}, json=feedback)
            name = {"name": f"renamed {self.rng.randrange(100)}", "user": "soaker"}
            await self.call("POST", f"/v1/conversations/{conversation}/name", {**APP, **extra}, json=name)

    async def upload(self) -> None:
        sid, extra = self.who()
        form = aiohttp.FormData()
        form.add_field("user", "soaker")
        size = self.rng.choice([100, 10_000, 200_000])
        form.add_field("file", b"x" * size, filename="notes.txt", content_type="text/plain")
        status, data = await self.call("POST", "/v1/files/upload", {**APP, **extra}, data=form)
        if status in (200, 201) and isinstance(data, dict):
            self.first(sid, "file", data.get("id"))

    async def knowledge(self) -> None:
        sid, extra = self.who()
        dataset = self.datasets.get(sid)
        if dataset is None:
            body = {"name": f"soak {sid} {self.rng.randrange(10**6)}"}
            status, data = await self.call("POST", "/v1/datasets", {**KNOWLEDGE, **extra}, json=body)
            if status == 200 and isinstance(data, dict):
                self.datasets[sid] = data["id"]
            return
        doc = {"name": "notes.txt", "text": "Soak text. " * 50, "indexing_technique": "economy"}
        path = f"/v1/datasets/{dataset}/document/create-by-text"
        status, _ = await self.call("POST", path, {**KNOWLEDGE, **extra}, json=doc)
        if status == 404:
            self.datasets.pop(sid, None)
            return
        await self.call("GET", f"/v1/datasets/{dataset}/documents?limit=20", {**KNOWLEDGE, **extra})
        await self.call("GET", "/v1/datasets?limit=20", {**KNOWLEDGE, **extra})

    async def fault(self) -> None:
        _, extra = self.who()
        fault = self.rng.choice(["rate_limit", "stream_cut;after=1", "stream_error;after=1", "outage"])
        body = {"inputs": {}, "query": "hi", "user": "soaker", "response_mode": "streaming"}
        headers = {**APP, **extra, "X-Mock-Fault": fault}
        try:
            await self.call("POST", "/v1/chat-messages", headers, expect_5xx=fault == "outage", json=body)
        except aiohttp.ClientPayloadError:
            self.tally.statuses[200] += 1  # a cut stream ends without its last chunk, as asked

    async def reset(self) -> None:
        sid, _ = self.who(hot=False)  # a hot session keeps its state: its caps are checked at the end
        await self.call("POST", "/_mock/reset", {}, json={"tenant": f"s:{sid}"})
        self.conversations.pop(sid, None)
        self.datasets.pop(sid, None)

    def pick(self) -> tuple[str, Callable[[], Awaitable[None]]]:
        choices: list[tuple[str, float, Callable[[], Awaitable[None]]]] = [
            ("chat", 20, self.chat),
            ("stream", 12, lambda: self.stream(abandon=False)),
            ("abandoned stream", 6, lambda: self.stream(abandon=True)),
            ("completion", 8, self.completion),
            ("workflow", 10, self.workflow),
            ("reads", 14, self.reads),
            ("upload", 6, self.upload),
            ("knowledge", 12, self.knowledge),
            ("fault", 8, self.fault),
            ("reset", 1, self.reset),
        ]
        name, _, action = self.rng.choices(choices, weights=[w for _, w, _ in choices])[0]
        return name, action


def _proc(pid: int) -> tuple[float, int]:
    """The server's RSS (MiB) and open file descriptors now."""
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


async def soak(url: str, pid: int, seconds: float, sample_s: float, cores: list[int]) -> tuple[Tally, list[Any]]:
    if cores:
        os.sched_setaffinity(0, set(cores))
    samples: list[tuple[float, float, int]] = []
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=WORKERS * 2)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        loads = [Load(url, session, seed) for seed in range(WORKERS)]

        async def worker(load: Load) -> None:
            while time.monotonic() < deadline:
                name, action = load.pick()
                load.tally.calls[name] += 1
                try:
                    await action()
                except (aiohttp.ClientError, TimeoutError) as exc:
                    load.tally.unexpected.append(f"{name}: {type(exc).__name__} {exc}")

        async def sampler() -> None:
            start = time.monotonic()
            while time.monotonic() < deadline:
                rss, fds = _proc(pid)
                samples.append((round(time.monotonic() - start, 1), rss, fds))
                try:
                    async with session.get(url + "/_mock/health") as resp:
                        if resp.status != 200:
                            loads[0].tally.health_failures += 1
                except aiohttp.ClientError:
                    loads[0].tally.health_failures += 1
                await asyncio.sleep(sample_s)

        await asyncio.gather(sampler(), *(worker(load) for load in loads))
        caps = await check_caps(url, session, loads)
    total = Tally()
    for load in loads:
        total.calls.update(load.tally.calls)
        total.statuses.update(load.tally.statuses)
        total.unexpected += load.tally.unexpected
        total.health_failures += load.tally.health_failures
    return total, samples, caps


async def check_caps(url: str, session: aiohttp.ClientSession, loads: list[Load]) -> dict[str, Any]:
    """What the caps did by the end: each hot session's journal (kept, dropped), whether its first
    conversation's messages and its first upload are still there, and how many tenants the server kept."""
    firsts: dict[str, dict[str, str]] = {}
    for load in loads:
        for sid, seen in load.firsts.items():
            for kind, value in seen.items():
                firsts.setdefault(sid, {}).setdefault(kind, value)
    hot: dict[str, dict[str, Any]] = {}
    for n in range(HOT):
        sid = f"hot{n}"
        headers = {**APP, "X-Mock-Session": sid}
        async with session.get(url + "/_mock/journal", params={"tenant": f"s:{sid}"}) as resp:
            journal = await resp.json()
        facts: dict[str, Any] = {"journal": len(journal["data"]), "dropped": journal["dropped"]}
        conversation = firsts.get(sid, {}).get("conversation")
        if conversation:
            query = {"user": "soaker", "conversation_id": conversation}
            async with session.get(url + "/v1/messages", params=query, headers=headers) as resp:
                kept = (await resp.json()).get("data") if resp.status == 200 else None
            facts["first_conversation"] = "kept" if kept else "gone"
        file_id = firsts.get(sid, {}).get("file")
        if file_id:
            async with session.get(url + f"/v1/files/{file_id}/preview", headers=headers) as resp:
                facts["first_upload"] = "kept" if resp.status == 200 else "gone"
        hot[sid] = facts
    # Last, as it drops them: a reset of every session says how many tenants the server still kept.
    async with session.post(url + "/_mock/reset", json={"tenant": "s:*"}) as resp:
        kept_tenants = (await resp.json())["tenants"]
    return {"hot": hot, "tenants_kept": kept_tenants}


def cap_problems(caps: dict[str, Any]) -> list[str]:
    problems = []
    if caps["tenants_kept"] > TENANT_CAP:
        problems.append(f"{caps['tenants_kept']} tenants kept, over the cap of {TENANT_CAP}")
    for sid, facts in caps["hot"].items():
        if facts["journal"] != JOURNAL_CAP or not facts["dropped"]:
            problems.append(
                f"{sid}'s journal holds {facts['journal']} entries, {facts['dropped']} dropped: not at its cap"
            )
        for kind in ("first_conversation", "first_upload"):
            if facts.get(kind) != "gone":
                problems.append(
                    f"{sid}'s {kind.replace('_', ' ')} is {facts.get(kind, 'never made')}: its store's cap never struck"
                )
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between RSS/fd samples")
    parser.add_argument("--smoke", action="store_true", help="20 seconds, no growth threshold")
    args = parser.parse_args()
    seconds = 20.0 if args.smoke else args.minutes * 60
    sample_s = min(args.sample, seconds / 10)
    server_core, client_cores = pin_cores()
    server = Server([*MOCK, "--quiet"], server_core, env={**os.environ, **CAPS})
    try:
        url = server.wait_listening()
        tally, samples, caps = asyncio.run(soak(url, server.proc.pid, seconds, sample_s, sorted(client_cores)))
    finally:
        server.stop()
    warm = [s for s in samples if s[0] >= seconds / 5] or samples
    rss0, fds0 = warm[0][1], warm[0][2]
    rss_end, fds_end = samples[-1][1], samples[-1][2]
    rss_growth = (rss_end - rss0) / rss0 if rss0 else 0.0
    fds_growth = (fds_end - fds0) / max(fds0, 1)
    problems = []
    if tally.unexpected:
        problems.append(f"{len(tally.unexpected)} unexpected answers, e.g. {tally.unexpected[0]}")
    if tally.health_failures:
        problems.append(f"/_mock/health failed {tally.health_failures} times")
    if not args.smoke and rss_growth > GROWTH_LIMIT:
        problems.append(f"RSS grew {rss_growth:.0%} after warm-up (limit {GROWTH_LIMIT:.0%})")
    if not args.smoke and fds_growth > GROWTH_LIMIT:
        problems.append(f"open files grew {fds_growth:.0%} after warm-up (limit {GROWTH_LIMIT:.0%})")
    if not args.smoke:  # 20 seconds is too short for the hot sessions to reach every cap
        problems += cap_problems(caps)
    calls = sum(tally.calls.values())
    print(f"soak: {seconds:.0f} s, {WORKERS} workers, {SESSIONS} sessions, {calls} calls ({calls / seconds:.0f}/s)")
    print("calls: " + ", ".join(f"{k} {v}" for k, v in sorted(tally.calls.items())))
    print("statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(tally.statuses.items())))
    print(f"{'t s':>7} {'RSS MiB':>8} {'fds':>5}")
    for t, rss, fds in samples:
        print(f"{t:>7.1f} {rss:>8.1f} {fds:>5}")
    print(f"after warm-up: RSS {rss0:.1f} -> {rss_end:.1f} MiB ({rss_growth:+.1%}), fds {fds0} -> {fds_end}")
    caps_line = "; ".join(
        f"{sid} " + ", ".join(f"{k} {v}" for k, v in facts.items()) for sid, facts in caps["hot"].items()
    )
    print(f"caps: {caps['tenants_kept']} tenants kept (cap {TENANT_CAP}); journal cap {JOURNAL_CAP}: {caps_line}")
    for problem in problems:
        print(f"FAIL: {problem}")
    report = {
        "bench": "soak",
        "smoke": args.smoke,
        "seconds": seconds,
        "calls": calls,
        "rss_after_warmup_mib": rss0,
        "rss_end_mib": rss_end,
        "rss_growth": round(rss_growth, 3),
        "fds_after_warmup": fds0,
        "fds_end": fds_end,
        "unexpected": len(tally.unexpected),
        "caps": caps,
        "ok": not problems,
    }
    print(json.dumps(report))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
