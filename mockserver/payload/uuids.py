"""UUID text as pydantic-core reads it for a `uuid.UUID` field, for payload/types.py (split off
payload.py along the noun).

pydantic-core hands a string to the Rust uuid crate's Uuid::parse_str and prints its error after
"Input should be a valid UUID, ". Ported from uuid 1.18.1 (src/parser.rs try_parse, src/error.rs
InvalidUuid::into_err), whose texts pydantic 2.11 and 2.12 print (the releases Dify pins; pydantic
2.14's newer crate counts from 0 and words lengths differently). Four shapes parse: 32 hex digits,
the hyphenated 36, that in `{}` or after `urn:uuid:`, in any case, nothing stripped. Lengths and
positions count UTF-8 bytes, positions from 1; an error describes the text inside a braced or URN
shape of the right length, else the whole text, with the crate's quirks kept. Python's uuid.UUID
reads more (spaces, '+', '_', braces anywhere): that is Dify's UUIDStrOrEmpty, not this."""

from __future__ import annotations

import uuid
from typing import Final

_HEX: Final = frozenset("0123456789abcdefABCDEF")
_URN: Final = b"urn:uuid:"
_HYPHENS: Final = (8, 13, 18, 23)
_STARTS: Final = (0, 9, 14, 19, 24)  # where each group begins in the hyphenated form
_SIZES: Final = (8, 4, 4, 4, 12)
_BAD_CHAR: Final = "invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found"


def parse_uuid(text: str) -> uuid.UUID:
    """The UUID, or ValueError with the crate's description of what is wrong."""
    raw = text.encode()
    inner = _inner(raw)
    if _parses(inner):
        return uuid.UUID(inner.decode())
    raise ValueError(_described(inner))


def _inner(raw: bytes) -> bytes:
    """What try_parse gives the simple or hyphenated parser (and its error describes)."""
    if len(raw) == 38 and raw.startswith(b"{") and raw.endswith(b"}"):
        return raw[1:-1]
    if len(raw) == 45 and raw.startswith(_URN):
        return raw[len(_URN) :]
    return raw


def _parses(text: bytes) -> bool:
    if len(text) == 32:
        return all(chr(b) in _HEX for b in text)
    if len(text) != 36 or any(text[i] != ord("-") for i in _HYPHENS):
        return False
    return all(chr(b) in _HEX for i, b in enumerate(text) if i not in _HYPHENS)


def _described(whole: bytes) -> str:
    """InvalidUuid::into_err's text: the first bad character, else the simple length, else the
    number of groups, else the first group of the wrong length."""
    if len(whole) >= 2 and whole.startswith(b"{") and whole.endswith(b"}"):
        body, offset, simple = whole[1:-1], 1, False
    elif whole.startswith(_URN):
        body, offset, simple = whole[len(_URN) :], len(_URN), False
    else:
        body, offset, simple = whole, 0, True
    hyphens: list[int] = []
    at = 0
    for char in body.decode():
        if char == "-":
            hyphens.append(at)
        elif char not in _HEX:
            return f"{_BAD_CHAR} `{char}` at {at + offset + 1}"
        at += len(char.encode())
    if not hyphens and simple:
        return f"invalid length: expected length 32 for simple format, found {len(whole)}"
    if len(hyphens) != 4:
        return f"invalid group count: expected 5, found {len(hyphens) + 1}"
    for group, (hyphen, expected) in enumerate(zip(hyphens, _HYPHENS, strict=True)):
        if hyphen != expected:
            return f"invalid group length in group {group}: expected {_SIZES[group]}, found {hyphen - _STARTS[group]}"
    # the crate counts the last group from the whole text, braces or URN prefix included
    return f"invalid group length in group 4: expected 12, found {len(whole) - _STARTS[4]}"
