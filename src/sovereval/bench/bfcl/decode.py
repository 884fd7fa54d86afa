"""Reading function calls out of a model's answer, as BFCL decodes them.

* :func:`decode_tool_calls` — function-calling mode: the response's OpenAI ``tool_calls`` (arguments are a
  JSON object, as a string or already parsed) -> ``[{name: {param: value}}]``.  No tool call is a decoding
  failure (BFCL's OpenAI handler fails to decode a text answer).
* :func:`decode_python` — prompting mode: text like ``[f(a=1), g.h(b='x')]`` parsed with :mod:`ast`,
  keyword arguments only (positional arguments are ignored, as in BFCL).  Values are literals, lists,
  dicts, tuples, negative numbers, bare names (kept as their name), calls without keywords (kept as
  source text), calls with keywords (nested ``{name: args}``), subscripts (source text), and arithmetic on
  numeric literals / concatenation of string literals, folded without ``eval``.  Anything else fails.
* :func:`decode_source_call` — prompting mode for Java/JavaScript: the first call, each argument kept as
  its source text, a top-level quoted string literal unquoted (BFCL's tree-sitter parsers do the same).

A failure raises :class:`DecodeError`; what the checker makes of it (wrong, or "no call" for relevance
categories) is the episode's business.
"""

from __future__ import annotations

import ast
import json
import operator
import re
from collections.abc import Iterator, Sequence
from typing import Any

from sovereval.errors import SovereValError

Call = dict[str, dict[str, Any]]


class DecodeError(SovereValError, ValueError):
    pass


def is_call_list(decoded: Any) -> bool:
    """BFCL's ``is_function_calling_format_output``: a list of ``{name: {args}}`` with one key each."""
    if not isinstance(decoded, list):
        return False
    for item in decoded:
        if not isinstance(item, dict) or len(item) != 1 or not isinstance(next(iter(item.values())), dict):
            return False
    return True


def is_empty(decoded: Any) -> bool:
    """BFCL's ``is_empty_output``: not a call list, an empty list, or one empty dict."""
    if not is_call_list(decoded):
        return True
    return len(decoded) == 0 or (len(decoded) == 1 and len(decoded[0]) == 0)


# --------------------------------------------------------------------------------------------------
# Function-calling mode
# --------------------------------------------------------------------------------------------------


def decode_tool_calls(tool_calls: Sequence[dict[str, Any]]) -> list[Any]:
    if not tool_calls:
        raise DecodeError("no tool call in the response (the answer is text)")
    out: list[Any] = []
    for i, tc in enumerate(tool_calls):
        fn = tc.get("function") if isinstance(tc, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise DecodeError(f"tool call {i} has no function name: {tc!r:.200}")
        args = fn.get("arguments", {})
        if isinstance(args, str):
            try:
                args = json.loads(args) if args.strip() else {}
            except json.JSONDecodeError as e:
                raise DecodeError(f"tool call {i} ({fn['name']}): arguments are not JSON: {e}") from e
        out.append({fn["name"]: args})
    return out


# --------------------------------------------------------------------------------------------------
# Prompting mode, Python syntax
# --------------------------------------------------------------------------------------------------


def _bracketed(text: str) -> str:
    s = text.strip("`\n ")
    if not s.startswith("["):
        s = "[" + s
    if not s.endswith("]"):
        s = s + "]"
    return s


def decode_python(text: str) -> list[Call]:
    """BFCL's ``default_decode_ast_prompting`` for Python answers (without ``eval``)."""
    source = _bracketed(text).strip().strip("'")
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        raise DecodeError(f"not Python call syntax: {e}") from e
    body = tree.body
    if isinstance(body, ast.Call):
        nodes: list[ast.expr] = [body]
    elif isinstance(body, ast.List | ast.Tuple | ast.Set):
        nodes = list(body.elts)
    else:
        raise DecodeError(f"expected a list of calls, found {type(body).__name__}")
    calls = []
    for node in nodes:
        if not isinstance(node, ast.Call):
            raise DecodeError(f"expected a call, found {ast.unparse(node)[:80]!r}")
        calls.append(_call(node))
    return calls


def _call(node: ast.Call) -> Call:
    parts = []
    f: ast.expr = node.func
    while isinstance(f, ast.Attribute):
        parts.append(f.attr)
        f = f.value
    if isinstance(f, ast.Name):
        parts.append(f.id)
    name = ".".join(reversed(parts))
    args = {}
    for kw in node.keywords:
        if kw.arg is None:
            raise DecodeError("**kwargs in a call")
        args[kw.arg] = _value(kw.value)
    return {name: args}


_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}


def _value(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant):
        return "..." if node.value is Ellipsis else node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant) \
            and isinstance(node.operand.value, int | float | complex):
        return -node.operand.value  # BFCL negates any unary operation on a numeric constant
    if isinstance(node, ast.List):
        return [_value(v) for v in node.elts]
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise DecodeError("**mapping inside a dict")
        return {_value(k): _value(v) for k, v in zip(node.keys, node.values, strict=True)}  # type: ignore[arg-type]
    if isinstance(node, ast.BinOp):
        return _fold(node)
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call):
        return ast.unparse(node) if not node.keywords else _call(node)
    if isinstance(node, ast.Tuple):
        return tuple(_value(v) for v in node.elts)
    if isinstance(node, ast.Subscript):
        return ast.unparse(node.value) + "[" + ast.unparse(node.slice) + "]"
    raise DecodeError(f"unsupported value {ast.unparse(node)[:80]!r} ({type(node).__name__})")


def _fold(node: ast.expr) -> Any:
    """Constant arithmetic / string concatenation that BFCL would ``eval``; nothing else is evaluated."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float | str) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        v = _fold(node.operand)
        if isinstance(v, int | float):
            return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _fold(node.left), _fold(node.right)
        numeric = all(isinstance(v, int | float) for v in (left, right))
        strings = isinstance(node.op, ast.Add) and all(isinstance(v, str) for v in (left, right))
        if numeric and isinstance(node.op, ast.Pow) and abs(right) > 64:
            raise DecodeError("exponent too large to fold")
        if numeric or strings:
            try:
                return _BINOPS[type(node.op)](left, right)
            except (ArithmeticError, ValueError) as e:
                raise DecodeError(f"arithmetic in an argument failed: {e}") from e
    raise DecodeError(f"cannot evaluate {ast.unparse(node)[:80]!r} without eval")


# --------------------------------------------------------------------------------------------------
# Prompting mode, Java / JavaScript syntax
# --------------------------------------------------------------------------------------------------

_OPEN, _CLOSE = "([{", ")]}"
_IDENT = re.compile(r"[A-Za-z_$][\w$]*")


def _unquoted(text: str, start: int = 0) -> Iterator[tuple[int, str, int]]:
    """Each character of ``text`` from ``start`` outside string/char literals (backslash escapes
    honoured) as ``(index, char, bracket depth after it)``; raises DecodeError if a literal never ends."""
    depth, quote, i = 0, "", start
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in "\"'`":
            quote = c
        else:
            depth += (c in _OPEN) - (c in _CLOSE)
            yield i, c, depth
        i += 1
    if quote:
        raise DecodeError("unbalanced brackets or quotes")


def _split_top(text: str, sep: str = ",") -> list[str]:
    """Split at ``sep`` outside brackets, string/char literals and generic angle brackets."""
    parts, depth, angle, start = [], 0, 0, 0
    for i, c, depth in _unquoted(text):
        if c == "<" and i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_"):
            angle += 1
        elif c == ">" and angle:
            angle -= 1
        elif c == sep and depth == 0 and angle == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth:
        raise DecodeError("unbalanced brackets or quotes")
    parts.append(text[start:])
    return parts


def decode_source_call(text: str) -> list[Call]:
    """The first ``name(key=value, ...)`` call in a Java/JavaScript answer, values as source text."""
    inner = _bracketed(text)[1:-1].strip()
    m = re.match(r"([A-Za-z_$][\w$]*(?:\s*\.\s*[A-Za-z_$][\w$]*)*)\s*\(", inner)
    if not m:
        raise DecodeError("no call of the form name(...) found")
    name = re.sub(r"\s+", "", m.group(1))
    try:  # the parenthesis that closes the one after the name
        end = next((i for i, c, depth in _unquoted(inner, m.end() - 1) if c in _CLOSE and depth == 0), -1)
    except DecodeError:  # a literal that never ends
        end = -1
    if end < 0:
        raise DecodeError("the call's parenthesis is never closed")
    args: dict[str, Any] = {}
    body = inner[m.end():end]
    for part in (_split_top(body) if body.strip() else []):
        part = part.strip()
        key, eq, value = part.partition("=")
        if eq and _IDENT.fullmatch(key.strip()) and not value.startswith("="):
            key, value = key.strip(), value.strip()
            if key in args:
                raise DecodeError(f"argument {key!r} given twice")
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            args[key] = value
        elif _IDENT.fullmatch(part):
            args.setdefault("None", part)  # an unnamed name: BFCL files it under the key None (never valid)
    return [{name: args}]
