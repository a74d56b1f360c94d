"""Dify's document facts without HTTP: Markdown sections, stored process rules, display status, the
list's status filter, batch names and ZIP entry names (research/knowledge_documents.md §2-§4,
knowledge_indexing.md §2-§3)."""

from __future__ import annotations

import pytest

from mockserver.dify.documents import batch_name, display_status, status_filter, stored_rule, zip_names
from mockserver.dify.markdown import decode, sections


def test_markdown_sections_as_difys_extractor_makes_them() -> None:
    text = decode(
        b"# C# Guide\r\nIntro <b>bold</b> text.\r\n\r\n```\r\n# not a header\r\n```\r\n## Sub-section #2\nBody"
    )
    assert sections(text) == [
        "",
        "\n\nC Guide\nIntro bold text.\n\n```\n# not a header\n```",
        "\n\nSub-section 2\nBody",
    ]
    assert sections("#hashtag is text\nmore") == ["#hashtag is text\nmore"]
    assert decode(b"a\rb\r\nc") == "a\nb\nc"
    assert decode(b"caf\xe9") == "café"  # not UTF-8: read as Latin-1


def test_a_custom_rule_is_stored_with_every_field() -> None:
    rule = {"mode": "hierarchical", "rules": {"pre_processing_rules": [], "segmentation": {"max_tokens": 0}}}
    with pytest.raises(ValueError, match="max_tokens is required"):
        stored_rule(rule, rule, "1.16")
    full_doc = {**rule, "rules": {**rule["rules"], "parent_mode": "full-doc"}}
    mode, rules = stored_rule(full_doc, full_doc, "1.16")
    assert mode == "hierarchical" and rules["parent_mode"] == "full-doc"
    given = {"mode": "custom", "rules": {"pre_processing_rules": [], "segmentation": {"max_tokens": 80}}}
    raw = {"mode": "custom", "rules": {"segmentation": {"delimiter": "###", "max_tokens": 80}}}
    assert stored_rule(given, raw, "1.16")[1]["segmentation"]["separator"] == "###"  # 1.16's alias
    assert stored_rule(given, raw, "1.14")[1]["segmentation"]["separator"] == "\n"
    paragraph = {"mode": "hierarchical", "rules": {"pre_processing_rules": [], "segmentation": {"max_tokens": 80}}}
    assert stored_rule(paragraph, paragraph, "1.16")[1]["parent_mode"] == "paragraph"


@pytest.mark.parametrize(
    ("status", "paused", "enabled", "archived", "shown"),
    [
        ("waiting", True, True, False, "queuing"),
        ("indexing", True, True, False, "paused"),
        ("splitting", False, True, False, "indexing"),
        ("error", True, True, False, "error"),
        ("completed", False, True, False, "available"),
        ("completed", False, False, False, "disabled"),
        ("completed", False, False, True, "archived"),
        ("paused", False, True, False, None),
    ],
)
def test_display_status(status: str, paused: bool, enabled: bool, archived: bool, shown: str | None) -> None:
    assert display_status(status, paused, enabled, archived) == shown


def test_status_filter_words() -> None:
    assert status_filter("Active") is not None and status_filter("ENABLED") is not None
    assert status_filter("") is None and status_filter(None) is None and status_filter("whatever") is None
    paused = status_filter("paused")
    assert paused is not None and paused("indexing", True, True, False) and not paused("waiting", True, True, False)


def test_batch_and_zip_names() -> None:
    assert batch_name(1735689600, lambda n: 42) == "20250101000000100042"
    assert zip_names(["a.txt", "a.txt", " ", "x/y.md", "a (1).txt", "a.txt"]) == [
        "a.txt",
        "a (1).txt",
        "file",
        "y.md",
        "a (1) (1).txt",
        "a (2).txt",
    ]
