"""A possible answer written out as a model would answer: for self-checks of the checker and decoders.

:func:`gold_calls` leaves out every parameter that may be left out (``""`` among its options) and
gives the others their first allowed value (or, with ``optional="first"``, gives every parameter its first
value that is not ``""``); :func:`gold_tool_calls` and :func:`gold_prompt_text` write those
calls as an OpenAI ``tool_calls`` list or as prompting-mode text.  In the Java and JavaScript categories
every value becomes the source text BFCL's converters turn back into the expected value (``5L``,
``3.0f``, ``new ArrayList<>(Arrays.asList(...))``...); where a converter only accepts one spelling, that
spelling is used (e.g. unquoted ``String`` elements of a Java ``Array``, see :mod:`.convert`).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from sovereval.bench.bfcl.checker import Language, converted_name, language_of

Call = dict[str, dict[str, Any]]


def _first(options: list[Any]) -> tuple[bool, Any]:
    for o in options:
        if o != "":
            return True, o
    return False, None


Optional = Literal["first", "omit"]


def _choose(options: list[Any], optional: Optional) -> tuple[bool, Any]:
    if optional == "omit" and "" in options:
        return False, None
    return _first(options)


def _pick(value: Any, optional: Optional) -> Any:
    """A possible-answer dict maps each key to its options: choose one option per key, recursively."""
    if isinstance(value, dict):
        out = {}
        for k, options in value.items():
            if not isinstance(options, list):  # a malformed answer (a bare value): kept, it cannot match
                out[k] = options
                continue
            has, v = _choose(options, optional)
            if has:
                out[k] = _pick(v, optional)
        return out
    if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
        return [_pick(x, optional) for x in value]
    return value


def gold_calls(answer: list[Call], optional: Optional = "omit",
               functions: list[dict[str, Any]] | None = None) -> list[Call]:
    """One correct answer: ``optional="omit"`` leaves out every parameter that may be left out (and that
    the function doc does not list as required); ``"first"`` gives every parameter its first allowed value."""
    out = []
    for expected in answer:
        name, params = next(iter(expected.items()))
        required = set()
        if functions is not None:
            doc = next((f for f in functions if f["name"] == name), None)
            required = set((doc or {}).get("parameters", {}).get("required", []))
        args = {}
        for p, options in params.items():
            has, value = _choose(options, "first" if p in required else optional)
            if has:
                args[p] = _pick(value, optional)
        out.append({name: args})
    return out


def _doc(functions: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(f for f in functions if f["name"] == name)


def _float_text(v: float) -> str:
    text = repr(float(v))
    if "e" in text or "E" in text:
        text = f"{v:.20f}".rstrip("0")
        text = text + "0" if text.endswith(".") else text
    return text


# --------------------------------------------------------------------------------------------------
# Java
# --------------------------------------------------------------------------------------------------


def java_source(value: Any, kind: str, item: str | None = None) -> str:
    if not isinstance(value, list | dict | bool | int | float) or (kind in ("String", "any", "char")):
        return value if isinstance(value, str) else str(value)
    if kind in ("byte", "short", "integer"):
        return str(value)
    if kind == "long":
        return f"{value}L"
    if kind == "float":
        return f"{_float_text(value)}f"
    if kind == "double":
        return _float_text(value)
    if kind == "boolean":
        return "true" if value is True else "false" if value is False else str(value)
    if kind == "Array" and isinstance(value, list):
        elems = [str(x) if item in ("String", "any", "char", None) and isinstance(x, str) else java_source(x, item or "any")
                 for x in value]
        return f"new {_java_type(item)}[]{{{', '.join(elems)}}}"
    if kind == "ArrayList" and isinstance(value, list):
        if not value:
            return "new ArrayList<>()"
        if item in ("String", "char"):
            elems = [f'"{x}"' for x in value]
        elif item in (None, "any"):
            elems = [java_literal_source(x) for x in value]
        else:
            elems = [java_source(x, item) for x in value]
        return f"new ArrayList<>(Arrays.asList({', '.join(elems)}))"
    if kind == "HashMap" and isinstance(value, dict):
        puts = " ".join(f'put("{k}", {java_literal_source(v)});' for k, v in value.items())
        return f"new HashMap<String, Object>() {{{{ {puts} }}}}"
    return str(value)


def java_literal_source(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _float_text(v)
    return f'"{v}"'


def _java_type(item: str | None) -> str:
    return {"integer": "int", "long": "long", "double": "double", "float": "float", "boolean": "boolean",
            "char": "char", "String": "String", "short": "short", "byte": "byte"}.get(item or "", "Object")


# --------------------------------------------------------------------------------------------------
# JavaScript
# --------------------------------------------------------------------------------------------------


def js_source(value: Any, kind: str, item: str | None = None) -> str:
    if kind in ("String", "any") or isinstance(value, str):
        return value if isinstance(value, str) else str(value)
    if kind == "integer":
        return str(value)
    if kind == "float":
        return _float_text(value)
    if kind == "Bigint":
        return f"{value}n"
    if kind == "Boolean":
        return "true" if value is True else "false" if value is False else str(value)
    if kind == "array" and isinstance(value, list):
        if item:
            elems = [f"'{x}'" if isinstance(x, str) else js_source(x, item) for x in value]
        else:
            elems = [js_literal_source(x) for x in value]
        return "[" + ", ".join(elems) + "]"
    if kind == "dict" and isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {js_literal_source(v)}" for k, v in value.items()) + "}"
    return str(value)


def js_literal_source(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return _float_text(v) if isinstance(v, float) else str(v)
    if isinstance(v, list):
        return "[" + ", ".join(js_literal_source(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {js_literal_source(x)}" for k, x in v.items()) + "}"
    return f"'{v}'"


# --------------------------------------------------------------------------------------------------
# Whole answers
# --------------------------------------------------------------------------------------------------


def _sources(functions: list[dict[str, Any]], call: Call, lang: Language) -> dict[str, Any]:
    name, args = next(iter(call.items()))
    if lang == "python":
        return args
    props = _doc(functions, name)["parameters"]["properties"]
    enc = java_source if lang == "java" else js_source
    return {p: enc(v, props[p]["type"], (props[p].get("items") or {}).get("type")) for p, v in args.items()}


def gold_tool_calls(functions: list[dict[str, Any]], answer: list[Call], category: str, *,
                    underscore_to_dot: bool = True, optional: Optional = "omit") -> tuple[dict[str, Any], ...]:
    lang = language_of(category)
    out = []
    for i, call in enumerate(gold_calls(answer, optional, functions)):
        name = next(iter(call))
        out.append({"id": f"call_{i}", "type": "function", "function": {
            "name": converted_name(name, underscore_to_dot),
            "arguments": json.dumps(_sources(functions, call, lang), ensure_ascii=False)}})
    return tuple(out)


def gold_prompt_text(functions: list[dict[str, Any]], answer: list[Call], category: str, *,
                     optional: Optional = "omit") -> str:
    lang = language_of(category)
    parts = []
    for call in gold_calls(answer, optional, functions):
        name = next(iter(call))
        args = _sources(functions, call, lang)
        if lang == "python":
            rendered = ", ".join(f"{k}={v!r}" for k, v in args.items())
        else:
            kinds = _doc(functions, name)["parameters"]["properties"]
            rendered = ", ".join(f"{k}={_quoted(v, kinds[k]['type'])}" for k, v in args.items())
        parts.append(f"{name}({rendered})")
    return "[" + ", ".join(parts) + "]"


def _quoted(text: str, kind: str) -> str:
    """A string argument in Java/JS prompting answers: a quoted literal where the text allows it."""
    if kind in ("String", "any", "char") and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return text
