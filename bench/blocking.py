"""Benchmark: blocking POST /v1/chat-messages, the mock vs a bare aiohttp + jsonschema reference server.

The servers run as subprocesses pinned to one core: the mock (`python -m mockserver serve`), the
reference (bench/_reference_server.py: bearer check, JSON body, jsonschema validation) and, unless
--no-bare, a bare aiohttp handler with no auth and no validation (bench/_bare_app.py). The load comes
from `wrk` (Debian package wrk) on the other core(s), over loopback only, for a fixed duration, with
a generated Lua script setting the method, headers and body; where wrk is absent, from an aiohttp
client in this process (the output says so). Rounds alternate between the servers and the best
round of each counts. Reports requests/s, p50/p99 latency, server CPU per request and the ratios
mock/reference (target >= 1.0, floor 0.7) and mock/bare. Then, one connection at a time (`wrk -c1`,
alternating rounds, the lowest p50 of each counts), the single-connection p50 of the mock and the
reference and their ratio (target <= 1.2). `--straight` adds bench/_straight_server.py, the mock's chat
work written straight through: a yardstick of what the mock's general machinery costs. Every ratio
compares servers on the same event loop: the mock runs on the loop `serve` picks (uvloop where this
interpreter has it, the `fast` extra), and the reference and bare servers run on it too (`--loop
uvloop`). Where that is uvloop, two more servers, mock-asyncio and reference-asyncio, are both on
asyncio's own loop (unless --no-asyncio): the ratio of a plain install, and uvloop's gain, in the same
run. `--smoke`: tiny counts, no thresholds.

Exit 1 when a server fails to start, answers anything but 200 or a body of another shape, or
(without --smoke) when the throughput ratio is below the floor or the p50 ratio above its target.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import importlib.util
import json
import math
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
from urllib.parse import urlsplit

import aiohttp

HERE = Path(__file__).resolve().parent
TARGET_RATIO = 1.0  # mock/reference requests/s (issue 13)
FLOOR_RATIO = 0.7  # below it the bench fails
TARGET_P50_RATIO = 1.2  # single-connection p50, mock/reference
START_TIMEOUT_S = 30.0
MAX_REQUESTS = 2_000_000  # hard cap per measured phase of the Python client, whatever the duration
PATH = "/v1/chat-messages"
BODY = json.dumps({"inputs": {}, "query": "hi", "user": "bench"}).encode()
HEADERS = {"Authorization": "Bearer app-chat", "Content-Type": "application/json"}
SHAPE = {"event", "task_id", "id", "message_id", "conversation_id", "mode", "answer", "metadata", "created_at"}
MOCK = [sys.executable, "-m", "mockserver", "serve", "--port", "0"]
REFERENCE = [sys.executable, str(HERE / "_reference_server.py"), "--port", "0"]
BARE = [sys.executable, str(HERE / "_bare_app.py"), "--port", "0"]
STRAIGHT = [sys.executable, str(HERE / "_straight_server.py"), "--port", "0"]
ENVIRONMENTS = {"mock-asyncio": {"DIFY_MOCK_EVENT_LOOP": "asyncio"}}


def commands(loop: str) -> dict[str, list[str]]:
    """Each server's command line: the mock, reference and bare on `loop` (the loop the mock picks), and
    where that is uvloop, the mock and the reference on asyncio's loop too."""
    on_loop = ["--loop", loop]
    found = {
        "mock": MOCK,
        "reference": [*REFERENCE, *on_loop],
        "bare": [*BARE, *on_loop],
        "straight": [*STRAIGHT, *on_loop],
    }
    if loop == "uvloop":
        found["mock-asyncio"], found["reference-asyncio"] = MOCK, REFERENCE
    return found


def event_loop_of_mock() -> str:
    """The loop `serve` picks here (auto): uvloop when this interpreter has it (the `fast` extra)."""
    return "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"


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

    def __init__(
        self, argv: list[str], core: set[int] | None, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> None:
        command, preexec = pinned_command(argv, core)
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            preexec_fn=preexec,  # only sets the CPU affinity
            cwd=cwd or HERE.parent,
            env=env,
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


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/PID/stat (0 where /proc is missing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def core_ticks(cores: set[int] | None) -> tuple[int, int]:
    """(busy, total) clock ticks of these CPUs (all where None) from /proc/stat; (0, 0) without /proc."""
    busy = total = 0
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return 0, 0
    for line in lines:
        name, *ticks = line.split()
        if not name.startswith("cpu") or name == "cpu" or (cores is not None and int(name[3:]) not in cores):
            continue
        user, nice, system, idle, iowait, irq, softirq, steal = map(int, ticks[:8])
        busy += user + nice + system + irq + softirq + steal
        total += user + nice + system + idle + iowait + irq + softirq + steal
    return busy, total


class Meter:
    """The server's own CPU time, and how busy its core was (by anything), since the meter started."""

    def __init__(self, pid: int, cores: set[int] | None) -> None:
        self.pid, self.cores = pid, cores
        self.cpu = cpu_seconds(pid)
        self.ticks = core_ticks(cores)

    def read(self) -> tuple[float, float]:
        """(server CPU seconds, share of the server core that was not idle)."""
        busy, total = (after - before for after, before in zip(core_ticks(self.cores), self.ticks, strict=True))
        return cpu_seconds(self.pid) - self.cpu, busy / total if total else float("nan")


def probe(url: str) -> list[str]:
    """One request outside the measurement: problems if it is not a 200 with the blocking body's keys."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        conn.request("POST", PATH, body=BODY, headers=HEADERS)
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        conn.close()
    if resp.status != 200:
        return [f"answered {resp.status}: {raw[:200]!r}"]
    try:
        keys = set(json.loads(raw))
    except (ValueError, TypeError):
        return [f"answered a body that is not a JSON object: {raw[:200]!r}"]
    return [] if keys == SHAPE else [f"body keys {sorted(keys)} differ from {sorted(SHAPE)}"]


# -- results -----------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    count: int = 0
    seconds: float = 0.0
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0  # transport errors: refused, reset, timed out
    cpu_seconds: float = 0.0  # the server's user+system CPU during the measured phase
    core_busy: float = float("nan")  # the server core's non-idle share: the server, softirq, anything else

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_seconds / self.count * 1e6 if self.count else float("nan")

    @property
    def cpu_busy(self) -> float:
        """Share of one core the server used; well below 1 means the load generator was the bottleneck."""
        return self.cpu_seconds / self.seconds if self.seconds else 0.0

    @property
    def rps(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    @property
    def non_200(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200) + self.errors

    def summary(self) -> dict[str, Any]:
        """This server's figures for the JSON report line."""
        return {
            "requests": self.count,
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "non_200": self.non_200,
            "cpu_us_per_request": round(self.cpu_us_per_request, 1),
            "cpu_busy": round(self.cpu_busy, 3),
            "core_busy": round(self.core_busy, 3),
        }


# -- load: wrk ---------------------------------------------------------------------------------

# wrk runs one Lua state per thread: init() gives each thread its X-Mock-Session, response() counts
# statuses (wrk itself only counts >= 400), done() gathers the threads' counts and prints one line.
WRK_SCRIPT = """\
wrk.method = "POST"
wrk.body = [==[{body}]==]
{headers}
local threads = {{}}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_no", #threads)
end

function init(args)
  wrk.headers["X-Mock-Session"] = "bench-" .. thread_no
  statuses = {{}}
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {{}}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + n
    end
  end
  local parts = {{}}
  for status, n in pairs(total) do
    parts[#parts + 1] = string.format('"%d": %d', status, n)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "statuses": {{%s}}, ' ..
    '"errors": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    table.concat(parts, ", "), e.connect + e.read + e.write + e.timeout))
end
"""


def write_wrk_script(directory: Path) -> Path:
    headers = "\n".join(f'wrk.headers["{name}"] = "{value}"' for name, value in HEADERS.items())
    script = directory / "chat_messages.lua"
    script.write_text(WRK_SCRIPT.format(body=BODY.decode(), headers=headers))
    return script


def run_wrk(wrk: str, script: Path, url: str, name: str, pid: int, seconds: int, args: argparse.Namespace) -> Result:
    argv = [wrk, "-t", str(args.threads), "-c", str(args.concurrency), "-d", f"{seconds}s", "--timeout", "10s"]
    command, preexec = pinned_command([*argv, "-s", str(script), url + PATH], args.client_cores)
    meter = Meter(pid, args.server_core)
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, preexec_fn=preexec, check=False
    )
    cpu, core_busy = meter.read()
    lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH_RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}{done.stderr}")
    data = json.loads(lines[-1].split(" ", 1)[1])
    return Result(
        name,
        count=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000.0,
        p99_ms=data["p99_us"] / 1000.0,
        statuses={int(status): n for status, n in data["statuses"].items()},
        errors=data["errors"],
        cpu_seconds=cpu,
        core_busy=core_busy,
    )


# -- load: Python client (where wrk is absent) -------------------------------------------------


async def drive(url: str, name: str, pid: int, duration: float, args: argparse.Namespace) -> Result:
    concurrency, cap = args.concurrency, args.max_requests
    result = Result(name)
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        endpoint = url + PATH

        async def worker(i: int, until: float) -> None:
            headers = {**HEADERS, "X-Mock-Session": f"bench-{i}"}
            while time.perf_counter() < until and result.count + result.errors < cap:
                started = time.perf_counter()
                try:
                    async with session.post(endpoint, data=BODY, headers=headers) as resp:
                        await resp.read()
                        status = resp.status
                except (aiohttp.ClientError, TimeoutError):
                    result.errors += 1
                    continue
                latencies.append(time.perf_counter() - started)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                result.count += 1

        meter = Meter(pid, args.server_core)
        started = time.perf_counter()
        await asyncio.gather(*(worker(i, started + duration) for i in range(concurrency)))
        result.seconds = time.perf_counter() - started
        result.cpu_seconds, result.core_busy = meter.read()
    if latencies:
        latencies.sort()
        result.p50_ms = latencies[min(len(latencies) - 1, int(0.5 * len(latencies)))] * 1000.0
        result.p99_ms = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1000.0
    return result


# -- measuring ---------------------------------------------------------------------------------


Rounds = dict[str, list[Result]]


def measure(servers: dict[str, Server], args: argparse.Namespace) -> tuple[Rounds, Rounds, list[str]]:
    """Probe each server, warm each up once, then alternate measured phases: mock, reference, bare, ...;
    then the single-connection phases of the mock and the reference, alternating too."""
    urls = {name: server.wait_listening() for name, server in servers.items()}
    problems = [f"{name}: {p}{servers[name].errors()[-2000:]}" for name, url in urls.items() for p in probe(url)]
    rounds: Rounds = {name: [] for name in servers}
    latency: Rounds = {"mock": [], "reference": []}
    if problems:
        return rounds, latency, problems
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        script = write_wrk_script(Path(tmp)) if args.wrk else None

        def phase(name: str, seconds: float) -> Result:
            pid = servers[name].proc.pid
            if script is not None:
                return run_wrk(args.wrk, script, urls[name], name, pid, math.ceil(seconds), args)
            return asyncio.run(drive(urls[name], name, pid, seconds, args))

        if args.warmup > 0:
            for name in servers:
                phase(name, args.warmup)
        for _ in range(args.rounds):
            for name in servers:
                rounds[name].append(phase(name, args.duration))
        if args.latency_duration > 0:
            one = argparse.Namespace(**{**vars(args), "concurrency": 1, "threads": 1})
            for _ in range(args.rounds):
                for name in ("mock", "reference"):
                    pid = servers[name].proc.pid
                    if script is not None:
                        seconds = math.ceil(args.latency_duration)
                        result = run_wrk(args.wrk, script, urls[name], name, pid, seconds, one)
                    else:
                        result = asyncio.run(drive(urls[name], name, pid, args.latency_duration, one))
                    latency[name].append(result)
    return rounds, latency, problems


# -- report ------------------------------------------------------------------------------------


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny counts, no thresholds")
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds per server and round")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per server")
    parser.add_argument("--concurrency", type=int, default=16, help="connections (and Python client workers)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating measured phases; the best one counts")
    parser.add_argument("--max-requests", type=int, default=MAX_REQUESTS, help="cap per phase, Python client")
    parser.add_argument(
        "--latency-duration", type=float, default=3.0, help="seconds per single-connection phase (0: none)"
    )
    parser.add_argument("--no-bare", action="store_true", help="leave out the bare aiohttp handler")
    parser.add_argument(
        "--no-asyncio",
        action="store_true",
        help="where uvloop is installed, leave out the mock and the reference on asyncio's loop",
    )
    parser.add_argument(
        "--straight",
        action="store_true",
        help="also bench/_straight_server.py: the mock's chat work written straight through (a yardstick)",
    )
    parser.add_argument("--python-client", action="store_true", help="the aiohttp client even where wrk exists")
    args = parser.parse_args()
    if args.smoke:
        args.duration, args.warmup, args.rounds = min(args.duration, 1.0), 0.0, 1
        args.latency_duration = min(args.latency_duration, 1.0)
        args.concurrency, args.max_requests = min(args.concurrency, 4), min(args.max_requests, 200)
    args.rounds = max(1, args.rounds)
    args.wrk = None if args.python_client else shutil.which("wrk")

    args.server_core, args.client_cores = pin_cores()
    server_core = args.server_core
    args.threads = max(1, min(len(args.client_cores), args.concurrency))  # wrk's
    if args.wrk:
        args.duration, args.warmup = max(1, math.ceil(args.duration)), math.ceil(args.warmup)  # whole seconds
        if args.latency_duration > 0:
            args.latency_duration = max(1, math.ceil(args.latency_duration))
    if server_core is not None:
        os.sched_setaffinity(0, args.client_cores)

    names = ["mock", "reference"] if args.no_bare else ["mock", "reference", "bare"]
    if args.straight:
        names.append("straight")
    loop = event_loop_of_mock()
    if loop == "uvloop" and not args.no_asyncio:  # a plain install, and what the `fast` extra wins, in the same run
        names[1:1] = ["mock-asyncio", "reference-asyncio"]
    command = commands(loop)
    servers: dict[str, Server] = {}
    try:
        for name in names:
            env = {**os.environ, **ENVIRONMENTS[name]} if name in ENVIRONMENTS else None
            servers[name] = Server(command[name], server_core, env=env)
        rounds, latency, problems = measure(servers, args)
    finally:
        for server in servers.values():
            server.stop()
    if problems:
        for problem in problems:
            print(f"FAIL: {problem}")
        return 1
    best = {name: max(results, key=lambda r: r.rps) for name, results in rounds.items()}
    mock, reference = best["mock"], best["reference"]
    rps_ratio = ratio(mock.rps, reference.rps)
    cpu_ratio = ratio(reference.cpu_us_per_request, mock.cpu_us_per_request)
    bare, on_asyncio, reference_asyncio = best.get("bare"), best.get("mock-asyncio"), best.get("reference-asyncio")
    # Single connection: the lowest p50 of the rounds (the noise of a shared machine only adds).
    quickest = {name: min(results, key=lambda r: r.p50_ms) for name, results in latency.items() if results}
    p50_ratio = ratio(quickest["mock"].p50_ms, quickest["reference"].p50_ms) if len(quickest) == 2 else float("nan")

    for name, results in [*rounds.items(), *(("single-connection " + n, rs) for n, rs in latency.items())]:
        if not all(r.count for r in results):
            problems.append(f"{name}: a measured phase completed no request")
        bad = sum(r.non_200 for r in results)
        if bad:
            statuses = {s: n for r in results for s, n in r.statuses.items() if s != 200}
            errors = sum(r.errors for r in results)
            problems.append(f"{name}: {bad} responses were not 200 (statuses {statuses}, {errors} transport errors)")
    if not args.smoke and rps_ratio < FLOOR_RATIO:
        problems.append(f"ratio {rps_ratio:.2f} below the floor {FLOOR_RATIO} (target {TARGET_RATIO})")
    if not args.smoke and p50_ratio > TARGET_P50_RATIO:
        problems.append(f"single-connection p50 ratio {p50_ratio:.2f} above the target {TARGET_P50_RATIO}")

    if args.wrk:
        load = f"wrk ({args.wrk}), {args.threads} thread(s)"
    else:
        why = "--python-client" if args.python_client else "wrk not found: Debian package wrk"
        load = f"Python aiohttp client in this process ({why}); the client, not the server, may saturate"
    pinning = (
        "unpinned (1 CPU)"
        if server_core is None
        else f"servers on CPU {sorted(server_core)}, load on CPU {sorted(args.client_cores)}"
    )
    rounds_text = f"best of {args.rounds} alternating rounds" if args.rounds > 1 else "one round"
    print(f"blocking POST {PATH}: {args.duration:g}s per phase, {rounds_text}, {args.concurrency} connections")
    print(f"pinning: {pinning}")
    print(f"load: {load}")
    both = " (mock-asyncio and reference-asyncio: on asyncio's loop)" if on_asyncio else ""
    print(f"event loop of mock, reference and bare: {loop}{both}")
    print(
        f"{'server':<12} {'requests':>9} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-200':>8} "
        f"{'CPU us/req':>10} {'CPU busy':>8} {'core busy':>9}"
    )
    for r in best.values():
        print(
            f"{r.name:<12} {r.count:>9} {r.rps:>9.0f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} {r.non_200:>8} "
            f"{r.cpu_us_per_request:>10.0f} {r.cpu_busy:>8.0%} {r.core_busy:>9.0%}"
        )
    if args.rounds > 1:
        for name, results in rounds.items():
            each = ", ".join(f"{r.rps:.0f} ({r.core_busy:.0%})" for r in results)
            print(f"  {name} req/s by round (server core busy): {each}")
    print(
        f"ratio mock/reference = {rps_ratio:.2f} (target >= {TARGET_RATIO}, floor {FLOOR_RATIO}); "
        f"by server CPU per request = {cpu_ratio:.2f}"
    )
    if on_asyncio is not None and reference_asyncio is not None:
        print(
            f"ratio mock-asyncio/reference-asyncio = {ratio(on_asyncio.rps, reference_asyncio.rps):.2f}; "
            f"uvloop's gain, mock/mock-asyncio = {ratio(mock.rps, on_asyncio.rps):.2f}, "
            f"reference/reference-asyncio = {ratio(reference.rps, reference_asyncio.rps):.2f}"
        )
    if bare is not None:
        print(
            f"ratio mock/bare = {ratio(mock.rps, bare.rps):.2f}; "
            f"by server CPU per request = {ratio(bare.cpu_us_per_request, mock.cpu_us_per_request):.2f}"
        )
    straight = best.get("straight")
    if straight is not None:
        print(
            f"ratio mock/straight = {ratio(mock.rps, straight.rps):.2f}, reference/straight = "
            f"{ratio(reference.rps, straight.rps):.2f}; the mock's general machinery costs "
            f"{mock.cpu_us_per_request - straight.cpu_us_per_request:.0f} us of server CPU a request"
        )
    if len(quickest) == 2:
        mock_one, reference_one = quickest["mock"], quickest["reference"]
        print(
            f"single connection (wrk -c1, lowest p50 of {args.rounds}): mock p50 {mock_one.p50_ms * 1000:.0f} us "
            f"({mock_one.rps:.0f} req/s), reference p50 {reference_one.p50_ms * 1000:.0f} us "
            f"({reference_one.rps:.0f} req/s); ratio mock/reference = {p50_ratio:.2f} (target <= {TARGET_P50_RATIO})"
        )
    if not args.smoke:
        if any(r.core_busy < 0.9 for r in best.values()):
            print(
                "note: the server core was idle >= 10% of a best round, so the load generator (or a busy "
                "machine) limited a server; the CPU-per-request ratio is the steadier figure"
            )
        elif any(r.cpu_busy < 0.8 for r in best.values()):
            print(
                "note: the server core was saturated but a server had < 80% of it: the rest went to the "
                "kernel's loopback networking (softirq) or to other processes on that core"
            )
    for problem in problems:
        print(f"FAIL: {problem}")
    report: dict[str, Any] = {
        "bench": "blocking",
        "smoke": args.smoke,
        "load": "wrk" if args.wrk else "python",
        "duration_s": args.duration,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "event_loop": loop,
        **{name: r.summary() for name, r in best.items()},
        "ratio": round(rps_ratio, 3),
        "cpu_ratio": round(cpu_ratio, 3),
        "target_ratio": TARGET_RATIO,
        "floor_ratio": FLOOR_RATIO,
    }
    if len(quickest) == 2:
        report["single_connection"] = {name: r.summary() for name, r in quickest.items()}
        report["p50_ratio"] = round(p50_ratio, 3)
        report["target_p50_ratio"] = TARGET_P50_RATIO
    if on_asyncio is not None and reference_asyncio is not None:
        report["ratio_asyncio"] = round(ratio(on_asyncio.rps, reference_asyncio.rps), 3)
        report["uvloop_gain"] = round(ratio(mock.rps, on_asyncio.rps), 3)
    if bare is not None:
        report["ratio_bare"] = round(ratio(mock.rps, bare.rps), 3)
        report["cpu_ratio_bare"] = round(ratio(bare.cpu_us_per_request, mock.cpu_us_per_request), 3)
    if straight is not None:
        report["ratio_straight"] = round(ratio(mock.rps, straight.rps), 3)
    report["ok"] = not problems
    print(json.dumps(report))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
