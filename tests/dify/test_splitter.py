# ruff: noqa: RUF001 - the CJK samples use the full-width comma on purpose
"""mockserver.dify.splitter: a document's text → segments as Dify's indexing cuts them.

Expected values marked "harness" were printed by Dify's own splitter, cleaner and leading-symbol code
(copied unchanged from the tags 1.12.0, 1.14.2 and 1.16.1 into a harness; research/knowledge_indexing.md
"How I checked"): hashes are the first 12 hex digits of index_node_hash. The others are the note's
examples or follow from its rules.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from mockserver.dify.cleaning import clean, count_tokens, remove_leading_symbols
from mockserver.dify.splitter import Chunk, SplitError, automatic_rule, split

RELEASES = ("1.12", "1.14", "1.16")
EXTRA_SPACES = {"id": "remove_extra_spaces", "enabled": True}
URLS = {"id": "remove_urls_emails", "enabled": True}


def custom(separator: str = "\n\n", max_tokens: int = 500, overlap: int = 0, pre: list[Any] | None = None) -> Any:
    segmentation = {"separator": separator, "max_tokens": max_tokens, "chunk_overlap": overlap}
    return {"mode": "custom", "rules": {"pre_processing_rules": pre or [], "segmentation": segmentation}}


def hierarchical(parent: Any, child: Any, parent_mode: str | None = "paragraph", pre: list[Any] | None = None) -> Any:
    rules = {"pre_processing_rules": pre or [], "segmentation": parent, "subchunk_segmentation": child}
    if parent_mode is not None:
        rules["parent_mode"] = parent_mode
    return {"mode": "hierarchical", "rules": rules}


def contents(chunks: list[Chunk]) -> list[str]:
    return [c.content for c in chunks]


def sha(text: str) -> str:
    return hashlib.sha256((text + "None").encode()).hexdigest()


# The harness's sample generator (research/knowledge_indexing.md; /tmp/idxres/gen.py), rewritten.
WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu"]


def sentence(i: int, n: int) -> str:
    return " ".join(WORDS[(i + j) % 12] for j in range(n)).capitalize() + "."


P1 = " ".join(sentence(i, 9) for i in range(12))
P2 = " ".join(sentence(i, 7) for i in range(3))
LINES = "\n".join(sentence(i, 8) for i in range(10))


# --- the rule ---------------------------------------------------------------------------------


def test_automatic_rule_is_difys_constant_and_a_fresh_copy() -> None:
    rule = automatic_rule()
    assert rule == {
        "pre_processing_rules": [
            {"id": "remove_extra_spaces", "enabled": True},
            {"id": "remove_urls_emails", "enabled": False},
        ],
        "segmentation": {"delimiter": "\n", "max_tokens": 500, "chunk_overlap": 50},
    }
    rule["segmentation"]["max_tokens"] = 1
    assert automatic_rule()["segmentation"]["max_tokens"] == 500


def test_none_is_the_automatic_rule_whatever_the_request_would_say() -> None:
    text = "a  b\n\n\n\nc"
    assert split(text, None) == split(text, {"mode": "automatic", "rules": {"segmentation": {"max_tokens": 60}}})
    assert contents(split(text, None)) == ["a b\n\nc"]


# --- hashes, word counts, tokens ------------------------------------------------------------------


def test_hash_word_count_and_tokens_of_a_plain_segment() -> None:
    [chunk] = split("Hello world", None)
    assert chunk == Chunk("Hello world", sha("Hello world"), 11, 2)
    assert chunk.index_node_hash == "b9a0f92b21c7d87cb9ebf0710663a8f475cd03bfb68406afef143c2b4b4b6114"  # the note's


def test_hash_is_of_the_piece_before_leading_symbols_and_whitespace_go() -> None:
    [chunk] = split("## Heading\nbody", custom(separator="###", max_tokens=50))
    assert chunk.content == "Heading\nbody"
    assert chunk.index_node_hash == sha("## Heading\nbody") != sha(chunk.content)
    assert chunk.word_count == len("Heading\nbody")
    pieces = split("one\n\n  two  ", custom())
    assert [(c.content, c.index_node_hash) for c in pieces] == [("one", sha("one")), ("two", sha("  two  "))]


def test_word_count_is_characters_and_economy_stores_no_tokens() -> None:
    text = "知识库把文档切分成片段。"
    [chunk] = split(text, None)
    assert chunk.word_count == 12 and chunk.tokens == count_tokens(text) == 12
    assert split(text, None, economy=True)[0].tokens == 0
    assert split("", None, economy=True) == []


# The note's samples gave (cl100k_base, plain GPT-2 pre-token count); these are their categories.
NOTE_FIGURES = {"english_prose": (37, 33), "lines": (22, 21), "chinese": (26, 4), "python_code": (27, 28)}
NOTE_FIGURES["version_url"] = (33, 30)
# Our own samples with their cl100k_base counts (bpe-openai 0.1.4's offline cl100k_base, which gives
# tiktoken's documented [83, 1609, 5963, 374, 2294, 0] for "tiktoken is great!").
TOKEN_SAMPLES = {
    "english_prose": (
        "Dify is an open-source platform for building applications on large language models. It combines "
        "retrieval-augmented generation, agents and workflows, so teams can move from a prototype to production "
        "without rewriting their stack. The knowledge base splits each document into segments and indexes them "
        "for search.",
        55,
    ),
    "lines": (
        "Install the package.\nStart the server.\nCreate a dataset.\nUpload a document.\n"
        "Wait until indexing completes.\nQuery the knowledge base.",
        26,
    ),
    "chinese": (
        "我们今天讨论知识库的分段和索引方法。每个文档先被清洗，然后按照规则切分成片段，最后写入向量数据库。",
        52,
    ),
    "python_code": (
        "def split(text: str, size: int = 500) -> list[str]:\n    chunks = []\n"
        "    for i in range(0, len(text), size):\n        chunks.append(text[i : i + size])\n    return chunks\n",
        48,
    ),
    "version_url": (
        "Dify 1.16.1 was released on 2026-08-20; see https://github.com/langgenius/dify/releases/tag/1.16.1 for the "
        "notes, or v1.14.2 (build 20260412) for the previous line.",
        60,
    ),
    "markdown": (
        "# Getting started\n\n- Install **Dify** with `docker compose up -d`.\n- Open http://localhost/install and "
        "create the admin account.\n\n```bash\ncurl -X POST http://localhost/v1/datasets -H 'Authorization: Bearer "
        "key'\n```\n",
        55,
    ),
    "japanese": ("ナレッジベースは文書を分割して検索できるようにします。", 28),
}


@pytest.mark.parametrize("name", sorted(TOKEN_SAMPLES))
def test_token_estimate_is_close_to_cl100k(name: str) -> None:
    text, cl100k = TOKEN_SAMPLES[name]
    error = abs(count_tokens(text) - cl100k) / cl100k
    assert error <= 0.10, (count_tokens(text), cl100k)
    if name in NOTE_FIGURES:  # no worse than the plain pre-token count the note measured on its sample
        note_cl100k, note_pretokens = NOTE_FIGURES[name]
        assert error <= max(abs(note_pretokens - note_cl100k) / note_cl100k, 0.07)


def test_token_estimate_pieces() -> None:
    assert count_tokens("") == 0
    assert count_tokens("tiktoken is great!") == 4  # "tiktoken", " is", " great", "!"; cl100k cuts tiktoken in 3
    assert count_tokens("知识库") == 3 and count_tokens("한국어") == 3
    assert count_tokens("I'm 12345") == 5  # "I", "'m", " ", "123", "45"
    assert count_tokens("end.\n\nNext") == 3  # "end", ".\n\n", "Next": symbols take the newlines after them
    [chunk] = split("Hello world", None)
    assert chunk.tokens == count_tokens("Hello world")


# --- cleaning -----------------------------------------------------------------------------------


def test_fixed_deletions_and_the_pre_116_bom_bytes() -> None:
    assert clean("a<|b|>c\x00\x07\x0b\x0c\x1f\x7f\ufffed\te", [], legacy=False) == "a<b>cd\te"
    assert clean("¿Qué ½ ¾ ï", [], legacy=True) == "Qué ½  "  # harness (the note prints one space)
    assert clean("¿Qué ½ ¾ ï", [], legacy=False) == "¿Qué ½ ¾ ï"
    text = "ïcole ¾ done"
    for release, expected in (("1.12", "cole  done"), ("1.14", "cole  done"), ("1.16", "ïcole ¾ done")):
        assert contents(split(text, custom(separator="###", max_tokens=50), release=release)) == [expected]


def test_remove_extra_spaces() -> None:
    assert clean("a\n\n\n\nb   c\t\td \u3000\u00a0e f", [EXTRA_SPACES], legacy=False) == "a\n\nb c d e f"
    assert clean("x \n \n \ny", [EXTRA_SPACES], legacy=False) == "x \n \n \ny"  # no run of 3 newlines
    assert clean("a  b", [{"id": "remove_extra_spaces", "enabled": False}], legacy=False) == "a  b"


def test_remove_urls_and_emails() -> None:
    assert clean("see https://a.b/c?d=1. end", [URLS], legacy=False) == "see  end"
    text = "mail a.b+c@ex-ample.co.uk, [Docs](https://docs.dify.ai) ![pic](http://i.io/p.png) www.x.com"
    assert (
        clean(text, [URLS], legacy=False) == "mail , [Docs](https://docs.dify.ai) ![pic](http://i.io/p.png) www.x.com"
    )
    assert clean("![a]b](http://x.y/z)", [URLS], legacy=False) == "![image](http://x.y/z)"  # alt text lost


def test_rules_apply_in_list_order_and_stopwords_do_nothing() -> None:
    text = "see https://a.b  here"
    assert clean(text, [URLS, EXTRA_SPACES], legacy=False) == "see here"
    assert clean(text, [EXTRA_SPACES, URLS], legacy=False) == "see  here"
    assert clean("the a an  of", [{"id": "remove_stopwords", "enabled": True}], legacy=False) == "the a an  of"


def test_stored_rules_fold_repeated_ids_and_read_enabled_as_pydantic_does() -> None:
    pre = [EXTRA_SPACES, URLS, {"id": "remove_extra_spaces", "enabled": False}]  # first place, last value
    assert contents(split("a  b https://x.y", custom(separator="###", max_tokens=50, pre=pre))) == ["a  b"]
    lax = [{"id": "remove_extra_spaces", "enabled": "true"}]
    assert contents(split("a  b", custom(separator="###", max_tokens=50, pre=lax))) == ["a b"]


def test_newlines_are_read_back_universally() -> None:
    assert contents(split("a\r\nb\rc\r\n\r\nd", custom(separator="\\n\\n", max_tokens=50))) == ["a\nb\nc", "d"]


# --- leading symbols ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("## Heading", "Heading"), ("**Bold** t", "Bold** t"), ("...Hi", "Hi"), ("- item", "- item"), ("“引号", "引号")],
)
def test_leading_symbols(text: str, expected: str) -> None:
    for legacy in (True, False):
        assert remove_leading_symbols(text, legacy=legacy).strip() == expected


def test_leading_brackets_go_only_in_112() -> None:
    for release, expected in (("1.12", ["1] Intro", "注意"]), ("1.14", ["[1] Intro", "】注意"]), ("1.16", None)):
        got = contents(split("[1] Intro###】注意", custom(separator="###", max_tokens=50), release=release))
        assert got == (expected or ["[1] Intro", "】注意"])
    assert remove_leading_symbols("[a](https://x.y) rest", legacy=True) == "[a](https://x.y) rest"
    assert remove_leading_symbols("【注意】", legacy=True) == "【注意】"


# --- automatic ------------------------------------------------------------------------------------


def test_automatic_short_text_is_one_cleaned_stripped_segment() -> None:
    assert contents(split("  \n# Title  here\n\n\n\nbody.  \n", None)) == ["Title here\n\nbody."]


def test_automatic_paragraphs_merge_to_500_without_overlap_when_too_long() -> None:
    text = "\n\n".join(c * 200 for c in "abc")
    assert contents(split(text, None)) == ["a" * 200 + "\n\n" + "b" * 200, "c" * 200]


def test_automatic_overlap_is_the_last_whole_pieces_up_to_50() -> None:
    paras = [f"para {i:02d} " + "z" * 21 for i in range(25)]  # 29 characters each
    chunks = contents(split("\n\n".join(paras), None))
    assert chunks == ["\n\n".join(paras[:16]), "\n\n".join(paras[15:])]
    assert [len(c) for c in chunks] == [494, 308]
    words = [f"word{i:03d}" for i in range(90)]
    chunks = contents(split(" ".join(words), None))
    assert chunks == [" ".join(words[:62]), " ".join(words[56:])]
    assert [len(c) for c in chunks] == [495, 271]


def test_automatic_harness_sample() -> None:
    text = P1 + "\n\n" + P2 + "\n\n" + LINES
    chunks = split(text, None)
    assert [(c.word_count, c.index_node_hash[:12]) for c in chunks] == [  # harness, all three releases
        (460, "9e3d2ff741a2"),
        (153, "519efaa27a42"),
        (122, "b64cbc49f67f"),
        (456, "a6e4dc4fbfe9"),
    ]
    assert chunks[0].content == " ".join(sentence(i, 9) for i in range(9))
    assert chunks[1].content == " ".join(sentence(i, 9) for i in range(9, 12))
    assert chunks[2].content == P2
    assert chunks[3].content == LINES  # "\n" is no separator: the lines stay together
    assert all(split(text, None, release=r) == chunks for r in RELEASES)


# --- custom ---------------------------------------------------------------------------------------


def test_custom_pieces_are_neither_merged_nor_overlapped() -> None:
    chunks = split(LINES, custom(separator="\\n", max_tokens=120))
    assert contents(chunks) == LINES.split("\n")
    assert [(c.word_count, c.index_node_hash[:12]) for c in chunks][:3] == [  # harness
        (46, "6ba5f8ac6599"),
        (45, "841e2e2ed465"),
        (46, "aa3291843511"),
    ]


def test_custom_oversize_paragraph_is_cut_again_harness() -> None:
    chunks = split(P1 + "\n\n" + P2, custom(separator="\n\n", max_tokens=100, overlap=20))
    assert [(c.word_count, c.index_node_hash[:12]) for c in chunks] == [  # harness, all three releases
        (51, "3a07722ddcd0"),
        (51, "4c494066bff7"),
        (53, "1a63f337871d"),
        (50, "9263733b0cc8"),
        (98, "9f48d2cfaa18"),
        (99, "d30a14b0d800"),
        (52, "283540836a71"),
        (52, "6cecc36c5aa2"),
        (100, "471f1c0463f3"),
        (81, "b2fd5bbd2ada"),
        (40, "a997fd16e175"),
    ]
    assert chunks[4].content == sentence(4, 9) + " " + sentence(5, 9)


@pytest.mark.parametrize("separator", ["\\n\\n", "\n\n", "\\n\n"])
def test_separator_unescaping(separator: str) -> None:
    assert contents(split("a\n\nb", custom(separator=separator, max_tokens=50))) == ["a", "b"]


def test_escaped_tab_and_non_ascii_separators() -> None:
    assert contents(split("a\tb", custom(separator="\\t", max_tokens=50))) == ["a", "b"]
    # unicode_escape reads UTF-8 bytes as Latin-1: a non-ASCII separator never matches (harness)
    assert contents(split("第一句话。第二句话。\n\n第三段", custom(separator="。", max_tokens=50))) == [
        "第一句话。第二句话。\n\n第三段"
    ]
    assert contents(split("café|thé", custom(separator="é", max_tokens=50))) == ["café|thé"]


def test_delimiter_is_read_as_the_separator_only_in_116() -> None:
    rule = {
        "mode": "custom",
        "rules": {"pre_processing_rules": [], "segmentation": {"delimiter": "|", "max_tokens": 50}},
    }
    assert contents(split("a|b\nc", rule, release="1.16")) == ["a", "b\nc"]
    assert contents(split("a|b\nc", rule, release="1.14")) == ["a|b", "c"]  # the default "\n"
    both = {"separator": "\n", "delimiter": "|", "max_tokens": 50}
    assert contents(split("a|b\nc", {"mode": "custom", "rules": {"segmentation": both}})) == ["a|b", "c"]


def test_words_lose_their_spaces_before_116() -> None:
    text = " ".join(f"word{i:02d}" for i in range(30))
    rule = custom(separator="\n\n", max_tokens=60, overlap=10)
    old = [(c.content, c.index_node_hash[:12]) for c in split(text, rule, release="1.14")]
    assert old == [  # harness 1.12.0 and 1.14.2
        ("word00word01word02word03word04word05word06word07word08word09", "1faed60ad1d8"),
        ("word09word10word11word12word13word14word15word16word17word18", "91464395847d"),
        ("word18word19word20word21word22word23word24word25word26word27", "2451145f585d"),
        ("word27word28word29", "28881da36344"),
    ]
    assert split(text, rule, release="1.12") == split(text, rule, release="1.14")
    new = [(c.content, c.index_node_hash[:12]) for c in split(text, rule, release="1.16")]
    assert new == [  # harness 1.16.1
        ("word00 word01 word02 word03 word04 word05 word06 word07", "dd8794a854cc"),
        ("word07 word08 word09 word10 word11 word12 word13 word14", "39fb665775a0"),
        ("word14 word15 word16 word17 word18 word19 word20 word21", "3ae23146edf5"),
        ("word21 word22 word23 word24 word25 word26 word27 word28", "747ea6e719a5"),
        ("word28 word29", "e9d35c6c6917"),
    ]


def test_characters_are_packed_with_overlap_and_not_stripped() -> None:
    assert [c.word_count for c in split("x" * 130, custom(max_tokens=60, overlap=10))] == [60, 60, 30]  # harness
    text = "short words then " + "z" * 130 + " and more"
    rule = custom(separator="\\n", max_tokens=60, overlap=10)
    expected_old = ["shortwordsthen", "z" * 60, "z" * 60, "z" * 30, "andmore"]  # harness
    assert contents(split(text, rule, release="1.12")) == expected_old
    assert contents(split(text, rule)) == ["short words then", "z" * 60, "z" * 60, "z" * 30, "and more"]  # harness


# --- limits -------------------------------------------------------------------------------------


LENGTH = "Custom segment length should be between 50 and 4000."


@pytest.mark.parametrize("max_tokens", [0, 49, 4001, 10000])
def test_segment_length_out_of_range(max_tokens: int) -> None:
    with pytest.raises(SplitError) as err:
        split("text", custom(max_tokens=max_tokens))
    assert str(err.value) == LENGTH


def test_limits_are_inclusive_and_the_automatic_rule_is_never_checked() -> None:
    assert contents(split("a", custom(max_tokens=50))) == contents(split("a", custom(max_tokens=4000))) == ["a"]
    assert contents(split("a", {"mode": "automatic", "rules": {"segmentation": {"max_tokens": 1}}})) == ["a"]


def test_overlap_larger_than_size() -> None:
    with pytest.raises(SplitError) as err:
        split("text", custom(max_tokens=60, overlap=61))
    assert str(err.value) == "Got a larger chunk overlap (61) than chunk size (60), should be smaller."
    assert contents(split("text", custom(max_tokens=60, overlap=60))) == ["text"]


def test_negative_overlap_passes_the_check_and_fails_when_pieces_merge() -> None:
    assert contents(split("a\n\nb", custom(max_tokens=50, overlap=-5))) == ["a", "b"]
    with pytest.raises(SplitError) as err:  # harness: Dify's merge indexes an empty list
        split("word " * 30, custom(max_tokens=50, overlap=-5))
    assert str(err.value) == "list index out of range"


@pytest.mark.parametrize(("separator", "position"), [("\\", 0), ("ab\\", 2), ("\\n\\", 1)])
def test_separator_ending_in_a_backslash(separator: str, position: int) -> None:
    with pytest.raises(SplitError) as err:
        split("text", custom(separator=separator, max_tokens=60))
    assert str(err.value) == f"'unicodeescape' codec can't decode byte 0x5c in position {position}: \\ at end of string"


def test_checks_run_in_difys_order() -> None:
    with pytest.raises(SplitError, match=r"^Custom segment length"):
        split("t", custom(separator="\\", max_tokens=10, overlap=99))
    with pytest.raises(SplitError, match=r"^Got a larger chunk overlap"):
        split("t", custom(separator="\\", max_tokens=60, overlap=99))


def test_missing_rules() -> None:
    cases: list[tuple[Any, str, str]] = [
        ({"mode": "custom", "rules": {}}, "text_model", "No rules found in process rule."),
        ({"mode": "custom", "rules": {"pre_processing_rules": []}}, "text_model", "No segmentation found in rules."),
        ({"mode": "custom", "rules": {"pre_processing_rules": []}}, "qa_model", LENGTH),
        (hierarchical(None, {"max_tokens": 50}), "hierarchical_model", "No segmentation found in rules."),
        (hierarchical({"max_tokens": 50}, None), "hierarchical_model", "No subchunk segmentation found in rules."),
        (None, "paragraph_model", "Index type paragraph_model is not supported."),
        ({"mode": "semi"}, "text_model", "Process rule mode is invalid"),
    ]
    for rule, doc_form, message in cases:
        with pytest.raises(SplitError) as err:
            split("text", rule, doc_form)
        assert str(err.value) == message


def test_release_profiles() -> None:
    text = "[1] Intro"
    assert contents(split(text, None, release="1.12.0")) == ["1] Intro"]
    assert contents(split(text, None, release="1.16.1")) == contents(split(text, None, release="1.15")) == [text]
    with pytest.raises(ValueError, match="unknown release profile"):
        split(text, None, release="1.11")


# --- hierarchical ---------------------------------------------------------------------------------

PC_TEXT = "  Para one line A.\nline B is here.\n\n\n\nPara two   only.  "
PC_PARENT = {"separator": "\\n\\n", "max_tokens": 500}
PC_CHILD = {"separator": "\\n", "max_tokens": 50}


def test_paragraph_parents_stay_unstripped_with_children() -> None:
    chunks = split(PC_TEXT, hierarchical(PC_PARENT, PC_CHILD, pre=[EXTRA_SPACES]), "hierarchical_model")
    assert [(c.content, c.children) for c in chunks] == [  # harness
        (" Para one line A.\nline B is here.", (" Para one line A.", "line B is here.")),
        ("Para two only. ", ("Para two only. ",)),
    ]
    assert chunks[0].index_node_hash == sha(" Para one line A.\nline B is here.")
    assert chunks[0].child_hashes == (sha(" Para one line A."), sha("line B is here."))
    assert chunks[1].word_count == 15 and chunks[1].answer is None


def test_parent_mode_defaults_to_paragraph() -> None:
    rule = hierarchical(PC_PARENT, PC_CHILD, parent_mode=None, pre=[EXTRA_SPACES])
    assert len(split(PC_TEXT, rule, "hierarchical_model")) == 2


def test_full_doc_is_the_raw_text_with_children_cut_from_it() -> None:
    chunks = split(PC_TEXT, hierarchical(PC_PARENT, PC_CHILD, "full-doc", pre=[EXTRA_SPACES]), "hierarchical_model")
    assert chunks == [  # harness
        Chunk(
            PC_TEXT,
            sha(PC_TEXT),
            len(PC_TEXT),
            count_tokens(PC_TEXT),
            children=("  Para one line A.", "line B is here.", "Para two   only.  "),
            child_hashes=(sha("  Para one line A."), sha("line B is here."), sha("Para two   only.  ")),
        )
    ]
    full_doc_no_parent_segmentation = hierarchical(None, PC_CHILD, "full-doc")
    assert len(split(PC_TEXT, full_doc_no_parent_segmentation, "hierarchical_model")) == 1


def test_leading_period_is_dropped_from_parents_and_children() -> None:
    rule = hierarchical({"separator": "!", "max_tokens": 50}, {"separator": "?", "max_tokens": 50})
    [chunk] = split(". a?。 b? c", rule, "hierarchical_model")
    assert chunk.content == "a?。 b? c" and chunk.index_node_hash == sha(". a?。 b? c")
    assert chunk.children == ("a", "b", " c") and chunk.child_hashes == (sha("a"), sha("。 b"), sha(" c"))
    [chunk] = split("。 b", rule, "hierarchical_model")
    assert chunk.content == "b" and chunk.children == ("b",)


def test_automatic_or_parentless_custom_rules_give_no_parent_child_segments() -> None:
    assert split(PC_TEXT, None, "hierarchical_model") == []
    custom_rule = hierarchical(PC_PARENT, PC_CHILD, parent_mode=None)
    custom_rule["mode"] = "custom"
    assert split(PC_TEXT, custom_rule, "hierarchical_model") == []


def test_child_rule_is_checked_only_when_a_parent_exists() -> None:
    bad_child = {"separator": "\\n", "max_tokens": 10}
    assert split("   ", hierarchical(PC_PARENT, bad_child), "hierarchical_model") == []
    with pytest.raises(SplitError, match=f"^{LENGTH}$"):
        split("text", hierarchical(PC_PARENT, bad_child), "hierarchical_model")
    with pytest.raises(SplitError, match=f"^{LENGTH}$"):
        split("", hierarchical(PC_PARENT, bad_child, "full-doc"), "hierarchical_model")


def test_cjk_parent_child_keeps_full_width_spaces_without_the_rule() -> None:
    rule = hierarchical({"separator": "\\n\\n", "max_tokens": 200}, {"separator": "\\n", "max_tokens": 50})
    chunks = split(CJK, rule, "hierarchical_model")
    assert [(c.content, c.children, c.index_node_hash[:12]) for c in chunks] == [  # harness
        (
            "知识库把文档切分成片段。每个片段都会被索引，以便检索。",
            ("知识库把文档切分成片段。每个片段都会被索引，以便检索。",),
            "83b932ad1d4b",
        ),
        (
            "【注意】分段长度按字符计算，而不是按令牌计算。\u3000\u3000全角空格也会被合并。",
            ("【注意】分段长度按字符计算，而不是按令牌计算。\u3000\u3000全角空格也会被合并。",),
            "2e1632754a3b",
        ),
        ("“引号开头的段落”会失去开头的符号。", ("“引号开头的段落”会失去开头的符号。",), "5a2df791df6a"),
    ]


# --- qa_model -------------------------------------------------------------------------------------


def test_qa_stand_in_turns_each_piece_into_a_pair() -> None:
    chunks = split("## What is Dify?\n   An LLM app platform.\n\nSecond part.", custom(max_tokens=50), "qa_model")
    assert chunks == [
        Chunk(
            "What is Dify?\n   An LLM app platform.",
            sha("What is Dify?\n   An LLM app platform."),
            len("What is Dify?\n   An LLM app platform."),
            count_tokens("What is Dify?\n   An LLM app platform."),
            answer="What is Dify?\nAn LLM app platform.",
        ),
        Chunk("Second part.", sha("Second part."), 12, count_tokens("Second part."), answer="Second part."),
    ]
    assert contents(split("...\n\nok", custom(max_tokens=50), "qa_model")) == ["ok"]
    assert [c.answer for c in split("one", None, "qa_model")] == ["one"]


# --- Markdown, CJK, edge texts ----------------------------------------------------------------------

MD = (
    "# Getting started\n\nDify turns documents into **segments**.\n\n## Install\n\n- Clone the repo\n"
    "- Run `docker compose up -d`\n\n```python\nimport dify\nclient = dify.Client()\n```\n\n### Links\n\n"
    "[Docs](https://docs.dify.ai) and https://example.com/x?y=1 or mail a@b.io.\n\n> quote\n\n1. first\n2. second\n"
)
CJK = (
    "知识库把文档切分成片段。每个片段都会被索引，以便检索。\n\n【注意】分段长度按字符计算，而不是按令牌计算。"
    "\u3000\u3000全角空格也会被合并。\n\n“引号开头的段落”会失去开头的符号。"
)


def test_markdown_is_plain_text_and_only_a_segments_first_symbols_go() -> None:
    [chunk] = split(MD, None)  # harness: shorter than 500, one segment
    assert chunk.content == MD[2:].strip()
    assert chunk.index_node_hash[:12] == "e76cbdefd97a"
    chunks = split(MD, custom(separator="\\n\\n", max_tokens=50, pre=[EXTRA_SPACES, URLS]))
    assert [(c.content, c.index_node_hash[:12]) for c in chunks] == [  # harness, all three releases
        ("Getting started", "f9c877d7f9b3"),
        ("Dify turns documents into **segments**.", "c461991bcd60"),
        ("Install", "318fa7e9b8e6"),
        ("- Clone the repo\n- Run `docker compose up -d`", "b56fffc4d29b"),
        ("python\nimport dify\nclient = dify.Client()\n```", "0e2813cc009c"),  # the fence's backticks go
        ("Links", "80c9bfa51c35"),
        ("[Docs](https://docs.dify.ai) and  or mail", "05fcf36e84a5"),
        ("quote", "c6353acb0fca"),
        ("1. first\n2. second", "290e7bd0f920"),
    ]


def test_cjk_text() -> None:
    [chunk] = split(CJK, None)  # harness
    assert chunk.content == CJK.replace("\u3000\u3000", " ") and chunk.index_node_hash[:12] == "a0f146090970"
    chunks = split(CJK * 3, custom(separator="\\n\\n", max_tokens=60, overlap=10, pre=[EXTRA_SPACES]))
    assert [c.index_node_hash[:12] for c in chunks] == [  # harness
        "83b932ad1d4b",
        "1e6f0e51dbd4",
        "59b34b82c2b7",
        "1e6f0e51dbd4",
        "59b34b82c2b7",
        "1e6f0e51dbd4",
        "5a2df791df6a",
    ]
    assert (
        chunks[2].content == "引号开头的段落”会失去开头的符号。知识库把文档切分成片段。每个片段都会被索引，以便检索。"
    )
    pieces = [f"这是第{i}句话。" for i in range(100)]
    cut = split("".join(pieces), None)
    # harness: cut after each 。, the next segment starting with the last 6 pieces (48 characters)
    assert [(c.content, c.index_node_hash[:12]) for c in cut] == [
        ("".join(pieces[:63]), "34ad6d6028bf"),
        ("".join(pieces[57:]), "9c09dc5eae9d"),
    ]


@pytest.mark.parametrize(
    ("rule", "doc_form"),
    [
        (None, "text_model"),
        (custom(), "text_model"),
        (None, "qa_model"),
        (hierarchical(PC_PARENT, PC_CHILD), "hierarchical_model"),
    ],
)
@pytest.mark.parametrize("text", ["", "  \n\n \t ", "\n\n\n"])
def test_empty_and_blank_texts_give_no_segment(rule: Any, doc_form: str, text: str) -> None:
    assert split(text, rule, doc_form) == []


def test_empty_full_doc_is_one_empty_segment() -> None:
    rule = hierarchical(PC_PARENT, PC_CHILD, "full-doc")
    assert split("", rule, "hierarchical_model") == [Chunk("", sha(""), 0, 0)]


def test_one_huge_word() -> None:
    word = "w" * 1200
    chunks = split(word, None)  # harness: 500-character pieces overlapping by 50
    assert [(c.word_count, c.index_node_hash[:12]) for c in chunks] == [
        (500, "e3b0470d9046"),
        (500, "e3b0470d9046"),
        (300, "ea0fd8edf69a"),
    ]
    assert split(word, custom(separator="\\n", max_tokens=500, overlap=50)) == chunks  # harness: same pieces
    assert [c.tokens for c in chunks] == [123, 123, 73]  # a long piece: a token per 4 characters beyond 12
    assert split("w" * 40, None, release="1.12") == [Chunk("w" * 40, sha("w" * 40), 40, 8)]


# --- size -----------------------------------------------------------------------------------------


def test_a_megabyte_is_cut_in_one_pass() -> None:
    paragraph = " ".join(sentence(i, 8) for i in range(6))  # 286 characters
    text = "\n\n".join(f"{n:05d} {paragraph}" for n in range(3600))  # ~1 MB
    assert len(text) > 1_000_000
    chunks = split(text, None, economy=True)
    assert len(chunks) == 3600  # two paragraphs never fit in 500, so each is a segment
    assert chunks[0].content == f"00000 {paragraph}" and chunks[-1].content == f"03599 {paragraph}"
    chunks = split(text, custom(separator="\\n\\n", max_tokens=100, overlap=10))
    assert len(chunks) == 3600 * 3  # each paragraph: two sentences a segment, cut at ". " (no overlap fits)
    pairs = [sentence(0, 8) + " " + sentence(1, 8), sentence(2, 8) + " " + sentence(3, 8)]
    pairs.append(sentence(4, 8) + " " + sentence(5, 8))
    assert contents(chunks[3 * 1234 : 3 * 1235]) == [f"01234 {pairs[0]}", pairs[1], pairs[2]]
    assert sum(c.word_count for c in chunks) == len(text.replace("\n\n", "")) - 3600 * 2  # the ". " cuts' spaces
    word = "x" * 1_000_000
    chunks = split(word, None)
    assert len(chunks) == 2223 and {c.word_count for c in chunks[:-1]} == {500} and chunks[-1].word_count == 100
    chunks = split(word, custom(separator="\\n", max_tokens=1000, overlap=100))
    assert len(chunks) == 1111 and {c.word_count for c in chunks} == {1000}  # 900 apart, the last one flush
    assert chunks[0].tokens == count_tokens("x" * 1000) == 1 + (1000 - 12) // 4
