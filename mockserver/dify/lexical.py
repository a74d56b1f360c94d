"""The emulator's stand-in for Dify's retrieval scores: a deterministic lexical measure.

Dify scores a chunk by its embedding's cosine similarity (semantic search), by the vector store's
full-text rank (full-text search) or by a weighted or reranked mix of both (hybrid search); keyword
search counts the query's jieba keywords in each chunk's keyword set and gives no score at all
(core/rag/datasource/retrieval_service.py, core/rag/datasource/keyword/jieba/jieba.py at 1.12.0,
1.14.2 and 1.16.1; research/knowledge_retrieval_pipeline.md §2.3). The mock has no model, so every
method but keyword search uses one measure that a test can predict:

- Text is split into tokens: NFKC-normalised (full-width letters are letters), case-folded runs of
  letters and digits; each CJK ideograph, kana or hangul syllable is a token of its own (those
  scripts write no spaces).
- `score(query, content)`, in [0, 1], rounded to 4 places:
  - 1.0 when the query's tokens occur in the content as one contiguous run (the exact phrase, case
    and punctuation aside);
  - else 0.9 x coverage x (0.75 + 0.25 x density), where coverage is the share of the query's
    distinct tokens the content has and density the share of the content's tokens that are query
    tokens. It stays below 0.9, so a phrase match always ranks first, then the chunks holding more
    of the query's words, then those where they weigh more;
  - 0.0 when the content has none of the query's tokens: no hit.
- `keyword_matches(query, keywords)`: how many of the query's distinct tokens are among a chunk's
  keywords (each keyword split into tokens too), as Dify's keyword table counts them.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from typing import Final

# Scripts written without spaces: Hiragana and Katakana, CJK ideographs (extension A, the unified
# block, compatibility ideographs) and Hangul syllables.
_CJK: Final = "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]"
_TOKEN: Final = re.compile(rf"{_CJK}|(?:(?!{_CJK})[^\W_])+")
_SEP: Final = "\x00"  # never inside a token: joins token runs for the phrase search

PHRASE: Final = 1.0  # the score of an exact phrase match
_SPREAD: Final = 0.9  # the ceiling of every other match


def tokens(text: str) -> list[str]:
    """The text's tokens in order (module docstring)."""
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())


def _distinct(words: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(words))


def has_phrase(query_tokens: list[str], content_tokens: list[str]) -> bool:
    """Whether the query's tokens occur in the content's as one contiguous run."""
    if not query_tokens:
        return False
    needle = _SEP + _SEP.join(query_tokens) + _SEP
    return needle in _SEP + _SEP.join(content_tokens) + _SEP


def score(query: str, content: str) -> float:
    """How well `content` answers `query`, in [0, 1] (module docstring)."""
    wanted = tokens(query)
    found = tokens(content)
    if has_phrase(wanted, found):
        return PHRASE
    distinct = _distinct(wanted)
    if not distinct or not found:
        return 0.0
    counts = Counter(found)
    present = [t for t in distinct if t in counts]
    if not present:
        return 0.0
    coverage = len(present) / len(distinct)
    density = sum(counts[t] for t in present) / len(found)
    return round(_SPREAD * coverage * (0.75 + 0.25 * density), 4)


def keyword_matches(query: str, keywords: Iterable[str]) -> int:
    """How many of the query's distinct tokens a chunk's keywords hold."""
    held = {t for keyword in keywords for t in tokens(keyword)}
    return sum(1 for t in _distinct(tokens(query)) if t in held)
