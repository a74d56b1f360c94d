"""Audio routes: POST /v1/audio-to-text and POST /v1/text-to-audio, in Dify's order of checks
(controllers/service_api/app/audio.py, services/audio_service.py at dify 1.12.0, 1.14.2 and 1.16.1;
research/annotations_audio.md §7). The feature flags are the app's /v1/parameters
(`speech_to_text.enabled`, `text_to_speech.{enabled,voice}`), set in _apps.yaml."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, Final

from mockserver.actions import ActContext, Action
from mockserver.actions.users import owner
from mockserver.dify import mp3
from mockserver.errors import DifyError
from mockserver.state.records import Blob, Message

# The OpenAI plugin's first TTS voice: what Dify takes when neither the request nor the app names one.
DEFAULT_VOICE: Final = "alloy"
# What a transcript says of audio text-to-audio did not make: one of these, chosen by the file's bytes.
TRANSCRIPTS: Final = (
    "Hello, can you hear me?",
    "What's the weather like today?",
    "Please summarise the last meeting for me.",
    "Set a reminder for tomorrow morning at nine.",
    "How do I reset my password?",
    "Tell me a joke about computers.",
    "Translate good morning into French.",
    "What can you do?",
)


def _feature(ctx: ActContext, name: str) -> dict[str, Any]:
    app = ctx.call.app
    found = app.root_for(ctx.call.release)["parameters"].get(name) if app is not None else None
    return found if isinstance(found, dict) else {}


def _speech_to_text_on(ctx: ActContext) -> None:
    if not _feature(ctx, "speech_to_text").get("enabled"):
        raise DifyError(*ctx.call.release.stt_disabled)


def _check_audio(ctx: ActContext) -> None:
    """1.12/1.14: the file part (Werkzeug's KeyError), then the flag; 1.16: the flag, then the file.
    Then its MIME type (the filename is never looked at), then its size."""
    call, release = ctx.call, ctx.call.release
    if release.stt_flag_first:
        _speech_to_text_on(ctx)
        if not call.files:
            raise DifyError("no_audio_uploaded")
    else:
        if not call.files:
            raise DifyError("bad_request_key_error")
        _speech_to_text_on(ctx)
    audio = call.files[0]
    if audio.mime not in release.stt_mime_types:
        raise DifyError("unsupported_audio_type")
    if audio.oversize:
        raise DifyError("audio_too_large", "Audio size larger than 30 mb")


def to_text(ctx: ActContext) -> dict[str, Any]:
    data = ctx.call.files[0].data
    text = mp3.spoken_text(data)
    if text is None:
        text = TRANSCRIPTS[int.from_bytes(hashlib.sha256(data).digest()[:4], "big") % len(TRANSCRIPTS)]
    return {"result": {"text": text}}


def _message(ctx: ActContext, given: str) -> Message | None:
    """The message to speak: 1.12/1.14 look in every app, 1.16 among the caller's own."""
    try:
        wanted = str(uuid.UUID(given))
    except ValueError:
        return None
    messages = ctx.tenant.state.messages
    if ctx.call.release.tts_message_any_app:
        return messages.get(wanted)
    app, user = owner(ctx)
    return messages.get(wanted, app=app, user=user)


def _check_speech(ctx: ActContext) -> None:
    """What to speak, in which voice; None when Dify answers `null` (no such message, or an empty
    answer). The flag is checked only when the request names no voice."""
    payload, release = ctx.call.payload, ctx.call.release
    ctx.bound["speech"] = None
    text: str | None = payload.get("text")
    if payload.get("message_id"):
        found = _message(ctx, payload["message_id"])
        if found is None or (found.answer == "" and found.status in release.tts_silent_statuses):
            return
        text = found.answer
    elif text is None:
        raise DifyError("invalid_param", "Text is required")
    voice = payload.get("voice")
    if voice is None:
        tts = _feature(ctx, "text_to_speech")
        if not tts.get("enabled"):
            raise DifyError("invalid_param", "TTS is not enabled")
        voice = tts.get("voice")
    ctx.bound["speech"] = (text.strip(), voice or DEFAULT_VOICE)


def to_audio(ctx: ActContext) -> dict[str, Any]:
    """The MP3 as the plugin streams it: audio/mpeg, chunked, nothing else (no Content-Disposition)."""
    speech = ctx.bound["speech"]
    if speech is None:
        return {"result": None}
    return {"result": Blob(mp3.speak(*speech), {"Content-Type": "audio/mpeg"}, chunked=True)}


ACTIONS = (
    Action("audio.to_text", to_text, checks=(("audio", _check_audio),)),
    Action("audio.to_audio", to_audio, checks=(("speech", _check_speech),)),
)
