"""A Markdown file's raw documents, as Dify's MarkdownExtractor makes them for indexing (dify 1.12.0,
1.14.2 and 1.16.1 core/rag/extractor/markdown_extractor.py, the same in all three; research/
knowledge_indexing.md §3): one per header section, each cleaned and split on its own, so a segment
never spans two sections."""

from __future__ import annotations

import re
from typing import Final

_HEADER: Final = re.compile(r"^#+\s")
_TAG: Final = re.compile(r"<.*?>")  # one line at most: `.` does not cross a newline
FENCE: Final = "```"
EXTENSIONS: Final = frozenset({"md", "markdown", "mdx"})  # the extractor's, by the file's extension


def decode(data: bytes) -> str:
    """The file's text as Path.read_text gives it: UTF-8 (the container's locale), universal newlines
    (a `\\r\\n` or a lone `\\r` is one `\\n`). Dify retries undecodable bytes with detected encodings;
    the emulator reads them as Latin-1, which never fails."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def sections(text: str) -> list[str]:
    """The raw documents of a Markdown text (newlines already universal): the text before the first
    header, then `"\\n\\n{header}\\n{body}"` per header. A header is a line of `#`s and a blank outside a
    ``` fence; it loses every `#`; a body loses every `<...>` tag on a line, then its outer blanks."""
    parts: list[tuple[str | None, str]] = []
    header: str | None = None
    body: list[str] = []
    fenced = False
    for line in text.split("\n"):
        if line.startswith(FENCE):
            fenced = not fenced
        elif not fenced and _HEADER.match(line):
            parts.append((header, "".join(body)))
            header, body = line, []
            continue
        body.append(line + "\n")
    parts.append((header, "".join(body)))
    out = []
    for title, value in parts:
        value = _TAG.sub("", value).strip()
        out.append(value if title is None else f"\n\n{title.replace('#', '').strip()}\n{value}")
    return out
