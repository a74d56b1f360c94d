"""The per-tenant store: caps forget the oldest first, a conversation's messages go with it, and a
file store stays under its byte budget (a soak never grows memory)."""

from __future__ import annotations

from mockserver.state.records import Conversation, Message, StoredFile
from mockserver.state.store import Store, StoreLimits


def conversation(i: int) -> Conversation:
    return Conversation(f"c{i}", "app", "u", {}, "", i, i, f"n{i}")


def message(i: int, conversation_id: str) -> Message:
    return Message(f"m{i}", conversation_id, "app", "u", {}, "q", "a", i)


def test_the_oldest_conversation_goes_and_takes_its_messages() -> None:
    store = Store(StoreLimits(conversations=2, messages=100))
    for i in range(3):
        store.conversations.add(conversation(i))
        store.add_message(message(i, f"c{i}"))
    assert [c.id for c in store.conversations] == ["c1", "c2"]
    assert [m.id for m in store.messages] == ["m1", "m2"]
    assert set(store.threads) == {"c1", "c2"}


def test_a_large_collection_keeps_its_order_through_many_evictions() -> None:
    """Past a few hundred rows a collection changes how it keeps them (a queue that stays fast at its
    cap): the order, the lookups and what a cap drops are the same on both sides of that change."""
    store = Store(StoreLimits(conversations=1000))
    for i in range(2500):
        store.conversations.add(conversation(i))
        if i == 300:
            store.conversations.remove("c7")  # removed from the middle, before the change
    assert [c.id for c in store.conversations] == [f"c{i}" for i in range(1500, 2500)]
    assert store.conversations.get("c1499") is None and store.conversations.get("c1500") is not None
    small = Store(StoreLimits(conversations=3))
    for i in range(5):
        small.conversations.add(conversation(i))
    assert [c.id for c in small.conversations] == ["c2", "c3", "c4"]


def test_an_evicted_message_leaves_its_thread() -> None:
    store = Store(StoreLimits(messages=2))
    store.conversations.add(conversation(0))
    for i in range(3):
        store.add_message(message(i, "c0"))
    assert [m.id for m in store.threads["c0"]] == ["m1", "m2"]


def test_files_stay_under_the_byte_budget_but_the_newest_is_kept() -> None:
    store = Store(StoreLimits(file_bytes=10))
    for i in range(3):
        store.files.add(StoredFile(f"f{i}", "app", "u", "x", 6, "png", "image/png", "e", i, "", "t", b"x" * 6))
    assert [f.id for f in store.files] == ["f2"]


def test_owner_keys_and_soft_delete_hide_a_record() -> None:
    store = Store()
    found = store.conversations.add(conversation(0))
    assert store.conversations.get("c0", app="app", user="u") is found
    assert store.conversations.get("c0", app="app", user="other") is None
    found.deleted = True
    assert store.conversations.get("c0") is None and store.conversations.where(app="app") == []


def test_message_texts_are_capped_by_bytes_too() -> None:
    store = Store(StoreLimits(message_bytes=3 * 1024 * 1024))
    store.conversations.add(conversation(0))
    for i in range(5):
        store.add_message(Message(f"m{i}", "c0", "app", "u", {}, "q" * 1024 * 1024, "a", i))
    assert [m.id for m in store.threads["c0"]] == ["m3", "m4"]  # a 1 MiB query each: two fit in 3 MiB


def test_client_text_is_capped_by_bytes_in_every_collection() -> None:
    from mockserver.state.records import Annotation

    store = Store(StoreLimits(text_bytes=3 * 1024 * 1024))
    for i in range(5):
        store.annotations.add(Annotation(f"a{i}", "app", "q" * 1024 * 1024, "a", i))
    assert [a.id for a in store.annotations] == ["a3", "a4"]


def test_a_changed_record_gives_back_what_it_weighs_now() -> None:
    # The byte budget stays exact when kept records change: a segment's text, a tag's bindings.
    from mockserver.state.knowledge import Segment, Tag
    from mockserver.state.store import Store

    store = Store()
    segment = Segment("s1", "d", "doc", 1, "x" * 1000, 1000, 0, "n", "h", "owner", 0)
    store.add_segment(segment)
    segment.content = "y"
    store.reweigh([segment])
    store.segments.remove(segment.id)
    assert store.segments._used == 0
    tag = Tag("t1", "tag", "owner", 0)
    store.tags.add(tag)
    for i in range(100):
        tag.targets[f"ds{i}"] = i
        store.tags.reweigh(tag)
    store.tags.remove(tag.id)
    assert store.tags._used == 0


def test_a_record_grown_past_the_budget_makes_room_by_dropping_the_oldest() -> None:
    from mockserver.state.knowledge import Segment
    from mockserver.state.store import Store, StoreLimits

    store = Store(StoreLimits(segment_bytes=10_000))
    first = Segment("s1", "d", "doc", 1, "a", 1, 0, "n", "h", "owner", 0)
    second = Segment("s2", "d", "doc", 2, "b", 1, 0, "n", "h", "owner", 0)
    store.add_segment(first)
    store.add_segment(second)
    second.content = "b" * 9000
    store.reweigh([second])
    assert [s.id for s in store.segments] == ["s2"] and store.segments_of("doc") == [second]
