"""Benchmark: blocking POST /v1/chat-messages, the mock vs a bare aiohttp reference server.

Both servers run as subprocesses pinned to one core; the load generator (aiohttp client,
N workers for a fixed duration, one X-Mock-Session per worker) runs here on the other core(s),
over loopback only. Reports requests/s, p50/p99 latency and the ratio mock/reference
(target >= 0.5). `--smoke`: tiny counts, no thresholds.

Exit 1 when a server fails to start or answers anything but 200, or (without --smoke) when the
ratio is below the target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent
TARGET_RATIO = 0.5
START_TIMEOUT_S = 30.0
MAX_REQUESTS = 2_000_000  # hard cap per measured phase, whatever the duration
BODY = json.dumps({"inputs": {}, "query": "hi", "user": "bench"}).encode()
SHAPE = {"event", "task_id", "id", "message_id", "conversation_id", "mode", "answer", "metadata", "created_at"}


# -- processes ---------------------------------------------------------------------------------


def pin_cores() -> tuple[set[int] | None, set[int]]:
    """(server core, client cores); no server core when there is only one CPU to use."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return None, set(available)
    return {available[0]}, set(available[1:])


def pinned_command(argv: list[str], core: set[int] | None) -> tuple[list[str], Callable[[], None] | None]:
    if core is None:
        return argv, None
    taskset = shutil.which("taskset")
    if taskset:
        return [taskset, "-c", ",".join(map(str, sorted(core))), *argv], None
    return argv, lambda: os.sched_setaffinity(0, core)


class Server:
    """A pinned server subprocess; stderr goes to a temporary file, shown when it fails to start."""

    def __init__(self, argv: list[str], core: set[int] | None) -> None:
        command, preexec = pinned_command(argv, core)
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            preexec_fn=preexec,  # only sets the CPU affinity
            cwd=HERE.parent,
        )

    def wait_listening(self, timeout: float = START_TIMEOUT_S) -> str:
        """The base URL from the first stdout line `... listening on http://HOST:PORT`."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        buf = b""
        deadline = time.monotonic() + timeout
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"no listening line within {timeout}s: {buf!r}{self.errors()}")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError(f"exited with {self.proc.wait()} before listening{self.errors()}")
            buf += chunk
        line = buf.split(b"\n", 1)[0].decode().strip()
        if " listening on http://" not in line:
            raise RuntimeError(f"unexpected first line: {line!r}")
        return line.rsplit(" ", 1)[1]

    def errors(self) -> str:
        self.stderr.seek(0)
        text = self.stderr.read().decode(errors="replace").strip()
        return f"; stderr:\n{text}" if text else ""

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.stderr.close()
        return self.proc.returncode


# -- load --------------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    count: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    first_body: dict[str, Any] | None = None
    cpu_seconds: float = 0.0  # the server's user+system CPU during the measured phase

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_seconds / self.count * 1e6 if self.count else float("nan")

    @property
    def cpu_busy(self) -> float:
        """Share of one core the server used; well below 1 means the client was the bottleneck."""
        return self.cpu_seconds / self.seconds if self.seconds else 0.0

    @property
    def rps(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000.0

    @property
    def non_200(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200) + self.errors

    def summary(self) -> dict[str, Any]:
        """This server's figures for the JSON report line."""
        return {
            "requests": self.count,
            "rps": round(self.rps, 1),
            "p50_ms": round(self.pct(0.5), 3),
            "p99_ms": round(self.pct(0.99), 3),
            "non_200": self.non_200,
            "cpu_us_per_request": round(self.cpu_us_per_request, 1),
            "cpu_busy": round(self.cpu_busy, 3),
        }


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/PID/stat (0 where /proc is missing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drive(url: str, name: str, pid: int, duration: float, warmup: float, concurrency: int, cap: int) -> Result:
    result = Result(name)
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        endpoint = f"{url}/v1/chat-messages"

        async def worker(i: int, until: float, record: bool) -> None:
            headers = {
                "Authorization": "Bearer app-chat",
                "Content-Type": "application/json",
                "X-Mock-Session": f"bench-{i}",
            }
            while time.perf_counter() < until and result.count + result.errors < cap:
                started = time.perf_counter()
                try:
                    async with session.post(endpoint, data=BODY, headers=headers) as resp:
                        raw = await resp.read()
                        status = resp.status
                except (aiohttp.ClientError, TimeoutError):
                    if record:
                        result.errors += 1
                    continue
                if not record:
                    continue
                result.latencies.append(time.perf_counter() - started)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                result.count += 1
                if result.first_body is None:
                    result.first_body = json.loads(raw)

        if warmup > 0:
            until = time.perf_counter() + warmup
            await asyncio.gather(*(worker(i, until, False) for i in range(concurrency)))
        cpu_before = cpu_seconds(pid)
        started = time.perf_counter()
        await asyncio.gather(*(worker(i, started + duration, True) for i in range(concurrency)))
        result.seconds = time.perf_counter() - started
        result.cpu_seconds = cpu_seconds(pid) - cpu_before
    return result


async def measure(servers: dict[str, Server], args: argparse.Namespace) -> dict[str, list[Result]]:
    """Warm each server up once, then alternate measured phases: mock, reference, mock, ..."""
    urls = {name: server.wait_listening() for name, server in servers.items()}
    rounds: dict[str, list[Result]] = {name: [] for name in servers}
    for i in range(args.rounds):
        for name, server in servers.items():
            warmup = args.warmup if i == 0 else 0.0
            rounds[name].append(
                await drive(
                    urls[name], name, server.proc.pid, args.duration, warmup, args.concurrency, args.max_requests
                )
            )
    return rounds


# -- report ------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny counts, no thresholds")
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds per server and round")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per server")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent workers (and connections)")
    parser.add_argument("--rounds", type=int, default=1, help="alternating measured phases; the best one counts")
    parser.add_argument("--max-requests", type=int, default=MAX_REQUESTS, help="cap per measured phase")
    args = parser.parse_args()
    if args.smoke:
        args.duration, args.warmup, args.rounds = min(args.duration, 0.5), min(args.warmup, 0.2), 1
        args.concurrency, args.max_requests = min(args.concurrency, 4), min(args.max_requests, 200)
    args.rounds = max(1, args.rounds)

    server_core, client_cores = pin_cores()
    if server_core is not None:
        os.sched_setaffinity(0, client_cores)

    servers = {
        "mock": Server([sys.executable, "-m", "mockserver", "serve", "--port", "0"], server_core),
        "reference": Server([sys.executable, str(HERE / "_reference_server.py"), "--port", "0"], server_core),
    }
    try:
        rounds = asyncio.run(measure(servers, args))
    finally:
        for server in servers.values():
            server.stop()
    mock, reference = (max(rounds[name], key=lambda r: r.rps) for name in ("mock", "reference"))
    ratio = mock.rps / reference.rps if reference.rps else 0.0
    cpu_ratio = reference.cpu_us_per_request / mock.cpu_us_per_request if mock.cpu_seconds else float("nan")

    problems: list[str] = []
    for name, results in rounds.items():
        if not all(r.count for r in results):
            problems.append(f"{name}: a measured phase completed no request")
        bad = sum(r.non_200 for r in results)
        if bad:
            statuses = {s: n for r in results for s, n in r.statuses.items() if s != 200}
            errors = sum(r.errors for r in results)
            problems.append(f"{name}: {bad} responses were not 200 (statuses {statuses}, {errors} transport errors)")
        body = results[0].first_body
        if body is not None and set(body) != SHAPE:
            problems.append(f"{name}: body keys {sorted(body)} differ from {sorted(SHAPE)}")
    if not args.smoke and ratio < TARGET_RATIO:
        problems.append(f"ratio {ratio:.2f} below the target {TARGET_RATIO}")

    pinning = (
        "unpinned (1 CPU)"
        if server_core is None
        else f"servers on CPU {sorted(server_core)}, client on CPU {sorted(client_cores)}"
    )
    best = f"best of {args.rounds} alternating rounds" if args.rounds > 1 else "one round"
    print(
        f"blocking POST /v1/chat-messages: {args.duration:g}s after {args.warmup:g}s warm-up, {best}, "
        f"concurrency {args.concurrency}, {pinning}"
    )
    print(
        f"{'server':<10} {'requests':>9} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-200':>8} "
        f"{'CPU us/req':>10} {'CPU busy':>8}"
    )
    for r in (mock, reference):
        print(
            f"{r.name:<10} {r.count:>9} {r.rps:>9.0f} {r.pct(0.5):>8.2f} {r.pct(0.99):>8.2f} {r.non_200:>8} "
            f"{r.cpu_us_per_request:>10.0f} {r.cpu_busy:>8.0%}"
        )
    print(f"ratio mock/reference = {ratio:.2f} (target >= {TARGET_RATIO}); by server CPU per request = {cpu_ratio:.2f}")
    if min(mock.cpu_busy, reference.cpu_busy) < 0.8 and not args.smoke:
        print(
            "note: a server used < 80% of its core, so the client (or a busy machine) limited it; "
            "the CPU-per-request ratio is the steadier figure"
        )
    for problem in problems:
        print(f"FAIL: {problem}")
    print(
        json.dumps(
            {
                "bench": "blocking",
                "smoke": args.smoke,
                "duration_s": args.duration,
                "concurrency": args.concurrency,
                "rounds": args.rounds,
                "mock": mock.summary(),
                "reference": reference.summary(),
                "ratio": round(ratio, 3),
                "cpu_ratio": round(cpu_ratio, 3),
                "target_ratio": TARGET_RATIO,
                "ok": not problems,
            }
        )
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
