"""Determinism: values are pure functions of (seed, tenant, endpoint, n, label)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from mockserver.determinism import Draws, FakerSource, derive_uuid

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_uuid_is_v4_and_depends_on_every_part_of_the_key() -> None:
    base = derive_uuid((0, "s:a", "service.x", 0, "message"))
    assert UUID4.match(base)
    for other in [
        (1, "s:a", "service.x", 0, "message"),
        (0, "s:b", "service.x", 0, "message"),
        (0, "s:a", "service.y", 0, "message"),
        (0, "s:a", "service.x", 1, "message"),
        (0, "s:a", "service.x", 0, "task"),
    ]:
        assert derive_uuid(other) != base


def test_same_key_same_value_across_processes() -> None:
    code = "from mockserver.determinism import derive_uuid; print(derive_uuid((0, 's:a', 'e', 0, 'l')))"
    outs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    }
    assert outs == {derive_uuid((0, "s:a", "e", 0, "l")) + "\n"}


def test_draws_pin_and_faker_are_stable() -> None:
    faker = FakerSource()
    a, b = Draws(7, "t", "app:k", "e", 3, faker), Draws(7, "t", "app:k", "e", 3, faker)
    assert a.uuid("x") == b.uuid("x") and a.uuid("x") != a.uuid("y")
    a.pin("conversation", "fixed")
    assert a.lookup("conversation") == "fixed"
    first = a.fake("f@1:1", "sentence", (), {})
    a.fake("f@2:2", "name", (), {})  # an unrelated draw in between changes nothing
    assert b.fake("f@1:1", "sentence", (), {}) == first
    assert a.random("timing").random() == b.random("timing").random()


@pytest.mark.parametrize(
    "key",
    [
        (7, "t", "app:k", "e", 3),
        (0, "default", "app:app-chat", "service.send_chat_message", 1234),
        (2**70, 'it\'s "quoted"', "dataset:ds-\u00e9\u2028", "service.x", 0),  # repr escapes, a big seed
    ],
)
def test_a_request_id_is_the_id_of_its_key_and_label(key: tuple[object, ...]) -> None:
    """Draws.uuid writes the key's text out for speed: the ids stay derive_uuid's of (*key, label), the
    ids earlier releases of the mock gave the same requests."""
    draws = Draws(*key, FakerSource())  # type: ignore[arg-type]
    for label in ("conversation", "message", "task", "l'abel"):
        assert draws.uuid(label) == derive_uuid((*key, label))
