"""GET /_mock/openapi.json and /_mock/control/openapi.json: the documents `dify-mockserver openapi` prints."""

from __future__ import annotations

from openapi_spec_validator import validate

from mockserver.control import openapi
from mockserver.keys import CATALOGUE


async def test_openapi_documents_are_served_valid_and_self_contained(client):
    emulated = await (await client.get("/_mock/openapi.json")).json()
    validate(emulated)
    assert emulated == openapi.emulated(client.app[CATALOGUE])  # the CLI prints the same document
    assert "post" in emulated["paths"]["/v1/chat-messages"] and "post" in emulated["paths"]["/v1/completions"]
    ref = emulated["paths"]["/v1/info"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert (
        ref == "#/components/schemas/responses.app_info" and "responses.app_info" in emulated["components"]["schemas"]
    )
    control = await (await client.get("/_mock/control/openapi.json")).json()
    validate(control)
    assert {"/_mock/journal", "/_mock/faults", "/_mock/scenarios", "/_mock/reset", "/_mock/clock"} <= set(
        control["paths"]
    )


async def test_schema_files_stay_readable(client):
    resp = await client.get("/_mock/schemas/service/send_chat_message.json")
    assert resp.status == 200 and "$defs" in await resp.json()
