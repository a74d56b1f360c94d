"""Service API credentials (REFERENCE §2.1) -> the App; the tenant id that follows from them."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from .apps import App, AppsBook
from .catalogue import EndpointSpec
from .errors import MSG_BAD_SCHEME, MSG_BAD_TOKEN, MSG_NO_BEARER, DifyError
from .tenancy import SESSION_HEADER

WWW_AUTHENTICATE: Final = {"WWW-Authenticate": 'Bearer realm="api"'}


def _unauthorized(message: str) -> DifyError:
    return DifyError("unauthorized", message, status=401, headers=dict(WWW_AUTHENTICATE))


def bearer_token(request: web.Request) -> str:
    """The token of `Authorization: Bearer <token>`, with Dify's three 401 messages."""
    header = request.headers.get("Authorization")
    if header is None or " " not in header:
        raise _unauthorized(MSG_NO_BEARER)
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise _unauthorized(MSG_BAD_SCHEME)
    return token.strip()


def authenticate(request: web.Request, spec: EndpointSpec, apps: AppsBook) -> tuple[App | None, str | None]:
    """Returns (app, credential tenant) for the endpoint's scope; raises DifyError(401) otherwise."""
    if spec.auth == "none":
        return None, None
    token = bearer_token(request)
    if spec.auth == "app":
        app = apps.apps.get(token)
        if app is None:
            raise _unauthorized(MSG_BAD_TOKEN)
        return app, f"k:{token}"
    if token not in apps.dataset_keys:
        raise _unauthorized(MSG_BAD_TOKEN)
    return None, f"k:{token}"


def tenant_of(request: web.Request, credential_tenant: str | None) -> str:
    session = request.headers.get(SESSION_HEADER)
    if session:
        return f"s:{session}"
    return credential_tenant or "-"
