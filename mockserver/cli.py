"""The command line: `dify-mockserver serve`, `lint` and `openapi`; the only module that prints."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from msgspec.structs import replace

from mockserver._version import __version__
from mockserver.errors import FixtureError
from mockserver.settings import DEFAULT_PORT, ENV_PREFIX, LOG_LEVELS, Settings, upload_limits

if TYPE_CHECKING:
    from aiohttp import web

    from mockserver.tools.eventloop import LoopFactory

LOOPBACK = ("127.0.0.1", "localhost", "::1")
STREAM_GRACE_S = 3.0  # how long open streams may finish after Ctrl-C before they are cut
PROG = "dify-mockserver"

# The parser is the standard library's argparse, not click: aiohttp.web imports argparse anyway, while
# click cost `serve` about 6 ms of its ~200 ms start-up and 1 MiB of its idle memory (issue 13's
# targets are 1.2x a bare aiohttp app on both).

SERVE_EPILOG = """\
Every option can also come from an environment variable (a flag wins):
  DIFY_MOCK_HOST, DIFY_MOCK_PORT, DIFY_MOCK_FIXTURES (':'-separated), DIFY_MOCK_DSL (likewise),
  DIFY_MOCK_DIFY_VERSION, DIFY_MOCK_SEED, DIFY_MOCK_RELOAD, DIFY_MOCK_STRICT,
  DIFY_MOCK_QUIET, DIFY_MOCK_LOG_LEVEL, DIFY_MOCK_ADMIN_TOKEN,
  DIFY_MOCK_UPLOAD_LIMIT ('image=20,video=200'), DIFY_MOCK_HEADER_TIMEOUT.
Settings with no flag:
  DIFY_MOCK_PACE_SCALE      1 = the fixtures' timing, 0 = nothing sleeps
  DIFY_MOCK_PING_INTERVAL_S seconds between keep-alive pings (10)
  DIFY_MOCK_CLOCK_START     Unix seconds where mock time starts (1735689600)
  DIFY_MOCK_CLOCK_STEP      mock seconds per admitted request (1)
  DIFY_MOCK_JOURNAL_SIZE    journal entries kept per tenant (1000)
  DIFY_MOCK_MAX_TENANTS     tenants kept before the least recent goes (1000)
  DIFY_MOCK_MAX_BODY_BYTES  largest request body (15 MiB)
  DIFY_MOCK_INJECT_FAULTS   false: queued and fixture faults never fire
  DIFY_MOCK_MAX_UPLOAD_STORE_BYTES  uploaded bytes a tenant keeps (64 MiB)
  DIFY_MOCK_MAX_MESSAGE_STORE_BYTES query and answer bytes a tenant keeps (64 MiB)
  DIFY_MOCK_SCHEMAS_DIR     endpoint schemas instead of the built-in ones (development)
  DIFY_MOCK_LOAD_CACHE      where start-up keeps what it learnt of unchanged files
                            (~/.cache/dify-mockserver; empty: nowhere)
  DIFY_MOCK_EVENT_LOOP      auto (uvloop when installed: the `fast` extra), asyncio or uvloop
"""

LINT_DESCRIPTION = """\
Check fixture files: the built-in ones, merged with each DIR as `serve --fixtures DIR` does, and the
Dify DSL files their _apps.yaml names or --dsl gives (a DSL warning is printed, not an error).

Every scenario is also rendered through the real pipeline, for each app and response mode it serves,
and checked against its schema. Each error starts with a line FILE:LINE:COLUMN: problem.
"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs as written (the environment table is aligned by hand); `Usage:`."""

    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, "Usage: " if prefix is None else prefix)


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not above 0")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="dify-mockserver: a local, deterministic emulator of the Dify HTTP API.\n\n"
        "Start with `dify-mockserver serve`; `dify-mockserver COMMAND -h` explains each command.",
        formatter_class=_Formatter,
        allow_abbrev=False,
    )
    parser.add_argument("-V", "--version", action="version", version=f"{PROG}, version {__version__}")
    commands = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    serve = _command(
        commands,
        "serve",
        _serve,
        "Serve Dify's APIs and the /_mock/ control plane.",
        "Serve Dify's Service API (/v1) and the /_mock/ control plane and inspector.",
        SERVE_EPILOG,
    )
    # Every default is None: an option not given leaves the setting its environment variable made.
    serve.add_argument("--host", help="Interface to bind.  [default: 127.0.0.1]")
    serve.add_argument("--port", type=int, help=f"Port; 0 picks a free one.  [default: {DEFAULT_PORT}]")
    serve.add_argument(
        "--fixtures",
        dest="fixture_dirs",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="A fixture directory loaded over the built-in ones (repeatable; later wins).",
    )
    serve.add_argument(
        "--dsl",
        dest="dsl_files",
        action="append",
        default=[],
        metavar="FILE[=KEY]",
        help="Serve a Dify DSL export as an app (repeatable); KEY defaults to app-<file stem>.",
    )
    serve.add_argument(
        "--dify-version",
        metavar="X.Y",
        help="The Dify release to emulate: 1.12, 1.14 or 1.16; other versions map to the nearest.  [default: 1.16]",
    )
    serve.add_argument("--seed", type=int, metavar="N", help="Seed of every id, text and jitter.  [default: 0]")
    for names, text in (
        (("--reload",), "Reload fixtures on change; a broken edit keeps the last."),
        (("--strict",), "Check every emitted body and event against its schema."),
        (("-q", "--quiet"), "No request log lines on stderr."),
    ):  # True when given, else None (the environment's value stands)
        serve.add_argument(*names, action="store_const", const=True, help=text)
    serve.add_argument(
        "--log-level",
        type=str.lower,
        choices=[level.lower() for level in LOG_LEVELS],
        metavar="LEVEL",
        help=f"{', '.join(level.lower() for level in LOG_LEVELS)}.  [default: info]",
    )
    serve.add_argument("--admin-token", metavar="TOKEN", help="Required in X-Mock-Admin-Token for /_mock/ calls.")
    serve.add_argument(
        "--upload-limit",
        action="append",
        default=[],
        metavar="CATEGORY=MB",
        help="Upload size limit of image, video, audio or other files (repeatable).  "
        "[default: image=10 video=100 audio=50 other=15]",
    )
    serve.add_argument(
        "--header-timeout",
        type=_positive_seconds,
        metavar="SECONDS",
        help="Close a connection that sends no whole request head within SECONDS of connecting or of its "
        "last response (slow or idle clients).  [default: 60]",
    )
    lint = _command(commands, "lint", _lint, "Check fixture files and DSL exports.", LINT_DESCRIPTION)
    lint.add_argument("dirs", nargs="*", type=Path, metavar="DIR", help="A fixture directory, as serve --fixtures.")
    lint.add_argument(
        "--list", dest="show_list", action="store_true", help="List every endpoint id with its method, path and file."
    )
    lint.add_argument(
        "--dsl",
        dest="dsl_files",
        action="append",
        default=[],
        metavar="FILE[=KEY]",
        help="Also check a Dify DSL export (repeatable).",
    )
    openapi = _command(
        commands,
        "openapi",
        _openapi,
        "Print the OpenAPI document of the emulated APIs.",
        "Print a self-contained OpenAPI 3.1 document of the emulated Dify APIs (built from schemas/).",
    )
    openapi.add_argument("--control", action="store_true", help="The /_mock/ control API instead.")
    return parser


def _command(
    commands: Any,
    name: str,
    run: Callable[[argparse.Namespace], None],
    summary: str,
    description: str,
    epilog: str | None = None,
) -> argparse.ArgumentParser:
    """A subcommand that parses its options, runs `run` with them and tells its own usage errors."""
    command: argparse.ArgumentParser = commands.add_parser(
        name, help=summary, description=description, epilog=epilog, formatter_class=_Formatter, allow_abbrev=False
    )
    command.set_defaults(run=run, parser=command, command=name)
    return command


def main(argv: Sequence[str] | None = None) -> None:
    """The console script `dify-mockserver` and `python -m mockserver`; exits with the command's status."""
    parser = _parser()
    given = list(sys.argv[1:] if argv is None else argv)
    args, stray = parser.parse_known_args(given)
    if stray and args.command is None:
        parser.error(f"unrecognized arguments: {' '.join(stray)}")
    if stray:
        at = given.index(args.command)
        if at:  # before the command only -h and -V are options, and they have exited
            parser.error(f"unrecognized arguments: {' '.join(given[:at])}")
        # argparse takes a command's positionals only before its first option (`lint A --dsl F B` left
        # B over), where click took them anywhere: the command's own parser reads its part of the line
        # again, intermixed; what is still left over is its usage error.
        args = args.parser.parse_intermixed_args(given[at + 1 :])
    if args.command is None:
        parser.print_help()
        return
    try:
        args.run(args)
        sys.stdout.flush()
    except BrokenPipeError:  # `lint --list | head`: the reader left; no traceback (as Python's docs advise)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
    except KeyboardInterrupt:  # Ctrl-C before serve's own handlers are in place, or during a long lint
        _echo("\nAborted!", err=True)
        sys.exit(1)


def _echo(text: str, err: bool = False) -> None:
    print(text, file=sys.stderr if err else sys.stdout)


def _serve(args: argparse.Namespace) -> None:
    # No collections while start-up imports and loads: its objects live as long as the server, and the
    # collector's passes over them were about 12 ms of a 200 ms start-up, most of them during aiohttp's
    # import. Then everything loaded (catalogue, fixtures, apps, libraries) is frozen: out of the
    # collector's sight, a full collection no longer walks it on the request path. The cost: start-up's
    # few cyclic leftovers are frozen with it (about 0.3 MiB of idle memory).
    gc.disable()
    try:
        settings, app, lines, factory = _started(args)
        gc.freeze()
    finally:
        gc.enable()
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(_run(settings, app, lines))


def _started(args: argparse.Namespace) -> tuple[Settings, web.Application, _Lines, LoopFactory | None]:
    """The settings, the app and the log lines `serve` runs with, and its event loop's factory; a bad
    setting or fixture exits with its message."""
    try:
        base = Settings().with_env()
    except ValueError as exc:
        _usage(f"bad environment variable: {exc}")
    given: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "seed": args.seed,
        "strict": args.strict,
        "quiet": args.quiet,
        "admin_token": args.admin_token,
        "reload": args.reload,
        "dify_version": args.dify_version,
        "log_level": args.log_level.upper() if args.log_level else None,
        "header_timeout": args.header_timeout,
    }
    settings = replace(base, **{k: v for k, v in given.items() if v is not None})
    if ENV_PREFIX + "LOAD_CACHE" not in os.environ:
        from mockserver.loadcache import default_dir

        settings = replace(settings, load_cache=default_dir())
    if args.fixture_dirs:
        settings = replace(settings, fixtures=(*settings.fixtures, *args.fixture_dirs))
    if args.dsl_files:
        settings = replace(settings, dsl=(*settings.dsl, *args.dsl_files))
    if args.upload_limit:
        try:
            limits = dict(settings.upload_limit) | dict(upload_limits(",".join(args.upload_limit)))
        except ValueError as exc:
            _usage(f"--upload-limit: {exc}")
        settings = replace(settings, upload_limit=tuple(limits.items()))
    from mockserver.tools.eventloop import loop_factory

    try:
        factory, _name = loop_factory(settings.event_loop)
    except ValueError as exc:
        _usage(f"{ENV_PREFIX}EVENT_LOOP={settings.event_loop}: {exc}")
    lines = _configure_logging(settings)
    if settings.host not in LOOPBACK and not settings.admin_token:
        _usage(
            f"--host {settings.host} is not loopback: the /_mock/ control plane would be open to the "
            "network; pass --admin-token TOKEN too"
        )
    from mockserver.dify import versions

    try:
        _release, notice = versions.resolve(settings.dify_version)
    except ValueError as exc:
        _usage(f"--dify-version: {exc}")
    if notice:
        _echo(f"dify-mockserver: {notice}", err=True)
    from mockserver.app import create_app  # imported here so `--help` stays instant

    try:
        app = create_app(settings)
    except FixtureError as exc:
        for problem in exc.problems:
            _echo(str(problem), err=True)
        count = len(exc.problems)
        _echo(f"dify-mockserver: {count} fixture problem{'s' if count != 1 else ''}; not starting", err=True)
        sys.exit(1)
    _dsl_warnings(app)
    if not settings.quiet and logging.getLogger("mockserver.requests").isEnabledFor(logging.INFO):
        from mockserver.middleware import REQUEST_LINES

        app[REQUEST_LINES] = lines.add
    if settings.reload:  # the watcher's module loads only for it
        from mockserver.tools.reload import watch_fixtures

        watch_fixtures(app)
    return settings, app, lines, factory


def _dsl_warnings(app: web.Application) -> None:
    """Each DSL app's load warnings, once, on stderr (they stay listed under GET /_mock/apps)."""
    from mockserver.keys import BOOK

    for served in app[BOOK].current.apps.apps.values():
        for warning in served.warnings:
            _echo(f"{warning} (warning; app {served.key})", err=True)


def _check_env() -> None:
    """A bad DIFY_MOCK_* variable is one usage line, for every command that reads them."""
    try:
        Settings().with_env()
    except ValueError as exc:
        _usage(f"bad environment variable: {exc}")


def _usage(message: str) -> NoReturn:
    _echo(f"dify-mockserver: {message}", err=True)
    sys.exit(2)


class _Lines:
    """The request log's lines on stderr, written together at most FLUSH_S after the first of them
    rather than once a request (a write and a flush each cost more than the rest of the line's work;
    under load one write a turn of the event loop still cost 1.4% of the server). The closed journal
    entries wait, and their lines are made when written: one loop over a batch costs the server less
    than the same work spread over the requests. Every other log record writes the pending lines
    first, so stderr keeps the order things happened in; stopping writes them too."""

    FLUSH_S = 0.02  # as good as at once for a person reading, and few writes for a load test

    def __init__(self) -> None:
        self._pending: list[dict[str, Any]] = []

    def add(self, entry: dict[str, Any]) -> None:
        if not self._pending:
            try:
                asyncio.get_running_loop().call_later(self.FLUSH_S, self.flush)
            except RuntimeError:  # no loop runs: no turn to wait for
                self._pending.append(entry)
                self.flush()
                return
        self._pending.append(entry)

    def flush(self) -> None:
        if self._pending:
            from mockserver.state.journal import request_line  # here, not at the top: `--help` stays instant

            text = "\n".join(map(request_line, self._pending)) + "\n"
            self._pending.clear()
            sys.stderr.write(text)
            sys.stderr.flush()


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    def __init__(self, lines: _Lines) -> None:
        super().__init__(sys.stderr)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.flush()
        super().emit(record)


class _Format(logging.Formatter):
    """Request log lines as they are; everything else with its level and logger."""

    def format(self, record: logging.LogRecord) -> str:
        if record.name == "mockserver.requests":
            return record.getMessage()
        return f"{record.levelname} {record.name}: {super().format(record)}"


def _configure_logging(settings: Settings) -> _Lines:
    """stderr's log handler; returns where `serve` puts its request lines (written in its turns)."""
    lines = _Lines()
    handler = _Handler(lines)
    handler.setFormatter(_Format("%(message)s"))
    logging.basicConfig(level=settings.log_level, handlers=[handler], force=True)
    if settings.quiet:
        logging.getLogger("mockserver.requests").setLevel(logging.WARNING)
    return lines


def _lint(args: argparse.Namespace) -> None:
    from mockserver.tools import lint

    _check_env()
    if args.show_list:
        for line in lint.endpoint_lines():
            _echo(line)
        return
    report = lint.run(tuple(args.dirs), tuple(args.dsl_files))
    for warning in report.warnings:
        _echo(f"{warning} (warning)")
    for note in report.notes:
        _echo(f"{note} (info)")
    for finding in report.findings:
        for line in finding.lines():
            _echo(line)
    if report.findings:
        count = len(report.findings)
        _echo(f"dify-mockserver lint: {count} problem{'s' if count != 1 else ''}", err=True)
        sys.exit(1)
    _echo(f"{report.files} fixture files, {report.scenarios} scenarios OK")


def _openapi(args: argparse.Namespace) -> None:
    _check_env()
    import json

    from mockserver.catalogue import load_catalogue
    from mockserver.control import openapi

    document = openapi.control() if args.control else openapi.emulated(load_catalogue(Settings().with_env().schemas()))
    _echo(json.dumps(document, indent=2, ensure_ascii=False))


async def _run(settings: Settings, app: web.Application, lines: _Lines) -> None:
    from mockserver.testing.server import MockServer
    from mockserver.tools import banner

    server = MockServer(settings, settings.host, settings.port, app=app)
    try:
        base_url = await server.start()
    except OSError as exc:
        _usage(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror} (--port 0 picks a free port)")
    signals = asyncio.Queue[int]()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # before the listening line: a caller may signal at once
        loop.add_signal_handler(sig, signals.put_nowait, sig)
    _echo(f"dify-mockserver listening on {base_url}")
    sys.stdout.flush()
    for line in banner.lines(app, base_url):
        _echo(line, err=True)
    await signals.get()
    lines.flush()
    open_streams = server.open_streams()
    if open_streams:
        _echo(
            f"dify-mockserver: stopping; {open_streams} open stream{'s' if open_streams != 1 else ''} may finish"
            f" within {STREAM_GRACE_S:.0f} s (Ctrl-C again cuts them)",
            err=True,
        )
    else:
        _echo("dify-mockserver: stopping", err=True)
    stopping = asyncio.create_task(server.stop(grace_s=STREAM_GRACE_S))
    again = asyncio.create_task(signals.get())
    done, _ = await asyncio.wait({stopping, again}, return_when=asyncio.FIRST_COMPLETED)
    if again in done:
        server.cut_streams()
    again.cancel()
    await stopping
    lines.flush()
    _echo("dify-mockserver stopped", err=True)
