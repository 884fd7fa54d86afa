"""Domain tools as τ² exposes them: validated arguments, JSON results, errors returned to the agent.

A tool is a method marked with :func:`tool` (its description and typed parameters).  As in τ²
(``Tool._call``), the arguments are validated by a pydantic model built from those parameters (lax
coercion: ``"3"`` -> 3 for an integer, nested objects from dicts, unknown keys ignored) and dumped back
to plain values before the method runs; the result is sent as τ² sends it (a string as is, anything
else as JSON); any exception becomes the tool message ``"Error: <message>"`` with the error flag set,
which the episode counts towards τ²'s ``max_errors``.  The OpenAI tool schema is the pydantic JSON schema
of the parameters, as τ²'s ``Tool.openai_schema``.
"""

from __future__ import annotations

import ast
import json
import operator
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, Field, create_model

from sovereval.bench.tau2.db import DomainDB


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    params: type[BaseModel]
    mutates: bool
    method: Callable[..., Any]

    @property
    def schema(self) -> dict[str, Any]:
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": self.params.model_json_schema()}}


def tool(description: str, *, mutates: bool = False, **params: tuple[Any, str]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a method as a tool: ``@tool("Cancel ...", mutates=True, order_id=(str, "The order id ..."))``."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        fields: dict[str, Any] = {n: (anno, Field(..., description=d)) for n, (anno, d) in params.items()}
        model = create_model("parameters", **fields)
        fn._tool = ToolSpec(name=fn.__name__, description=description, params=model,  # type: ignore[attr-defined]
                            mutates=mutates, method=fn)
        return fn

    return deco


@dataclass(frozen=True)
class ToolResult:
    content: str
    error: bool


class Toolkit:
    """Base class of a domain's tools over one :class:`DomainDB`."""

    domain: ClassVar[str]
    _specs: ClassVar[dict[str, ToolSpec]]

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        specs = {}
        for name in dir(cls):
            spec = getattr(getattr(cls, name), "_tool", None)
            if isinstance(spec, ToolSpec):
                specs[spec.name] = spec
        cls._specs = dict(sorted(specs.items()))

    def __init__(self, db: DomainDB) -> None:
        self.db = db

    @classmethod
    def specs(cls) -> dict[str, ToolSpec]:
        return cls._specs

    @classmethod
    def schemas(cls) -> tuple[dict[str, Any], ...]:
        return tuple(s.schema for s in cls._specs.values())

    @classmethod
    def mutates(cls, name: str) -> bool:
        spec = cls._specs.get(name)
        return True if spec is None else spec.mutates  # unknown: assume it would have (τ²'s safe fallback)

    def call(self, name: str, arguments: Any) -> ToolResult:
        spec = self._specs.get(name)
        if spec is None:
            return ToolResult(f"Error: Tool '{name}' not found.", True)
        if not isinstance(arguments, dict):
            return ToolResult(f"Error: the arguments of {name} must be a JSON object, not {arguments!r:.200}", True)
        try:
            args = spec.params.model_validate(arguments).model_dump()
            result = spec.method(self, **args)
        except Exception as e:  # noqa: BLE001 — as τ²: any failure is the tool's answer to the agent
            return ToolResult(f"Error: {e}", True)
        return ToolResult(to_json_str(result), False)


def to_json_str(value: Any) -> str:
    """τ²'s ``Environment.to_json_str`` for what its tools return: a string as is, a model (here: a record)
    or a list of them as JSON."""
    return value if isinstance(value, str) else json.dumps(value, default=str)


def fold(text: str) -> str:
    """Case-, accent- and whitespace-insensitive form of a name, email or id (τ²'s ``fold_for_match``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


def resolve_key(table_keys: Any, key: str) -> str | None:
    """The stored key matching ``key`` exactly, after trimming, or up to case and accents."""
    if key in table_keys:
        return key
    stripped = key.strip()
    if stripped in table_keys:
        return stripped
    wanted = fold(stripped)
    for candidate in table_keys:
        if fold(candidate) == wanted:
            return str(candidate)
    return None


# --------------------------------------------------------------------------------------------------
# calculate: τ² evaluates the expression with eval() after a character check; here it is folded from the
# syntax tree (numbers, + - * / // ** and parentheses), which gives the same value for what passes the check.
# --------------------------------------------------------------------------------------------------

_OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Pow: operator.pow,
}


def calculate(expression: str) -> str:
    if not all(c in "0123456789+-*/(). " for c in expression):
        raise ValueError("Invalid characters in expression")
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as e:
        raise ValueError(f"invalid syntax: {e.msg}") from None

    def ev(node: ast.expr) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Pow) and abs(right) > 1000:
                raise ValueError("exponent too large")
            return _OPS[type(node.op)](left, right)  # type: ignore[no-any-return]
        raise ValueError(f"unsupported expression {ast.unparse(node)!r}")

    return str(round(float(ev(tree.body)), 2))


def with_defaults(record: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """A record with the optional fields its τ² model dumps (as ``None``) filled in."""
    missing = {k: v for k, v in defaults.items() if k not in record}
    return {**record, **missing} if missing else record


__all__ = ["DomainDB", "ToolResult", "ToolSpec", "Toolkit", "calculate", "fold", "resolve_key", "to_json_str",
           "tool", "with_defaults"]
