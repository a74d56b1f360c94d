"""Actions: the Python behind a fixture's `action:`. An action binds state before templates expand
(its checks raise DifyError, so a refused request never reaches the faults) and commits its effects
after the response is decided; it never writes a response, shapes an error or sleeps.

The registry is built explicitly by `registry()`, from the modules listed there: no import side
effects, so `create_app(catalogue=..., book=...)` and the fixture loader see the same names."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from importlib import import_module
from typing import TYPE_CHECKING, Any, Final

from msgspec import Struct, field
from msgspec.structs import force_setattr

from mockserver.determinism import Draws
from mockserver.settings import Settings
from mockserver.tenancy import Scope, Tenant
from mockserver.validation import Call

if TYPE_CHECKING:  # the Knowledge API's records load with its first action, not at start-up
    from mockserver.state.knowledge import Dataset


class ActContext(Struct, eq=False):
    """What an action sees of the request it serves: the call, the tenant, the draws and the time."""

    call: Call
    tenant: Tenant
    scope: Scope
    draws: Draws
    now: int
    settings: Settings
    bound: dict[str, Any] = field(default_factory=dict)  # what bind() returned: `{{ action.* }}`
    # The workspace's accounts (_apps.yaml `accounts`): display name by email, the owner first.
    accounts: Mapping[str, str] = field(default_factory=dict)
    directives: Mapping[str, Any] = field(default_factory=dict)  # the scenario's (its `indexing`)
    dataset: Dataset | None = None  # a `{dataset_id}` route's dataset, as the Dify stage's auth found it


Check = Callable[[ActContext], None]


# Made and read within one request: read-only by type (Final), which mypy enforces.
class Ending(Struct, eq=False):
    """How a committed generation's stream ended."""

    outcome: Final[str]  # complete | stopped | error | cut | stalled | client_left
    error: Final[str | None] = None  # an error event's message
    finished: Final[dict[str, Any] | None] = None  # the workflow_finished data the client got, if any


class Action(Struct, eq=False):
    """A named action: bind before the templates expand, commit once the response is decided."""

    name: Final[str]
    bind: Final[Callable[[ActContext], dict[str, Any]]]  # ids and state for the templates; never refuses
    # Called once the response is decided (never after an HTTP error) with its body: a generation's
    # blocking body (answer, metadata.usage), whether it streams or not, else the rendered body.
    commit: Final[Callable[[ActContext, Any], None] | None] = None
    # Dify's refusals by name ("conversation", "workflow_id", ...): a generate endpoint runs them in the
    # release's order among its own rules (dify/versions.py generate_checks), others in this order.
    # A check may put what it found into ctx.bound (the conversation it looked up).
    checks: Final[tuple[tuple[str, Check], ...]] = ()
    # Called when the committed generation's stream has ended, with how it ended: what Dify records
    # of a turn that failed or was stopped half way.
    ended: Final[Callable[[ActContext, Ending], None] | None] = None
    # Whether the commit may change records already kept (the pipeline counts the bytes of what it
    # bound anew); False for a commit that only adds records, weighed as they are added (a chat turn:
    # counting its new message twice was 3% of a blocking chat's work).
    changes_kept: Final[bool] = True
    # Made by __post_init__, never passed (nor copied by replace):
    check_map: Final[dict[str, Check]] = field(default_factory=dict)  # `checks` by name, made once
    # A generation's checks among validation's rules, in each release's order (pipeline._generate_steps).
    generate_steps: Final[dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        force_setattr(self, "check_map", dict(self.checks))
        force_setattr(self, "generate_steps", {})


# Every action's name, by the module of this package that defines it: the names fixtures may use are
# known at start-up without importing the modules (their imports and dependencies cost a fifth of the
# start-up); a module is imported when one of its actions is first looked up. A test checks this table
# against the modules' ACTIONS. serialize, filerefs and knowledge hold helpers, no action; `documents`
# and `segments` gather their helper modules' actions.
MODULES: Final[dict[str, tuple[str, ...]]] = {
    "apps": ("app.site", "app.parameters"),
    "chat": ("chat.exchange", "completion.generate", "task.stop"),
    "workflows": ("workflow.run",),
    "conversations": ("conversation.list", "message.list", "conversation.rename", "conversation.delete"),
    "files": ("file.upload", "file.preview", "file.signed_preview"),
    "records": ("record.get", "record.list", "record.delete"),
    "annotation": (  # `annotation`, not `annotations`: that name is the __future__ import of this package
        "annotation.list",
        "annotation.create",
        "annotation.update",
        "annotation.delete",
        "annotation.reply",
        "annotation.reply_status",
    ),
    "audio": ("audio.to_text", "audio.to_audio"),
    "users": ("end_user.get",),
    "feedback": ("feedback.create", "feedback.list", "message.suggested"),
    "variables": ("conversation.variables", "conversation.variable_update"),
    "workflow_runs": ("workflow_run.get", "workflow_run.logs", "workflow_run.events"),
    "human_input": ("human_input.get", "human_input.submit"),
    # The Knowledge API (dataset keys); `knowledge` holds their shared checks, no action
    "datasets": ("datasets.create", "datasets.list", "datasets.get", "datasets.update", "datasets.delete"),
    "tags": ("tags.list", "tags.create", "tags.update", "tags.delete", "tags.bind", "tags.unbind", "tags.of_dataset"),
    "documents": (
        "documents.create_by_text",
        "documents.create_by_file",
        "documents.update_by_text",
        "documents.update_by_file",
        "documents.indexing_status",
        "documents.list",
        "documents.get",
        "documents.delete",
        "documents.status",
        "documents.download",
        "documents.download_zip",
    ),
    "segments": (
        "segments.create",
        "segments.list",
        "segments.get",
        "segments.update",
        "segments.delete",
        "segments.create_child_chunk",
        "segments.list_child_chunks",
        "segments.update_child_chunk",
        "segments.delete_child_chunk",
    ),
    "metadata": (
        "metadata.create",
        "metadata.list",
        "metadata.update",
        "metadata.delete",
        "metadata.built_in",
        "metadata.toggle_built_in",
        "metadata.update_documents",
    ),
    "retrieval": ("retrieval.retrieve",),
    "rag_pipeline": (
        "rag_pipeline.upload",
        "rag_pipeline.datasource_plugins",
        "rag_pipeline.run_node",
        "rag_pipeline.run",
    ),
    "models": ("models.by_type",),
}


class Registry(Mapping[str, Action]):
    """Every action by name (MODULES'); looking one up imports its module the first time."""

    __slots__ = ("_loaded", "_module_of")

    def __init__(self) -> None:
        self._module_of: dict[str, str] = {}
        for module, names in MODULES.items():
            for name in names:
                if name in self._module_of:
                    raise ValueError(f"action {name!r} defined twice")
                self._module_of[name] = module
        self._loaded: dict[str, Action] = {}

    def __getitem__(self, name: str) -> Action:
        try:
            return self._loaded[name]
        except KeyError:
            self._load(self._module_of[name])  # KeyError for a name no module defines
            return self._loaded[name]

    def __contains__(self, name: object) -> bool:
        return name in self._module_of

    def __iter__(self) -> Iterator[str]:
        return iter(self._module_of)

    def __len__(self) -> int:
        return len(self._module_of)

    def _load(self, module: str) -> None:
        defined = import_module(f"{__name__}.{module}").ACTIONS
        found = {act.name: act for act in defined}
        if sorted(found) != sorted(MODULES[module]) or len(found) != len(defined):
            # A module's actions changed without the table: fail loudly, not with a missing action.
            raise RuntimeError(f"mockserver.actions.{module} defines {sorted(found)}, MODULES says {MODULES[module]}")
        self._loaded.update(found)


def registry() -> Registry:
    """Every action by name, from the modules that define them (imported as their actions are used)."""
    return Registry()
