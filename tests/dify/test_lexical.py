"""The mock's retrieval score (mockserver/dify/lexical.py): deterministic, in [0, 1], the exact phrase
highest, then more of the query's words, then denser chunks; keyword search counts words."""

from __future__ import annotations

from mockserver.dify.lexical import PHRASE, keyword_matches, score, tokens


def test_tokens_fold_case_and_width_and_split_cjk_per_character() -> None:
    assert tokens("Hello, WORLD! it's 2024") == ["hello", "world", "it", "s", "2024"]
    assert tokens("\uff46\uff55\uff4c\uff4c width_snake")  # full-width "full" == ["full", "width", "snake"]
    assert tokens("你好 Dify世界") == ["你", "好", "dify", "世", "界"]
    assert tokens("  ...  ") == []


def test_the_exact_phrase_scores_one_whatever_its_case_and_punctuation() -> None:
    assert score("vector database", "Dify stores chunks in a Vector-Database.") == PHRASE == 1.0
    assert score("向量数据库", "Dify 使用向量数据库存储") == 1.0


def test_words_out_of_order_score_below_the_phrase() -> None:
    found = score("vector database", "a database of vectors and a vector index")
    assert 0.0 < found < 0.9
    assert score("database vector", "the vector database") < 1.0


def test_more_query_words_rank_higher_then_density() -> None:
    both = score("apple banana cherry", "apple and banana")
    one = score("apple banana cherry", "apple pie")
    assert both > one > 0.0
    dense = score("apple banana", "apple apple banana")  # phrase-free but every token a query word
    sparse = score("apple banana", "banana with a lot of other words and then apple")
    assert dense > sparse


def test_no_shared_word_is_zero_and_scores_are_rounded_floats() -> None:
    assert score("kubernetes", "a chunk about cooking") == 0.0
    assert score("", "anything") == 0.0
    assert score("word", "") == 0.0
    value = score("alpha beta gamma", "alpha delta")
    assert isinstance(value, float) and value == round(value, 4)
    assert score("alpha beta gamma", "alpha delta") == value  # deterministic


def test_keyword_matches_count_distinct_query_words_among_the_keywords() -> None:
    assert keyword_matches("Vector vector search", ["vector", "search engine"]) == 2
    assert keyword_matches("nothing here", ["vector"]) == 0
    assert keyword_matches("数据", ["数据库"]) == 2
