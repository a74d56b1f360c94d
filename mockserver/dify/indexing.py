"""How a Knowledge API document's indexing progresses, as a pure function of mock time and status reads.

Dify's worker writes waiting -> parsing -> splitting -> indexing -> completed (core/indexing_runner.py at
1.12.0, 1.14.2 and 1.16.1; `cleaning` is an enum value no code path writes, research/knowledge_indexing.md
§1.1). The emulator has no worker: a document is one stage further per status read of it (a poll) and
per `STAGE_SECONDS` of mock time since it was made, whichever is further, so a client that polls sees
every stage in order and one that waits sees it finish. A fixture's `indexing:` block can stop it in
`error` or `paused` at a stage instead (the stage is reached, then the document stays there)."""

from __future__ import annotations

from typing import Final

from msgspec import Struct

STAGES: Final = ("waiting", "parsing", "splitting", "indexing", "completed")
STAGE_SECONDS: Final = 1  # of mock time per stage (the mock clock steps 1 s per request by default)
# The timestamp columns each stage sets when it is reached (index processor order, knowledge_indexing.md §1.2).
STAMPS: Final = {
    "parsing": ("processing_started_at",),
    "splitting": ("parsing_completed_at",),
    "indexing": ("cleaning_completed_at", "splitting_completed_at"),
    "completed": ("completed_at",),
}


class Progress(Struct, frozen=True, eq=False):
    status: str  # waiting, parsing, splitting, indexing, completed, error or paused
    stage: int  # index in STAGES of the last stage reached
    times: dict[str, int]  # the timestamp columns set so far
    stopped_at: int | None  # when an error stopped it
    paused_at: int | None

    @property
    def segments_visible(self) -> bool:
        """Segment rows exist from the `indexing` stage on (IndexingRunner._load_segments)."""
        return self.stage >= STAGES.index("indexing")

    @property
    def completed(self) -> bool:
        return self.status == "completed"


def progress(created_at: int, now: int, polls: int, outcome: str = "completed", at: str = "indexing") -> Progress:
    """Where a document made at `created_at` is at mock time `now` after `polls` status reads.

    An `error` outcome reaches stage `at`, then fails at the next step; `paused` stays at `at`."""
    elapsed = max(0, now - created_at) // STAGE_SECONDS
    reached = min(len(STAGES) - 1, max(polls, elapsed))
    status: str
    stopped_at = paused_at = None
    stop = STAGES.index(at) if outcome != "completed" else len(STAGES) - 1
    if reached > stop:
        # The step after `at` is when the error shows (or the pause is noticed); stage `at` stays the last.
        when = min(now, created_at + (stop + 1) * STAGE_SECONDS)
        status = "error" if outcome == "error" else "paused"
        stopped_at, paused_at = (when, None) if outcome == "error" else (None, when)
        reached = stop
    else:
        status = STAGES[reached]
    times: dict[str, int] = {}
    for index in range(1, reached + 1):
        for column in STAMPS[STAGES[index]]:
            times[column] = min(now, created_at + index * STAGE_SECONDS)
    return Progress(status, reached, times, stopped_at, paused_at)
