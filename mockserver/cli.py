"""The command line: `dify-mockserver serve` and `lint`; the only module that prints."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .errors import FixtureError
from .settings import DEFAULT_PORT, Settings

if TYPE_CHECKING:
    from aiohttp import web

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@click.group()
@click.version_option(package_name="dify-mockserver")
def main() -> None:
    """dify-mockserver: a local, deterministic emulator of the Dify HTTP API."""


@main.command()
@click.option("--host", default=None, help="Interface to bind.  [default: 127.0.0.1]")
@click.option("--port", default=None, type=int, help=f"Port; 0 picks a free one.  [default: {DEFAULT_PORT}]")
@click.option(
    "--fixtures",
    "fixture_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A fixture directory loaded over the built-in ones (repeatable; later wins).",
)
@click.option("--seed", default=None, type=int, help="Seed of every id, text and jitter.  [default: 0]")
@click.option("--strict", is_flag=True, default=None, help="Check every emitted body and event against its schema.")
@click.option(
    "--log-level",
    default=None,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    help="[default: INFO]",
)
@click.option("--admin-token", default=None, help="Required in X-Mock-Admin-Token for /_mock/ calls.")
@click.option(
    "--reload",
    is_flag=True,
    default=None,
    help="Reload the fixtures when a file changes; a broken edit keeps the last good.",
)
def serve(
    host: str | None,
    port: int | None,
    fixture_dirs: tuple[Path, ...],
    seed: int | None,
    strict: bool | None,
    log_level: str | None,
    admin_token: str | None,
    reload: bool | None,
) -> None:
    """Serve the Dify APIs (/v1, /console/api, /api) and the /_mock/ control plane.

    Every setting can also come from a DIFY_MOCK_<NAME> environment variable (DIFY_MOCK_SEED=3,
    DIFY_MOCK_ADMIN_TOKEN=...); a flag given on the command line wins over the environment.
    """
    try:
        base = Settings().with_env()
    except ValueError as exc:
        raise click.UsageError(f"bad DIFY_MOCK_* environment variable: {exc}") from None
    given: dict[str, Any] = {
        "host": host,
        "port": port,
        "seed": seed,
        "strict": strict,
        "admin_token": admin_token,
        "reload": reload,
        "log_level": log_level.upper() if log_level else None,
    }
    settings = replace(base, **{k: v for k, v in given.items() if v is not None})
    if fixture_dirs:
        settings = replace(settings, fixtures=(*settings.fixtures, *fixture_dirs))
    logging.basicConfig(level=settings.log_level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    if settings.host not in LOOPBACK and not settings.admin_token:
        raise click.UsageError(
            f"--host {settings.host} is not loopback: the /_mock/ control plane would be open to the "
            "network; pass --admin-token TOKEN too"
        )
    from .app import create_app  # imported here so `--help` stays instant

    try:
        app = create_app(settings)
    except FixtureError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        click.echo(f"dify-mockserver: {len(exc.problems)} fixture problem(s); not starting", err=True)
        sys.exit(1)
    asyncio.run(_run(settings, app))


@main.command("lint")
@click.argument("dirs", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--list", "show_list", is_flag=True, help="List every endpoint id with its method, path and fixture file."
)
def lint_command(dirs: tuple[Path, ...], show_list: bool) -> None:
    """Check fixture files: the built-in ones, merged with each DIR as `serve --fixtures DIR` does.

    Every scenario is also rendered through the real pipeline, for each app and response mode it
    serves, and checked against its schema. Each error starts with a line FILE:LINE:COLUMN: problem.
    """
    from . import lint

    if show_list:
        for line in lint.endpoint_lines():
            click.echo(line)
        return
    report = lint.run(dirs)
    for finding in report.findings:
        for line in finding.lines():
            click.echo(line)
    if report.findings:
        click.echo(f"dify-mockserver lint: {len(report.findings)} problem(s)", err=True)
        sys.exit(1)
    click.echo(f"{report.files} fixture files, {report.scenarios} scenarios OK")


@main.command("openapi")
@click.option("--control", is_flag=True, help="The /_mock/ control API instead of the emulated Dify APIs.")
def openapi_command(control: bool) -> None:
    """Print the OpenAPI 3.1 document of the emulated Dify APIs (built from schemas/)."""
    import json

    from . import openapi
    from .catalogue import load_catalogue
    from .datadirs import schemas_dir

    document = openapi.control() if control else openapi.emulated(load_catalogue(schemas_dir()))
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


async def _run(settings: Settings, app: web.Application) -> None:
    from .server import MockServer

    server = MockServer(settings, settings.host, settings.port, app=app)
    try:
        base_url = await server.start()
    except OSError as exc:
        click.echo(f"dify-mockserver: cannot listen on {settings.host}:{settings.port}: {exc.strerror}", err=True)
        sys.exit(1)
    if settings.admin_token:
        click.echo("dify-mockserver: /_mock/ requires header X-Mock-Admin-Token", err=True)
    click.echo(f"dify-mockserver listening on {base_url}")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()
    click.echo("dify-mockserver stopped", err=True)
