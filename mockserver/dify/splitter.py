"""A Knowledge API document's text → its segments, as Dify's indexing worker cuts them.

Pure (no I/O, no aiohttp). The behaviour is that of Dify 1.12.0, 1.14.2 and 1.16.1 as described in
research/knowledge_indexing.md §2-§6; the Dify sources it follows are (paths under `api/`):
- `core/rag/index_processor/index_processor_base.py` `_get_splitter`: which splitter, the 50..4000 check;
- `core/rag/splitter/text_splitter.py` (`RecursiveCharacterTextSplitter`, `_merge_splits`) and
  `core/rag/splitter/fixed_text_splitter.py` (`FixedRecursiveCharacterTextSplitter`): the cutting;
- `core/rag/index_processor/processor/{paragraph,parent_child,qa}_index_processor.py` `transform`:
  what a piece becomes per `doc_form`;
- `models/dataset.py` `DatasetProcessRule.AUTOMATIC_RULES`, `services/dataset_service.py`
  `process_rule_args_validate`, `core/rag/entities/processing_entities.py` `Rule`: the stored rule.

Lengths are `len()` code points everywhere: Dify builds its splitters with a character counter.
"""

from __future__ import annotations

import copy
import hashlib
import re
import warnings
from collections.abc import Callable, Mapping
from typing import Any, Final

from msgspec import Struct

from mockserver.dify.cleaning import clean, count_tokens, normalize_newlines, remove_leading_symbols, stored_rules
from mockserver.dify.textsplit import CharSplitter, SplitError

__all__ = ["Chunk", "SplitError", "automatic_rule", "count_tokens", "split"]

_AUTOMATIC_RULES: Final[dict[str, Any]] = {
    "pre_processing_rules": [
        {"id": "remove_extra_spaces", "enabled": True},
        {"id": "remove_urls_emails", "enabled": False},
    ],
    "segmentation": {"delimiter": "\n", "max_tokens": 500, "chunk_overlap": 50},
}
_MODES: Final = ("automatic", "custom", "hierarchical")
_NEWLINE_RUN: Final = re.compile(r"\n\s*")
MIN_SEGMENT_LENGTH: Final = 50
MAX_SEGMENT_LENGTH: Final = 4000  # INDEXING_MAX_SEGMENTATION_TOKENS_LENGTH's default (configs/feature)


class Chunk(Struct, frozen=True):
    """One segment as indexing stores it. `index_node_hash` is sha256(piece + "None") of the piece as the
    splitter cut it, before leading symbols and whitespace were stripped, so it may differ from the hash
    of `content`. `child_hashes` are the same for `children`."""

    content: str
    index_node_hash: str
    word_count: int
    tokens: int
    children: tuple[str, ...] = ()  # child chunk texts (hierarchical, parent_mode paragraph or full-doc)
    answer: str | None = None  # qa_model
    child_hashes: tuple[str, ...] = ()


class _Profile(Struct, frozen=True):
    legacy_clean: bool  # 1.12-1.15 also delete ï ¿ ¾
    legacy_leading: bool  # 1.12-1.13 also strip leading [ ] 】
    glue_words: bool  # 1.12-1.15 drop the spaces at the custom splitter's " " level
    delimiter_alias: bool  # 1.16 reads `segmentation.delimiter` as the separator


_PROFILES: Final = {
    "1.12": _Profile(legacy_clean=True, legacy_leading=True, glue_words=True, delimiter_alias=False),
    "1.14": _Profile(legacy_clean=True, legacy_leading=False, glue_words=True, delimiter_alias=False),
    "1.16": _Profile(legacy_clean=False, legacy_leading=False, glue_words=False, delimiter_alias=True),
}


def _profile(release: str) -> _Profile:
    # The emulator's profiles are 1.12, 1.14 and 1.16; 1.13 cleans like 1.12 and 1.15+ is served as 1.16.
    match = re.fullmatch(r"1\.(\d+)(?:\.\d+)*", release)
    minor = int(match.group(1)) if match else 0
    if minor < 12:
        raise ValueError(f"unknown release profile {release!r}")
    return _PROFILES["1.12" if minor < 14 else "1.14" if minor < 15 else "1.16"]


def automatic_rule() -> dict[str, Any]:
    """`DatasetProcessRule.AUTOMATIC_RULES` (models/dataset.py), identical in every emulated release; a
    fresh copy the caller may keep. Note the key `delimiter`, which the automatic splitter never reads."""
    return copy.deepcopy(_AUTOMATIC_RULES)


def _hash(piece: str) -> str:
    # libs/helper.py generate_text_hash. surrogatepass: a lone surrogate must not crash the emulator.
    return hashlib.sha256((piece + "None").encode("utf-8", "surrogatepass")).hexdigest()


def _integer(value: Any, name: str) -> int:
    # What pydantic's lax int takes from JSON (an integral float, a numeric string). Anything else was
    # refused by the create request's validation, so this text is the emulator's own.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int | str) and not isinstance(value, bool):
        try:
            return int(value)
        except ValueError:
            pass
    raise SplitError(f"segmentation.{name} must be an integer")


def _make_splitter(mode: str, segmentation: Mapping[str, Any], profile: _Profile) -> CharSplitter:
    """`_get_splitter`: custom and hierarchical rules are checked in Dify's order (length range, overlap,
    separator unescaping); the automatic splitter is always 500/50 and ignores the rule."""
    if mode not in ("custom", "hierarchical"):
        return CharSplitter(500, 50, None, profile.glue_words)
    size = _integer(segmentation.get("max_tokens"), "max_tokens")
    if size < MIN_SEGMENT_LENGTH or size > MAX_SEGMENT_LENGTH:
        raise SplitError(f"Custom segment length should be between {MIN_SEGMENT_LENGTH} and {MAX_SEGMENT_LENGTH}.")
    overlap = _integer(segmentation.get("chunk_overlap", 0), "chunk_overlap")
    if overlap > size:
        raise SplitError(f"Got a larger chunk overlap ({overlap}) than chunk size ({size}), should be smaller.")
    separator = segmentation.get("separator")
    if separator is None:  # pydantic's AliasChoices: `separator` first, `delimiter` only from 1.16
        separator = segmentation.get("delimiter", "\n") if profile.delimiter_alias else "\n"
    if not isinstance(separator, str):
        raise SplitError("segmentation.separator must be a string")
    # Dify unescapes with codecs' unicode_escape on a str, i.e. UTF-8 bytes read as Latin-1: every
    # non-ASCII separator comes out mangled and never matches. Bad escapes fail with the codec's text.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # "invalid escape sequence" stays as Dify has it
            fixed = separator.replace("\\n", "\n").encode("utf-8", "surrogatepass").decode("unicode_escape")
    except UnicodeError as exc:
        raise SplitError(str(exc)) from None
    return CharSplitter(size, overlap, fixed, profile.glue_words)


def _stored_rule(process_rule: Mapping[str, Any] | None, profile: _Profile) -> tuple[str, dict[str, Any]]:
    """The mode and rules the worker reads back: AUTOMATIC_RULES for automatic, else the request's rules
    with duplicate pre-processing ids folded and hierarchical's parent_mode defaulting to paragraph."""
    mode = "automatic" if process_rule is None else process_rule.get("mode")
    if not mode:
        raise SplitError("Process rule mode is required")
    if mode not in _MODES:
        raise SplitError("Process rule mode is invalid")
    if mode == "automatic" or process_rule is None:
        return "automatic", automatic_rule()
    rules = dict(process_rule.get("rules") or {})
    if rules:
        rules["pre_processing_rules"] = stored_rules(rules.get("pre_processing_rules") or [])
        if mode == "hierarchical" and not rules.get("parent_mode"):
            rules["parent_mode"] = "paragraph"
    return mode, rules


def split(
    text: str,
    process_rule: Mapping[str, Any] | None,
    doc_form: str = "text_model",
    release: str = "1.16",
    *,
    economy: bool = False,
) -> list[Chunk]:
    """The segments indexing makes of a create-by-text document, in position order.

    `process_rule` is the request's `{"mode", "rules"}` (None: automatic). `release` is the emulated
    profile "1.12", "1.14" or "1.16" (a full version such as "1.16.1" is read by its minor; 1.15+ is
    1.16). `economy` datasets store 0 tokens; high_quality ones store `count_tokens(content)`. Raises
    SplitError with the text Dify writes into the document's `error`.

    qa_model is the emulator's stand-in for Dify's LLM call (`LLMGenerator.generate_qa_document`): each
    piece gives one pair, the question being the piece as Dify would send it (leading symbols removed),
    stripped, and the answer that same text with Dify's answer clean-up (a newline and the whitespace
    after it become one newline). Pieces keep their order; Dify's ten parallel threads may not."""
    profile = _profile(release)
    if doc_form not in ("text_model", "hierarchical_model", "qa_model"):
        raise SplitError(f"Index type {doc_form} is not supported.")
    mode, rules = _stored_rule(process_rule, profile)
    text = normalize_newlines(text)
    if not rules:
        raise SplitError("No rules found in process rule.")
    segmentation = rules.get("segmentation")

    def tokens(content: str) -> int:
        return 0 if economy else count_tokens(content)

    if doc_form == "hierarchical_model":
        return _hierarchical(text, mode, rules, profile, tokens)
    if doc_form == "qa_model":
        segmentation = segmentation or {"max_tokens": 0}  # Dify sizes a missing segmentation 0
    elif not segmentation:
        raise SplitError("No segmentation found in rules.")
    splitter = _make_splitter(mode, segmentation, profile)
    cleaned = clean(text, rules.get("pre_processing_rules") or [], legacy=profile.legacy_clean)
    chunks: list[Chunk] = []
    for piece in splitter.split(cleaned):
        if not piece.strip():
            continue
        content = remove_leading_symbols(piece, legacy=profile.legacy_leading).strip()
        if not content:
            continue
        if doc_form == "qa_model":
            answer = _NEWLINE_RUN.sub("\n", content)
            chunks.append(Chunk(content, _hash(content), len(content), tokens(content), answer=answer))
        else:
            chunks.append(Chunk(content, _hash(piece), len(content), tokens(content)))
    return chunks


def _drop_period(piece: str) -> str:
    # Parent-child pieces lose one leading "." or "。" (a separator left over) and are only then stripped.
    return piece[1:].strip() if piece.startswith((".", "。")) else piece


def _hierarchical(
    text: str, mode: str, rules: Mapping[str, Any], profile: _Profile, tokens: Callable[[str], int]
) -> list[Chunk]:
    """Parent-child: paragraph parents are cleaned and cut, children cut from each parent; a full-doc
    parent is the raw text (neither cleaned nor cut) and its children are cut from it. An automatic rule
    has no parent_mode, so it gives no segment at all."""
    parent_mode = rules.get("parent_mode")
    if parent_mode == "full-doc":
        texts, hashes = _children(text, mode, rules, profile)
        return [Chunk(text, _hash(text), len(text), tokens(text), children=texts, child_hashes=hashes)]
    if parent_mode != "paragraph":
        return []
    segmentation = rules.get("segmentation")
    if not segmentation:
        raise SplitError("No segmentation found in rules.")
    splitter = _make_splitter(mode, segmentation, profile)
    cleaned = clean(text, rules.get("pre_processing_rules") or [], legacy=profile.legacy_clean)
    chunks: list[Chunk] = []
    for piece in splitter.split(cleaned):
        content = _drop_period(piece) if piece.strip() else ""
        if content:
            texts, hashes = _children(content, mode, rules, profile)
            chunks.append(
                Chunk(content, _hash(piece), len(content), tokens(content), children=texts, child_hashes=hashes)
            )
    return chunks


def _children(
    parent: str, mode: str, rules: Mapping[str, Any], profile: _Profile
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(texts, hashes) of a parent's child chunks; the child splitter is built (and its rule
    checked) only when there is a parent to cut, as in Dify."""
    segmentation = rules.get("subchunk_segmentation")
    if not segmentation:
        raise SplitError("No subchunk segmentation found in rules.")
    texts: list[str] = []
    hashes: list[str] = []
    for piece in _make_splitter(mode, segmentation, profile).split(parent):
        content = _drop_period(piece) if piece.strip() else ""
        if content:
            texts.append(content)
            hashes.append(_hash(piece))
    return tuple(texts), tuple(hashes)
