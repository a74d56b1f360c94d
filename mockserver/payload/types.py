"""Types: a JSON value read as pydantic reads it for each schema type, lax, for payload.py (split
off along the noun). Each check returns the coerced value or raises Invalid (Several for a list's
items); payload.py places the errors and writes pydantic's text.

    object -> dict   string -> str (format uuid -> uuid.UUID, as its text)   boolean -> bool
    integer -> int   number -> float   array -> list   enum -> Literal   [several] -> Union
    x-pydantic {"type": "ConditionValue"} -> Dify's metadata condition value union (NAMED_TYPES)

Text read as a number follows pydantic-core's grammar (payload/numbers.py), as a UUID the Rust uuid
crate's (payload/uuids.py); a constrained type checks its constraints on the coerced value
(payload/constraints.py) and reports the value given."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from mockserver.payload import constraints
from mockserver.payload.numbers import NotANumber, float_from_text, int_from_float, int_from_text
from mockserver.payload.uuids import parse_uuid

_TRUE: Final = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE: Final = frozenset({"0", "off", "f", "false", "n", "no"})
_MESSAGES: Final = {
    "missing": "Field required",
    "dict_type": "Input should be a valid dictionary",
    "string_type": "Input should be a valid string",
    "list_type": "Input should be a valid list",
    "bool_type": "Input should be a valid boolean",
    "bool_parsing": "Input should be a valid boolean, unable to interpret input",
    "int_type": "Input should be a valid integer",
    "int_parsing": "Input should be a valid integer, unable to parse string as an integer",
    "int_parsing_size": "Unable to parse input string as an integer, exceeded maximum size",
    "int_from_float": "Input should be a valid integer, got a number with a fractional part",
    "finite_number": "Input should be a finite number",
    "float_type": "Input should be a valid number",
    "float_parsing": "Input should be a valid number, unable to parse string as a number",
    "uuid_type": "UUID input should be a string, bytes or UUID object",
}


class Invalid(Exception):
    """One pydantic error at a location (empty for the model's own)."""

    def __init__(self, kind: str, value: Any, loc: tuple[str | int, ...] = (), message: str | None = None) -> None:
        super().__init__(kind)
        self.kind, self.value, self.loc = kind, value, loc
        self.message = message if message is not None else _MESSAGES[kind]

    @classmethod
    def of(cls, failure: constraints.Failure, value: Any) -> Invalid:
        return cls(failure[0], value, message=failure[1])

    @classmethod
    def raised(cls, exc: ValueError, value: Any) -> Invalid:
        """A validator's ValueError, as pydantic wraps it."""
        return cls("value_error", value, message=f"Value error, {exc}")

    def at(self, part: str | int) -> Invalid:
        return Invalid(self.kind, self.value, (part, *self.loc), self.message)


class Several(Exception):
    """A list's item errors, each located at its index."""

    def __init__(self, errors: list[Invalid]) -> None:
        super().__init__(len(errors))
        self.errors = errors


Check = Callable[[Any], Any]  # returns the coerced value or raises Invalid (or Several)


def _dict(value: Any) -> Any:
    if isinstance(value, dict):
        return value
    raise Invalid("dict_type", value)


def _str(value: Any) -> Any:
    if isinstance(value, str):
        return value
    raise Invalid("string_type", value)


def _bool(value: Any) -> Any:
    """pydantic's lax bool: booleans, 0/1, and the words of _TRUE/_FALSE in any case (no stripping)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if value in (0, 1):
            return bool(value)
        raise Invalid("bool_parsing", value)
    if isinstance(value, float) and value in (0.0, 1.0):
        return bool(value)
    if isinstance(value, str):
        word = value.lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise Invalid("bool_parsing", value)
    raise Invalid("bool_type", value)


def _int(value: Any) -> Any:
    """pydantic's lax int: ints and bools, whole floats within i64, and text (payload/numbers.py)."""
    if isinstance(value, int):  # True is 1
        return int(value)
    try:
        if isinstance(value, float):
            return int_from_float(value)
        if isinstance(value, str):
            return int_from_text(value)
    except NotANumber as exc:
        raise Invalid(exc.kind, value) from None
    raise Invalid("int_type", value)


def _float(value: Any) -> Any:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float_from_text(value)
        except NotANumber as exc:
            raise Invalid(exc.kind, value) from None
    raise Invalid("float_type", value)


def uuid_text(value: Any) -> Any:
    """A uuid.UUID field, handed on as its canonical text."""
    if not isinstance(value, str):
        raise Invalid("uuid_type", value)
    try:
        return str(parse_uuid(value))
    except ValueError as exc:
        raise Invalid("uuid_parsing", value, message=f"Input should be a valid UUID, {exc}") from None


def list_of(items: Check | None, low: int | None, high: int | None) -> Check:
    """A list, its items checked when the schema has `items`, between `low` and `high` long."""

    def check(value: Any) -> Any:
        if not isinstance(value, list):
            raise Invalid("list_type", value)
        if high is not None and len(value) > high:  # counted before the items, which go unchecked
            raise Invalid.of(constraints.too_long(high, len(value)), value)
        out, errors = [], []
        for i, item in enumerate(value):
            try:
                out.append(item if items is None else items(item))
            except Invalid as exc:
                errors.append(exc.at(i))
            except Several as several:  # an item that is a model: each of its errors, under the index
                errors.extend(exc.at(i) for exc in several.errors)
        if errors:
            raise Several(errors)
        if low is not None and len(out) < low:
            raise Invalid.of(constraints.too_short(low, len(out)), value)
        return out

    return check


def literal(options: list[Any], kind: str = "literal_error") -> Check:
    """A Literal's check; `kind="enum"` is a str Enum's, whose error text is the same."""
    quoted = [f"'{o}'" if isinstance(o, str) else repr(o) for o in options]
    text = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"

    def check(value: Any) -> Any:
        if value in options and type(value) in (type(o) for o in options):
            return value
        raise Invalid(kind, value, message=f"Input should be {text}")

    return check


def constrained(check: Check, rules: list[constraints.Constraint]) -> Check:
    """The type's check, then its constraints on the coerced value; errors show the value given."""
    if not rules:
        return check

    def bounded(value: Any) -> Any:
        out = check(value)
        for rule in rules:
            failure = rule(out)
            if failure is not None:
                raise Invalid.of(failure, value)
        return out

    return bounded


# A Union member's strict form (smart mode's exact match) and the tag its errors are located under.
_EXACT: Final[dict[str, Callable[[Any], bool]]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, float),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
}
_TAGS: Final = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "object": "dict"}


def smart_union(kinds: list[str]) -> Check:
    """A `str | int | float` field in pydantic's smart mode: a value one member takes as it is wins;
    else the first member whose lax check takes it (JSON true is 1 for `str | int`); else one error per
    member, located under its type's name (`value.str`, `value.int`, `value.float`)."""

    def check(value: Any) -> Any:
        for kind in kinds:
            if _EXACT[kind](value):
                return value
        errors = []
        for kind in kinds:
            try:
                return TYPES[kind](value)
            except Invalid as exc:
                errors.append(exc.at(_TAGS[kind]))
        raise Several(errors)

    return check


# pydantic-core's name for the python-mode Sequence[str] branch of a union, as its locations print it.
_SEQUENCE_OF_STR: Final = (
    "json-or-python[json=list[str],python=chain[is-instance[Sequence],function-wrap[sequence_validator()]]]"
)


def condition_value(value: Any) -> Any:
    """Dify's metadata ConditionValue, `str | Sequence[str] | None | int | float`, in pydantic's smart
    mode on a dict (core/rag/entities/metadata_entities.py@1.16.1; the same union at 1.12.0): an exact
    type wins, a bool is the int branch's (true is 1), a float stays a float; anything else fails every
    branch, each error under the branch's name (reproduced with pydantic 2.12.5)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    errors = [Invalid("string_type", value, ("str",))]
    if isinstance(value, list):
        wrong = [Invalid("string_type", v, (_SEQUENCE_OF_STR, i)) for i, v in enumerate(value) if type(v) is not str]
        if not wrong:
            return value
        errors += wrong
    else:
        text = "Input should be an instance of Sequence"
        errors.append(Invalid("is_instance_of", value, (_SEQUENCE_OF_STR,), message=text))
    raise Several([*errors, Invalid("int_type", value, ("int",)), Invalid("float_type", value, ("float",))])


# Dify's Annotated types a schema names with x-pydantic {"type": name}: the check takes None itself.
NAMED_TYPES: Final[dict[str, Check]] = {"ConditionValue": condition_value}

TYPES: Final[dict[str, Check]] = {
    "object": _dict,
    "string": _str,
    "boolean": _bool,
    "integer": _int,
    "number": _float,
}
