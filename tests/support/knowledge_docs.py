"""Helpers of the Knowledge API document tests: a dataset to write into, the calls, the bodies' keys."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import FormData
from dify_facts import auth

DATASETS = "/v1/datasets"
DOCUMENT_KEYS = [
    "id", "position", "data_source_type", "data_source_info", "data_source_detail_dict", "dataset_process_rule_id",
    "name", "created_from", "created_by", "created_at", "tokens", "indexing_status", "error", "enabled",
    "disabled_at", "disabled_by", "archived", "display_status", "word_count", "hit_count", "doc_form",
    "doc_metadata", "summary_index_status", "need_summary",
]  # fmt: skip
DETAIL_KEYS = [
    "id", "position", "data_source_type", "data_source_info", "dataset_process_rule_id", "dataset_process_rule",
    "document_process_rule", "name", "created_from", "created_by", "created_at", "tokens", "indexing_status",
    "completed_at", "updated_at", "indexing_latency", "error", "enabled", "disabled_at", "disabled_by", "archived",
    "doc_type", "doc_metadata", "segment_count", "average_segment_length", "hit_count", "display_status", "doc_form",
    "doc_language", "summary_index_status", "need_summary",
]  # fmt: skip
STATUS_KEYS = [
    "id", "indexing_status", "processing_started_at", "parsing_completed_at", "cleaning_completed_at",
    "splitting_completed_at", "completed_at", "paused_at", "error", "stopped_at", "completed_segments",
    "total_segments",
]  # fmt: skip
STATUS_KEYS_16 = [
    *STATUS_KEYS[:9],
    "error_code",
    "estimated_vector_space_mb",
    "vector_space_limit_mb",
    *STATUS_KEYS[9:],
]
AUTOMATIC_RULES = {
    "pre_processing_rules": [
        {"id": "remove_extra_spaces", "enabled": True},
        {"id": "remove_urls_emails", "enabled": False},
    ],
    "segmentation": {"delimiter": "\n", "max_tokens": 500, "chunk_overlap": 50},
}


def h(session: str, key: str = "dataset-demo", **extra: str) -> dict[str, str]:
    return auth(key, **{"X-Mock-Session": session, **extra})


async def new_dataset(client: Any, session: str, name: str = "Docs", **fields: Any) -> str:
    resp = await client.post(DATASETS, json={"name": name, **fields}, headers=h(session))
    assert resp.status == 200, await resp.text()
    return str((await resp.json())["id"])


async def by_text(client: Any, session: str, dataset: str, **body: Any) -> Any:
    return await client.post(f"{DATASETS}/{dataset}/document/create-by-text", json=body, headers=h(session))


async def made_by_text(client: Any, session: str, dataset: str, **body: Any) -> dict[str, Any]:
    body.setdefault("indexing_technique", "economy")
    resp = await by_text(client, session, dataset, **body)
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


def file_form(
    name: str | None, data: bytes, data_json: Any = None, mime: str = "text/plain", field: str = "file"
) -> FormData:
    form = FormData()
    if data_json is not None:
        form.add_field("data", data_json if isinstance(data_json, str) else json.dumps(data_json))
    if name is not None:
        form.add_field(field, data, filename=name, content_type=mime)
    return form


async def status(client: Any, session: str, dataset: str, batch: str) -> Any:
    return await client.get(f"{DATASETS}/{dataset}/documents/{batch}/indexing-status", headers=h(session))


async def until_completed(client: Any, session: str, dataset: str, batch: str) -> list[dict[str, Any]]:
    for _ in range(10):
        items: list[dict[str, Any]] = (await (await status(client, session, dataset, batch)).json())["data"]
        if all(i["indexing_status"] in ("completed", "error", "paused") for i in items):
            return items
    raise AssertionError("indexing never ended")
