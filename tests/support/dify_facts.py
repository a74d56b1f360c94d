"""Dify API facts and checks shared by the HTTP tests (imported as `dify_facts`: tests/http is no package)."""

from __future__ import annotations

import uuid
from typing import Any

USAGE_KEYS = {
    "prompt_tokens",
    "prompt_unit_price",
    "prompt_price_unit",
    "prompt_price",
    "completion_tokens",
    "completion_unit_price",
    "completion_price_unit",
    "completion_price",
    "total_tokens",
    "total_price",
    "currency",
    "latency",
}
SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"
MODE_MISMATCH = "Please check if your app mode matches the right API route."
USER_REQUIRED = "Arg user must be provided."
UNKNOWN_UUID = "11111111-2222-4333-8444-555555555555"
# A 404 raised by a Dify resource carries flask-restx's route hint (RESTX_ERROR_404_HELP is on in Dify):
# flask_restx/api.py _help_on_404; the close matches of /v1/chat-messages at dify 1.12.0, 1.14.2 and 1.16.1.
CONVERSATION_NOT_EXISTS = (
    "Conversation Not Exists. You have requested this URI [/v1/chat-messages] but did you mean "
    "/v1/chat-messages or /api/chat-messages or /v1/chat-messages/<string:task_id>/stop ?"
)
# Flask's own 404 page: the Service API has no catch-all 404 handler (api/libs/external_api.py).
NOT_FOUND_HTML = (
    "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
    "<p>The requested URL was not found on the server. If you entered the URL manually please check your "
    "spelling and try again.</p>\n"
)

# /v1/parameters keys in the order Dify sends them, at every emulated release (research/appinfo.md).
PARAMETER_ORDER = [
    "opening_statement",
    "suggested_questions",
    "suggested_questions_after_answer",
    "speech_to_text",
    "text_to_speech",
    "retriever_resource",
    "annotation_reply",
    "more_like_this",
    "user_input_form",
    "sensitive_word_avoidance",
    "file_upload",
    "system_parameters",
]


def auth(key: str, **extra: str) -> dict[str, str]:
    """Bearer headers for an app key, plus any extra headers."""
    return {"Authorization": f"Bearer {key}", **extra}


def is_uuid4(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return False
    return str(parsed) == value and parsed.version == 4


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


async def queue(client: Any, fault: str, tenant: str | None = None, **extra: Any) -> str:
    """POST /_mock/faults; the new fault's id."""
    payload: dict[str, Any] = {"fault": fault, **extra}
    if tenant is not None:
        payload["tenant"] = tenant
    resp = await client.post("/_mock/faults", json=payload)
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert isinstance(body["id"], str) and body["id"]
    return str(body["id"])


async def get_page(client: Any, path: str, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    """A 200 cursor page of a Dify list (`{limit, has_more, data}`, in that order), as JSON."""
    resp = await client.get(path, params=params, headers=headers)
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    assert list(body) == ["limit", "has_more", "data"]
    return body


def multipart(
    *parts: tuple[str, str | None, str | None, bytes], boundary: str = "mockboundary"
) -> tuple[bytes, dict[str, str]]:
    """A multipart body written by hand, and its Content-Type header: (field, filename or None,
    content type or None, data) each, so a part can lack a filename or a type as a careless client
    sends it (aiohttp's FormData always writes both)."""
    out = b""
    for name, filename, content_type, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if content_type is not None:
            out += f"Content-Type: {content_type}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode(), {"Content-Type": f"multipart/form-data; boundary={boundary}"}
