"""Dify's facts about Knowledge API documents: the files a dataset takes, its process rules as
DocumentService validates and stores them, a batch's name, a document's display status and the
list's status filter (services/dataset_service.py, models/dataset.py, constants/__init__.py at dify
1.12.0, 1.14.2 and 1.16.1; research/knowledge_documents.md §2-§4, knowledge_indexing.md §1-§2)."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, Final
from urllib.parse import urlencode

from mockserver.dify.versions import compare

# DOCUMENT_EXTENSIONS with the default ETL_TYPE=dify; 1.16 adds odt (constants/__init__.py).
_EXTENSIONS: Final = frozenset(
    {"txt", "markdown", "md", "mdx", "pdf", "html", "htm", "xlsx", "xls", "docx", "csv", "vtt", "properties"}
)
DOC_FORMS: Final = ("text_model", "qa_model", "hierarchical_model")

# DatasetProcessRule.AUTOMATIC_RULES: what an automatic rule stores (`delimiter`, not `separator`).
AUTOMATIC_RULES: Final[dict[str, Any]] = {
    "pre_processing_rules": [
        {"id": "remove_extra_spaces", "enabled": True},
        {"id": "remove_urls_emails", "enabled": False},
    ],
    "segmentation": {"delimiter": "\n", "max_tokens": 500, "chunk_overlap": 50},
}
# DocumentService.DEFAULT_RULES: a dataset's process rules before it has any (GET document detail).
DEFAULT_RULES: Final[dict[str, Any]] = {
    "mode": "custom",
    "rules": {
        "pre_processing_rules": [
            {"id": "remove_extra_spaces", "enabled": True},
            {"id": "remove_urls_emails", "enabled": False},
        ],
        "segmentation": {"delimiter": "\n", "max_tokens": 1024, "chunk_overlap": 50},
    },
}


def document_extensions(release: str) -> frozenset[str]:
    return _EXTENSIONS | {"odt"} if compare(release, ">=1.16") else _EXTENSIONS


def automatic_rules() -> dict[str, Any]:
    return copy.deepcopy(AUTOMATIC_RULES)


def stored_rule(rule: Mapping[str, Any], raw: Any, release: str) -> tuple[str, dict[str, Any]]:
    """(mode, rules) of a request's process rule once process_rule_args_validate has checked it (its
    ValueError texts, in its order) and DatasetProcessRule stored it: automatic stores AUTOMATIC_RULES;
    custom and hierarchical store Rule.model_dump_json(), every field present. `rule` is the payload
    as the request model coerced it, `raw` the request's own (1.16 reads `delimiter` as `separator`)."""
    mode = str(rule["mode"])
    if mode == "automatic":
        return mode, automatic_rules()
    rules = rule.get("rules")
    if rules is None:  # a Rule model is truthy even when empty ({}): only null is missing
        raise ValueError("Process rule rules is required")
    if rules.get("pre_processing_rules") is None:
        raise ValueError("Process rule pre_processing_rules is required")
    pre: dict[str, dict[str, Any]] = {}
    for item in rules["pre_processing_rules"]:
        if not item["id"]:
            raise ValueError("Process rule pre_processing_rules id is required")
        pre[item["id"]] = {"id": item["id"], "enabled": item["enabled"]}  # a repeated id: first place, last value
    parent_mode = rules.get("parent_mode")
    if mode == "hierarchical" and not parent_mode:
        parent_mode = "paragraph"
    raw_rules = raw.get("rules") if isinstance(raw, Mapping) else None
    raw_rules = raw_rules if isinstance(raw_rules, Mapping) else {}
    segmentation = _segmentation(rules.get("segmentation"), raw_rules.get("segmentation"), release)
    if segmentation is None:
        raise ValueError("Process rule segmentation is required")
    if not segmentation["separator"]:
        raise ValueError("Process rule segmentation separator is required")
    if not (mode == "hierarchical" and parent_mode == "full-doc") and not segmentation["max_tokens"]:
        raise ValueError("Process rule segmentation max_tokens is required")
    child = _segmentation(rules.get("subchunk_segmentation"), raw_rules.get("subchunk_segmentation"), release)
    stored = {
        "pre_processing_rules": list(pre.values()),
        "segmentation": segmentation,
        "parent_mode": parent_mode,
        "subchunk_segmentation": child,
    }
    return mode, stored


def _segmentation(given: Mapping[str, Any] | None, raw: Any, release: str) -> dict[str, Any] | None:
    """Segmentation.model_dump(): separator (default a newline; 1.16 also reads `delimiter`), max_tokens,
    chunk_overlap (default 0)."""
    if given is None:
        return None
    separator = given.get("separator")
    if (
        separator is None
        and compare(release, ">=1.16")
        and isinstance(raw, Mapping)
        and isinstance(raw.get("delimiter"), str)
    ):
        separator = raw["delimiter"]
    return {
        "separator": "\n" if separator is None else separator,
        "max_tokens": given["max_tokens"],
        "chunk_overlap": given.get("chunk_overlap", 0),
    }


def batch_name(now: int, draw: Callable[[int], int]) -> str:
    """save_document_with_dataset_id's batch: the server's local time (UTC in Docker) as 14 digits, then
    100000 + secrets.randbelow(900000): 20 digits. `draw(n)` is the mock's randbelow."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(now)) + str(100000 + draw(900000))


def display_status(status: str, paused: bool, enabled: bool, archived: bool) -> str | None:
    """Document.display_status (models/dataset.py, the same at all three tags): the first rule that holds."""
    if status == "waiting":
        return "queuing"
    if status not in ("completed", "error", "waiting") and paused:
        return "paused"
    if status in ("parsing", "cleaning", "splitting", "indexing"):
        return "indexing"
    if status == "error":
        return "error"
    if status == "completed":
        if archived:
            return "archived"
        return "available" if enabled else "disabled"
    return None


def status_filter(wanted: str | None) -> Callable[[str, bool, bool, bool], bool] | None:
    """DocumentService's list filter for `status` (case-insensitive; active and enabled mean available);
    None, an empty or an unknown value filter nothing. The predicate takes (indexing_status, paused,
    enabled, archived)."""
    key = (wanted or "").lower()
    key = "available" if key in ("active", "enabled") else key
    running = ("parsing", "cleaning", "splitting", "indexing")
    filters: dict[str, Callable[[str, bool, bool, bool], bool]] = {
        "queuing": lambda s, p, e, a: s == "waiting",
        "indexing": lambda s, p, e, a: s in running and not p,
        "paused": lambda s, p, e, a: s in running and p,
        "error": lambda s, p, e, a: s == "error",
        "available": lambda s, p, e, a: s == "completed" and not a and e,
        "disabled": lambda s, p, e, a: s == "completed" and not a and not e,
        "archived": lambda s, p, e, a: s == "completed" and a,
    }
    return filters.get(key)


def preview_sign(key: bytes, file_id: str, timestamp: str, nonce: str) -> str:
    """core/file/helpers.py: urlsafe base64 of HMAC-SHA256(SECRET_KEY, "file-preview|id|timestamp|nonce")."""
    message = f"file-preview|{file_id}|{timestamp}|{nonce}".encode()
    return base64.urlsafe_b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def preview_url(key: bytes, file_id: str, timestamp: int, nonce: str, *, as_attachment: bool) -> str:
    """get_signed_file_url: FILES_URL (empty by default, so relative) + /files/<id>/file-preview?...;
    urlencode encodes the signature's `=` as %3D."""
    query = {"timestamp": str(timestamp), "nonce": nonce, "sign": preview_sign(key, file_id, str(timestamp), nonce)}
    if as_attachment:
        query["as_attachment"] = "true"
    return f"/files/{file_id}/file-preview?{urlencode(query)}"


def zip_names(names: list[str]) -> list[str]:
    """FileService's ZIP entry names: the base name stripped (else `file`), separators made `_`, a name
    already used gets ` (1)`, ` (2)`... before its extension."""
    used: set[str] = set()
    out = []
    for name in names:
        safe = (os.path.basename(name).strip() or "file").replace("/", "_").replace("\\", "_")
        candidate, n = safe, 0
        stem, ext = os.path.splitext(safe)
        while candidate in used:
            n += 1
            candidate = f"{stem} ({n}){ext}"
        used.add(candidate)
        out.append(candidate)
    return out
