"""What `serve` tells a newcomer at start: the release emulated, the apps and keys, the fixtures,
and where the inspector and control plane are. Text only; cli.py prints it."""

from __future__ import annotations

from aiohttp import web

from mockserver._version import __version__
from mockserver.keys import BOOK, RELEASE, SETTINGS
from mockserver.paths import fixtures_dir
from mockserver.tools.eventloop import running_loop_name

_ANY_HOST = ("0.0.0.0", "::", "")


def reachable(base_url: str, host: str) -> str:
    """A URL a browser on this machine can open: a wildcard bind is reached through loopback."""
    if host in _ANY_HOST:
        return base_url.replace(f"//{host}:", "//127.0.0.1:").replace("//[::]:", "//127.0.0.1:")
    return base_url


def lines(app: web.Application, base_url: str) -> list[str]:
    settings, release, book = app[SETTINGS], app[RELEASE], app[BOOK].current
    url = reachable(base_url, settings.host)
    out = [
        f"dify-mockserver {__version__}: Dify {release.name} (server_version {release.server_version}),"
        f" seed {settings.seed}, event loop {running_loop_name()}",
    ]
    if url != base_url:
        out.append(f"  bound to every interface; from this machine: {url}")
    apps = [a for a in book.apps.apps.values() if a.mode in release.modes]
    width = max((len(a.key) for a in apps), default=0)
    out.append(f"  apps (Authorization: Bearer KEY, base URL {url}/v1):")
    out += [f"    {a.key:<{width}}  {a.mode:<13}  {a.name}" for a in apps]
    hidden = [a.key for a in book.apps.apps.values() if a.mode not in release.modes]
    if hidden:
        out.append(f"    (not in Dify {release.name}: {', '.join(hidden)})")
    if book.apps.dataset_keys:
        out.append(f"  knowledge keys: {', '.join(book.apps.dataset_keys)}")
    scenarios = sum(len(f.names) for f in book.fixtures.values())
    dirs = ", ".join(str(d) for d in settings.fixtures) or "none"
    out.append(
        f"  fixtures: built-in ({fixtures_dir()}) + yours: {dirs}; {len(book.fixtures)} endpoints,"
        f" {scenarios} scenarios{'; reloading on change' if settings.reload else ''}"
    )
    out.append(f"  inspector: {url}/_mock/   control API: {url}/_mock/control/openapi.json")
    if settings.admin_token:
        out.append("  /_mock/ requires header X-Mock-Admin-Token")
    out.append("  request log below" + (" is off (--quiet)" if settings.quiet else "; Ctrl-C stops"))
    return out
