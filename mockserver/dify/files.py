"""Dify's facts about uploaded files: size-limit categories by extension, the detected file type,
and how a preview is served. Read at dify 1.12.0, 1.14.2 and 1.16.1 (services/file_service.py
is_file_size_within_limit, constants/__init__.py, controllers/service_api/app/file_preview.py,
controllers/common/file_response.py); /work/research/files.md has the citations."""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Final
from urllib.parse import quote, urlencode

MB: Final = 1024 * 1024

# The upload size limit of a file depends on its extension only, never its MIME type.
IMAGE_EXTENSIONS: Final = frozenset({"jpg", "jpeg", "png", "webp", "gif", "svg"})
VIDEO_EXTENSIONS: Final = frozenset({"mp4", "mov", "mpeg", "webm"})
AUDIO_EXTENSIONS: Final = frozenset({"mp3", "m4a", "wav", "amr", "mpga"})
DOCUMENT_EXTENSIONS: Final = frozenset(
    {"txt", "markdown", "md", "mdx", "pdf", "html", "htm", "xlsx", "xls", "vtt", "properties", "doc", "docx"}
    | {"csv", "eml", "msg", "pptx", "xml", "epub", "ppt"}
)
# UPLOAD_{IMAGE,VIDEO,AUDIO}_FILE_SIZE_LIMIT and UPLOAD_FILE_SIZE_LIMIT, in MB.
DEFAULT_LIMITS_MB: Final[dict[str, int]] = {"image": 10, "video": 100, "audio": 50, "other": 15}
CATEGORIES: Final = tuple(DEFAULT_LIMITS_MB)

# Served with Accept-Ranges: bytes (ranges are never honoured: the whole file, 200).
RANGE_TYPES: Final = frozenset(
    {"audio/mpeg", "audio/wav", "audio/mp4", "audio/ogg", "audio/flac", "audio/aac"}
    | {"video/mp4", "video/webm", "video/quicktime", "audio/x-m4a"}
)
HTML_TYPES: Final = frozenset({"text/html", "application/xhtml+xml"})
_CHARSET_TYPES: Final = frozenset({"application/xml", "application/javascript", "application/ecmascript"})
FILES_ACCESS_TIMEOUT: Final = 300  # seconds a signed URL stays valid (configs/feature)


def signing_key(seed: int) -> bytes:
    """The mock's SECRET_KEY: one per seed, so every URL the mock signs can be checked by it."""
    return f"dify-mockserver:{seed}".encode()


def extension(filename: str) -> str:
    """os.path.splitext's extension, without the dot, lower-cased (`.bashrc` has none)."""
    return os.path.splitext(filename)[1].lstrip(".").lower()


def category(ext: str) -> str:
    if ext in IMAGE_EXTENSIONS:
        return "image"
    if ext in VIDEO_EXTENSIONS:
        return "video"
    if ext in AUDIO_EXTENSIONS:
        return "audio"
    return "other"


def file_type(ext: str, mime: str) -> str:
    """The type Dify detects for a file (image, document, audio, video, custom): by extension, then MIME."""
    by_extension = category(ext)
    if by_extension != "other":
        return by_extension
    if ext in DOCUMENT_EXTENSIONS:
        return "document"
    head = mime.partition("/")[0]
    if head in ("image", "video", "audio"):
        return head
    if head == "text" or mime in ("application/pdf", "application/msword"):
        return "document"
    return "custom"


def stored_filename(filename: str) -> str:
    """A name over 200 characters is cut to its first dot-segment's 200 and the extension (Dify's quirk)."""
    if len(filename) <= 200:
        return filename
    return filename.split(".")[0][:200] + "." + extension(filename)


def content_type(mime: str) -> str:
    """Werkzeug's Response(mimetype=...): text types (and a few others) gain `; charset=utf-8`."""
    if mime.startswith("text/") or mime.endswith("+xml") or mime in _CHARSET_TYPES:
        return f"{mime}; charset=utf-8"
    return mime


def preview_headers(mime: str, name: str, ext: str, size: int, as_attachment: bool) -> dict[str, str]:
    """The headers of GET /v1/files/{id}/preview, in the order Dify sets them. HTML is always a download."""
    headers = {"Content-Type": content_type(mime)}
    if size > 0:
        headers["Content-Length"] = str(size)
    if mime in RANGE_TYPES:
        headers["Accept-Ranges"] = "bytes"
    if as_attachment and name:
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
        headers["Content-Type"] = "application/octet-stream"
    if mime in HTML_TYPES or ext in ("html", "htm") or extension(name) in ("html", "htm"):
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}" if name else "attachment"
        headers["Content-Type"] = "application/octet-stream"
        headers["X-Content-Type-Options"] = "nosniff"
    headers["Cache-Control"] = "public, max-age=3600"
    return headers


def preview_sign(key: bytes, file_id: str, timestamp: str, nonce: str) -> str:
    """core/file/helpers.py: urlsafe base64 of HMAC-SHA256(SECRET_KEY, "file-preview|id|timestamp|nonce")."""
    import hmac  # the first signed URL's, not start-up's

    message = f"file-preview|{file_id}|{timestamp}|{nonce}".encode()
    return base64.urlsafe_b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def preview_url(key: bytes, file_id: str, timestamp: int, nonce: str, *, as_attachment: bool) -> str:
    """get_signed_file_url: FILES_URL (empty by default, so relative) + /files/<id>/file-preview?...;
    urlencode encodes the signature's `=` as %3D."""
    query = {"timestamp": str(timestamp), "nonce": nonce, "sign": preview_sign(key, file_id, str(timestamp), nonce)}
    if as_attachment:
        query["as_attachment"] = "true"
    return f"/files/{file_id}/file-preview?{urlencode(query)}"
