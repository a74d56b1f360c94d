"""`{{ expr }}` templates: parsed once at load into closures, evaluated per request, never eval'd."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final, Protocol

import orjson
from msgspec import Struct

from mockserver.jsonsafe import shown
from mockserver.nearmiss import close_matches

_JSON_WORDS: dict[str, Any] = {"true": True, "false": False, "null": None}
ROOTS = frozenset({"request", "app", "dify", "vars", "clock", "n", "action", "ids", "fake"})
_EXPR = re.compile(r"\{\{(.*?)\}\}", re.S)


class TemplateSyntaxError(ValueError):
    """A template that cannot be compiled; the loader turns it into a located Problem."""


class Context(Protocol):
    """What a template reads; built per request by the pipeline. `missing` collects, per request,
    each lookup that found nothing (`FILE:LINE:COLUMN: {{ expr }} found nothing`), unless a
    `default` filter follows it: a typo in a path would otherwise render as "" unseen."""

    missing: list[str]

    def root(self, name: str) -> Any: ...
    def lookup(self, name: str) -> Any: ...  # `vars.<name>`: the var rendered (root("vars") is the context)
    def __contains__(self, name: object) -> bool: ...  # whether the fixture declares var `name`
    def request_part(self, name: str | int) -> Any: ...  # root("request")[name], without the rest of the view
    def fake(self, label: str, provider: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any: ...


Getter = Callable[[Context], Any]
_NO_CONTEXT: Any = None  # what a constant template is rendered with at load: it reads nothing
Where = Callable[[tuple[str | int, ...]], str]  # the source position (FILE:LINE:COLUMN) of the string at a path


class Template(Struct, eq=False):
    """A compiled value: `render(ctx)` gives plain JSON data. `constant` is set when nothing varies."""

    render: Final[Callable[[Context], Any]]
    constant: Final[bool]
    # An object template that varies: its keys' own templates, in order (a blocking answer renders one alone).
    parts: Final[dict[str, Template] | None] = None

    def value(self) -> Any:
        """A constant template's value (it reads nothing)."""
        return self.render(_NO_CONTEXT)


def holds(obj: Any, key: str | int) -> bool:
    """Whether `obj` has `key` at all: a key present with a null value was found."""
    if type(obj) is dict:  # the usual case, without the ABC check below
        return key in obj
    if isinstance(obj, Mapping):
        return key in obj
    if isinstance(obj, list):
        return isinstance(key, int) and -len(obj) <= key < len(obj)
    # A Lookup (`vars`, `ids`) that cannot say what it holds is taken at its word: null is nothing.
    return hasattr(obj, "lookup") and hasattr(obj, "__contains__") and key in obj


def get(obj: Any, key: str | int) -> Any:
    """Template lookup: dict keys, list indexes, or a Lookup object; anything missing is None."""
    if type(obj) is dict:  # the usual case, without the ABC check below
        return obj.get(key) if isinstance(key, str) else None
    if isinstance(obj, Mapping):
        return obj.get(key) if isinstance(key, str) else None
    if isinstance(obj, list):
        return obj[key] if isinstance(key, int) and -len(obj) <= key < len(obj) else None
    if hasattr(obj, "lookup") and isinstance(key, str):
        return obj.lookup(key)
    return None


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value, default=shown).decode()
    return str(value)


_Q = Decimal("0.0000001")


def usage(
    prompt_tokens: int = 20,
    completion_tokens: int = 10,
    prompt_unit_price: str = "0.001",
    completion_unit_price: str = "0.002",
    price_unit: str = "0.001",
    latency: float = 0.5,
    currency: str = "USD",
) -> dict[str, Any]:
    """Dify's 12-field LLM usage block, prices as 7-place decimal strings as Dify formats them."""
    unit = Decimal(price_unit)
    prompt_price = (Decimal(prompt_tokens) * Decimal(prompt_unit_price) * unit).quantize(_Q)
    completion_price = (Decimal(completion_tokens) * Decimal(completion_unit_price) * unit).quantize(_Q)
    return {
        "prompt_tokens": prompt_tokens,
        "prompt_unit_price": prompt_unit_price,
        "prompt_price_unit": price_unit,
        "prompt_price": str(prompt_price),
        "completion_tokens": completion_tokens,
        "completion_unit_price": completion_unit_price,
        "completion_price_unit": price_unit,
        "completion_price": str(completion_price),
        "total_tokens": prompt_tokens + completion_tokens,
        "total_price": str(prompt_price + completion_price),
        "currency": currency,
        "latency": float(latency),
    }


def _f_default(value: Any, fallback: Any = "", empty_too: bool = False) -> Any:
    """`default(x)` replaces null; `default(x, true)` also replaces "" and other empty values (as Jinja's)."""
    return fallback if value is None or (empty_too and not value) else value


def _f_length(value: Any) -> int:
    return len(value) if isinstance(value, str | list | dict) else 0


def _f_truncate(value: Any, n: int = 255) -> str:
    return to_text(value)[:n]


FILTERS: dict[str, Callable[..., Any]] = {
    "default": _f_default,
    "length": _f_length,
    "lower": lambda v: to_text(v).lower(),
    "upper": lambda v: to_text(v).upper(),
    "truncate": _f_truncate,
    "json": lambda v: orjson.dumps(v, default=shown).decode(),
}
FUNCTIONS: dict[str, Callable[..., Any]] = {"usage": usage}


def compile_value(
    value: Any,
    label: Callable[[tuple[str | int, ...]], str],
    fakes: list[tuple[str, str]] | None = None,
    where: Where | None = None,
) -> Template:
    """Compile a fixture value (nested dicts, lists, strings with `{{ }}`) into a Template.

    `label(path)` names the source position of the string at `path`, used to seed `fake.*` draws;
    each `fake.<provider>()` is appended to `fakes` as (label, provider) so the loader can check it.
    With `where(path)` (FILE:LINE:COLUMN of the string at `path`), a lookup that finds nothing at run
    time is recorded in the context's `missing`. Raises TemplateSyntaxError carrying `.path` (where
    inside `value` the problem is).
    """
    return _compile(value, (), _Compiling(label, fakes if fakes is not None else [], where))


Fakes = list[tuple[str, str]]


class _Compiling(Struct, eq=False):
    """What compiling one template needs: where its problems point, and the Faker uses it records."""

    label: Final[Callable[[tuple[str | int, ...]], str]]
    fakes: Final[Fakes]
    where: Final[Where | None]


def _compile(value: Any, path: tuple[str | int, ...], c: _Compiling) -> Template:
    if isinstance(value, str):
        try:
            position = c.where(path) if c.where is not None and "{{" in value else None
            return _compile_string(value, c.label(path), c.fakes, position)
        except TemplateSyntaxError as exc:
            exc.path = path  # type: ignore[attr-defined]
            raise
    if isinstance(value, dict):
        parts = {k: _compile(v, (*path, k), c) for k, v in value.items()}
        if all(t.constant for t in parts.values()):  # rendered once (a constant string renders as itself)
            return Template(_const({k: t.value() for k, t in parts.items()}), True)
        items = [(k, t.render) for k, t in parts.items()]
        return Template(lambda ctx: {k: r(ctx) for k, r in items}, False, parts)
    if isinstance(value, list):
        elems = [_compile(v, (*path, i), c) for i, v in enumerate(value)]
        if all(t.constant for t in elems):
            return Template(_const([t.value() for t in elems]), True)
        renders = [t.render for t in elems]
        return Template(lambda ctx: [r(ctx) for r in renders], False)
    return Template(_const(value), True)


def _const(value: Any) -> Callable[[Context], Any]:
    return lambda ctx: value


def _compile_string(text: str, label: str, fakes: Fakes, position: str | None = None) -> Template:
    if "{{" not in text:
        if "}}" in text:
            raise TemplateSyntaxError("unbalanced '}}' in template")
        return Template(_const(text), True)
    pieces: list[str | Getter] = []
    pos = 0
    for i, m in enumerate(_EXPR.finditer(text)):
        if m.start() > pos:
            pieces.append(text[pos : m.start()])
        source = m.group(1).strip()
        report = f"{position}: {{{{ {source} }}}} found nothing" if position is not None else None
        pieces.append(compile_expr(source, f"{label}#{i}", fakes, report))
        pos = m.end()
    tail = text[pos:]
    if "{{" in tail or "}}" in tail:
        raise TemplateSyntaxError("unbalanced '{{' in template")
    if tail:
        pieces.append(tail)
    if len(pieces) == 1 and callable(pieces[0]):
        only = pieces[0]
        if isinstance(only, _Fixed):  # `{{ usage(...) }}`: one value, the same object every request
            return Template(only, True)
        return Template(only, False)  # a whole-string expression keeps its JSON type
    return Template(_joined(pieces), False)


def _joined(pieces: list[str | Getter]) -> Callable[[Context], str]:
    """A string template's text. Text around one expression (`"You asked: {{ request.body.query }}"`,
    the usual shape) is put together without the generator and join that any other shape takes: every
    chat renders one."""
    if len(pieces) == 2 and isinstance(pieces[0], str) and not isinstance(pieces[1], str):
        head, tail_getter = pieces[0], pieces[1]

        def head_and_value(ctx: Context) -> str:
            value = tail_getter(ctx)
            return head + (value if type(value) is str else to_text(value))

        return head_and_value
    parts = pieces

    def render(ctx: Context) -> str:
        return "".join(p if isinstance(p, str) else to_text(p(ctx)) for p in parts)

    return render


def compile_expr(source: str, label: str, fakes: Fakes | None = None, report: str | None = None) -> Getter:
    """`report`: what to add to the context's `missing` when a lookup of this expression finds nothing."""
    if not source:
        raise TemplateSyntaxError("empty expression '{{ }}'")
    try:
        tree = _parsed(source)
    except SyntaxError as exc:
        raise TemplateSyntaxError(f"cannot parse expression '{source}': {exc.msg}") from None
    return _node(tree.body, source, label, fakes if fakes is not None else [], report)


@lru_cache(maxsize=1024)
def _parsed(source: str) -> ast.Expression:
    """An expression's tree, parsed once however many templates hold it (the built-in fixtures' 113
    expressions are 16 texts, `action.result` 75 times); _node only reads it."""
    return ast.parse(source, mode="eval")


def _literal(node: ast.expr, source: str) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise TemplateSyntaxError(f"only literal arguments are allowed in '{source}'") from None


def _node(node: ast.expr, source: str, label: str, fakes: Fakes, report: str | None = None) -> Getter:
    """A getter for `node`; `report` is set where a lookup's nothing would end up in the output (the
    outermost lookup of a path, not followed by `default`), so one path is recorded once."""
    if isinstance(node, ast.Constant):
        value = node.value
        return lambda ctx: value
    if isinstance(node, ast.Name):
        name = node.id
        if name in _JSON_WORDS:  # fixture authors write YAML/JSON words, not Python's True/None
            word = _JSON_WORDS[name]
            return lambda ctx: word
        if name not in ROOTS:
            raise TemplateSyntaxError(f"unknown name '{name}' in '{source}'{_hint(name, ROOTS)}")
        return lambda ctx: ctx.root(name)
    if isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Name) and node.value.id == "fake":
            raise TemplateSyntaxError(f"call the Faker provider: 'fake.{node.attr}()' in '{source}'")
        if node.attr.startswith("_"):
            raise TemplateSyntaxError(f"private name '{node.attr}' in '{source}'")
        if isinstance(node.value, ast.Name) and node.value.id == "vars":
            return _var(node.attr, report)
        return _path(node, source, report) or _lookup(_node(node.value, source, label, fakes), node.attr, report)
    if isinstance(node, ast.Subscript):
        key = _literal(node.slice, source)
        if not isinstance(key, str | int):
            raise TemplateSyntaxError(f"subscripts must be a string or an integer in '{source}'")
        return _path(node, source, report) or _lookup(_node(node.value, source, label, fakes), key, report)
    if isinstance(node, ast.Call):
        return _call(node, source, label, fakes)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        is_default = isinstance(node.right, ast.Name | ast.Call) and _filter_name(node.right) == "default"
        left = _node(node.left, source, label, fakes, None if is_default else report)
        return _filter(left, node.right, source, label, fakes, report)
    if isinstance(node, ast.List | ast.Tuple | ast.Dict | ast.UnaryOp):
        value = _literal(node, source)
        return lambda ctx: value
    raise TemplateSyntaxError(f"unsupported expression '{source}'")


def _path(node: ast.expr, source: str, report: str | None) -> Getter | None:
    """`root.a[0].b` as one getter walking its keys (the nested lookups it replaces cost a call each);
    None when the chain does not start at a root name or holds anything but names and literal keys."""
    keys: list[str | int] = []
    while isinstance(node, ast.Attribute | ast.Subscript):
        if isinstance(node, ast.Attribute):
            if node.attr.startswith("_"):
                return None
            keys.append(node.attr)
        else:
            try:
                key = ast.literal_eval(node.slice)
            except ValueError:
                return None
            if not isinstance(key, str | int) or isinstance(key, bool):
                return None
            keys.append(key)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in ROOTS or node.id == "fake" or len(keys) < 2:
        return None
    name, path = node.id, tuple(reversed(keys))
    last = len(path) - 1
    from_request = name == "request"  # `request.body.x`: the body alone, not the whole view (its headers)
    first, rest = path[0], path[1:]
    if from_request and len(rest) == 1 and isinstance(rest[0], str):
        return _request_field(first, rest[0], report)

    def walk(ctx: Context) -> Any:
        if from_request:
            obj = ctx.request_part(first)
            if obj is None:  # as the view's missing key: the outermost lookup reports
                if report is not None and report not in ctx.missing:
                    ctx.missing.append(report)
                return None
            steps, start = rest, 1
        else:
            obj, steps, start = ctx.root(name), path, 0
        for i, key in enumerate(steps, start):
            value = get(obj, key)
            if value is None:
                # Only the outermost lookup reports: a missing step makes every later one miss too.
                if report is not None and (i < last or not holds(obj, key)) and report not in ctx.missing:
                    ctx.missing.append(report)
                return None
            obj = value
        return obj

    return walk


def _request_field(part: str | int, key: str, report: str | None) -> Getter:
    """`request.<part>.<key>` (`request.body.query`, the usual lookup): walk()'s two steps written out."""

    def field(ctx: Context) -> Any:
        obj = ctx.request_part(part)
        if obj is None:
            value = None
        else:
            value = obj.get(key) if type(obj) is dict else get(obj, key)
            if value is not None or holds(obj, key):
                return value
        if report is not None and report not in ctx.missing:
            ctx.missing.append(report)
        return value

    return field


def _var(name: str, report: str | None) -> Getter:
    """`vars.<name>`: the context renders its var itself (what get() and holds() would find on it,
    without their type tests)."""
    if report is None:
        return lambda ctx: ctx.lookup(name)

    def var(ctx: Context) -> Any:
        value = ctx.lookup(name)
        if value is None and name not in ctx and report not in ctx.missing:
            ctx.missing.append(report)
        return value

    return var


def _lookup(inner: Getter, key: str | int, report: str | None) -> Getter:
    if report is None:
        return lambda ctx: get(inner(ctx), key)

    def lookup(ctx: Context) -> Any:
        obj = inner(ctx)
        value = get(obj, key)
        if value is None and not holds(obj, key) and report not in ctx.missing:
            ctx.missing.append(report)
        return value

    return lookup


def _filter_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id
    return None


def _hint(word: str, options: frozenset[str] | dict[str, Any]) -> str:
    close = close_matches(word, sorted(options))
    return f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(sorted(options))})"


class _Fixed:
    """A getter whose value was worked out at load (a function of literal arguments): a template made
    of it alone is constant, so the objects around it are built once, not on every request."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self, ctx: Context) -> Any:
        return self.value


def _call(node: ast.Call, source: str, label: str, fakes: Fakes) -> Getter:
    args = tuple(_literal(a, source) for a in node.args)
    kwargs = {k.arg: _literal(k.value, source) for k in node.keywords if k.arg}
    if len(kwargs) != len(node.keywords):
        raise TemplateSyntaxError(f"'**' arguments are not allowed in '{source}'")
    func = node.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "fake":
        provider = func.attr
        if provider.startswith("_") or provider in {"seed", "seed_instance", "seed_locale"}:
            raise TemplateSyntaxError(f"'fake.{provider}' is not a data provider in '{source}'")
        fakes.append((label, provider))
        return lambda ctx: ctx.fake(label, provider, args, kwargs)
    if isinstance(func, ast.Name) and func.id in FUNCTIONS:
        fn = FUNCTIONS[func.id]
        try:
            fixed = fn(*args, **kwargs)
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise TemplateSyntaxError(f"bad arguments in '{source}': {exc}") from None
        return _Fixed(fixed)  # literal arguments only, so the result is fixed at load
    name = ast.unparse(func)
    raise TemplateSyntaxError(f"unknown function '{name}' in '{source}' (known: usage, fake.<provider>)")


def _filter(inner: Getter, node: ast.expr, source: str, label: str, fakes: Fakes, report: str | None) -> Getter:
    if isinstance(node, ast.Name):
        name, args = node.id, []
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        name, args = node.func.id, [_node(a, source, label, fakes, report) for a in node.args]
    else:
        raise TemplateSyntaxError(f"a filter must be a name or a call after '|' in '{source}'")
    fn = FILTERS.get(name)
    if fn is None:
        raise TemplateSyntaxError(f"unknown filter '{name}' in '{source}'{_hint(name, FILTERS)}")
    arity = {"default": (0, 2), "truncate": (0, 1)}.get(name, (0, 0))
    if not arity[0] <= len(args) <= arity[1]:
        raise TemplateSyntaxError(f"filter '{name}' takes {arity[1]} argument(s) at most in '{source}'")
    literal = [a.value for a in getattr(node, "args", []) if isinstance(a, ast.Constant)]
    if name == "truncate" and literal and (not isinstance(literal[0], int) or isinstance(literal[0], bool)):
        raise TemplateSyntaxError(f"truncate takes a whole number of characters in '{source}'")
    return lambda ctx: fn(inner(ctx), *(a(ctx) for a in args))
