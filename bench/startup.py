"""Benchmark: time from spawn to the first answer of GET /v1/: the mock, the mock with a large catalogue, a bare app.

Each run spawns, alternating and pinned to the same core:
  mock      `dify-mockserver serve --port 0` (the console script; `python -m mockserver` where there
            is none, and with --package-copy): the real catalogue (schemas/);
  mock-150  the same with a synthetic catalogue of 150 endpoint schemas: the real ones plus copies of
            schemas/service/*.json under new names and paths (/v1/synth-NNN/...), written into a
            temporary copy of schemas/, with their fixtures copied into a temporary fixture
            directory given to `serve --fixtures`;
  bare      bench/_bare_app.py, a bare aiohttp app.
It reads the port from the printed listening line and polls GET /v1/ until it answers 200.
Every ratio compares servers on the same event loop. Where uvloop is installed (the `fast` extra)
`serve` runs on it and so does bare (`--loop uvloop`), and two more servers, mock-asyncio and
bare-asyncio, are both on asyncio's own loop: a plain install. Reports the medians, the ratios mock/bare
(target <= 3x, and the mock < 1 s) and mock-150/mock (target <= 1.2x, and mock-150 < 1 s), and idle RSS
after startup (VmRSS; mock target < 100 MiB).

The server finds its schemas next to its package; mock-150 points it at the synthetic copy with the
environment variable DIFY_MOCK_SCHEMAS_DIR. A server that ignores it is told apart (its start-up
fails on fixtures without an endpoint schema, or /v1/synth-001/ is not there) and mock-150 is
skipped, saying so. `--package-copy` measures it without that hook: a copy of the package beside
the synthetic schemas/ (and, for a like-for-like ratio, the mock row from a copy beside the real
ones). `--smoke`: 2 runs, no thresholds.

Exit 1 when a server fails to start or to answer, or (without --smoke) when a target is missed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from blocking import Server, event_loop_of_mock, pin_cores

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TARGET_RATIO = 3.0
TARGET_MOCK_S = 1.0
TARGET_SYNTH_RATIO = 1.2
TARGET_RSS_MIB = 100.0
SYNTH_ENDPOINTS = 150
SCHEMAS_ENV = "DIFY_MOCK_SCHEMAS_DIR"  # the hook mock-150 needs from the server
SYNTH_PROBE = "/v1/synth-001/"  # the copy of GET /v1/ (no key), there only when the synthetic catalogue is
ANSWER_TIMEOUT_S = 30.0
IDLE_SETTLE_S = 0.3  # how long the server sits idle before its RSS is read
MOCK_M = [sys.executable, "-m", "mockserver", "serve", "--port", "0"]  # runs the package found from cwd
# As the README starts it: the console script, where the install made one (no runpy, as bare has none).
_SCRIPT = Path(sys.executable).with_name("dify-mockserver")
MOCK = [str(_SCRIPT), "serve", "--port", "0"] if _SCRIPT.is_file() else MOCK_M
BARE = [sys.executable, str(HERE / "_bare_app.py"), "--port", "0"]


@dataclass
class Variant:
    name: str
    argv: list[str]
    env: dict[str, str] | None = None
    cwd: Path | None = None
    routes: int | None = None
    seconds: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    @property
    def rss(self) -> float:
        return statistics.median(self.rss_mib) if self.rss_mib else float("nan")

    def summary(self) -> dict[str, Any]:
        return {
            "routes": self.routes,
            "median_ms": round(self.median * 1000, 1),
            "min_ms": round(min(self.seconds) * 1000, 1),
            "max_ms": round(max(self.seconds) * 1000, 1),
            "idle_rss_mib": round(self.rss, 1),
        }


# -- the synthetic catalogue -------------------------------------------------------------------


def count_routes(schemas: Path) -> int:
    """Routes of the endpoint schemas under `schemas` (<api>/<op>.json, `_` = shared): one each, plus aliases."""
    routes = 0
    for file in schemas.glob("*/*.json"):
        if file.parent.name.startswith("_") or file.name.startswith("_"):
            continue
        routes += 1 + len(json.loads(file.read_text()).get("x-endpoint", {}).get("aliases", ()))
    return routes


def write_synthetic(root: Path, endpoints: int) -> tuple[Path, Path]:
    """(a copy of schemas/ grown to `endpoints` endpoint schemas, a fixture directory of the copies' fixtures).

    Copy NNN of service/OP.json is service/synth_NNN_OP.json at /v1/synth-NNN/<OP's path> (aliases
    likewise, operation_id suffixed); its fixture is OP.yaml, its `extends:` pointing into copy NNN.
    """
    schemas, fixtures = root / "schemas", root / "fixtures"
    shutil.copytree(REPO / "schemas", schemas)
    (fixtures / "service").mkdir(parents=True)
    originals = sorted((schemas / "service").glob("*.json"))
    total = sum(1 for f in schemas.glob("*/*.json") if not (f.parent.name.startswith("_") or f.name.startswith("_")))
    for i in range(max(0, endpoints - total)):
        number, original = i // len(originals) + 1, originals[i % len(originals)]
        prefix = f"synth_{number:03d}_"
        stem = prefix + original.stem
        doc = json.loads(original.read_text())
        doc["$id"] = f"service/{stem}.json"
        x = doc["x-endpoint"]
        x["path"] = f"/synth-{number:03d}{x['path']}"
        if "aliases" in x:
            x["aliases"] = [f"/synth-{number:03d}{alias}" for alias in x["aliases"]]
        if x.get("operation_id"):
            x["operation_id"] += f"Synth{number:03d}"
        (schemas / "service" / f"{stem}.json").write_text(json.dumps(doc, indent=2))
        fixture = REPO / "fixtures" / "service" / f"{original.stem}.yaml"
        if fixture.is_file():
            text = retarget_extends(fixture.read_text(), prefix, schemas / "service")
            (fixtures / "service" / f"{stem}.yaml").write_text(text)
    return schemas, fixtures


def retarget_extends(text: str, prefix: str, service: Path) -> str:
    """`extends: service/OP` -> `extends: service/<prefix>OP` where that copy's schema exists in `service`."""

    def into_this_copy(match: re.Match[str]) -> str:
        base = match.group(2)
        copy = prefix + base if (service / f"{prefix}{base}.json").is_file() else base
        return f"{match.group(1)}service/{copy}"

    return re.sub(r"^(extends:\s*)service/(\w+)", into_this_copy, text, flags=re.MULTILINE)


def package_copy(root: Path, schemas: Path, fixtures: Path) -> Path:
    """A copy of the package with these schemas/ and fixtures/ beside it, where it looks for its data."""
    root.mkdir(parents=True)
    shutil.copytree(REPO / "mockserver", root / "mockserver", symlinks=True)  # keeps __pycache__, valid by mtime
    (root / "schemas").symlink_to(schemas, target_is_directory=True)
    (root / "fixtures").symlink_to(fixtures, target_is_directory=True)
    return root


# -- one run -----------------------------------------------------------------------------------


def get_status(url: str, path: str, deadline: float) -> int:
    """The status of GET path, retrying a refused connection until the deadline."""
    parts = urlsplit(url)
    while True:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=5)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            return resp.status
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


def one_run(variant: Variant, core: set[int] | None) -> tuple[float, float]:
    """(seconds from spawn to the first 200 of GET /v1/, idle RSS in MiB)."""
    started = time.perf_counter()
    server = Server(variant.argv, core, variant.env, variant.cwd)
    try:
        url = server.wait_listening(ANSWER_TIMEOUT_S)
        status = get_status(url, "/v1/", time.monotonic() + ANSWER_TIMEOUT_S)
        elapsed = time.perf_counter() - started
        if status != 200:
            raise RuntimeError(f"{variant.name}: GET /v1/ answered {status}{server.errors()}")
        time.sleep(IDLE_SETTLE_S)
        return elapsed, rss_mib(server.proc.pid)
    finally:
        code = server.stop()
        if code != 0:
            print(f"warning: {variant.name} exited with {code} after SIGTERM", file=sys.stderr)


def synthetic_served(variant: Variant, core: set[int] | None) -> str | None:
    """None when the server serves the synthetic catalogue, else why not (the hook is missing)."""
    server = Server(variant.argv, core, variant.env, variant.cwd)
    try:
        try:
            url = server.wait_listening(ANSWER_TIMEOUT_S)
        except RuntimeError as exc:
            if "no endpoint schema" in str(exc):
                return f"the server ignores {SCHEMAS_ENV} (the synthetic fixtures found no endpoint schema)"
            raise
        status = get_status(url, SYNTH_PROBE, time.monotonic() + ANSWER_TIMEOUT_S)
        return None if status == 200 else f"GET {SYNTH_PROBE} answered {status}: the synthetic catalogue is not served"
    finally:
        server.stop()


# -- main --------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="2 runs, no thresholds")
    parser.add_argument("--runs", type=int, default=10, help="measured runs per server (K), after one warm-up")
    parser.add_argument("--endpoints", type=int, default=SYNTH_ENDPOINTS, help="endpoint schemas of mock-150")
    parser.add_argument(
        "--package-copy", action="store_true", help=f"without {SCHEMAS_ENV}: run copies of the package beside the data"
    )
    args = parser.parse_args()
    if args.smoke:
        args.runs = min(args.runs, 2)
    args.runs = max(1, args.runs)

    server_core, client_cores = pin_cores()
    if server_core is not None:
        os.sched_setaffinity(0, client_cores)

    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp_name:
        tmp = Path(tmp_name)
        schemas, extra_fixtures = write_synthetic(tmp / "synthetic", args.endpoints)
        # PYTHONDONTWRITEBYTECODE would make every spawn compile the package's sources, which no pip
        # install does (it writes the bytecode): the warm-up run leaves it as an installed package has it.
        dropped = (SCHEMAS_ENV, "PYTHONDONTWRITEBYTECODE")
        plain_env = {k: v for k, v in os.environ.items() if k not in dropped}
        synth_name = f"mock-{args.endpoints}"
        synth_argv = [*MOCK, "--fixtures", str(extra_fixtures)]
        if args.package_copy:  # `-m` from the copy's folder: the console script would import the install
            how = "copies of the package beside each catalogue (--package-copy)"
            copy_argv = [*MOCK_M, "--fixtures", str(extra_fixtures)]
            mock = Variant("mock", MOCK_M, plain_env, package_copy(tmp / "real", REPO / "schemas", REPO / "fixtures"))
            synth = Variant(synth_name, copy_argv, plain_env, package_copy(tmp / "big", schemas, REPO / "fixtures"))
        else:
            how = f"{SCHEMAS_ENV}={schemas}"
            mock = Variant("mock", MOCK, plain_env)
            synth = Variant(synth_name, synth_argv, {**plain_env, SCHEMAS_ENV: str(schemas)})
        mock.routes, synth.routes = count_routes(REPO / "schemas"), count_routes(schemas)
        loop = event_loop_of_mock()
        variants = [mock, synth, Variant("bare", [*BARE, "--loop", loop], plain_env, routes=2)]
        on_asyncio = bare_asyncio = None
        if loop == "uvloop":  # the `fast` extra is installed: both without it too (a plain install)
            on_asyncio = Variant("mock-asyncio", MOCK, {**plain_env, "DIFY_MOCK_EVENT_LOOP": "asyncio"})
            on_asyncio.routes = mock.routes
            bare_asyncio = Variant("bare-asyncio", BARE, plain_env, routes=2)
            variants.insert(1, on_asyncio)
            variants.insert(-1, bare_asyncio)

        skipped = synthetic_served(synth, server_core)
        if skipped:
            variants.remove(synth)
        if not args.smoke:
            for variant in variants:
                one_run(variant, server_core)  # warm-up: page cache, bytecode of a fresh copy
        for _ in range(args.runs):
            for variant in variants:
                seconds, rss = one_run(variant, server_core)
                variant.seconds.append(seconds)
                variant.rss_mib.append(rss)

    bare = variants[-1]
    ratio = mock.median / bare.median
    synth_ratio = synth.median / mock.median if not skipped else float("nan")
    problems: list[str] = []
    if not args.smoke:
        if ratio > TARGET_RATIO:
            problems.append(f"startup ratio mock/bare {ratio:.2f} above the target {TARGET_RATIO:g}x")
        for variant in variants[:-1]:
            if variant.median >= TARGET_MOCK_S:
                problems.append(f"{variant.name} startup {variant.median:.3f}s not below {TARGET_MOCK_S:g}s")
        if not skipped and synth_ratio > TARGET_SYNTH_RATIO:
            problems.append(
                f"startup ratio {synth.name}/mock {synth_ratio:.2f} above the target {TARGET_SYNTH_RATIO:g}x"
            )
        if not mock.rss < TARGET_RSS_MIB:
            problems.append(f"mock idle RSS {mock.rss:.1f} MiB not below {TARGET_RSS_MIB:g} MiB")

    pinning = "unpinned (1 CPU)" if server_core is None else f"servers on CPU {sorted(server_core)}"
    warm = "" if args.smoke else " after one warm-up run"
    print(f"startup: spawn to first 200 of GET /v1/, {args.runs} run(s) each{warm}, {pinning}")
    both = " (mock-asyncio and bare-asyncio: on asyncio's loop)" if on_asyncio else ""
    print(f"event loop of mock and bare: {loop}{both}")
    print(f"{synth.name}: " + (f"skipped: {skipped}" if skipped else f"synthetic catalogue via {how}"))
    print(f"{'server':<12} {'routes':>6} {'median ms':>10} {'min ms':>8} {'max ms':>8} {'idle RSS MiB':>13}")
    for v in variants:
        print(
            f"{v.name:<12} {v.routes:>6} {v.median * 1000:>10.1f} {min(v.seconds) * 1000:>8.1f} "
            f"{max(v.seconds) * 1000:>8.1f} {v.rss:>13.1f}"
        )
    print(
        f"ratio mock/bare = {ratio:.2f} (target <= {TARGET_RATIO:g}); mock median {mock.median:.3f}s "
        f"(target < {TARGET_MOCK_S:g}s); mock idle RSS {mock.rss:.1f} MiB (target < {TARGET_RSS_MIB:g})"
    )
    if on_asyncio is not None and bare_asyncio is not None:
        print(
            f"on asyncio's loop: ratio mock-asyncio/bare-asyncio = {on_asyncio.median / bare_asyncio.median:.2f}, "
            f"idle RSS {on_asyncio.rss / bare_asyncio.rss:.2f}"
        )
    if not skipped:
        print(
            f"ratio {synth.name}/mock = {synth_ratio:.2f} (target <= {TARGET_SYNTH_RATIO:g}); "
            f"{synth.name} median {synth.median:.3f}s (target < {TARGET_MOCK_S:g}s)"
        )
    for problem in problems:
        print(f"FAIL: {problem}")
    print(
        json.dumps(
            {
                "bench": "startup",
                "smoke": args.smoke,
                "runs": args.runs,
                "mock": mock.summary(),
                "synthetic": {"skipped": skipped} if skipped else {"name": synth.name, **synth.summary()},
                "bare": bare.summary(),
                "event_loop": loop,
                **({"mock-asyncio": on_asyncio.summary()} if on_asyncio else {}),
                **({"bare-asyncio": bare_asyncio.summary()} if bare_asyncio else {}),
                "ratio": round(ratio, 3),
                "synthetic_ratio": None if skipped else round(synth_ratio, 3),
                "target_ratio": TARGET_RATIO,
                "target_synthetic_ratio": TARGET_SYNTH_RATIO,
                "target_mock_s": TARGET_MOCK_S,
                "target_rss_mib": TARGET_RSS_MIB,
                "package_copy": args.package_copy,
                "ok": not problems,
            }
        )
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
