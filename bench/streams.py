"""Benchmark: many concurrent streaming chats against one mock server.

The mock runs as a subprocess pinned to one core (`python -m mockserver serve`); the load comes from
client processes on the other core(s), each an asyncio loop of aiohttp clients, over loopback only.
Every client is its own tenant (`X-Mock-Session: b<i>`) and sends the same streaming
`POST /v1/chat-messages`, reads the whole stream and keeps its SHA-256. Two phases: the fixtures'
own spacing (`--pace-scale 1`, the default) and zero spacing (`--pace-scale 0`). A third phase, `held`
(`--phases held`, pace scale 20: each stream lasts about 6 s), keeps every stream in flight at once
whatever the server's speed; its replays last as long, so give it a small `--verify`.

What is checked: every stream completes (200, SSE, ends with `message_end`); a sample of them
(`--verify`) is replayed alone after `POST /_mock/reset` and must be byte-identical; the server's
peak RSS (VmHWM) stays under the target. Reported: streams/s, data events/s, the peak number of
streams in flight, server and client CPU (so a saturated client shows), peak RSS.

Bounded: `--clients` streams per phase (default 10,000), a hard `--timeout` per phase; the script
stops its processes itself. `--smoke`: 200 clients, no thresholds.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import multiprocessing
import os
import resource
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from blocking import MOCK, Server, pin_cores

PATH = "/v1/chat-messages"
BODY = {"inputs": {}, "query": "hi", "user": "bench", "response_mode": "streaming"}
TARGET_RSS_MIB = 300.0
RAMP_PER_S = 1500  # new connections a second per client process: the listen backlog stays unflooded


@dataclass
class Outcome:
    """What one client process saw."""

    ok: int = 0
    broken: list[str] = field(default_factory=list)
    events: int = 0
    peak_in_flight: int = 0
    digests: dict[int, str] = field(default_factory=dict)
    cpu_s: float = 0.0


def _headers(i: int) -> dict[str, str]:
    return {"Authorization": "Bearer app-chat", "Content-Type": "application/json", "X-Mock-Session": f"b{i}"}


async def one(session: aiohttp.ClientSession, url: str, i: int) -> tuple[bytes | None, str]:
    async with session.post(url + PATH, json=BODY, headers=_headers(i)) as resp:
        raw = await resp.read()
        if resp.status != 200 or not resp.content_type.startswith("text/event-stream"):
            return None, f"stream {i}: HTTP {resp.status} {resp.content_type}"
    frames = [f for f in raw.split(b"\n\n") if f.startswith(b"data: ")]
    if not frames or json.loads(frames[-1][6:]).get("event") != "message_end":
        return None, f"stream {i}: no message_end ({len(frames)} frames)"
    return raw, ""


async def _clients(url: str, indices: list[int], timeout_s: float) -> Outcome:
    out = Outcome()
    in_flight = 0
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def run(i: int, delay: float) -> None:
            nonlocal in_flight
            await asyncio.sleep(delay)
            in_flight += 1
            out.peak_in_flight = max(out.peak_in_flight, in_flight)
            try:
                raw, problem = await one(session, url, i)
            except (aiohttp.ClientError, TimeoutError) as exc:
                raw, problem = None, f"stream {i}: {type(exc).__name__} {exc}"
            finally:
                in_flight -= 1
            if raw is None:
                out.broken.append(problem)
                return
            out.ok += 1
            out.events += raw.count(b"\n\ndata: ") + raw.startswith(b"data: ")
            out.digests[i] = hashlib.sha256(raw).hexdigest()

        await asyncio.gather(*(run(i, n / RAMP_PER_S) for n, i in enumerate(indices)))
    return out


def _client_process(url: str, indices: list[int], timeout_s: float, cores: list[int], queue: Any) -> None:
    if cores:
        os.sched_setaffinity(0, set(cores))
    out = asyncio.run(_clients(url, indices, timeout_s))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.cpu_s = usage.ru_utime + usage.ru_stime
    queue.put(out)


def _server_cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _reset(url: str) -> None:
    request = urllib.request.Request(url + "/_mock/reset", data=b"{}", method="POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as resp:
        resp.read()


async def _replay(url: str, indices: list[int]) -> dict[int, str]:
    """Each sampled request alone, one after another."""
    found: dict[int, str] = {}
    async with aiohttp.ClientSession() as session:
        for i in indices:
            raw, _ = await one(session, url, i)
            found[i] = hashlib.sha256(raw or b"").hexdigest()
    return found


@dataclass
class Phase:
    name: str
    clients: int
    wall_s: float
    ok: int
    broken: list[str]
    events: int
    peak_in_flight: int
    server_cpu_s: float
    client_cpu_s: float
    client_cores: int
    peak_rss_mib: float
    verified: int
    mismatched: list[int]

    def summary(self) -> dict[str, Any]:
        return {
            "clients": self.clients,
            "completed": self.ok,
            "broken": len(self.broken),
            "wall_s": round(self.wall_s, 2),
            "streams_per_s": round(self.ok / self.wall_s, 1) if self.wall_s else 0.0,
            "events_per_s": round(self.events / self.wall_s, 1) if self.wall_s else 0.0,
            "peak_in_flight": self.peak_in_flight,
            "server_cpu_busy": round(self.server_cpu_s / self.wall_s, 3) if self.wall_s else 0.0,
            "client_cpu_busy": round(self.client_cpu_s / self.wall_s / max(1, self.client_cores), 3)
            if self.wall_s
            else 0.0,
            "peak_rss_mib": round(self.peak_rss_mib, 1),
            "verified": self.verified,
            "mismatched": len(self.mismatched),
        }


def run_phase(name: str, pace: str, args: argparse.Namespace, server_core: set[int] | None, cores: list[int]) -> Phase:
    argv = [*MOCK, "--quiet"]
    server = Server(argv, server_core, env={**os.environ, "DIFY_MOCK_PACE_SCALE": pace})
    try:
        url = server.wait_listening()
        pid = server.proc.pid
        cpu_before = _server_cpu_s(pid)
        procs = max(1, args.procs)
        chunks = [list(range(k, args.clients, procs)) for k in range(procs)]
        queue: Any = multiprocessing.get_context("fork").Queue()
        workers = [
            multiprocessing.get_context("fork").Process(
                target=_client_process, args=(url, chunk, args.timeout, cores, queue), daemon=True
            )
            for chunk in chunks
        ]
        started = time.perf_counter()
        for w in workers:
            w.start()
        outcomes = [queue.get(timeout=args.timeout + 30) for _ in workers]
        wall = time.perf_counter() - started
        for w in workers:
            w.join(timeout=10)
        server_cpu = _server_cpu_s(pid) - cpu_before
        rss = _peak_rss_mib(pid)
        digests = {i: d for o in outcomes for i, d in o.digests.items()}
        sample = sorted(digests)[:: max(1, len(digests) // max(1, args.verify))][: args.verify]
        _reset(url)
        replayed = asyncio.run(_replay(url, sample))
        mismatched = [i for i in sample if replayed.get(i) != digests[i]]
        return Phase(
            name=name,
            clients=args.clients,
            wall_s=wall,
            ok=sum(o.ok for o in outcomes),
            broken=[b for o in outcomes for b in o.broken],
            events=sum(o.events for o in outcomes),
            peak_in_flight=sum(o.peak_in_flight for o in outcomes),
            server_cpu_s=server_cpu,
            client_cpu_s=sum(o.cpu_s for o in outcomes),
            client_cores=len(cores) or 1,
            peak_rss_mib=rss,
            verified=len(sample),
            mismatched=mismatched,
        )
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--procs", type=int, default=1, help="client processes (split the load)")
    parser.add_argument("--verify", type=int, default=200, help="streams replayed alone and compared")
    parser.add_argument("--timeout", type=float, default=300.0, help="hard limit per phase, seconds")
    parser.add_argument("--phases", default="spaced,zero", help="spaced (pace 1), zero (pace 0), held (pace 20)")
    parser.add_argument("--smoke", action="store_true", help="200 clients, no thresholds")
    args = parser.parse_args()
    if args.smoke:
        args.clients, args.verify = min(args.clients, 200), min(args.verify, 20)
    server_core, client_cores = pin_cores()
    cores = sorted(client_cores)
    paces = {"spaced": "1", "zero": "0", "held": "20"}
    phases = [run_phase(name, paces[name], args, server_core, cores) for name in args.phases.split(",")]

    problems: list[str] = []
    print(f"streaming POST {PATH}: {args.clients} clients a phase, one tenant each, {args.procs} client process(es)")
    print(f"pinning: server on CPU {sorted(server_core) if server_core else 'any'}, clients on CPU {cores}")
    print(
        f"{'phase':<8} {'done':>6} {'broken':>6} {'wall s':>7} {'streams/s':>9} {'events/s':>9} {'in flight':>9} "
        f"{'server CPU':>10} {'client CPU':>10} {'peak RSS':>9} {'replayed':>8}"
    )
    for p in phases:
        s = p.summary()
        print(
            f"{p.name:<8} {p.ok:>6} {len(p.broken):>6} {p.wall_s:>7.1f} {s['streams_per_s']:>9.0f} "
            f"{s['events_per_s']:>9.0f} {p.peak_in_flight:>9} {s['server_cpu_busy']:>10.0%} "
            f"{s['client_cpu_busy']:>10.0%} {p.peak_rss_mib:>6.0f} MiB {p.verified - len(p.mismatched):>4}/{p.verified}"
        )
        if p.broken:
            problems.append(f"{p.name}: {len(p.broken)} streams broken, e.g. {p.broken[0]}")
        if p.mismatched:
            problems.append(f"{p.name}: {len(p.mismatched)} replayed streams differ, e.g. b{p.mismatched[0]}")
        if not args.smoke and p.peak_rss_mib >= TARGET_RSS_MIB:
            problems.append(f"{p.name}: peak RSS {p.peak_rss_mib:.0f} MiB, target < {TARGET_RSS_MIB:.0f}")
        if s["client_cpu_busy"] > 0.9:
            print(f"note: {p.name}: the client processes were busy > 90%: add --procs, or read the rates as a floor")
    for problem in problems:
        print(f"FAIL: {problem}")
    report = {"bench": "streams", "smoke": args.smoke, **{p.name: p.summary() for p in phases}, "ok": not problems}
    print(json.dumps(report))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
