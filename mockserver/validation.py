"""Dify's request checks, in Dify's order: body -> user -> mode guard -> schema -> mode rules -> input form."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

from aiohttp import web
from msgspec import Struct, field

from mockserver.dify.apps import App
from mockserver.dify.versions import Release, compare
from mockserver.endpoint import EndpointSpec
from mockserver.errors import MSG_USER_REQUIRED, DifyError
from mockserver.payload.types import Invalid
from mockserver.readers import NO_FORM, Received, Upload


class Principal(Struct, eq=False, frozen=True):
    """Who a request acts as. Its scope keys ids, draws, clocks and cursors inside the tenant."""

    kind: Final[Literal["none", "app", "dataset"]]
    key: Final[str | None] = None
    app: Final[App | None] = None

    @property
    def scope(self) -> str:
        return f"{self.kind}:{self.key}" if self.key else "-"


ANONYMOUS: Final = Principal("none")


class Call(Struct, eq=False):
    """One validated request, as the matcher, actions and templates see it."""

    spec: EndpointSpec
    release: Release
    principal: Principal
    app: App | None
    method: str
    path: dict[str, str]
    query: dict[str, Any]  # text; a list for a parameter declared as an array (its repeated keys)
    # The request's own headers (a stream in flight holds no copy): `headers` gives them lower-cased.
    raw_headers: Mapping[str, str]
    body: Any
    user: str | None
    form: Mapping[str, str] = NO_FORM  # a multipart body's fields
    files: tuple[Upload, ...] = ()  # and its file part
    file_fields: int = 0  # distinct multipart fields that carried a file
    inputs: dict[str, Any] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)  # the body as Dify's model coerced it
    params: dict[str, Any] = field(default_factory=dict)  # the query, likewise
    response_mode: str = "blocking"

    @property
    def streaming(self) -> bool:
        return self.response_mode == "streaming"

    @property
    def headers(self) -> dict[str, str]:
        """The headers by lower-cased name, made anew on each read (view() reads it once per request)."""
        return {k.lower(): v for k, v in self.raw_headers.items()}

    def view(self) -> dict[str, Any]:
        """The `request` root of templates (the roots of `match` are its keys, `part`)."""
        return {name: self.part(name) for name in VIEW}

    def part(self, name: Any) -> Any:
        """One key of the view, without making the others (the headers' dict above all); None for
        anything else."""
        if name == "body":
            return self.body if self.spec.request != "multipart" else dict(self.form)
        if name == "headers":
            return self.headers
        if name in VIEW:
            return getattr(self, name)  # method, path, query, inputs (as the app's input form validated them)
        return None


VIEW: Final = ("method", "path", "query", "headers", "body", "inputs")  # the request view's keys, in order


def check_call(
    request: web.Request, spec: EndpointSpec, release: Release, principal: Principal, received: Received
) -> Call:
    """Everything after reading the body that Dify checks before its business logic: user, mode guard,
    schema. Dify's generation rules come later (`generation_rules`), after the conversation lookup."""
    app = principal.app
    # Dify's query models read request.args.to_dict() (the first of repeated keys); a parameter the
    # schema declares as an array is read with getlist (Knowledge API tag_ids).
    lists = spec.list_params
    query = (
        {k: request.query.getall(k) if k in lists else request.query.getone(k) for k in request.query}
        if request.query_string
        else {}
    )
    call = Call(
        spec=spec,
        release=release,
        principal=principal,
        app=app,
        method=request.method,
        path=dict(request.match_info),
        query=query,
        raw_headers=request.headers,
        body=received.body,
        user=None,
        form=received.form,
        files=received.files,
        file_fields=received.file_fields,
    )
    call.user = _user(spec, call)
    if app is not None and spec.modes is not None and app.mode not in spec.modes:
        raise DifyError(spec.mode_error)
    _check_schema(spec, call)
    if spec.response == "generate":
        call.response_mode = _response_mode(call)
    return call


def agent_blocking(call: Call) -> None:
    """agent_chat/app_generator.py: blocking, or an omitted response_mode, is a ValueError."""
    if call.app is not None and call.app.mode == "agent-chat" and call.response_mode == "blocking":
        raise DifyError("invalid_param", "Agent Chat App does not support blocking mode")


def query_required(call: Call) -> None:
    """The chat generators' `if not args.get("query")`; the New Agent also refuses a blank query
    (agent_app/app_generator.py _require_query, dify 1.16.1 :538-543). Completion has no such rule."""
    if call.app is None or call.app.mode not in ("chat", "agent-chat", "advanced-chat", "agent"):
        return
    query = call.payload.get("query")
    if not query or (call.app.mode == "agent" and not str(query).strip()):
        raise DifyError("invalid_param", "query is required")


def form_inputs(call: Call) -> None:
    if call.app is not None:
        call.inputs = validate_inputs(call.app, call.payload.get("inputs") or {})


# Dify's generation checks by name; the release orders them with the action's (conversation, workflow_id).
RULES: Final[dict[str, Callable[[Call], None]]] = {
    "agent_blocking": agent_blocking,
    "query": query_required,
    "inputs": form_inputs,
}


def _user(spec: EndpointSpec, call: Call) -> str | None:
    """wraps.py validate_app_token: `request.get_json().get("user")`, any truthy value made a string
    (so 123 is "123"); a body that is not an object fails there, outside any handler: a 500."""
    if spec.user is None:
        return None
    if spec.user.source == "body":
        if not isinstance(call.body, dict):
            raise DifyError("unknown")
        value = call.body.get("user")
    elif spec.user.source == "form":
        value = call.form.get("user")
    else:
        value = call.query.get("user")
    if not value:
        if spec.user.required:
            raise DifyError("invalid_param", MSG_USER_REQUIRED)
        return None
    return str(value)


def _check_schema(spec: EndpointSpec, call: Call) -> None:
    if spec.models_deferred:
        # Dify validates after its lookups: raw until the action's check applies the model.
        _raw(call)
        return
    apply_models(call)


def _raw(call: Call) -> None:
    call.params = dict(call.query)
    call.payload = dict(call.body) if isinstance(call.body, dict) else {}


def apply_models(call: Call, query: Mapping[str, Any] | None = None) -> None:
    """The route's request models over the body and the query (`query`, when given, stands for the
    query as the handler hands it to its model), or the raw text before `models_since`. Refuses
    with pydantic's text; fills call.payload and call.params."""
    spec = call.spec
    if spec.models_since is not None and not compare(call.release.name, f">={spec.models_since}"):
        # This release has no model for the route yet: the action reads the raw text as it did.
        _raw(call)
        return
    body_model, query_model = spec.models_at(call.release.name)
    version = call.release.pydantic
    if body_model is not None:
        given = call.form if spec.request == "multipart" else call.body
        if spec.request == "json" and given and not isinstance(given, dict):
            # `payload or {}`: a truthy body that is no object fails the model itself (model_type).
            wrong = Invalid(
                "model_type", given, message=f"Input should be a valid dictionary or instance of {spec.request_model}"
            )
            raise DifyError("invalid_param", body_model.describe([wrong], version))
        call.payload = body_model.validate(given if isinstance(given, dict) else {}, version)
        if spec.body_defaults:
            call.payload = {**_copied(spec.body_defaults), **call.payload}
    if query_model is not None:
        given = dict(call.query if query is None else query)
        call.params = {**_copied(spec.query_defaults), **query_model.validate(given, version)}


def _copied(defaults: dict[str, Any]) -> dict[str, Any]:
    # A default list or object must not be shared between requests (an action may change it).
    return {k: (copy.deepcopy(v) if isinstance(v, dict | list) else v) for k, v in defaults.items()}


def _response_mode(call: Call) -> str:
    """`response_mode` as the controller resolves it: omitted means blocking, except for the New Agent,
    which streams and refuses only an explicit blocking (completion.py _resolve_agent_app_streaming,
    dify 1.16.1 07119e3f api/controllers/service_api/app/completion.py:60-66)."""
    mode = call.payload.get("response_mode")
    if call.app is not None and call.app.mode == "agent":
        if mode == "blocking":
            raise DifyError("bad_request", "Agent App only supports streaming response mode.")
        return "streaming"
    return mode or "blocking"


_STRING_CONTROLS = frozenset({"text-input", "select", "paragraph"})
_CONTROLS = frozenset({*_STRING_CONTROLS, "number", "file", "file-list", "checkbox", "json_object"})
_TRUE, _FALSE = frozenset({"true", "1", "yes", "on"}), frozenset({"false", "0", "no", "off"})


def validate_inputs(app: App, inputs: dict[str, Any]) -> dict[str, Any]:
    """The app's user_input_form rules, as BaseAppGenerator._prepare_user_inputs applies them (the same
    at dify 1.12.0, 1.14.2 and 1.16.1, base_app_generator.py :25-97 / :87-161 / :129-203): undeclared
    keys are dropped, defaults fill absent optional values, NUL characters are stripped, and an object
    left where no object belongs is 'Invalid input type for [...]'."""
    out: dict[str, Any] = {}
    controls: dict[str, str] = {}
    nested = False  # a value that is an object or a list: the type check below has work to do
    for control, entity, var in _input_form(app):
        value = _input_value(control, entity, var, inputs.get(var))
        if type(value) is str:
            out[var] = value.replace("\x00", "")
        else:
            out[var] = value
            nested = nested or isinstance(value, dict | list)
        controls[var] = control
    if not nested:
        return out
    wrong = [
        var
        for var, value in out.items()
        if (isinstance(value, dict) and controls[var] not in ("file", "json_object"))
        or (isinstance(value, list) and controls[var] != "file-list" and any(isinstance(v, dict) for v in value))
    ]
    if wrong:
        raise DifyError("invalid_param", f"Invalid input type for {wrong!r}")
    return out


def _input_form(app: App) -> tuple[tuple[str, dict[str, Any], str], ...]:
    """(control, entity, variable) of each input of the app's user_input_form, worked out once per app."""
    form = app.memo.get("input_form")
    if form is None:
        items = []
        for item in app.parameters.get("user_input_form") or []:
            if not isinstance(item, dict) or len(item) != 1:
                continue
            control, entity = next(iter(item.items()))
            if control == "external_data_tool":
                # Not an input: Dify makes it an external data variable the tool fills
                # (BasicVariablesConfigManager.convert, core/app/app_config/easy_ui_based_app/variables/manager.py).
                continue
            var = entity.get("variable") if isinstance(entity, dict) else None
            if var:
                items.append((control, entity, var))
        form = app.memo["input_form"] = tuple(items)
    return form


def _input_value(control: str, entity: dict[str, Any], var: str, value: Any) -> Any:
    if value is None:
        if entity.get("required"):
            raise DifyError("invalid_param", f"{var} is required in input form")
        value = entity.get("default")
        if value is None:
            return None
    if control in ("file", "file-list") and not entity.get("required") and value == "":
        return None
    if control in _STRING_CONTROLS and not isinstance(value, str):
        raise DifyError("invalid_param", f"(type '{control}') {var} in input form must be a string")
    limit = entity.get("max_length")
    if control == "number":
        return _number(var, value)
    if control == "select" and value not in (entity.get("options") or []):
        raise DifyError(
            "invalid_param", f"{var} in input form must be one of the following: {entity.get('options') or []}"
        )
    if control in ("text-input", "paragraph") and limit and len(value) > limit:
        raise DifyError("invalid_param", f"{var} in input form must be less than {limit} characters")
    if control == "file" and not isinstance(value, dict):
        raise DifyError("invalid_param", f"{var} in input form must be a file")
    if control == "file-list":
        if not (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
            raise DifyError("invalid_param", f"{var} in input form must be a list of files")
        if limit and len(value) > limit:
            raise DifyError("invalid_param", f"{var} in input form must be less than {limit} files")
    if control == "checkbox":
        return _checkbox(value)
    if control == "json_object" and value and not isinstance(value, dict):
        raise DifyError("invalid_param", f"{var} in input form must be a dict")
    if control not in _CONTROLS:
        # An assertion in Dify ("this statement should be unreachable."): the controller's 500.
        raise DifyError("internal_server_error")
    return value


def _checkbox(value: Any) -> Any:
    if isinstance(value, str):
        word = value.strip().lower()
        return True if word in _TRUE else False if word in _FALSE else value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    return value


def _number(var: str, value: Any) -> Any:
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        if not value.strip():
            return None  # even when required
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            pass
    if isinstance(value, str):
        raise DifyError("invalid_param", f"{var} in input form must be a valid number")
    # A TypeError in Dify ("expected value type int, float or str"), which the controller answers 500.
    raise DifyError("internal_server_error")
