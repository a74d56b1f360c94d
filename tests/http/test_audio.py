"""POST /v1/audio-to-text and POST /v1/text-to-audio: Dify's checks in each release's order, the
30 MiB boundary, the MIME list, features per app, and a real MP3 decoded by a real decoder
(REFERENCE §6.4; research/annotations_audio.md §7, §9)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import miniaudio
import pytest
from dify_facts import UNKNOWN_UUID, auth, multipart

STT = "/v1/audio-to-text"
TTS = "/v1/text-to-audio"
MIB = 1024 * 1024
RELEASES = ("1.12", "1.14", "1.16")
ACCEPTED = ("audio/mp3", "audio/m4a", "audio/wav", "audio/amr", "audio/mpga")
REFUSED = (
    "audio/mpeg",  # the IANA type of .mp3: not in Dify's list
    "audio/x-wav",
    "audio/wave",
    "audio/webm",
    "audio/ogg",
    "audio/mp4",
    "audio/aac",
    "audio/flac",
    "application/octet-stream",  # what curl -F file=@a.mp3 sends
)
CLIP = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 28  # any bytes: only the MIME type is checked
VOICE_APPS = """
apps:
  app-voice:
    mode: workflow
    name: Voice Workflow
    parameters:
      speech_to_text: {enabled: true}
      text_to_speech: {enabled: true, voice: nova, language: en-US}
  app-mute:
    mode: chat
    name: Mute Chat
    parameters:
      speech_to_text: {enabled: false}
      text_to_speech: {enabled: false, voice: nova}
  app-voiceless:
    mode: completion
    name: Completion without a voice
    parameters:
      text_to_speech: {enabled: true, voice: ""}
"""


async def transcribe(
    client: Any,
    mime: str | None = "audio/mp3",
    data: bytes = CLIP,
    key: str = "app-chat",
    filename: str | None = "clip.mp3",
    part: str = "file",
) -> Any:
    body, headers = multipart(("user", None, None, b"u1"), (part, filename, mime, data))
    return await client.post(STT, data=body, headers={**auth(key), **headers})


async def speak(client: Any, key: str = "app-chat", **body: Any) -> Any:
    return await client.post(TTS, json={"user": "u1", **body}, headers=auth(key))


async def audio(client: Any, key: str = "app-chat", **body: Any) -> bytes:
    resp = await speak(client, key, **body)
    data = await resp.read()
    assert resp.status == 200, data[:300]
    assert resp.headers["Content-Type"] == "audio/mpeg"
    return data


async def expect_null(client: Any, key: str = "app-chat", **body: Any) -> None:
    """Dify's service returned None: flask-restx answers JSON `null`."""
    resp = await speak(client, key, **body)
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/json"
    assert await resp.read() == b"null\n"


@pytest.fixture
async def voice_client(make_client, tmp_path: Path):
    (tmp_path / "_apps.yaml").write_text(VOICE_APPS)
    return await make_client(fixtures=(tmp_path,))


async def chat(client: Any, query: str, user: str = "u1", key: str = "app-chat") -> dict[str, Any]:
    body = {"inputs": {}, "query": query, "user": user, "response_mode": "blocking"}
    resp = await client.post("/v1/chat-messages", json=body, headers=auth(key))
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


# --- audio-to-text ---------------------------------------------------------------------------------


@pytest.mark.parametrize("release", RELEASES)
async def test_a_transcript_is_the_only_key_and_the_same_for_the_same_bytes(make_client, release):
    client = await make_client(dify_version=release)
    resp = await transcribe(client)
    assert resp.status == 200
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert list(body) == ["text"] and isinstance(body["text"], str) and body["text"]
    again = await (await transcribe(client, filename="other.wav", key="app-chat")).json()
    assert again == body  # the bytes decide, never the name
    fresh = await make_client(dify_version=release, seed=7)
    assert await (await transcribe(fresh)).json() == body


async def test_what_text_to_audio_said_reads_back_as_its_text(client):
    said = "Hello there. The mock speaks, and listens!"
    mp3 = await audio(client, text=said)
    resp = await transcribe(client, data=mp3)
    assert await resp.json() == {"text": said}


@pytest.mark.parametrize("release", ["1.12", "1.14"])
async def test_before_1_16_the_file_is_read_first_and_a_disabled_feature_is_a_value_error(
    make_client, release, expect_error
):
    client = await make_client(dify_version=release)
    werkzeug = "The browser (or proxy) sent a request that this server could not understand."
    # No file (even with speech-to-text off): request.files["file"] is Werkzeug's BadRequestKeyError.
    for key in ("app-chat", "app-completion"):
        body, headers = multipart(("user", None, None, b"u1"))
        resp = await client.post(STT, data=body, headers={**auth(key), **headers})
        await expect_error(resp, 400, "bad_request_key_error", werkzeug)
    # A `file` part without a filename is a form field; a file in another part is no `file`.
    await expect_error(await transcribe(client, filename=None), 400, "bad_request_key_error", werkzeug)
    await expect_error(await transcribe(client, part="audio"), 400, "bad_request_key_error")
    resp = await client.post(STT, json={"user": "u1"}, headers=auth("app-chat"))  # not multipart: no files
    await expect_error(resp, 400, "bad_request_key_error")
    # Then the feature, before the type.
    for mime in ("audio/mp3", "audio/mpeg"):
        resp = await transcribe(client, mime=mime, key="app-completion")
        await expect_error(resp, 400, "invalid_param", "Speech to text is not enabled")


async def test_1_16_checks_the_feature_before_the_file(make_client, expect_error):
    client = await make_client(dify_version="1.16")
    body, headers = multipart(("user", None, None, b"u1"))
    resp = await client.post(STT, data=body, headers={**auth("app-completion"), **headers})
    await expect_error(resp, 400, "speech_to_text_disabled", "Speech to text is disabled.")
    resp = await transcribe(client, mime="audio/mpeg", key="app-completion")
    await expect_error(resp, 400, "speech_to_text_disabled", "Speech to text is disabled.")
    resp = await client.post(STT, data=body, headers={**auth("app-chat"), **headers})
    await expect_error(resp, 400, "no_audio_uploaded", "Please upload your audio.")
    await expect_error(await transcribe(client, filename=None), 400, "no_audio_uploaded")
    resp = await client.post(STT, json={"user": "u1"}, headers=auth("app-chat"))
    await expect_error(resp, 400, "no_audio_uploaded")


@pytest.mark.parametrize("release", RELEASES)
async def test_only_difys_audio_types_pass(make_client, release, expect_error):
    client = await make_client(dify_version=release)
    for mime in ACCEPTED:
        assert (await transcribe(client, mime=mime)).status == 200, mime
    # Werkzeug lower-cases the type and drops its parameters; the filename is never looked at.
    assert (await transcribe(client, mime="Audio/MP3; x=1", filename="notes.txt")).status == 200
    for mime in (*REFUSED, None):
        resp = await transcribe(client, mime=mime)
        await expect_error(resp, 415, "unsupported_audio_type", "Audio type not allowed.")
    x_m4a = await transcribe(client, mime="audio/x-m4a")
    if release == "1.16":
        assert x_m4a.status == 200  # mapped to audio/m4a since 1.16 (#40776)
    else:
        await expect_error(x_m4a, 415, "unsupported_audio_type")


@pytest.mark.parametrize("release", ["1.14", "1.16"])
async def test_thirty_mib_pass_one_byte_more_is_413_after_the_type(make_client, release, expect_error):
    client = await make_client(dify_version=release)
    limit = 30 * MIB
    assert limit == 31_457_280
    resp = await transcribe(client, data=b"\x00" * limit)
    assert resp.status == 200, await resp.text()
    resp = await transcribe(client, data=b"\x00" * (limit + 1))
    await expect_error(resp, 413, "audio_too_large", "Audio size larger than 30 mb")
    resp = await transcribe(client, mime="audio/mpeg", data=b"\x00" * (limit + 1))
    await expect_error(resp, 415, "unsupported_audio_type")  # the type is checked first


async def test_the_feature_is_the_apps_in_apps_yaml(voice_client, expect_error):
    assert (await transcribe(voice_client, key="app-voice")).status == 200  # a workflow app: no mode guard
    resp = await transcribe(voice_client, key="app-mute")
    await expect_error(resp, 400, "speech_to_text_disabled")
    resp = await transcribe(voice_client, key="app-voiceless")  # left out: Dify's default, off
    await expect_error(resp, 400, "speech_to_text_disabled")


async def test_parameters_show_the_built_in_chat_apps_audio_features(client):
    params = await (await client.get("/v1/parameters", headers=auth("app-chat"))).json()
    assert params["speech_to_text"] == {"enabled": True}
    assert params["text_to_speech"] == {"enabled": True, "voice": "alloy", "language": "en-US", "autoPlay": "disabled"}
    other = await (await client.get("/v1/parameters", headers=auth("app-completion"))).json()
    assert other["speech_to_text"] == {"enabled": False} and other["text_to_speech"] == {"enabled": False}


async def test_a_stub_scenario_sets_the_transcript(client, expect_error):
    stub = {"endpoint": "service.audio_to_text", "scenario": {"respond": {"blocking": {"text": "Stubbed words."}}}}
    assert (await client.post("/_mock/scenarios", json=stub)).status == 201
    resp = await transcribe(client)
    assert await resp.json() == {"text": "Stubbed words."}
    # The action's checks still refuse first.
    await expect_error(await transcribe(client, mime="audio/mpeg"), 415, "unsupported_audio_type")


# --- text-to-audio ---------------------------------------------------------------------------------


def decode(data: bytes) -> list[int]:
    """The MP3's samples, decoded by miniaudio (dr_mp3), in the stream's own format."""
    info = miniaudio.mp3_get_info(data)
    assert (info.sample_rate, info.nchannels) == (48_000, 1)
    decoded = miniaudio.decode(data, output_format=miniaudio.SampleFormat.SIGNED16, nchannels=1, sample_rate=48_000)
    assert decoded.sample_rate == 48_000 and decoded.nchannels == 1
    return list(decoded.samples)


def tone_share(samples: list[int], hz: float, rate: int = 48_000) -> float:
    """The part of the samples' power at `hz` (Goertzel)."""
    coeff = 2 * math.cos(2 * math.pi * hz / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    amplitude = 2 * math.sqrt(max(s1 * s1 + s2 * s2 - coeff * s1 * s2, 0.0)) / len(samples)
    power = sum(x * x for x in samples) / len(samples)
    return amplitude * amplitude / 2 / power


async def test_the_audio_is_a_playable_mp3_a_real_decoder_reads(client):
    data = await audio(client, text="Hello, world. This is a test of the mock's voice.")
    assert data[:2] == b"\xff\xfb"  # an MPEG-1 Layer III frame, no ID3 tag
    samples = decode(data)
    seconds = len(samples) / 48_000
    assert 1.0 < seconds < 10.0
    assert max(abs(s) for s in samples) > 1000  # not silence
    # One long word is one steady note: nearly all its power at one pitch (line x 41.67 Hz).
    note = decode(await audio(client, text="Supercalifragilistic"))[4800:24000]
    assert max(tone_share(note, line * 48_000 / 1152) for line in range(7, 15)) > 0.95


async def test_the_body_streams_as_audio_mpeg_without_length_or_disposition(client):
    resp = await speak(client, text="Chunked, as gunicorn sends a generator.")
    data = await resp.read()
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "audio/mpeg"  # exactly: no charset
    assert resp.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in resp.headers
    assert "Content-Disposition" not in resp.headers
    assert data


async def test_same_input_same_bytes_and_streaming_is_ignored(client, make_client):
    first = await audio(client, text="Same words, same sound.")
    assert await audio(client, text="Same words, same sound.") == first
    assert await audio(client, text="  Same words, same sound.\n") == first  # Dify strips the text
    assert await audio(client, text="Same words, same sound.", streaming=True) == first
    assert await audio(client, text="Same words, same sound.", streaming=False) == first
    other = await make_client(seed=42, dify_version="1.12")
    assert await audio(other, text="Same words, same sound.") == first
    assert await audio(client, text="Other words, other sound.") != first
    longer = await audio(client, text="Same words, same sound, and then some more words.")
    assert len(decode(longer)) > len(decode(first))  # the length follows the text's


async def test_the_voice_is_the_requests_else_the_apps(client, voice_client):
    default = await audio(client, text="Which voice?")
    assert await audio(client, text="Which voice?", voice="alloy") == default  # app-chat's voice
    assert await audio(client, text="Which voice?", voice="") == default  # empty: the provider's first
    nova = await audio(client, text="Which voice?", voice="nova")
    assert nova != default
    assert await audio(voice_client, key="app-voice", text="Which voice?") == nova
    assert await audio(voice_client, key="app-voiceless", text="Which voice?") == default


async def test_text_is_required_before_the_feature_is_checked(client, expect_error):
    for key in ("app-chat", "app-completion"):
        for body in ({}, {"message_id": ""}, {"text": None}, {"message_id": None, "voice": "nova"}):
            resp = await speak(client, key, **body)
            await expect_error(resp, 400, "invalid_param", "Text is required")


async def test_tts_off_refuses_unless_a_voice_is_given(voice_client, expect_error):
    for key in ("app-mute", "app-completion"):
        resp = await speak(voice_client, key, text="Speak up.")
        await expect_error(resp, 400, "invalid_param", "TTS is not enabled")
        resp = await speak(voice_client, key, text="Speak up.", voice=None)
        await expect_error(resp, 400, "invalid_param", "TTS is not enabled")
        assert decode(await audio(voice_client, key, text="Speak up.", voice="nova"))
        assert decode(await audio(voice_client, key, text="Speak up.", voice=""))


async def test_empty_text_is_an_empty_stream(client):
    # Dify hands "" to the provider after the headers went out; OpenAI's plugin yields nothing.
    assert await audio(client, text="") == b""
    assert await audio(client, text="   ") == b""


@pytest.mark.parametrize("release", RELEASES)
async def test_a_message_id_speaks_its_answer_and_wins_over_text(make_client, release):
    client = await make_client(dify_version=release)
    message = await chat(client, "read this aloud")
    answer = message["answer"]
    spoken = await audio(client, message_id=message["id"], text="ignored")
    assert spoken == await audio(client, text=answer)
    assert await audio(client, message_id=message["id"].upper()) == spoken  # any form uuid.UUID reads


@pytest.mark.parametrize("release", RELEASES)
async def test_unknown_or_non_uuid_message_ids_answer_null(make_client, release):
    client = await make_client(dify_version=release)
    for message_id in ("not-a-uuid", UNKNOWN_UUID, "123"):
        await expect_null(client, message_id=message_id)
        await expect_null(client, message_id=message_id, text="the text is never read")
        await expect_null(client, "app-completion", message_id=message_id)  # before the feature check


@pytest.mark.parametrize(("release", "found"), [("1.12", True), ("1.14", True), ("1.16", False)])
async def test_another_apps_or_users_message_by_release(make_client, release, found):
    client = await make_client(dify_version=release)
    message = await chat(client, "whose message?", user="u1")
    expected = await audio(client, text=message["answer"])
    for key, user in (("app-chat", "u2"), ("app-completion", "u1")):
        body = {"message_id": message["id"], "user": user, "voice": "alloy"}
        if found:  # 1.12 and 1.14 look the id up in any app
            assert await audio(client, key, **body) == expected
        else:  # 1.16: the caller's app and end user only
            await expect_null(client, key, **body)


async def test_a_message_with_an_empty_answer_answers_null(client):
    stub = {
        "endpoint": "service.send_chat_message",
        "tenant": "s:quiet",
        "scenario": {"respond": {"stream": {"events": [{"event": "message_end"}]}}},
    }
    assert (await client.post("/_mock/scenarios", json=stub)).status == 201
    body = {"inputs": {}, "query": "say nothing", "user": "u1", "response_mode": "blocking"}
    headers = auth("app-chat", **{"X-Mock-Session": "quiet"})
    message = await (await client.post("/v1/chat-messages", json=body, headers=headers)).json()
    assert message["answer"] == ""
    resp = await client.post(TTS, json={"message_id": message["id"], "user": "u1"}, headers=headers)
    assert (resp.status, await resp.read()) == (200, b"null\n")


async def test_the_body_is_checked_as_difys_payload(client, expect_error):
    resp = await client.post(TTS, data=b"text=hi", headers={**auth("app-chat"), "Content-Type": "text/plain"})
    await expect_error(resp, 415, "unsupported_media_type")
    resp = await client.post(TTS, data=b"{", headers={**auth("app-chat"), "Content-Type": "application/json"})
    await expect_error(resp, 400, "bad_request")
    resp = await client.post(TTS, json=["hi"], headers=auth("app-chat"))  # user read from a list: AttributeError
    await expect_error(resp, 500, "unknown", "Internal Server Error")
    resp = await speak(client, text="hi", streaming="abc")
    body = await expect_error(resp, 400, "invalid_param")
    assert body["message"].startswith(
        "1 validation error for TextToAudioPayload\nstreaming\n  Input should be a valid boolean, unable to interpret"
    )
    resp = await speak(client, message_id=123)
    body = await expect_error(resp, 400, "invalid_param")
    assert "message_id\n  Input should be a valid string [type=string_type" in body["message"]


async def test_faults_still_apply_to_the_audio(client, expect_error):
    expected = await audio(client, text="Slowly, slice by slice.")
    headers = {**auth("app-chat"), "X-Mock-Fault": "dribble;bytes=500;ms=1"}
    resp = await client.post(TTS, json={"text": "Slowly, slice by slice."}, headers=headers)
    chunks = [chunk async for chunk in resp.content.iter_any()]
    assert resp.headers["Content-Type"] == "audio/mpeg" and "Content-Length" not in resp.headers
    assert b"".join(chunks) == expected
    headers = {
        **auth("app-chat"),
        "X-Mock-Fault": "error;code=provider_not_initialize;message=Default model not found for tts",
    }
    resp = await client.post(TTS, json={"text": "x"}, headers=headers)
    await expect_error(resp, 400, "provider_not_initialize", "Default model not found for tts")


async def test_the_openapi_document_names_the_audio_type(client):
    paths = (await (await client.get("/_mock/openapi.json")).json())["paths"]
    assert list(paths["/v1/text-to-audio"]["post"]["responses"]["200"]["content"]) == ["audio/mpeg"]
    assert list(paths["/v1/audio-to-text"]["post"]["requestBody"]["content"]) == ["multipart/form-data"]
