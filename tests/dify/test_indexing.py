"""A document's indexing walks Dify's visible stages one per poll or per second of mock time, and a
fixture's outcome stops it in error or paused at its stage (research/knowledge_indexing.md §1)."""

from __future__ import annotations

from mockserver.dify.indexing import STAGES, progress


def test_each_poll_shows_the_next_stage_and_never_cleaning() -> None:
    seen = [progress(100, 100, polls).status for polls in range(7)]
    assert seen == ["waiting", "parsing", "splitting", "indexing", "completed", "completed", "completed"]
    assert "cleaning" not in STAGES


def test_mock_time_alone_finishes_it_and_stamps_each_stage_once_reached() -> None:
    done = progress(100, 110, 0)
    assert done.completed and done.segments_visible
    assert done.times == {
        "processing_started_at": 101,
        "parsing_completed_at": 102,
        "cleaning_completed_at": 103,
        "splitting_completed_at": 103,
        "completed_at": 104,
    }
    early = progress(100, 101, 0)
    assert early.status == "parsing" and early.times == {"processing_started_at": 101}
    assert not early.segments_visible


def test_polls_faster_than_the_clock_never_stamp_the_future() -> None:
    fast = progress(100, 100, 4)
    assert fast.completed and set(fast.times.values()) == {100}


def test_an_error_outcome_stops_after_its_stage() -> None:
    assert [progress(0, 0, p, "error", "splitting").status for p in range(5)] == [
        "waiting",
        "parsing",
        "splitting",
        "error",
        "error",
    ]
    failed = progress(0, 9, 0, "error", "splitting")
    assert failed.stopped_at == 3 and failed.stage == STAGES.index("splitting") and not failed.segments_visible


def test_a_paused_outcome_stays_at_its_stage() -> None:
    paused = progress(0, 50, 0, "paused", "indexing")
    assert paused.status == "paused" and paused.paused_at == 4 and paused.stopped_at is None
    assert paused.segments_visible and not paused.completed
