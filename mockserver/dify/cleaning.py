"""Text clean-up that Dify's indexing applies around the splitter, and the token estimate.

Pure functions (no I/O). Behaviour follows Dify's `api/core/rag/cleaner/clean_processor.py`
(`CleanProcessor.clean`) and `api/core/tools/utils/text_processing_utils.py` (`remove_leading_symbols`) at the
tags 1.12.0, 1.14.2 and 1.16.1; research/knowledge_indexing.md §4.1 and §5.1 describe them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

# Deleted whatever the rules say. 1.12-1.15 wrote the BOM's UTF-8 bytes into a str class, so they also
# delete the three code points U+00EF, U+00BF, U+00BE; 1.16 no longer does.
_CONTROL: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe]")
_CONTROL_LEGACY: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\u00ef\u00bf\u00be]")
_MANY_NEWLINES: Final = re.compile(r"\n{3,}")
_SPACE_RUN: Final = re.compile("[\t\f\r \u00a0\u1680\u180e\u2000-\u200a\u202f\u205f\u3000]{2,}")
_EMAIL: Final = re.compile(r"[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+")
_MD_LINK: Final = re.compile(r"\[([^\]]*)\]\((https?://[^)]+)\)")
_MD_IMAGE: Final = re.compile(r"!\[.*?\]\((https?://[^)]+)\)")
_URL: Final = re.compile(r"https?://\S+")
# Dify parks protected Markdown in the text under this name; a client text that happens to contain
# it is rewritten the same way, so the emulator keeps the very same token.
_PLACEHOLDER: Final = re.compile(r"__MARKDOWN_PLACEHOLDER_(\d+)__")

_LEADING_LINK: Final = re.compile(r"\[[^\]]+\]\(https?://[^)]+\)")
_PUNCT_RANGES: Final = "\u2000-\u2025\u2027-\u206f\u2e00-\u2e7f\u3000-\u300f"
_ASCII_SYMBOLS: Final = "\"#$%&'()*+,./:;<=>?@^_`~"
# 1.12 also counted `[`, `]` and `】` (U+3011) as leading symbols (changed in 1.14.0, commit d042cbc62e).
_LEADING: Final = re.compile(f"[{_PUNCT_RANGES}\u3012-\u303f{re.escape(_ASCII_SYMBOLS)}]+")
_LEADING_LEGACY: Final = re.compile(f"[{_PUNCT_RANGES}\u3011-\u303f{re.escape(_ASCII_SYMBOLS)}\\[\\]]+")


def normalize_newlines(text: str) -> str:
    """The text a document is created with is stored as a file and read back in text mode
    (`api/services/file_service.py`, `api/core/rag/extractor/text_extractor.py`), so `\\r\\n` and a lone
    `\\r` reach the cleaner as `\\n`."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


# pydantic's lax bool: what the request model (`PreProcessingRule.enabled: bool`) turns into True.
_LAX_TRUE: Final = frozenset({"1", "on", "t", "true", "y", "yes"})


def stored_rules(rules: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The pre-processing rules as the worker reads them back. `DocumentService.process_rule_args_validate`
    (`api/services/dataset_service.py`) keys them by id in a dict, so a repeated id keeps its first
    position and takes its last value; `enabled` was parsed as a bool."""
    by_id: dict[Any, dict[str, Any]] = {}
    for rule in rules:
        enabled = rule.get("enabled")
        if isinstance(enabled, str):
            enabled = enabled.lower() in _LAX_TRUE
        by_id[rule.get("id")] = {"id": rule.get("id"), "enabled": enabled is True or enabled == 1}
    return list(by_id.values())


def clean(text: str, pre_processing_rules: Iterable[Mapping[str, Any]], *, legacy: bool) -> str:
    """`CleanProcessor.clean`: the fixed deletions, then each enabled rule in list order. Never strips.

    `legacy` selects the 1.12-1.15 control-character class. `remove_stopwords` is accepted and does
    nothing in every release; a rule acts only when its `enabled` is exactly True."""
    text = text.replace("<|", "<").replace("|>", ">")
    text = (_CONTROL_LEGACY if legacy else _CONTROL).sub("", text)
    for rule in pre_processing_rules:
        if rule.get("enabled") is not True:
            continue
        if rule.get("id") == "remove_extra_spaces":
            text = _SPACE_RUN.sub(" ", _MANY_NEWLINES.sub("\n\n", text))
        elif rule.get("id") == "remove_urls_emails":
            text = _remove_urls_emails(text)
    return text


def _remove_urls_emails(text: str) -> str:
    """Emails go; bare http(s) URLs go with whatever non-space follows them; Markdown links and
    images are parked first so their URLs survive. An image comes back with the alt text `image`
    (Dify keeps only its URL), and the spaces a removal leaves are not collapsed."""
    text = _EMAIL.sub("", text)
    parked: list[str] = []

    def park(restored: str) -> str:
        parked.append(restored)
        return f"__MARKDOWN_PLACEHOLDER_{len(parked) - 1}__"

    text = _MD_LINK.sub(lambda m: park(f"[{m.group(1)}]({m.group(2)})"), text)
    text = _MD_IMAGE.sub(lambda m: park(f"![image]({m.group(1)})"), text)
    text = _URL.sub("", text)
    if not parked:
        return text

    def restore(m: re.Match[str]) -> str:
        index = int(m.group(1))
        return parked[index] if index < len(parked) else m.group(0)

    return _PLACEHOLDER.sub(restore, text)


def remove_leading_symbols(text: str, *, legacy: bool) -> str:
    """Drop one leading run of punctuation (General and CJK punctuation blocks, ASCII symbols other
    than `-`, `!`, `[`, `\\`, `]`, `{`, `|`, `}`), unless the text opens with a Markdown link to an
    http(s) URL. `legacy` is 1.12's class, which also drops `[`, `]` and `】`."""
    if _LEADING_LINK.match(text):
        return text
    match = (_LEADING_LEGACY if legacy else _LEADING).match(text)
    return text[match.end() :] if match else text


# CJK ideographs, kana and Hangul syllables: cl100k_base spends about one token on each of them.
_CJK: Final = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
# cl100k_base's pre-tokenizer (the GPT-2 pattern as tiktoken revised it) written for `re`, which has no
# \p{L}: letters are [^\W\d_], digits \d; plus one piece per CJK character.
_LONG_PIECE: Final = 12  # the longest pre-token counted as one token; English words rarely exceed it
_PRETOKEN: Final = re.compile(
    f"[{_CJK}]"
    r"|'(?i:s|t|re|ve|m|ll|d)"  # English contractions
    f"|(?:[^\\r\\n\\w]|_)?[^\\W\\d_{_CJK}]+"  # a run of letters, with one leading non-letter
    r"|\d{1,3}"  # digits, three at most
    r"| ?(?:[^\s\w]|_)+[\r\n]*"  # a run of symbols, with a leading space and trailing newlines
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"  # whitespace the next piece does not take
)


def count_tokens(text: str) -> int:
    """An offline, dependency-free estimate of the embedding tokenizer's count: Dify stores the embedding
    plugin's count, cl100k_base for OpenAI's embedding models (research/knowledge_indexing.md §6.3).

    It is the number of pre-tokens: the pieces of cl100k_base's GPT-2-style split pattern (contractions,
    letter runs, 1-3 digits, symbol runs, whitespace), with each CJK ideograph, kana or Hangul syllable a
    piece of its own. BPE keeps most English pre-tokens whole, so on English prose, Markdown and code it
    stays within about 10% of cl100k (tests/dify/test_splitter.py compares); on Chinese and Japanese
    within a few percent, where a plain pre-token count sees a run of ideographs as one piece.
    A piece longer than 12 characters (a rare word, an identifier, a hash, one huge word) adds a token
    per 4 characters beyond 12, where BPE would cut it into several. Linear in len(text)."""
    total = 0
    for match in _PRETOKEN.finditer(text):
        extra = match.end() - match.start() - _LONG_PIECE
        total += 1 if extra <= 0 else 1 + -(-extra // 4)
    return total
