"""--strict: every body and event the mock emits is checked against its own schema before sending."""

from __future__ import annotations

import json

from mockserver.catalogue import Catalogue
from mockserver.endpoint import EndpointSpec
from mockserver.errors import DifyError
from mockserver.render.respond import Plan


def check_plan(catalogue: Catalogue, spec: EndpointSpec, plan: Plan, origin: str) -> None:
    """Raise 500 mock_schema_violation, naming the fixture, when `plan` is something Dify never sends."""
    # Only --strict checks what it sends: a server without it never loads the Python validator.
    from jsonschema.exceptions import best_match

    if plan.stream is not None:
        validator = catalogue.events_validator
        if validator is None:
            return
        for i, event in enumerate(plan.stream.events):
            if event == {"event": "ping"}:
                continue
            error = best_match(validator.iter_errors(event))
            if error is not None:
                where = "/".join(map(str, error.absolute_path)) or "event"
                raise DifyError(
                    "mock_schema_violation",
                    f"{origin}: event {i + 1} ({event.get('event')}) at {where}: {error.message}",
                    status=500,
                )
        return
    if plan.content is not None:  # bytes: checked when they are JSON its schema describes
        _check_content(spec, plan, origin)
        return
    if plan.status == 204 or spec.response_validator is None:
        return
    error = best_match(spec.response_validator.iter_errors(plan.body))
    if error is not None:
        where = "/".join(map(str, error.absolute_path)) or "body"
        raise DifyError("mock_schema_violation", f"{origin}: response at {where}: {error.message}", status=500)


def _check_content(spec: EndpointSpec, plan: Plan, origin: str) -> None:
    from jsonschema.exceptions import best_match

    validator = spec.content_validator
    if validator is None or plan.content is None:
        return
    try:
        content = json.loads(plan.content)
    except ValueError:
        raise DifyError("mock_schema_violation", f"{origin}: response is not JSON", status=500) from None
    error = best_match(validator.iter_errors(content))
    if error is not None:
        where = "/".join(map(str, error.absolute_path)) or "body"
        raise DifyError("mock_schema_violation", f"{origin}: response at {where}: {error.message}", status=500)
