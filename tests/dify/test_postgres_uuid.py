"""Postgres's uuid_in grammar (src/backend/utils/adt/uuid.c string_to_uuid), as ids in Knowledge API
bodies reach a uuid column: what it reads, canonical, and what it refuses (Dify's 500)."""

from __future__ import annotations

import pytest

from mockserver.dify.postgres import pg_uuid, uuid_column
from mockserver.errors import DifyError

CANONICAL = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"


@pytest.mark.parametrize(
    "text",
    [
        CANONICAL,
        CANONICAL.upper(),
        "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
        "a0eebc999c0b4ef8bb6d6bb9bd380a11",
        "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
        "{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}",
    ],
)
def test_postgres_reads_these_as_one_uuid(text):
    assert pg_uuid(text) == CANONICAL


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        f" {CANONICAL}",
        f"{CANONICAL} ",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",  # 31 digits
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111",  # 33
        "a0eeb-c99-9c0b-4ef8-bb6d-6bb9bd380a11",  # a hyphen inside a group of four
        "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",  # an unclosed brace
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1-",
        "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "urn:uuid:a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    ],
)
def test_postgres_refuses_these(text):
    assert pg_uuid(text) is None
    with pytest.raises(DifyError) as raised:
        uuid_column(text, "tag_id")
    assert (raised.value.status, raised.value.body()) == (
        500,
        {"message": "Internal Server Error", "code": "unknown", "status": 500},
    )
    assert raised.value.note is not None and "tag_id" in raised.value.note
