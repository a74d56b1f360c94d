"""The MIT-licensed DSL exports of svcvit/Awesome-Dify-Workflow kept beside the project in
`../shared/dsl-examples/awesome-dify-workflow/` (DSL.md §A.3): read from there, never copied in."""

from __future__ import annotations

from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[2]
# The checkout is the project's own directory or a worktree one level further down (wt/NAME).
_CANDIDATES = [p / "shared" / "dsl-examples" / "awesome-dify-workflow" for p in (_REPO.parent, _REPO.parent.parent)]
EXAMPLES = next((p for p in _CANDIDATES if p.is_dir()), _CANDIDATES[0])
TRANSLATION = "translation_workflow.yml"  # F1: workflow, DSL 0.1.0
COURSE = "dify_course_demo.yml"  # F2: workflow, DSL 0.1.2, an iteration
TOD_AGENT = "Demo-tod_agent.yml"  # F3: advanced-chat, DSL 0.1.5
# F3 asked "hi" (DSL.md §A.3): its if-else takes "false"; the answer's chunks go out before the
# branch's finish. Chunks folded into one `chunk*`, as plan-level and HTTP outlines both write them.
TOD_AGENT_OUTLINE = [
    "workflow_started",
    "started 开始",
    "finished 开始",
    "started Agent",
    "finished Agent",
    "started 条件分支",
    "chunk*",
    "finished 条件分支",
    "started 直接回复",
    "finished 直接回复",
    "message_end",
    "workflow_finished",
]


def example(name: str) -> Path:
    """The shared export `name`; the test is skipped where ../shared is not beside the checkout."""
    path = EXAMPLES / name
    if not path.is_file():
        pytest.skip(f"{path} is not here (the shared DSL examples live beside the project)")
    return path
