"""Fixture loading: every problem names FILE:LINE:COLUMN; user directories merge over the built-ins."""

from __future__ import annotations

from pathlib import Path

from fixture_dirs import problems, write

from mockserver.app import load
from mockserver.settings import Settings


def test_builtin_fixtures_load() -> None:
    catalogue, book = load(Settings())
    assert set(book.fixtures) == set(catalogue.endpoints)
    assert {a.mode for a in book.apps.apps.values()} == {
        "chat",
        "advanced-chat",
        "agent-chat",
        "agent",
        "completion",
        "workflow",
    }


def test_bad_yaml_is_located(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "service/send_chat_message.yaml",
        """
        scenarios:
          hello:
            respond: {blocking: {answer: [1, 2}
    """,
    )
    assert len(found) == 1 and found[0].startswith("3:") and "invalid YAML" in found[0]


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "service/send_chat_message.yaml",
        """
        scenarios:
          hello:
            repsond:
              blocking: {answer: hi}
    """,
    )
    assert found == ["3:5: unknown key 'repsond' (did you mean 'respond'?)"]


def test_duplicate_key(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "service/send_chat_message.yaml",
        """
        scenarios:
          hello:
            respond: {blocking: {answer: hi}}
          hello:
            respond: {blocking: {answer: again}}
    """,
    )
    assert found == ["4:3: duplicate key 'hello'"]


def test_bad_template_is_a_load_error(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "service/send_chat_message.yaml",
        """
        scenarios:
          hello:
            respond:
              blocking: {answer: "{{ request.body.query | shout }}"}
    """,
    )
    assert len(found) == 1
    assert found[0].startswith("4:26: unknown filter 'shout'")


def test_unknown_root_and_eval_attempts_are_rejected(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "service/send_chat_message.yaml",
        """
        scenarios:
          a:
            respond: {blocking: {answer: "{{ __import__('os').system('true') }}"}}
          b:
            respond: {blocking: {answer: "{{ request.__class__ }}"}}
    """,
    )
    assert found[0].startswith("3:34: unknown function") or found[0].startswith("3:34: unknown name")
    assert found[1].startswith("5:34: private name '__class__'")


def test_bad_regex_and_operator(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "service/send_chat_message.yaml",
        """
        scenarios:
          a:
            match:
              body.query: {regex: "(unclosed"}
              body.user: {startwith: x}
            respond: {blocking: {answer: hi}}
    """,
    )
    assert found[0].startswith("4:27: bad regex")
    assert found[1] == "5:19: unknown operator 'startwith' (did you mean 'startswith'?)"


def test_fixture_without_schema_is_refused(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "service/send_chat_messages.yaml",
        """
        scenarios:
          default:
            respond: {blocking: {answer: hi}}
    """,
    )
    assert found[0].startswith("1:1: no endpoint schema at schemas/service/send_chat_messages.json")


def test_apps_file_is_validated(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "_apps.yaml",
        """
        apps:
          app-extra:
            mode: chatbot
    """,
    )
    assert len(found) == 1 and found[0].startswith("3:11: apps.app-extra.mode:")


def test_user_directory_overrides_and_adds(tmp_path: Path) -> None:
    write(
        tmp_path,
        "service/send_chat_message.yaml",
        """
        scenarios:
          greeting:
            match: {body.query: {startswith: "hi"}}
            respond: {blocking: {answer: "hello!"}}
          default:
            respond: {blocking: {answer: "overridden"}}
    """,
    )
    write(
        tmp_path,
        "_apps.yaml",
        """
        apps:
          app-mine: {mode: chat, name: Mine}
    """,
    )
    _, book = load(Settings(fixtures=(tmp_path,)))
    fixture = book.fixtures["service.send_chat_message"]
    assert fixture.rules[0].name == "greeting"  # new user scenarios are tried first
    assert fixture.named("chatflow") is not None  # built-in rules stay
    assert "app-mine" in book.apps.apps and "app-chat" in book.apps.apps
