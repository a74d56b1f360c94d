"""A Knowledge API document's uploaded file: its signed download URL and a ZIP of several (dify 1.14.2 and
1.16.1 controllers/service_api/dataset/document.py, services/dataset_service.py
get_document_download_url and prepare_document_batch_download_zip, services/file_service.py; present
since 1.13; research/knowledge_documents.md §4.9-§4.10)."""

from __future__ import annotations

import email.utils
import io
import time
import zipfile
import zlib
from typing import Any

from mockserver.actions import ActContext, Action
from mockserver.actions.knowledge import dataset_of, document_of, the_dataset, the_document
from mockserver.dify.documents import preview_url, zip_names
from mockserver.errors import DifyError
from mockserver.state.knowledge import Document
from mockserver.state.records import Blob


def signing_key(ctx: ActContext) -> bytes:
    """The mock's SECRET_KEY: one per seed, so a URL the mock signed can be checked by it."""
    return f"dify-mockserver:{ctx.tenant.seed}".encode()


def _check_download(ctx: ActContext) -> None:
    document = document_of(ctx)
    if document.data_source_type != "upload_file":
        raise DifyError("not_found", "Document does not have an uploaded file to download.")
    if not (document.upload_file or {}).get("id"):
        raise DifyError("not_found", "Uploaded file not found.")


def download(ctx: ActContext) -> dict[str, Any]:
    """{"url": ...}: a file-preview URL signed now, as an attachment."""
    file_id = str(document_of(ctx).upload_file["id"])  # type: ignore[index]
    nonce = ctx.draws.random("download:nonce").getrandbits(128).to_bytes(16, "big").hex()
    return {"result": {"url": preview_url(signing_key(ctx), file_id, ctx.now, nonce, as_attachment=True)}}


def _check_zip(ctx: ActContext) -> None:
    """Every id must be a document of the dataset with an uploaded file; a repeated id repeats it."""
    dataset = dataset_of(ctx)
    found: list[Document] = []
    for given in ctx.call.payload["document_ids"]:
        document = ctx.tenant.state.documents.get(str(given).lower(), dataset_id=dataset.id)
        if document is None:
            raise DifyError("not_found", "Document not found.")
        found.append(document)
    for document in found:
        if document.data_source_type != "upload_file" or not (document.upload_file or {}).get("id"):
            raise DifyError("not_found", "Only uploaded-file documents can be downloaded as ZIP.")
    ctx.bound["documents"] = found


def download_zip(ctx: ActContext) -> dict[str, Any]:
    """send_file of the ZIP: deflated entries in request order, stamped with the mock time (Dify's
    are the server's clock), named <32 hex>.zip."""
    documents: list[Document] = ctx.bound["documents"]
    names = zip_names([str((d.upload_file or {}).get("name", "")) for d in documents])
    buffer = io.BytesIO()
    stamp = time.gmtime(ctx.now)[:6]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, document in zip(names, documents, strict=True):
            entry = zipfile.ZipInfo(name, date_time=(max(stamp[0], 1980), *stamp[1:]))
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, document.data)
    data = buffer.getvalue()
    filename = ctx.draws.uuid("zip").replace("-", "")
    headers = {
        "Content-Type": "application/zip",
        "Content-Disposition": f"attachment; filename={filename}.zip",
        "Last-Modified": email.utils.formatdate(ctx.now, usegmt=True),
        "Cache-Control": "no-cache",
        "ETag": f'"{ctx.now}.0-{len(data)}-{zlib.adler32(filename.encode())}"',
    }
    return {"result": Blob(data, headers)}


ACTIONS = (
    Action(
        "documents.download",
        download,
        checks=(("dataset", the_dataset), ("document", the_document), ("file", _check_download)),
    ),
    Action("documents.download_zip", download_zip, checks=(("dataset", the_dataset), ("documents", _check_zip))),
)
