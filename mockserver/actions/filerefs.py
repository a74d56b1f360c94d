"""The `files` of a generation request, checked as Dify's file factory builds them (build_from_mappings
in factories/file_factory at dify 1.12.0, 1.14.2 and 1.16.1; /work/research/files.md §3-§4). Every
refusal is a ValueError in Dify: 400 invalid_param with its text."""

from __future__ import annotations

import mimetypes
import posixpath
import uuid
from typing import Any, Final
from urllib.parse import urlparse

from mockserver.actions import ActContext
from mockserver.actions.users import owner
from mockserver.dify.apps import App
from mockserver.dify.files import extension, file_type
from mockserver.errors import DifyError
from mockserver.state.records import MessageFile, StoredFile

METHODS: Final = ("local_file", "remote_url", "tool_file", "datasource_file")
TYPES: Final = ("image", "document", "audio", "video", "custom")
_ID_KEYS: Final = ("upload_file_id", "reference", "related_id")
_MIME: Final = mimetypes.MimeTypes(filenames=())  # Python's own table: never the host's /etc/mime.types


def _refused(text: str) -> DifyError:
    return DifyError("invalid_param", text)


def upload_config(ctx: ActContext, app: App) -> dict[str, Any]:
    """The app's file_upload settings as /v1/parameters shows them under this release."""
    config = app.root_for(ctx.call.release)["parameters"].get("file_upload")
    return config if isinstance(config, dict) else {}


def check_file_refs(ctx: ActContext) -> None:
    """Chat, agent-chat, completion and chatflow apps ignore `files` unless their upload feature is on;
    a workflow app always reads them, and through the Service API checks each declared type."""
    call, app = ctx.call, ctx.call.app
    mappings = call.payload.get("files") or []
    if app is None or not mappings or app.mode == "agent":  # the New Agent turns files into prompt text
        return
    config = upload_config(ctx, app)
    enabled = bool(config.get("enabled"))
    if app.mode != "workflow" and not enabled:
        return
    built = [
        _build(ctx, i, m, strict=app.mode == "workflow", config=config if enabled else None)
        for i, m in enumerate(mappings)
        if isinstance(m, dict) and m.get("transfer_method") and not _no_url(m)
    ]
    if enabled:
        _counts(built, config)
    ctx.bound["message_files"] = built


def _no_url(mapping: dict[str, Any]) -> bool:
    # A remote file with neither a URL nor an upload id is dropped before anything is checked.
    return mapping["transfer_method"] == "remote_url" and not (
        mapping.get("url") or mapping.get("remote_url") or _upload_id(mapping, with_aliases=True)
    )


def _upload_id(mapping: dict[str, Any], with_aliases: bool) -> Any:
    if not with_aliases:
        return mapping.get("upload_file_id")
    return next((mapping[k] for k in _ID_KEYS if isinstance(mapping.get(k), str) and mapping[k]), None)


def _build(
    ctx: ActContext, i: int, mapping: dict[str, Any], strict: bool, config: dict[str, Any] | None
) -> MessageFile:
    release = ctx.call.release
    method = mapping["transfer_method"]
    if method not in METHODS:
        raise _refused(release.transfer_method_error.format(method=method))
    given_id = _upload_id(mapping, with_aliases=release.upload_owner_only)
    if method == "tool_file":
        raise _refused(f"ToolFile {mapping.get('tool_file_id')} not found")
    if method == "datasource_file":
        raise _refused(f"DatasourceFile {mapping.get('datasource_file_id')} not found")
    if method == "local_file" or given_id:
        stored = _stored(ctx, given_id)
        name, ext, mime, size, url, upload_id = (
            stored.name,
            stored.extension,
            stored.mime_type,
            stored.size,
            stored.source_url,
            stored.id,
        )
    else:
        url = str(mapping.get("url") or mapping.get("remote_url"))
        name = posixpath.basename(urlparse(url).path) or url
        ext, mime, size, upload_id = extension(name), _MIME.guess_type(name)[0] or "", -1, None
    detected = file_type(ext, mime)
    declared = mapping.get("type")
    if not release.omitted_type_is_custom:
        _known_type(declared)  # 1.16 parses the declared type before it compares it
    if strict and method == "local_file" and release.omitted_type_is_custom:
        declared = declared or "custom"
    if strict and declared and (declared != "custom" or release.omitted_type_is_custom) and declared != detected:
        raise _refused("Detected file type does not match the specified type. Please verify the file.")
    _known_type(declared)
    resolved = declared if declared and declared != "custom" else ("custom" if declared else detected)
    allowed = _allowed_1_12 if release.exact_extensions else _allowed
    if config is not None and not allowed(declared or "custom", ext, method, config):
        raise _refused(f"File validation failed for file: {name}")
    file_id = ctx.draws.uuid(f"message_file:{i}")
    return MessageFile(file_id, name, resolved, url, mime or None, size, method, "user", upload_id)


def _known_type(declared: Any) -> None:
    if declared is not None and declared not in TYPES:
        raise _refused(f"'{declared}' is not a valid FileType")


def _stored(ctx: ActContext, given: Any) -> StoredFile:
    release = ctx.call.release
    if given is not None and not isinstance(given, str):
        # 1.12: uuid.UUID() of a number is an AttributeError, which the controller answers as its 500.
        raise DifyError("internal_server_error")
    if not given:
        raise _refused("Invalid upload file id")
    try:
        wanted = str(uuid.UUID(given))
    except ValueError:
        raise _refused("Invalid upload file id format") from None
    found = ctx.tenant.state.files.get(wanted)
    if found is None or (release.upload_owner_only and (found.app, found.user) != owner(ctx)):
        raise _refused("Invalid upload file")
    return found


def _allowed(declared: str, ext: str, method: str, config: dict[str, Any]) -> bool:
    """FileUploadConfig (1.14.1+): a type outside the list falls to the custom bucket, which needs
    its extension listed (case and dot ignored); the transfer method must be allowed too."""
    methods = config.get("allowed_file_upload_methods") or []
    if methods and method not in methods:
        return False
    types = config.get("allowed_file_types") or []
    if declared != "custom" and (not types or declared in types):
        return True
    if types and "custom" not in types:
        return False
    allowed = {str(e).lower().lstrip(".") for e in config.get("allowed_file_extensions") or []}
    return ext.lower() in allowed


def _allowed_1_12(declared: str, ext: str, method: str, config: dict[str, Any]) -> bool:
    """1.12's check: a listed type passes; `custom` needs its `.ext` in the extension list as written."""
    methods = config.get("allowed_file_upload_methods") or []
    if methods and method not in methods:
        return False
    types = config.get("allowed_file_types") or []
    if declared != "custom":
        return not types or declared in types
    return f".{ext}" in (config.get("allowed_file_extensions") or [])


def _counts(built: list[MessageFile], config: dict[str, Any]) -> None:
    # FileUploadConfigManager.convert: `number_limits` (default 3) is the image limit too; 0 allows no image.
    image_limit = int(config.get("number_limits", 3) or 0)
    if sum(f.type == "image" for f in built) > image_limit:
        raise _refused(f"Number of image files exceeds the maximum limit {image_limit}")
    limit = int(config.get("number_limits") or 0)
    if limit and len(built) > limit:
        raise _refused(f"Number of files exceeds the maximum limit {limit}")
