"""Actions: the Python behind a fixture's `action:`. An action binds state before templates expand
(its checks raise DifyError, so a refused request never reaches the faults) and commits its effects
after the response is decided; it never writes a response, shapes an error or sleeps.

The registry is built explicitly by `registry()`, from the modules listed there: no import side
effects, so `create_app(catalogue=..., book=...)` and the fixture loader see the same names."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mockserver.determinism import Draws
from mockserver.settings import Settings
from mockserver.state.knowledge import Dataset
from mockserver.tenancy import Scope, Tenant
from mockserver.validation import Call


@dataclass(slots=True)
class ActContext:
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
    dataset: Dataset | None = None  # a `{dataset_id}` route's dataset, as the auth middleware found it


Check = Callable[[ActContext], None]


@dataclass(frozen=True, slots=True)
class Ending:
    """How a committed generation's stream ended."""

    outcome: str  # complete | stopped | error | cut | stalled | client_left
    error: str | None = None  # an error event's message
    finished: dict[str, Any] | None = None  # the workflow_finished data the client got, if any


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    bind: Callable[[ActContext], dict[str, Any]]  # ids and state for the templates; never refuses
    # Called once the response is decided (never after an HTTP error) with its body: a generation's
    # blocking body (answer, metadata.usage), whether it streams or not, else the rendered body.
    commit: Callable[[ActContext, Any], None] | None = None
    # Dify's refusals by name ("conversation", "workflow_id", ...): a generate endpoint runs them in the
    # release's order among its own rules (dify/versions.py generate_checks), others in this order.
    # A check may put what it found into ctx.bound (the conversation it looked up).
    checks: tuple[tuple[str, Check], ...] = ()
    # Called when the committed generation's stream has ended, with how it ended: what Dify records
    # of a turn that failed or was stopped half way.
    ended: Callable[[ActContext, Ending], None] | None = None
    check_map: dict[str, Check] = field(init=False, repr=False, compare=False)  # `checks` by name, made once
    # A generation's checks among validation's rules, in each release's order (pipeline._generate_steps).
    generate_steps: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "check_map", dict(self.checks))
        object.__setattr__(self, "generate_steps", {})


def registry() -> dict[str, Action]:
    """Every action by name, from the modules that define them."""
    # `annotation`, not `annotations`: that name is the __future__ import of this package
    from mockserver.actions import (
        annotation,
        apps,
        audio,
        chat,
        conversations,
        datasets,
        documents,
        feedback,
        files,
        human_input,
        metadata,
        models,
        rag_pipeline,
        records,
        retrieval,
        segments,
        tags,
        users,
        variables,
        workflow_runs,
        workflows,
    )

    found: dict[str, Action] = {}
    # serialize, filerefs and knowledge hold helpers, no action
    modules = [apps, chat, workflows, conversations, files, records, annotation, audio, users, feedback, variables]
    modules += [workflow_runs, human_input]
    # The Knowledge API (dataset keys); `knowledge` holds their shared checks, no action
    modules += [datasets, tags, documents, segments, metadata, retrieval, rag_pipeline, models]
    for module in modules:
        for act in module.ACTIONS:
            if act.name in found:
                raise ValueError(f"action {act.name!r} defined twice")
            found[act.name] = act
    return found
