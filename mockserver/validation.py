"""Dify's request checks, in Dify's order: body -> user -> mode guard -> schema -> mode rules -> input form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import fastjsonschema
import orjson
from aiohttp import web
from jsonschema.exceptions import ValidationError, best_match

from .apps import App
from .auth import Principal
from .catalogue import EndpointSpec
from .dify.versions import Release
from .errors import MSG_USER_REQUIRED, DifyError

_JSON_TYPES = {
    "string": "a valid string",
    "object": "a valid dictionary",
    "array": "a valid list",
    "boolean": "a valid boolean",
    "integer": "a valid integer",
    "number": "a valid number",
    "null": "None",
}


@dataclass(slots=True)
class Call:
    """One validated request, as the matcher, actions and templates see it."""

    spec: EndpointSpec
    release: Release
    principal: Principal
    app: App | None
    method: str
    path: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: Any
    user: str | None
    inputs: dict[str, Any] = field(default_factory=dict)
    response_mode: str = "blocking"

    @property
    def streaming(self) -> bool:
        return self.response_mode == "streaming"

    def view(self) -> dict[str, Any]:
        """The `request` root of templates and the roots of `match`."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body,
            "inputs": self.inputs,  # as the app's input form validated them (undeclared keys dropped)
        }


def _is_json(content_type: str) -> bool:
    # Flask's is_json: application/json or application/*+json
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


def _wants_body(spec: EndpointSpec) -> bool:
    if spec.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return False
    if spec.user is not None and spec.user.source == "body":
        return True
    props = spec.raw.get("$defs", {}).get("request", {}).get("properties", {})
    return "body" in props


async def read_body(request: web.Request, spec: EndpointSpec) -> Any:
    if not _wants_body(spec):
        return None
    if not _is_json(request.content_type):
        raise DifyError("unsupported_media_type")
    raw = await request.read()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        # Flask (debug off) turns every JSON decoding failure, an empty body included, into a bare
        # BadRequest: werkzeug's generic text (flask/wrappers.py on_json_loading_failed).
        raise DifyError("bad_request") from None


def check_call(request: web.Request, spec: EndpointSpec, release: Release, principal: Principal, body: Any) -> Call:
    """Everything after reading the body that Dify checks before its business logic: user, mode guard,
    schema. Dify's generation rules come later (`generation_rules`), after the conversation lookup."""
    app = principal.app
    query = {k: request.query.getone(k) for k in request.query}
    call = Call(
        spec=spec,
        release=release,
        principal=principal,
        app=app,
        method=request.method,
        path=dict(request.match_info),
        query=query,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        user=None,
    )
    call.user = _user(spec, call)
    if app is not None and spec.modes is not None and app.mode not in spec.modes:
        raise DifyError(spec.mode_error)
    _check_schema(spec, call)
    if spec.kind == "generate":
        call.response_mode = _response_mode(call)
    return call


def generation_rules(call: Call) -> None:
    """The generator's own checks, after the controller's (Dify looks the conversation up first)."""
    app = call.app
    if app is None:
        return
    if call.response_mode == "blocking" and app.mode == "agent-chat":
        raise DifyError("invalid_param", "Agent Chat App does not support blocking mode")
    call.inputs = validate_inputs(app, call.body.get("inputs") or {})


def _user(spec: EndpointSpec, call: Call) -> str | None:
    if spec.user is None:
        return None
    if spec.user.source == "body":
        value = call.body.get("user") if isinstance(call.body, dict) else None
    else:
        value = call.query.get("user")
    if not value:
        if spec.user.required:
            raise DifyError("invalid_param", MSG_USER_REQUIRED)
        return None
    return str(value)


def _check_schema(spec: EndpointSpec, call: Call) -> None:
    validator = spec.request_validator
    if validator is None:
        return
    instance: dict[str, Any] = {"path": call.path, "query": call.query}
    if call.body is not None:
        instance["body"] = call.body
    if spec.request_accepts is not None:
        try:
            spec.request_accepts(instance)
            return
        except fastjsonschema.JsonSchemaValueException:
            pass  # jsonschema decides and names the field
    error = best_match(validator.iter_errors(instance))
    if error is not None:
        raise DifyError("invalid_param", describe(error, spec.request_model))


def describe(error: ValidationError, model: str) -> str:
    """A pydantic-style message that names the field (`body.inputs.city`) and the problem."""
    loc = [str(p) for p in error.absolute_path]
    schema: Any = error.schema
    rule: Any = error.validator_value
    custom = schema.get("x-message") if isinstance(schema, dict) else None
    if error.validator == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else "?"
        loc.append(missing)
        problem = "Field required [type=missing]"
    elif custom:
        return str(custom)
    elif error.validator == "type":
        wanted = rule if isinstance(rule, list) else [rule]
        problem = "Input should be " + " or ".join(_JSON_TYPES.get(t, str(t)) for t in wanted if t != "null")
        problem += f" [type={wanted[0]}_type, input_value={_short(error.instance)}]"
    elif error.validator == "enum":
        options = [o for o in rule if o is not None]
        problem = "Input should be " + " or ".join(f"'{o}'" for o in options)
        problem += f" [type=enum, input_value={_short(error.instance)}]"
    else:
        problem = error.message
    where = ".".join(loc) or "request"
    return f"1 validation error for {model}\n{where}\n  {problem}"


def _short(value: Any) -> str:
    text = orjson.dumps(value).decode() if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _response_mode(call: Call) -> str:
    """`response_mode` as the controller resolves it: omitted means blocking, except for the New Agent,
    which streams and refuses only an explicit blocking (completion.py _resolve_agent_app_streaming,
    dify 1.16.1 07119e3f api/controllers/service_api/app/completion.py:60-66)."""
    mode = call.body.get("response_mode") if isinstance(call.body, dict) else None
    if call.app is not None and call.app.mode == "agent":
        if mode == "blocking":
            raise DifyError("bad_request", "Agent App only supports streaming response mode.")
        return "streaming"
    return mode or "blocking"


_STRING_CONTROLS = frozenset({"text-input", "select", "paragraph"})
_TRUE, _FALSE = frozenset({"true", "1", "yes", "on"}), frozenset({"false", "0", "no", "off"})


def validate_inputs(app: App, inputs: dict[str, Any]) -> dict[str, Any]:
    """The app's user_input_form rules, as Dify's BaseAppGenerator._validate_inputs applies them
    (read at dify 0055b983): undeclared keys are dropped, defaults fill absent optional values,
    NUL characters are stripped."""
    out: dict[str, Any] = {}
    for item in app.parameters.get("user_input_form") or []:
        if not isinstance(item, dict) or len(item) != 1:
            continue
        control, entity = next(iter(item.items()))
        var = entity.get("variable") if isinstance(entity, dict) else None
        if var:
            value = _input_value(control, entity, var, inputs.get(var))
            out[var] = value.replace("\x00", "") if isinstance(value, str) else value
    return out


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
            return None
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            pass
    # Dify answers a TypeError (a 500) for a list or object here; the mock names the field instead.
    raise DifyError("invalid_param", f"{var} in input form must be a valid number")
