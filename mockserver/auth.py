"""Service API credentials (REFERENCE §2.1) -> the request's Principal; the tenant is the session or `default`."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from mockserver.dify.apps import AppsBook
from mockserver.dify.versions import Release
from mockserver.endpoint import EndpointSpec
from mockserver.errors import MSG_BAD_SCHEME, MSG_BAD_TOKEN, MSG_NO_BEARER, DifyError
from mockserver.nearmiss import close_matches
from mockserver.tenancy import SESSION_HEADER, UNAUTHENTICATED, tenant_id
from mockserver.validation import ANONYMOUS, Principal

WWW_AUTHENTICATE: Final = {"WWW-Authenticate": 'Bearer realm="api"'}


def _unauthorized(message: str, note: str | None = None) -> DifyError:
    return DifyError("unauthorized", message, status=401, headers=dict(WWW_AUTHENTICATE), note=note)


def bearer_token(request: web.Request) -> str:
    """The token of `Authorization: Bearer <token>`, with Dify's three 401 messages."""
    header = request.headers.get("Authorization")
    if header is None or " " not in header:
        raise _unauthorized(MSG_NO_BEARER)
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise _unauthorized(MSG_BAD_SCHEME)
    return token.strip()


def _near_miss(token: str, scope: str, known: list[str], other: list[str]) -> str:
    """Journal and log text for a refused key: Dify's body says only 'invalid'; the user needs more."""
    if token in other:
        what = "a dataset key" if scope == "app" else "an app key"
        return f"{token!r} is {what}; this route takes {scope} keys ({', '.join(known)})"
    close = close_matches(token, known)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {scope} key {token!r}{hint}; known: {', '.join(known)}"


def authenticate(request: web.Request, spec: EndpointSpec, apps: AppsBook, release: Release) -> Principal:
    """The Principal of the endpoint's scope; raises DifyError(401) with Dify's texts otherwise. An app
    whose mode the emulated release lacks (the New Agent before 1.15) does not exist there."""
    if spec.auth == "none":
        return ANONYMOUS
    token = bearer_token(request)
    if spec.auth == "app":
        app = apps.apps.get(token)
        if app is not None and app.mode not in release.modes:
            note = f"{token!r} is an {app.mode} app, a mode Dify {release.name} does not have (see --dify-version)"
            raise _unauthorized(MSG_BAD_TOKEN, note)
        if app is None:
            raise _unauthorized(MSG_BAD_TOKEN, _near_miss(token, "app", list(apps.apps), list(apps.dataset_keys)))
        # One Principal per app, made at its first request: it is immutable, and a request made one each.
        principal: Principal | None = app.memo.get("principal")
        if principal is None:
            principal = app.memo["principal"] = Principal("app", token, app)
        return principal
    if token not in apps.dataset_keys:
        raise _unauthorized(MSG_BAD_TOKEN, _near_miss(token, "dataset", list(apps.dataset_keys), list(apps.apps)))
    return Principal("dataset", token)


def tenant_of(request: web.Request, authenticated: bool) -> str:
    """X-Mock-Session's tenant when sent; else `default` (one workspace for every credential), or `-`
    for a request whose credential was refused."""
    session = request.headers.get(SESSION_HEADER)
    if session:
        return tenant_id(session)
    return tenant_id(None) if authenticated else UNAUTHENTICATED
