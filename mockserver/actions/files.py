"""File routes: POST /v1/files/upload and GET /v1/files/{id}/preview, in Dify's order of checks
(controllers/service_api/app/file.py, file_preview.py, services/file_service.py at dify 1.12.0,
1.14.2 and 1.16.1; /work/research/files.md)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from mockserver.actions import ActContext, Action
from mockserver.actions.serialize import body
from mockserver.actions.users import end_user_id, owner, workspace_id
from mockserver.dify.files import (
    FILES_ACCESS_TIMEOUT,
    RANGE_TYPES,
    content_type,
    extension,
    preview_headers,
    preview_sign,
    preview_url,
    signing_key,
    stored_filename,
)
from mockserver.errors import DifyError
from mockserver.state.records import Blob, StoredFile


def _check_upload(ctx: ActContext) -> None:
    call = ctx.call
    if not call.files:
        raise DifyError("no_file_uploaded")
    if call.file_fields > 1:  # distinct file fields: two parts both named `file` are one (the first)
        raise DifyError("too_many_files")
    upload = call.files[0]
    if not upload.mime:
        raise DifyError("unsupported_file_type")
    if not upload.filename:
        raise DifyError("filename_not_exists_error")
    if any(c in upload.filename for c in call.release.upload_forbidden_chars):
        raise DifyError("invalid_param", "Filename contains invalid characters")
    if upload.oversize:
        raise DifyError("file_too_large", call.release.upload_too_large_message)


def upload(ctx: ActContext) -> dict[str, Any]:
    """The 201 body of the stored file; the store takes it in the commit, after the faults."""
    given = ctx.call.files[0]
    app, user = owner(ctx)
    file_id = ctx.draws.uuid("file")
    nonce = ctx.draws.random("file:nonce").getrandbits(128).to_bytes(16, "big")
    # FILES_URL is empty by default, so Dify signs a relative URL; GET /files/{id}/file-preview serves it.
    source_url = preview_url(signing_key(ctx.tenant.seed), file_id, ctx.now, nonce.hex(), as_attachment=False)
    name = stored_filename(given.filename)
    stored = StoredFile(
        id=file_id,
        app=app,
        user=user,
        name=name,
        size=given.size,
        extension=extension(given.filename),
        mime_type=given.mime,
        created_by=end_user_id(ctx),
        created_at=ctx.now,
        source_url=source_url,
        tenant_id=workspace_id(ctx),
        data=given.data,
    )
    ctx.bound["file"] = stored
    return {"result": body(ctx, stored), "file_id": file_id}


def _commit_upload(ctx: ActContext, _body: Any) -> None:
    ctx.tenant.state.files.add(ctx.bound["file"])


def _check_preview(ctx: ActContext) -> None:
    """Reachable once a message of this app carries it; the asking user is never checked."""
    wanted = ctx.call.path["file_id"].lower()
    found = ctx.tenant.state.files.get(wanted)
    apps = [m.app for m in ctx.tenant.state.messages if any(f.upload_file_id == wanted for f in m.message_files)]
    if not apps:
        raise DifyError("file_not_found", "File not found in message context")
    if apps[0] != owner(ctx)[0]:
        raise DifyError("file_access_denied", "File access denied: not owned by requesting app")
    if found is None:
        raise DifyError("file_not_found", "Upload file record not found")
    ctx.bound["file"] = found


def preview(ctx: ActContext) -> dict[str, Any]:
    found: StoredFile = ctx.bound["file"]
    attach = bool(ctx.call.params.get("as_attachment"))
    headers = preview_headers(found.mime_type, found.name, found.extension, len(found.data), attach)
    return {"result": Blob(found.data, headers)}


def _check_signed(ctx: ActContext) -> None:
    """verify_file_signature, then the upload row: an app's upload or a Knowledge API document's file
    (a wrong signature and an unknown file are the same 404)."""
    file_id = ctx.call.path["file_id"].lower()
    q = ctx.call.params
    gone = DifyError("not_found", "File not found or signature is invalid")
    if q["sign"] != preview_sign(signing_key(ctx.tenant.seed), file_id, q["timestamp"], q["nonce"]):
        raise gone
    try:
        signed_at = int(q["timestamp"])
    except ValueError as exc:
        raise DifyError("invalid_param", str(exc)) from None
    if ctx.now - signed_at > FILES_ACCESS_TIMEOUT:
        raise gone
    state = ctx.tenant.state
    found = state.files.get(file_id)
    if found is not None:
        ctx.bound["signed"] = (found.name, found.mime_type, found.extension, found.data)
        return
    for document in state.documents:
        row = document.upload_file or {}
        if row.get("id") == file_id:
            ctx.bound["signed"] = (row["name"], row["mime_type"], row["extension"], document.data)
            return
    raise gone


def signed_preview(ctx: ActContext) -> dict[str, Any]:
    """FilePreviewApi's response: the bytes as their MIME type (no Cache-Control), a download when asked
    (or SVG from 1.14) or HTML (always)."""
    name, mime, ext, data = ctx.bound["signed"]
    headers = {"Content-Type": content_type(mime or "application/octet-stream")}
    if mime in RANGE_TYPES:
        headers["Accept-Ranges"] = "bytes"
    svg = ctx.call.release.name != "1.12" and (mime == "image/svg+xml" or ext == "svg")
    if ctx.call.params.get("as_attachment") or svg:
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
        headers["Content-Type"] = "application/octet-stream"
    if svg:
        headers["X-Content-Type-Options"] = "nosniff"
    if mime in ("text/html", "application/xhtml+xml") or ext in ("html", "htm"):
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}" if name else "attachment"
        headers["Content-Type"] = "application/octet-stream"
        headers["X-Content-Type-Options"] = "nosniff"
    return {"result": Blob(data, headers)}


ACTIONS = (
    Action("file.upload", upload, _commit_upload, checks=(("upload", _check_upload),)),
    Action("file.preview", preview, checks=(("file", _check_preview),)),
    Action("file.signed_preview", signed_preview, checks=(("file", _check_signed),)),
)
