"""Dify's two recursive character splitters, as pure functions of their settings.

`CharSplitter(fixed=None)` is `EnhanceRecursiveCharacterTextSplitter` (the automatic rule) and
`CharSplitter(fixed=<separator>)` is `FixedRecursiveCharacterTextSplitter` (custom and hierarchical rules):
Dify's `api/core/rag/splitter/fixed_text_splitter.py` on top of `api/core/rag/splitter/text_splitter.py`
(`RecursiveCharacterTextSplitter._split_text`, `TextSplitter._merge_splits`). research/knowledge_indexing.md
§4.5-§4.6 describes them; the emulator's own code reproduces their output piece for piece, with a queue
and index arithmetic so that a megabyte of text is cut in linear time.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence
from typing import Final

from msgspec import Struct

__all__ = ["SEPARATORS", "CharSplitter", "SplitError"]

# Both splitters try these in order; neither has "\n", so lines are cut at ". " and then at " ".
SEPARATORS: Final = ("\n\n", "。", ". ", " ", "")
# The automatic splitter picks its separator with re.search, so ". " means "any character, then a space".
_SEARCH: Final = {sep: re.compile(sep) for sep in SEPARATORS if sep}
_SPACES: Final = re.compile(" +")


class SplitError(ValueError):
    """A rule the indexing worker refuses; str() is the text Dify writes into the document's `error`."""


class CharSplitter(Struct, frozen=True):
    """One configured splitter; lengths are code points (Dify measures chunks with len())."""

    size: int  # chunk_size: max_tokens, or 500 for the automatic rule
    overlap: int  # chunk_overlap, or 50; checked against `size` by the caller
    fixed: str | None  # custom/hierarchical: the unescaped separator; None: the automatic splitter
    glue_words: bool  # 1.12-1.15: the custom splitter's " " level drops the spaces (fixed after 1.15.0)

    def split(self, text: str) -> list[str]:
        """The pieces in order. The automatic splitter's are merged, overlapped and stripped; a custom
        splitter's separator pieces are raw, and only its oversize ones are cut further."""
        if self.fixed is None:
            return self._recursive(text, SEPARATORS)
        # Separator pieces that fit are kept as they are: neither merged, stripped nor overlapped.
        out: list[str] = []
        for part in text.split(self.fixed) if self.fixed else [text]:
            out.extend(self._first_level(part) if len(part) > self.size else [part])
        return out

    def _recursive(self, text: str, seps: Sequence[str]) -> list[str]:
        sep: str = ""
        rest: Sequence[str] = ()
        for i, candidate in enumerate(seps):
            if not candidate:
                break
            if _SEARCH[candidate].search(text):
                sep, rest = candidate, tuple(seps[i + 1 :])
                break
        return self._collect(_keep_split(text, sep), rest)

    def _first_level(self, text: str) -> list[str]:
        # The custom splitter's own first pass over an oversize piece: literal `in` tests, runs of spaces
        # collapsed, characters packed without strip. Deeper levels are the automatic algorithm.
        sep: str = ""
        rest: Sequence[str] = ()
        for i, candidate in enumerate(SEPARATORS):
            if not candidate:
                break
            if candidate in text:
                sep, rest = candidate, SEPARATORS[i + 1 :]
                break
        if not sep:
            return self._pack_chars([c for c in text if c != "\n"])
        if sep == " ":
            words = _SPACES.split(text)
            pieces = words if self.glue_words else [w + " " for w in words[:-1]] + words[-1:]
            return self._collect([p for p in pieces if p not in ("", "\n")], rest)
        return self._collect(_keep_split(text, sep), rest)

    def _collect(self, pieces: list[str], rest: Sequence[str]) -> list[str]:
        out: list[str] = []
        small: list[str] = []
        for piece in pieces:
            if len(piece) < self.size:
                small.append(piece)
                continue
            out.extend(self._merge(small))
            small = []
            out.extend(self._recursive(piece, rest) if rest else [piece])
        out.extend(self._merge(small))
        return out

    def _merge(self, pieces: list[str]) -> list[str]:
        """Pack pieces into chunks of at most `size`; the next chunk starts with the previous one's last
        whole pieces totalling at most `overlap`. Chunks are stripped and empty ones dropped."""
        out: list[str] = []
        window: deque[str] = deque()
        total = 0
        for piece in pieces:
            if window and total + len(piece) > self.size:
                _emit(out, "".join(window))
                while total > self.overlap or (total > 0 and total + len(piece) > self.size):
                    if not window:  # a negative overlap: Dify's loop indexes an empty list
                        raise SplitError("list index out of range")
                    total -= len(window.popleft())
            window.append(piece)
            total += len(piece)
        _emit(out, "".join(window))
        return out

    def _pack_chars(self, chars: list[str]) -> list[str]:
        """The custom splitter's character level: fill to `size - overlap`, then go on to `size` while
        also recording those characters; the next chunk starts with the recorded ones. Not stripped."""
        out: list[str] = []
        start = length = recorded = 0
        for i in range(len(chars)):
            if length + 1 <= self.size - self.overlap:
                length += 1
            elif length + 1 <= self.size:
                length += 1
                recorded += 1
            else:
                out.append("".join(chars[start:i]))
                start, length, recorded = i - recorded, recorded + 1, 0
        if length:
            out.append("".join(chars[start:]))
        return out


def _keep_split(text: str, sep: str) -> list[str]:
    """Cut at `sep`, appending it to the piece before; "" cuts characters. Pieces "" and "\\n" vanish."""
    if sep:
        parts = text.split(sep)
        pieces = [part + sep for part in parts[:-1]] + parts[-1:]
    else:
        pieces = list(text)
    return [p for p in pieces if p not in ("", "\n")]


def _emit(out: list[str], joined: str) -> None:
    if stripped := joined.strip():
        out.append(stripped)
