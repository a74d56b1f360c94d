"""A paused run going on after its forms are submitted (Dify 1.14+: POST /v1/form/human_input/{token}
enqueues `resume_app_execution`; research/workflow_runs.md §4). The render layer builds the resumed
run's events with the builder that built the run's first part, so ids, counters and the envelope carry
on; the submission's action (actions/human_input.py) calls a `Resumer` without importing this layer.

A DSL app's run is planned again with the submitted forms decided: the plan is deterministic, so
everything before the form is the same run, and what follows the form is the resumed part. Any other
paused run (a scenario's human_input_required events) resumes to a finish whose outputs are what its
forms were given, as the mock has no graph to run."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from msgspec import Struct, field
from msgspec.structs import replace

from mockserver.render.builder import EventBuilder
from mockserver.render.envelope import Envelope
from mockserver.scenarios.model import Timing
from mockserver.state.records import HumanInputForm

if TYPE_CHECKING:
    # The DSL engine is imported when a DSL app's run is first planned (render/dslrun.py), not at start-up.
    from mockserver.dify.dsl.graph_model import Graph
    from mockserver.dify.dsl.knobs import Knobs
    from mockserver.dify.dsl.plan import RunInput

Submitted = Mapping[str, tuple[str, Mapping[str, Any]]]  # node id -> (action id, submitted inputs)
RawEvent = tuple[str, dict[str, Any], int | None]  # event name, fixture fields, delay in ms


class DslRun(Struct, eq=False):
    """What a DSL run was planned from, so it can be planned again; the conversation variables its
    first part wrote, and where a resumed part's writes go (a chatflow's conversation)."""

    graph: Final[Graph]
    given: Final[RunInput]
    knobs: Final[Knobs]
    assigned: Final[Mapping[str, Any]] = field(default_factory=dict)
    store: Final[Callable[[dict[str, Any], int], None] | None] = None


class Resumer(Struct, eq=False):
    """Builds a paused run's next events once its human input forms are decided."""

    env: Envelope
    builder: EventBuilder
    dsl: DslRun | None = None
    forms: dict[str, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)  # decided so far
    stored: dict[str, Any] | None = None  # the conversation variables written so far (first part on)

    def __call__(self, forms: Sequence[HumanInputForm], since_start_s: float) -> list[dict[str, Any]]:
        """The resumed run's events once its waiting `forms` are submitted, `workflow_started` (reason
        `resumption`) to `workflow_finished` or the next `workflow_paused`, timed from `since_start_s`
        after the run began."""
        fresh = [f for f in forms if f.node_id not in self.forms]  # the forms of the latest pause
        submitted = {f.node_id: (str(f.action), dict(f.submitted_data or {})) for f in fresh}
        self.forms.update(submitted)
        raw = self._dsl_events(submitted, since_start_s) if self.dsl is not None else self._filled(fresh)
        started: dict[str, Any] = {"data": {"reason": "resumption"}} if self.env.release.workflow_started_reason else {}
        raw = [("workflow_started", started, None), *raw]
        times = Timing().schedule([delay for _, _, delay in raw], self.env.draws)
        events = [
            self.builder.build(name, fields, since_start_s + t / 1000.0)
            for (name, fields, _), t in zip(raw, times, strict=True)
        ]
        last = events[-1]
        if last.get("event") == "workflow_finished":
            # Dify's elapsed time after a resume covers the resumed segment only: its events' time
            # and the worker's start, short and seeded.
            start = self.env.draws.random(f"resume:{len(self.forms)}").uniform(0.05, 0.25)
            last["data"]["elapsed_time"] = round(times[-1] / 1000.0 + start, 6)
        return events

    def _dsl_events(self, submitted: Submitted, since_start_s: float) -> list[RawEvent]:
        """The run planned again with every form so far decided, from the submitted node's start on."""
        from mockserver.dify.dsl.plan import plan_run

        dsl = self.dsl
        assert dsl is not None
        given = replace(dsl.given, forms=dict(self.forms))
        plan = plan_run(dsl.graph, given, dsl.knobs, ids=self.env.draws.uuid)
        self._store(dsl, plan.assigned, self.env.created_at + int(since_start_s))
        events = plan.events
        filled = next(
            i
            for i, (name, fields, _) in enumerate(events)
            if name == "human_input_form_filled" and fields["data"]["node_id"] in submitted
        )
        node_id = events[filled][1]["data"]["node_id"]
        start = max(
            i
            for i, (name, fields, _) in enumerate(events[:filled])
            if name == "node_started" and fields["data"]["node_id"] == node_id
        )
        # The waiting node starts again on resume; nodes started beside it (interleaved) are not repeated.
        return [events[start], *events[filled:]]

    def _store(self, dsl: DslRun, assigned: Mapping[str, Any], now: int) -> None:
        """The writes of the resumed part: what the whole plan wrote beyond what is stored already
        (Dify's pool comes back from the pause's snapshot, so earlier writes are not made again)."""
        stored = self.stored = dict(dsl.assigned) if self.stored is None else self.stored
        fresh = {k: v for k, v in assigned.items() if k not in stored or _text(stored[k]) != _text(v)}
        stored.update(fresh)
        if fresh and dsl.store is not None:
            dsl.store(fresh, now)

    def _filled(self, forms: Sequence[HumanInputForm]) -> list[RawEvent]:
        """Each form filled, then the finish: its outputs every submitted input of the run."""
        out: list[RawEvent] = []
        outputs: dict[str, Any] = {}
        for _action, data in self.forms.values():
            outputs.update(data)
        for form in forms:
            titles = {a.get("id"): a.get("title") for a in form.actions}
            fields = {
                "data": {
                    "node_id": form.node_id,
                    "node_title": form.node_title,
                    "rendered_content": form.form_content,
                    "action_id": form.action,
                    "action_text": titles.get(form.action, form.action),
                    "submitted_data": dict(form.submitted_data or {}),
                }
            }
            out.append(("human_input_form_filled", fields, None))
        out.append(("workflow_finished", {"data": {"outputs": outputs}}, None))
        return out


def _text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
