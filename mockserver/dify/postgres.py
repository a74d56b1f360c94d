"""How Dify's PostgreSQL reads an id a request body carries into a `uuid` column (models' StringUUID
binds it as text): Postgres's own uuid_in grammar, and the 500 a text outside it ends in."""

from __future__ import annotations

import string
from typing import Final

from mockserver.errors import DifyError

_HEX: Final = frozenset(string.hexdigits)


def pg_uuid(text: str) -> str | None:
    """`text` as Postgres's uuid_in reads it (src/backend/utils/adt/uuid.c string_to_uuid): 32 hex
    digits, either case, a hyphen allowed after any group of four, the whole optionally in braces;
    nothing else, not even a space. The canonical form, or None where Postgres refuses it."""
    src, i = text, 0
    braces = src.startswith("{")
    if braces:
        i = 1
    digits = []
    for byte in range(16):
        pair = src[i : i + 2]
        if len(pair) < 2 or not set(pair) <= _HEX:
            return None
        digits.append(pair.lower())
        i += 2
        if byte % 2 == 1 and byte < 15 and src[i : i + 1] == "-":
            i += 1
    if braces:
        if src[i : i + 1] != "}":
            return None
        i += 1
    if i != len(src):
        return None
    h = "".join(digits)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def uuid_column(text: str, what: str) -> str:
    """pg_uuid(), or the 500 Dify answers when Postgres refuses the text (a DataError no handler
    catches: `{"message": "Internal Server Error", "code": "unknown", "status": 500}`). `what` names
    the field for the journal."""
    found = pg_uuid(text)
    if found is None:
        raise DifyError("unknown", note=f"{what} {text!r} is no uuid to Postgres: Dify's query fails (DataError)")
    return found
