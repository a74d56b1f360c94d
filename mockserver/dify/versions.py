"""The Dify releases emulated (`--dify-version`) as data: one Release per profile, each field a
difference a client can observe (VERSIONS.md V1-V14). Code asks the release, never a version number."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

FormErrors = Literal["http", "silence", "failed_run"]


@dataclass(frozen=True, slots=True)
class Release:
    name: str  # the profile: "1.12", "1.14", "1.16"
    server_version: str  # V1: GET /v1/ server_version
    # V2/V3: streaming workflow and chatflow runs are relayed from a worker: the first frame is one
    # `event: ping`, no periodic pings follow, and the stream ends at workflow_finished/workflow_paused.
    relayed_runs: bool
    # V4: input-form errors and an empty query on a streaming workflow/chatflow request.
    streaming_form_errors: FormErrors
    metadata_reasoning: bool  # V6: `reasoning: {}` in blocking and message_end metadata
    message_end_exclude_none: bool  # V6b: easy-UI message_end metadata drops null fields
    message_end_files_list: bool  # V7: message_end.files is [] in every mode (else null outside chatflow)
    modes: frozenset[str]  # V9: the app modes the release has
    workflow_started_reason: bool  # V10
    error_event_ends_with_failed_run: bool  # V11b: a non-graph error in a workflow run gets a failed workflow_finished
    chatflow_failure_error_event: bool  # V12: a failed chatflow run adds an `error` event after workflow_finished
    pydantic: str  # V13: the version in pydantic's "For further information visit" line
    dsl_version: str  # V14: the newest DSL version imported without a warning
    relay_idle_s: float = 300.0  # V4 "silence": when the relay gives up on a run that never starts

    @property
    def root(self) -> dict[str, str]:
        """What `{{ dify.* }}` and `match: {dify.*: ...}` see."""
        return {"version": self.name, "server_version": self.server_version}


_BASE_MODES: Final = frozenset({"chat", "agent-chat", "advanced-chat", "completion", "workflow"})

RELEASES: Final[dict[str, Release]] = {
    "1.12": Release(
        name="1.12",
        server_version="1.12.0",
        relayed_runs=False,
        streaming_form_errors="http",
        metadata_reasoning=False,
        message_end_exclude_none=False,
        message_end_files_list=False,
        modes=_BASE_MODES,
        workflow_started_reason=False,
        error_event_ends_with_failed_run=False,
        chatflow_failure_error_event=True,
        pydantic="2.11",
        dsl_version="0.5.0",
    ),
    "1.14": Release(
        name="1.14",
        server_version="1.14.2",
        relayed_runs=True,
        streaming_form_errors="silence",
        metadata_reasoning=False,
        message_end_exclude_none=False,
        message_end_files_list=False,
        modes=_BASE_MODES,
        workflow_started_reason=True,
        error_event_ends_with_failed_run=True,
        chatflow_failure_error_event=False,
        pydantic="2.12",
        dsl_version="0.6.0",
    ),
    "1.16": Release(
        name="1.16",
        server_version="1.16.1",
        relayed_runs=True,
        streaming_form_errors="failed_run",
        metadata_reasoning=True,
        message_end_exclude_none=True,
        message_end_files_list=True,
        modes=_BASE_MODES | {"agent"},
        workflow_started_reason=True,
        error_event_ends_with_failed_run=True,
        chatflow_failure_error_event=False,
        pydantic="2.12",
        dsl_version="0.7.0",
    ),
}
DEFAULT: Final = "1.16"
_VERSION = re.compile(r"^\s*v?(\d+)\.(\d+)(?:\.(\d+))?\s*$")


def parse(text: str) -> tuple[int, ...]:
    """`1.14`, `1.14.2` or `v1.14` as a tuple; ValueError otherwise."""
    m = _VERSION.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a Dify version (X.Y, e.g. {', '.join(RELEASES)})")
    return tuple(int(g) for g in m.groups() if g is not None)


def resolve(text: str) -> tuple[Release, str | None]:
    """The profile emulated for a requested version, and a notice when it is not one of the profiles:
    up to 1.12 -> 1.12 (older releases answered reqparse texts, not modelled), 1.13-1.14 -> 1.14,
    1.15 and later -> 1.16 (VERSIONS.md)."""
    wanted = parse(text)
    major_minor = wanted[:2]
    if major_minor <= (1, 12):
        name = "1.12"
    elif major_minor <= (1, 14):
        name = "1.14"
    else:
        name = "1.16"
    release = RELEASES[name]
    shown = ".".join(map(str, wanted))
    if shown == name or shown == release.server_version:
        return release, None
    notice = f"Dify {shown} is emulated as Dify {name} ({release.server_version})"
    if major_minor < (1, 11):
        notice += "; releases before 1.11 validated with reqparse, whose texts are not modelled"
    elif major_minor > (1, 16):
        notice += "; no newer release is modelled"
    return release, notice


def compare(version: str, spec: str) -> bool:
    """Whether release `version` satisfies `spec`: `>=1.14`, `<1.16`, `==1.14`, `1.14`, or several
    joined by `,` (all must hold). Raises ValueError on a malformed spec."""
    have = parse(version)
    for part in spec.split(","):
        m = re.match(r"^\s*(>=|<=|==|!=|>|<)?\s*(.+?)\s*$", part)
        if not m:
            raise ValueError(f"bad version condition {part!r}")
        op, want = m.group(1) or "==", parse(m.group(2))
        a, b = have[: len(want)], want
        if not {"==": a == b, "!=": a != b, ">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b}[op]:
            return False
    return True
