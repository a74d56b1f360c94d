"""POST /v1/files/upload, GET /v1/files/{id}/preview and uploads referenced in a generation's `files`
(REFERENCE §6.1-§6.2; research/files.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from dify_facts import multipart

UPLOAD = "/v1/files/upload"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 56
BOUNDARY = "mockboundary"
UPLOAD_KEYS = [
    "id",
    "reference",
    "name",
    "size",
    "extension",
    "mime_type",
    "created_by",
    "created_at",
    "preview_url",
    "source_url",
    "original_url",
    "user_id",
    "tenant_id",
    "conversation_id",
    "file_key",
]
UPLOADS_ON = """
apps:
  app-files:
    mode: chat
    name: Files Chat
    parameters:
      file_upload:
        enabled: true
        allowed_file_types: [image, document]
        allowed_file_extensions: []
        allowed_file_upload_methods: [local_file, remote_url]
        number_limits: 2
  app-files-too:
    mode: chat
    name: Other Files Chat
    parameters:
      file_upload: {enabled: true, allowed_file_types: [image], allowed_file_upload_methods: [local_file]}
"""


def auth(key: str = "app-files") -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "X-Mock-Session": "files"}


async def upload(
    client: Any,
    filename: str = "photo.png",
    mime: str | None = "image/png",
    data: bytes = PNG,
    user: str = "u1",
    key: str = "app-files",
) -> Any:
    body, headers = multipart(("user", None, None, user.encode()), ("file", filename, mime, data))
    return await client.post(UPLOAD, data=body, headers={**auth(key), **headers})


@pytest.fixture
async def files_client(make_client, tmp_path: Path):
    (tmp_path / "_apps.yaml").write_text(UPLOADS_ON)
    return await make_client(fixtures=(tmp_path,))


async def test_an_upload_is_201_with_difys_file_object(files_client):
    resp = await upload(files_client)
    assert resp.status == 201
    body = await resp.json()
    assert list(body) == UPLOAD_KEYS
    assert (body["name"], body["size"], body["extension"], body["mime_type"]) == (
        "photo.png",
        len(PNG),
        "png",
        "image/png",
    )
    assert body["reference"] is None and body["preview_url"] is None and body["conversation_id"] is None
    assert re.fullmatch(
        rf"/files/{body['id']}/file-preview\?timestamp={body['created_at']}&nonce=[0-9a-f]{{32}}&sign=[A-Za-z0-9_-]{{43}}%3D",
        body["source_url"],
    )
    again = await (await upload(files_client)).json()
    assert again["created_by"] == body["created_by"] != "u1"  # the end user's id, not the user string
    assert again["tenant_id"] == body["tenant_id"] and again["id"] != body["id"]


async def test_the_user_may_be_left_out_and_the_sdk_style_form_works(files_client):
    from aiohttp import FormData

    form = FormData()
    form.add_field("file", b"hello", filename="notes.txt", content_type="text/plain")
    resp = await files_client.post(UPLOAD, data=form, headers=auth())
    assert resp.status == 201
    assert (await resp.json())["mime_type"] == "text/plain"


async def test_1_14_has_no_reference_key(make_client, tmp_path: Path):
    (tmp_path / "_apps.yaml").write_text(UPLOADS_ON)
    client = await make_client(fixtures=(tmp_path,), dify_version="1.14")
    body = await (await upload(client)).json()
    assert list(body) == [k for k in UPLOAD_KEYS if k != "reference"]


async def test_upload_refusals_in_difys_order(files_client, expect_error):
    body, headers = multipart(("user", None, None, b"u1"))
    resp = await files_client.post(UPLOAD, data=body, headers={**auth(), **headers})
    await expect_error(resp, 400, "no_file_uploaded", "Please upload your file.")
    resp = await files_client.post(UPLOAD, json={"user": "u1"}, headers=auth())  # not multipart: no file
    await expect_error(resp, 400, "no_file_uploaded")
    body, headers = multipart(("file", "a.png", "image/png", PNG), ("other", "b.png", "image/png", PNG))
    resp = await files_client.post(UPLOAD, data=body, headers={**auth(), **headers})
    await expect_error(resp, 400, "too_many_files", "Only one file is allowed.")
    body, headers = multipart(("file", "", None, PNG))  # no type goes before no name
    resp = await files_client.post(UPLOAD, data=body, headers={**auth(), **headers})
    await expect_error(resp, 415, "unsupported_file_type", "File type not allowed.")
    resp = await upload(files_client, filename="")
    await expect_error(resp, 400, "filename_not_exists_error", "The specified filename does not exist.")
    resp = await upload(files_client, filename="a/b.png")
    await expect_error(resp, 400, "invalid_param", "Filename contains invalid characters")


async def test_two_parts_named_file_are_one_field_and_the_first_wins(files_client):
    body, headers = multipart(("file", "first.png", "image/png", PNG), ("file", "second.png", "image/png", PNG))
    resp = await files_client.post(UPLOAD, data=body, headers={**auth(), **headers})
    assert resp.status == 201 and (await resp.json())["name"] == "first.png"


async def test_size_limits_by_category_and_release(make_client, tmp_path: Path, expect_error):
    (tmp_path / "_apps.yaml").write_text(UPLOADS_ON)
    client = await make_client(fixtures=(tmp_path,), upload_limit=(("image", 1),))
    big = b"\x00" * (1024 * 1024 + 1)
    assert (await upload(client, data=big[:-1])).status == 201  # the limit itself is allowed
    assert (await upload(client, "doc.pdf", "application/pdf", big)).status == 201  # other: 15 MB
    body = (await (await upload(client, data=big)).read()).decode()
    assert body == '{"code":"file_too_large","message":"","status":413}\n'  # 1.14.2+: an empty text
    old = await make_client(fixtures=(tmp_path,), upload_limit=(("image", 1),), dify_version="1.12")
    resp = await upload(old, data=big)
    await expect_error(resp, 413, "file_too_large", "File size exceeded. {message}")
    resp = await upload(old, filename="a:b.png")  # 1.12 refused more characters
    await expect_error(resp, 400, "invalid_param", "Filename contains invalid characters")


async def send(client: Any, files: list[dict[str, Any]], key: str = "app-files", user: str = "u1") -> Any:
    body = {"inputs": {}, "query": "look", "user": user, "response_mode": "blocking", "files": files}
    return await client.post("/v1/chat-messages", json=body, headers=auth(key))


def local(file_id: str, kind: str = "image") -> dict[str, Any]:
    return {"type": kind, "transfer_method": "local_file", "upload_file_id": file_id}


async def test_an_uploaded_file_sent_in_a_chat_is_in_the_history_and_previewable(files_client):
    file_id = (await (await upload(files_client)).json())["id"]
    preview = f"/v1/files/{file_id}/preview"
    resp = await files_client.get(preview, headers=auth())
    assert resp.status == 404 and (await resp.json())["message"] == "File not found in message context"
    answer = await (await send(files_client, [local(file_id)])).json()
    history = await files_client.get(
        "/v1/messages", params={"user": "u1", "conversation_id": answer["conversation_id"]}, headers=auth()
    )
    (message,) = (await history.json())["data"]
    (carried,) = message["message_files"]
    assert list(carried) == [
        "id",
        "filename",
        "type",
        "url",
        "mime_type",
        "size",
        "transfer_method",
        "belongs_to",
        "upload_file_id",
    ]
    assert (carried["filename"], carried["type"], carried["upload_file_id"]) == ("photo.png", "image", file_id)
    assert (carried["transfer_method"], carried["belongs_to"], carried["size"]) == ("local_file", "user", len(PNG))
    resp = await files_client.get(preview, params={"user": "someone-else"}, headers=auth())  # no user check
    assert resp.status == 200 and await resp.read() == PNG
    assert resp.headers["Content-Type"] == "image/png"
    assert resp.headers["Content-Length"] == str(len(PNG))
    assert resp.headers["Cache-Control"] == "public, max-age=3600"
    assert "Content-Disposition" not in resp.headers
    resp = await files_client.get(preview, params={"as_attachment": "true"}, headers=auth())
    assert resp.headers["Content-Disposition"] == "attachment; filename*=UTF-8''photo.png"
    assert resp.headers["Content-Type"] == "application/octet-stream"


async def test_preview_headers_of_text_and_html(files_client):
    for name, mime in (("my notes.txt", "text/plain"), ("page.html", "text/html")):
        file_id = (await (await upload(files_client, name, mime, b"<b>hi</b>")).json())["id"]
        assert (await send(files_client, [local(file_id, "document")])).status == 200
        resp = await files_client.get(f"/v1/files/{file_id}/preview", headers=auth())
        assert await resp.read() == b"<b>hi</b>"
        if mime == "text/plain":
            assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
            assert "Content-Disposition" not in resp.headers
        else:  # HTML is always a download, never rendered
            assert resp.headers["Content-Disposition"] == "attachment; filename*=UTF-8''page.html"
            assert resp.headers["X-Content-Type-Options"] == "nosniff"


async def test_preview_refusals(files_client, expect_error):
    file_id = (await (await upload(files_client)).json())["id"]
    await send(files_client, [local(file_id)])
    resp = await files_client.get(f"/v1/files/{file_id}/preview", headers=auth("app-files-too"))
    await expect_error(resp, 403, "file_access_denied", "File access denied: not owned by requesting app")
    resp = await files_client.get(f"/v1/files/{file_id}/preview", params={"as_attachment": "maybe"}, headers=auth())
    await expect_error(
        resp,
        400,
        "invalid_param",
        "1 validation error for FilePreviewQuery\nas_attachment\n  Input should be a valid boolean, unable to "
        "interpret input [type=bool_parsing, input_value='maybe', input_type=str]\n"
        "    For further information visit https://errors.pydantic.dev/2.12/v/bool_parsing",
    )
    resp = await files_client.get("/v1/files/not-a-uuid/preview", headers=auth())
    assert resp.status == 404 and resp.content_type == "text/html"


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"type": "image", "transfer_method": "local_file"}, "Invalid upload file id"),
        ({"type": "image", "transfer_method": "local_file", "upload_file_id": "nope"}, "Invalid upload file id format"),
        (
            {
                "type": "image",
                "transfer_method": "local_file",
                "upload_file_id": "0b0e2f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
            },
            "Invalid upload file",
        ),
        ({"type": "image", "transfer_method": "carrier_pigeon"}, "'carrier_pigeon' is not a valid FileTransferMethod"),
        ({"type": "image", "transfer_method": "tool_file", "tool_file_id": "t1"}, "ToolFile t1 not found"),
    ],
)
async def test_bad_file_references_are_invalid_param(files_client, expect_error, mapping, message):
    await expect_error(await send(files_client, [mapping]), 400, "invalid_param", message)


async def test_another_users_upload_is_refused_from_1_14_only(make_client, tmp_path: Path, expect_error):
    (tmp_path / "_apps.yaml").write_text(UPLOADS_ON)
    for version, ok in (("1.16", False), ("1.12", True)):
        client = await make_client(fixtures=(tmp_path,), dify_version=version)
        file_id = (await (await upload(client, user="owner")).json())["id"]
        resp = await send(client, [local(file_id)], user="stranger")
        if ok:
            assert resp.status == 200
        else:
            await expect_error(resp, 400, "invalid_param", "Invalid upload file")


async def test_the_apps_upload_settings_apply(files_client, expect_error):
    file_id = (await (await upload(files_client, "clip.mp4", "video/mp4", b"v")).json())["id"]
    resp = await send(files_client, [local(file_id, "video")])
    await expect_error(resp, 400, "invalid_param", "File validation failed for file: clip.mp4")
    ids = [(await (await upload(files_client)).json())["id"] for _ in range(3)]
    resp = await send(files_client, [local(i) for i in ids])
    await expect_error(resp, 400, "invalid_param", "Number of image files exceeds the maximum limit 2")


async def test_an_app_without_uploads_ignores_files(client):
    resp = await send(client, [{"type": "image", "transfer_method": "local_file"}], key="app-chat")
    assert resp.status == 200


async def test_a_workflow_checks_the_declared_type(make_client, tmp_path: Path, expect_error):
    (tmp_path / "_apps.yaml").write_text(UPLOADS_ON)
    client = await make_client(fixtures=(tmp_path,))
    file_id = (await (await upload(client, key="app-workflow")).json())["id"]
    body = {"inputs": {}, "user": "u1", "files": [local(file_id, "document")]}
    resp = await client.post("/v1/workflows/run", json=body, headers=auth("app-workflow"))
    await expect_error(
        resp, 400, "invalid_param", "Detected file type does not match the specified type. Please verify the file."
    )
    body["files"] = [local(file_id, "image")]
    assert (await client.post("/v1/workflows/run", json=body, headers=auth("app-workflow"))).status == 200


async def test_a_remote_url_file_is_carried_with_its_url(files_client):
    url = "https://example.com/pics/cat.png"
    answer = await (await send(files_client, [{"type": "image", "transfer_method": "remote_url", "url": url}])).json()
    history = await files_client.get(
        "/v1/messages", params={"user": "u1", "conversation_id": answer["conversation_id"]}, headers=auth()
    )
    (carried,) = (await history.json())["data"][0]["message_files"]
    assert (carried["url"], carried["filename"], carried["transfer_method"]) == (url, "cat.png", "remote_url")
    assert carried["upload_file_id"] is None and carried["mime_type"] == "image/png"


async def test_the_journal_shows_an_uploads_fields_and_file_not_its_bytes(files_client):
    await upload(files_client)
    resp = await files_client.get("/_mock/journal", params={"tenant": "s:files"})
    (entry,) = [e for e in (await resp.json())["data"] if e["endpoint"] == "service.upload_file"]
    assert entry["body"] == {
        "user": "u1",
        "files": [{"part": "file", "filename": "photo.png", "mime_type": "image/png", "size": len(PNG)}],
    }


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"garbage", f"multipart/form-data; boundary={BOUNDARY}"),
        (b"", "multipart/form-data"),
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'.encode(),
            f"multipart/form-data; boundary={BOUNDARY}",
        ),
    ],
    ids=["garbage", "no-boundary", "unterminated"],
)
async def test_a_malformed_multipart_body_has_no_file(files_client, expect_error, body, content_type):
    resp = await files_client.post(UPLOAD, data=body, headers={**auth(), "Content-Type": content_type})
    await expect_error(resp, 400, "no_file_uploaded", "Please upload your file.")


async def test_a_deleted_conversations_files_are_no_longer_previewable(files_client):
    file_id = (await (await upload(files_client)).json())["id"]
    answer = await (await send(files_client, [local(file_id)])).json()
    preview = f"/v1/files/{file_id}/preview"
    assert (await files_client.get(preview, headers=auth())).status == 200
    resp = await files_client.delete(
        f"/v1/conversations/{answer['conversation_id']}", json={"user": "u1"}, headers=auth()
    )
    assert resp.status == 204
    resp = await files_client.get(preview, headers=auth())
    assert resp.status == 404 and (await resp.json())["message"] == "File not found in message context"


@pytest.mark.parametrize(("limit", "images", "ok"), [(0, 1, False), (None, 3, True), (None, 4, False), (1, 1, True)])
async def test_number_limits_is_the_image_limit_too(make_client, tmp_path: Path, limit, images: int, ok: bool):
    upload_cfg = {"enabled": True, "allowed_file_upload_methods": ["remote_url"]}
    if limit is not None:
        upload_cfg["number_limits"] = limit
    (tmp_path / "_apps.yaml").write_text(
        json.dumps({"apps": {"app-files": {"mode": "chat", "parameters": {"file_upload": upload_cfg}}}})
    )
    client = await make_client(fixtures=(tmp_path,))
    files = [
        {"type": "image", "transfer_method": "remote_url", "url": f"https://x.test/{i}.png"} for i in range(images)
    ]
    resp = await send(client, files)
    if ok:
        assert resp.status == 200
    else:
        assert (await resp.json())[
            "message"
        ] == f"Number of image files exceeds the maximum limit {3 if limit is None else limit}"


async def test_release_differences_of_file_references(make_client, tmp_path: Path, expect_error):
    (tmp_path / "_apps.yaml").write_text(UPLOADS_ON)
    new = await make_client(fixtures=(tmp_path,))
    file_id = (await (await upload(new, key="app-workflow")).json())["id"]
    body = {
        "inputs": {},
        "user": "u1",
        "files": [{"type": "xyz", "transfer_method": "local_file", "upload_file_id": file_id}],
    }
    resp = await new.post("/v1/workflows/run", json=body, headers=auth("app-workflow"))
    await expect_error(resp, 400, "invalid_param", "'xyz' is not a valid FileType")  # 1.16 parses it first
    old = await make_client(fixtures=(tmp_path,), dify_version="1.12")
    resp = await send(old, [{"type": "image", "transfer_method": "local_file", "upload_file_id": 5}])
    await expect_error(resp, 500, "internal_server_error")  # a number as the id escapes as an AttributeError
    resp = await send(old, [{"type": "image", "transfer_method": "pigeon"}])
    await expect_error(resp, 400, "invalid_param", "No matching enum found for value 'pigeon'")
    mid = await make_client(fixtures=(tmp_path,), dify_version="1.14")
    resp = await send(mid, [{"type": "image", "transfer_method": 5}])
    await expect_error(resp, 400, "invalid_param", "5 is not a valid FileTransferMethod")


async def test_upload_limits_show_in_the_apps_parameters(make_client):
    client = await make_client(upload_limit=(("image", 20), ("other", 30)))
    params = await (await client.get("/v1/parameters", headers=auth("app-chat"))).json()
    system = params["system_parameters"]
    assert (system["image_file_size_limit"], system["file_size_limit"], system["video_file_size_limit"]) == (
        20,
        30,
        100,
    )
