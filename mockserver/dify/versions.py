"""The Dify releases emulated (`--dify-version`) as data: one Release per profile, each field a
difference a client can observe (VERSIONS.md V1-V14). Code asks the release, never a version number."""

from __future__ import annotations

import re
from typing import Final, Literal

from msgspec import Struct
from msgspec.structs import replace

Tail = Literal["http", "end", "silence", "failed_run"]


class Release(Struct, eq=False):
    """One emulated release. Sources: dify tags 1.12.0, 1.14.2 and 1.16.1 (07119e3f); VERSIONS.md rows
    in brackets. Where VERSIONS.md and the tagged source disagree, the source wins (noted inline)."""

    name: Final[str]  # the profile: "1.12", "1.14", "1.16"
    server_version: Final[str]  # [V1] GET /v1/ and the X-Version header
    # [V2, V3] streaming workflow and chatflow runs are relayed from a worker: the first frame is
    # `event: ping` (core/app/apps/streaming_utils.py), and the stream ends at the first
    # workflow_finished or workflow_paused, so whatever a run sends after it never arrives.
    relayed_runs: Final[bool]
    # [V4] A generation check that fails inside the worker of a relayed streaming workflow/chatflow:
    # "silence" = ping, then nothing until the relay's idle close; "failed_run" = ping, a synthetic
    # workflow_started and a failed workflow_finished (tasks/app_generate/workflow_execute_task.py).
    worker_failure: Final[Tail]
    worker_checks: Final[frozenset[str]]  # which generation checks run in that worker
    # The order of Dify's generation checks for chat-family and workflow requests. 1.16's controller
    # looks the conversation up eagerly (completion.py :398-406); before, the generators checked the
    # query (and agent-chat's blocking rule) first. A chatflow's workflow_id goes before the generator.
    generate_checks: Final[tuple[str, ...]]
    metadata_reasoning: Final[bool]  # [V6] `reasoning: {}` closes blocking and message_end metadata
    message_end_exclude_none: Final[bool]  # [V6b] easy-UI message_end metadata drops null fields
    message_end_files_list: Final[bool]  # [V7] message_end.files is [] in every mode (else null outside chatflow)
    selector_list: Final[bool]  # easy-UI `message.from_variable_selector`: [] (else null); task_entities.py
    modes: Final[frozenset[str]]  # [V9] the app modes the release has
    workflow_started_reason: Final[bool]  # [V10]
    # [V11b] a non-graph error in a streaming workflow run: "end" = the error event closes the stream;
    # "silence" = the relay waits for a terminal event that never comes (VERSIONS.md says 1.14 sends a
    # failed workflow_finished, but 1.14.2's workflow_execute_task.py:241-257 publishes none);
    # "failed_run" = 1.16's fallback workflow_finished.
    workflow_error_tail: Final[Tail]
    chatflow_message_end_first: Final[bool]  # success: message_end before workflow_finished (1.14+)
    chatflow_sys: Final[tuple[str, ...]]  # the sys.* keys of a chatflow's workflow_started inputs, in order
    start_node_sys: Final[bool]  # the start node's inputs/outputs carry sys.* (1.12's in-tree start node)
    stop_reason: Final[str]  # workflow_finished.error of a run its owner stopped
    stranger_stop_fails: Final[bool]  # a chatflow stopped by another user (graph stop only) ends "failed"
    pydantic: Final[str]  # [V13] the version in pydantic's "For further information visit" line
    dsl_version: Final[str]  # [V14] the newest DSL version imported without a warning
    relay_idle_s: Final[float] = 300.0  # the relay's idle close (streaming_utils.py idle_timeout)
    # DELETE /v1/conversations/{id} (conversation_service.py delete): "any" = by id alone, no owner
    # check, an unknown id is 204 (1.12); "owned" = the caller's or 404, removed (1.13.1-1.15);
    # "soft" = the caller's or 404, marked deleted (1.16).
    conversation_delete: Final[Literal["any", "owned", "soft"]] = "soft"
    # Uploads (services/file_service.py, controllers/service_api/app/file.py; research/files.md).
    upload_forbidden_chars: Final[str] = "/\\"  # in a filename: 400 "Filename contains invalid characters"
    upload_too_large_message: Final[str] = ""  # 413 file_too_large's runtime text
    # `files` of a generation: a local upload must be the caller's own (same app and user) from 1.14;
    # 1.12 only checks the workspace. And the text of an unknown transfer_method.
    upload_owner_only: Final[bool] = True
    transfer_method_error: Final[str] = "'{method}' is not a valid FileTransferMethod"
    # A workflow run through the Service API checks a file's declared type against the detected one;
    # 1.12 and 1.14 take an omitted type on a local file as "custom" (so it mismatches).
    omitted_type_is_custom: Final[bool] = False
    # What a Service API stop leaves in the run's row: before 1.15 the runner is torn down before the
    # graph's abort is saved, so the row stays `running` (issues #29688, #35549, #36204); from 1.15
    # (#37129) it is `stopped` with "Aborted: User requested stop" (research/workflow_runs.md §5).
    stopped_run_row: Final[Literal["running", "stopped"]] = "stopped"
    # GET /v1/workflows/run/{id}: 1.12 answers an unknown id 200 with every key null and `outputs` as
    # the raw JSON text; from 1.13.1 an unknown id is 404 and `outputs` an object.
    run_detail_raw: Final[bool] = False
    # The app's upload settings as 1.12 applies them: a listed type passes, `custom` needs its `.ext`
    # in the extension list exactly as written (1.14.1 made the check case- and dot-insensitive).
    exact_extensions: Final[bool] = False
    # POST /v1/audio-to-text (controllers/service_api/app/audio.py, services/audio_service.py;
    # research/annotations_audio.md §7.1, §9). 1.12/1.14 read request.files["file"] before anything,
    # so a missing part is Werkzeug's 400 bad_request_key_error, and a disabled feature is a ValueError
    # (400 invalid_param); 1.16 checks the feature first (400 speech_to_text_disabled), then the file
    # (400 no_audio_uploaded). 1.15.0 still does as 1.14 (the 1.16 profile covers it).
    stt_flag_first: Final[bool] = True
    stt_disabled: Final[tuple[str, str]] = ("speech_to_text_disabled", "Speech to text is disabled.")
    # The MIME types an audio file may have (AUDIO_EXTENSIONS as "audio/<ext>"); 1.16 adds audio/x-m4a.
    stt_mime_types: Final[frozenset[str]] = frozenset(
        {"audio/mp3", "audio/m4a", "audio/x-m4a", "audio/wav", "audio/amr", "audio/mpga"}
    )
    # POST /v1/text-to-audio by message_id (§7.2): 1.12/1.14 find the message in any app, 1.16 only
    # among the calling app's and end user's (H ctl:193-200). A message whose answer is empty and whose
    # status is one of these answers `null` (1.12 "normal" only; 1.14 added "paused").
    tts_message_any_app: Final[bool] = False
    tts_silent_statuses: Final[frozenset[str]] = frozenset({"normal", "paused"})
    # PUT/DELETE /v1/apps/annotations/{id} look the annotation up by id alone, in any app (1.12 and
    # 1.14: services/annotation_service.py 12:246, 14:313 session.get); 1.16 only in the calling app
    # (H:94-102 _get_annotation_by_ref). research/annotations_audio.md §3, §9.
    annotations_any_app: Final[bool] = False
    # Human input (research/workflow_runs.md §4): from 1.15 a human_input_required event and a pause
    # reason carry `approval_channels` (the channels other than the caller's surface: [] for a WebApp
    # form), and a submission's values are checked against their inputs before the action is (a
    # select's value must be a string among its constant options; services/human_input_service.py).
    hitl_approval_channels: Final[bool] = True
    hitl_value_checks: Final[bool] = True
    # Knowledge API (research/knowledge_datasets.md §0.2): 1.12's validate_dataset_token looks the
    # route's dataset up before it reads the token (404 "Dataset not found." / 403 even without a
    # key); 1.14 reads the token first.
    dataset_before_token: Final[bool] = False
    # Knowledge tags (research/knowledge_datasets.md §8.2, §8.3): 1.12 and 1.14 hand their DataSetTag
    # an int binding_count it refuses, a 400 after the change is committed (#31833, fixed by #36480);
    # 1.12's rename looks for the name first, the tag itself included, then for the tag.
    tag_count_refused: Final[bool] = False
    tag_rename_name_first: Final[bool] = False
    # GET /v1/workspaces/current/models/model-types/{type}: ModelType.value_of, which reads the origin
    # names (text-generation, embeddings, reranking), before 1.15; ModelType(value) from 1.15 (§9).
    model_type_aliases: Final[bool] = False
    # POST /v1/datasets/pipeline/file-upload: a file over its limit is the service's FileTooLargeError,
    # a 400 invalid_param, at 1.14; the controller's 413 file_too_large from 1.15 (both with no text).
    pipeline_upload_too_large: Final[str] = "file_too_large"
    # A DSL run's response streams: 1.16's graphon 0.7.0 ResponseStreamFilter opens the sessions no
    # blocking edge holds at GraphRunStarted and flushes what is ready (text, sys values) before the
    # start node's events; graphon 0.4 (1.14) and the in-tree engine (1.12) first flush inside the
    # start node's run (api/core/app/apps/workflow/app_generator.py@1.16.1, graphon filters/response_stream.py).
    stream_at_run_start: Final[bool] = True
    # A DSL loop's loop_next after its last counted pass too: 1.12's loop node and graphon 0.4 (1.14)
    # yield one after every pass no break ended; graphon 0.7.0 (1.16) only when another pass follows.
    loop_next_after_last: Final[bool] = False

    @property
    def root(self) -> dict[str, str]:
        """What `{{ dify.* }}` and `match: {dify.*: ...}` see."""
        return {"version": self.name, "server_version": self.server_version}


_BASE_MODES: Final = frozenset({"chat", "agent-chat", "advanced-chat", "completion", "workflow"})
_GENERATOR_FIRST: Final = ("workflow_id", "agent_blocking", "query", "conversation", "files", "inputs")
# The sys.* keys of a workflow app's workflow_started inputs, in order, at every release.
WORKFLOW_SYS: Final = ("files", "user_id", "app_id", "workflow_id", "workflow_run_id")

_1_12: Final = Release(
    name="1.12",
    server_version="1.12.0",
    relayed_runs=False,
    worker_failure="http",
    worker_checks=frozenset(),
    generate_checks=_GENERATOR_FIRST,
    metadata_reasoning=False,
    message_end_exclude_none=False,
    message_end_files_list=False,
    selector_list=False,
    modes=_BASE_MODES,
    workflow_started_reason=False,
    workflow_error_tail="end",
    chatflow_message_end_first=False,
    chatflow_sys=(*WORKFLOW_SYS, "query", "dialogue_count"),
    start_node_sys=True,
    stop_reason="Stopped by user.",
    stranger_stop_fails=True,
    pydantic="2.11",
    dsl_version="0.5.0",
    conversation_delete="any",
    upload_forbidden_chars='/\\:*?"<>|',
    upload_too_large_message="File size exceeded. {message}",
    upload_owner_only=False,
    transfer_method_error="No matching enum found for value '{method}'",
    omitted_type_is_custom=True,
    exact_extensions=True,
    stt_flag_first=False,
    stt_disabled=("invalid_param", "Speech to text is not enabled"),
    stt_mime_types=frozenset({"audio/mp3", "audio/m4a", "audio/wav", "audio/amr", "audio/mpga"}),
    tts_message_any_app=True,
    tts_silent_statuses=frozenset({"normal"}),
    annotations_any_app=True,
    stopped_run_row="running",
    run_detail_raw=True,
    hitl_approval_channels=False,
    hitl_value_checks=False,
    dataset_before_token=True,
    tag_count_refused=True,
    tag_rename_name_first=True,
    model_type_aliases=True,
    pipeline_upload_too_large="invalid_param",
    stream_at_run_start=False,
    loop_next_after_last=True,
)
# Each later release as what changed since the one before.
_1_14: Final = replace(
    _1_12,
    name="1.14",
    server_version="1.14.2",
    relayed_runs=True,
    worker_failure="silence",
    worker_checks=frozenset({"query", "conversation", "files", "inputs"}),
    workflow_started_reason=True,
    workflow_error_tail="silence",
    chatflow_message_end_first=True,
    chatflow_sys=("query", "files", "user_id", "dialogue_count", "app_id", "workflow_id", "workflow_run_id"),
    start_node_sys=False,
    pydantic="2.12",
    dsl_version="0.6.0",
    conversation_delete="owned",
    upload_forbidden_chars="/\\",
    upload_too_large_message="",
    upload_owner_only=True,
    transfer_method_error="{method!r} is not a valid FileTransferMethod",  # graphon 0.4 gets the raw value
    exact_extensions=False,
    tts_silent_statuses=frozenset({"normal", "paused"}),
    run_detail_raw=False,
    dataset_before_token=False,
    tag_rename_name_first=False,
)
_1_16: Final = replace(
    _1_14,
    name="1.16",
    stopped_run_row="stopped",
    server_version="1.16.1",
    worker_failure="failed_run",
    worker_checks=frozenset({"query", "files", "inputs"}),
    generate_checks=("conversation", "workflow_id", "agent_blocking", "query", "files", "inputs"),
    metadata_reasoning=True,
    message_end_exclude_none=True,
    message_end_files_list=True,
    selector_list=True,
    modes=_BASE_MODES | {"agent"},
    workflow_error_tail="failed_run",
    # graphon 0.7's engine handles the stop command within 0.1 s of idling, so its abort reason
    # usually wins over the listener's "Stopped by user." (graph_engine/domain/graph_execution.py).
    stop_reason="Aborted: User requested stop",
    stranger_stop_fails=False,
    dsl_version="0.7.0",
    conversation_delete="soft",
    omitted_type_is_custom=False,
    transfer_method_error="'{method}' is not a valid FileTransferMethod",  # 1.16 passes str(value)
    stt_flag_first=True,
    stt_disabled=("speech_to_text_disabled", "Speech to text is disabled."),
    stt_mime_types=_1_12.stt_mime_types | {"audio/x-m4a"},  # the alias of audio/m4a (#40776)
    tts_message_any_app=False,
    annotations_any_app=False,
    hitl_approval_channels=True,
    hitl_value_checks=True,
    tag_count_refused=False,
    model_type_aliases=False,
    pipeline_upload_too_large="file_too_large",
    stream_at_run_start=True,
    loop_next_after_last=False,
)
RELEASES: Final[dict[str, Release]] = {r.name: r for r in (_1_12, _1_14, _1_16)}
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
