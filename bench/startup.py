"""Benchmark: time from spawn to the first answer of GET /v1/, the mock vs a bare aiohttp app.

Each run spawns `python -m mockserver serve --port 0` and `bench/_bare_app.py --port 0` (alternating,
both pinned to the same core), reads the port from the printed listening line and polls GET /v1/
until it answers 200. Reports the medians, the ratio mock/bare (target <= 3x, and the mock < 1 s)
and the mock's idle RSS after startup (VmRSS; target < 100 MiB). `--smoke`: 2 runs, no thresholds.

Exit 1 when a server fails to start or to answer, or (without --smoke) when a target is missed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from blocking import Server, pin_cores

HERE = Path(__file__).resolve().parent
TARGET_RATIO = 3.0
TARGET_MOCK_S = 1.0
TARGET_RSS_MIB = 100.0
ANSWER_TIMEOUT_S = 30.0
IDLE_SETTLE_S = 0.3  # how long the server sits idle before its RSS is read
COMMANDS = {
    "mock": [sys.executable, "-m", "mockserver", "serve", "--port", "0"],
    "bare": [sys.executable, str(HERE / "_bare_app.py"), "--port", "0"],
}


@dataclass
class Runs:
    name: str
    seconds: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")


def first_answer(url: str, deadline: float) -> None:
    """Poll GET /v1/ until it answers 200 (a refused connection is retried)."""
    parts = urlsplit(url)
    while True:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=5)
        try:
            conn.request("GET", "/v1/")
            resp = conn.getresponse()
            resp.read()
            if resp.status == 200:
                return
            raise RuntimeError(f"GET /v1/ answered {resp.status}")
        except ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.002)
        finally:
            conn.close()


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def one_run(name: str, core: set[int] | None) -> tuple[float, float]:
    """(seconds from spawn to the first 200 of GET /v1/, idle RSS in MiB)."""
    started = time.perf_counter()
    server = Server(COMMANDS[name], core)
    try:
        url = server.wait_listening(ANSWER_TIMEOUT_S)
        first_answer(url, time.monotonic() + ANSWER_TIMEOUT_S)
        elapsed = time.perf_counter() - started
        time.sleep(IDLE_SETTLE_S)
        return elapsed, rss_mib(server.proc.pid)
    finally:
        code = server.stop()
        if code != 0:
            print(f"warning: {name} exited with {code} after SIGTERM", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="2 runs, no thresholds")
    parser.add_argument("--runs", type=int, default=10, help="runs per server (K)")
    args = parser.parse_args()
    if args.smoke:
        args.runs = min(args.runs, 2)
    args.runs = max(1, args.runs)

    server_core, client_cores = pin_cores()
    if server_core is not None:
        os.sched_setaffinity(0, client_cores)

    results = {name: Runs(name) for name in COMMANDS}
    for _ in range(args.runs):
        for name, runs in results.items():
            seconds, rss = one_run(name, server_core)
            runs.seconds.append(seconds)
            runs.rss_mib.append(rss)
    mock, bare = results["mock"], results["bare"]
    ratio = mock.median / bare.median
    mock_rss = statistics.median(mock.rss_mib)

    problems: list[str] = []
    if not args.smoke:
        if ratio > TARGET_RATIO:
            problems.append(f"startup ratio {ratio:.2f} above the target {TARGET_RATIO:g}x")
        if mock.median >= TARGET_MOCK_S:
            problems.append(f"mock startup {mock.median:.3f}s not below {TARGET_MOCK_S:g}s")
        if not mock_rss < TARGET_RSS_MIB:
            problems.append(f"mock idle RSS {mock_rss:.1f} MiB not below {TARGET_RSS_MIB:g} MiB")

    pinning = "unpinned (1 CPU)" if server_core is None else f"servers on CPU {sorted(server_core)}"
    print(f"startup: spawn to first 200 of GET /v1/, {args.runs} run(s) each, {pinning}")
    print(f"{'server':<8} {'median ms':>10} {'min ms':>8} {'max ms':>8} {'idle RSS MiB':>13}")
    for r in (mock, bare):
        print(
            f"{r.name:<8} {r.median * 1000:>10.1f} {min(r.seconds) * 1000:>8.1f} {max(r.seconds) * 1000:>8.1f} "
            f"{statistics.median(r.rss_mib):>13.1f}"
        )
    print(
        f"ratio mock/bare = {ratio:.2f} (target <= {TARGET_RATIO:g}); mock median {mock.median:.3f}s "
        f"(target < {TARGET_MOCK_S:g}s); mock idle RSS {mock_rss:.1f} MiB (target < {TARGET_RSS_MIB:g})"
    )
    for problem in problems:
        print(f"FAIL: {problem}")
    print(
        json.dumps(
            {
                "bench": "startup",
                "smoke": args.smoke,
                "runs": args.runs,
                "mock": {
                    "median_ms": round(mock.median * 1000, 1),
                    "min_ms": round(min(mock.seconds) * 1000, 1),
                    "max_ms": round(max(mock.seconds) * 1000, 1),
                    "idle_rss_mib": round(mock_rss, 1),
                },
                "bare": {
                    "median_ms": round(bare.median * 1000, 1),
                    "min_ms": round(min(bare.seconds) * 1000, 1),
                    "max_ms": round(max(bare.seconds) * 1000, 1),
                    "idle_rss_mib": round(statistics.median(bare.rss_mib), 1),
                },
                "ratio": round(ratio, 3),
                "target_ratio": TARGET_RATIO,
                "target_mock_s": TARGET_MOCK_S,
                "target_rss_mib": TARGET_RSS_MIB,
                "ok": not problems,
            }
        )
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
