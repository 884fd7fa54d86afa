"""BFCL's type tables and its Java / JavaScript value converters, with their behaviour (quirks included).

In the Java and JavaScript categories every argument reaches the checker as a *string* holding source
text (``"new int[]{1, 2}"``, ``"3.5f"``, ``"true"``); BFCL converts it with these rules before comparing
it to the possible answers.  A string that does not match a rule stays a string ("default to string").
Known consequences kept on purpose (they decide what BFCL scores as correct):

* Java ``Array`` elements are split on commas and converted one by one; a ``String`` element keeps its
  quotes, so ``new String[]{"a", "b"}`` never equals ``["a", "b"]`` (only the unquoted form does);
  ``ArrayList`` elements of type ``String``/``char`` lose their first and last character (the quotes).
* Java ``float`` needs an ``f`` suffix, ``long`` an ``L`` suffix; JavaScript ``float`` has no exponent.
* JavaScript object values are unquoted then parsed, so ``{'n': '5'}`` gives the number 5.
"""

from __future__ import annotations

import re
from typing import Any

from sovereval.errors import SovereValError

#: BFCL's GORILLA_TO_OPENAPI: the type names of the function docs -> JSON schema types for OpenAI tools
GORILLA_TO_OPENAPI: dict[str, str] = {
    "integer": "integer", "number": "number", "float": "number", "string": "string", "boolean": "boolean",
    "bool": "boolean", "array": "array", "list": "array", "dict": "object", "object": "object",
    "tuple": "array", "any": "string", "byte": "integer", "short": "integer", "long": "integer",
    "double": "number", "char": "string", "ArrayList": "array", "Array": "array", "HashMap": "object",
    "Hashtable": "object", "Queue": "array", "Stack": "array", "Any": "string", "String": "string",
    "Bigint": "integer",
}

#: the Python type each doc type must have in the Python categories (BFCL's PYTHON_TYPE_MAPPING)
PYTHON_TYPES: dict[str, type] = {
    "string": str, "integer": int, "float": float, "boolean": bool, "array": list, "tuple": list,
    "dict": dict, "any": str,
}
PYTHON_NESTED = ("array", "tuple")

JAVA_TYPES: dict[str, type] = {
    "byte": int, "short": int, "integer": int, "float": float, "double": float, "long": int, "boolean": bool,
    "char": str, "Array": list, "ArrayList": list, "Set": set, "HashMap": dict, "Hashtable": dict,
    "Queue": list, "Stack": list, "String": str, "any": str,
}

JS_TYPES: dict[str, type] = {
    "String": str, "integer": int, "float": float, "Bigint": int, "Boolean": bool, "dict": dict, "array": list,
    "any": str,
}

#: Java/JS types whose value is a collection with an element type (``items``)
NESTED_CONVERSION = ("Array", "ArrayList", "array")


class Unsupported(SovereValError, ValueError):
    """A doc type BFCL's converters do not handle (BFCL raises too; the answer cannot be checked)."""


# --------------------------------------------------------------------------------------------------
# Java
# --------------------------------------------------------------------------------------------------

_INT = re.compile(r"^-?\d+$")
_JAVA_FLOAT = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?[fF]$")
_JAVA_DOUBLE = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$")
_JAVA_LONG = re.compile(r"^-?\d+[lL]$")


def java_value(value: str, expected: str, nested: str | None = None) -> Any:
    """Convert Java source text ``value`` of doc type ``expected`` (BFCL's ``java_type_converter``)."""
    if expected not in JAVA_TYPES:
        raise Unsupported(f"unsupported Java type {expected!r}")
    if expected in ("byte", "short", "integer"):
        return int(value) if _INT.match(value) else str(value)
    if expected == "float":
        return float(re.sub(r"[fF]$", "", value)) if _JAVA_FLOAT.match(value) else str(value)
    if expected == "double":
        return float(value) if _JAVA_DOUBLE.match(value) else str(value)
    if expected == "long":
        return int(re.sub(r"[lL]$", "", value)) if _JAVA_LONG.match(value) else str(value)
    if expected == "boolean":
        return value == "true" if value in ("true", "false") else str(value)
    if expected == "char":
        # BFCL's pattern here (``^\'.$\'``) can never match a quoted character: the value stays as given
        return str(value)
    if expected == "ArrayList":
        return _java_arraylist(value, nested)
    if expected == "Array":
        return _java_array(value, nested)
    if expected == "HashMap":
        return _java_hashmap(value)
    if expected in ("String", "any"):
        return str(value)
    raise Unsupported(f"BFCL does not convert Java {expected} values")


def _java_element(text: str, nested: str | None) -> Any:
    if nested in ("char", "String"):
        return text[1:-1]
    return java_value(text, nested) if nested else java_literal(text)


def _java_arraylist(text: str, nested: str | None) -> Any:
    m = re.search(r"new\s+ArrayList<\w*>\(Arrays\.asList\((.+?)\)\)", text)
    if m:
        return [_java_element(e.strip(), nested) for e in m.group(1).split(",")]
    m = re.search(r"new\s+ArrayList<\w*>\(\)\s*\{\{\s*(.+?)\s*\}\}", text, re.DOTALL)
    if m:
        return [_java_element(v.strip(), nested) for v in re.findall(r"add\((.+?)\)", m.group(1))]
    if re.search(r"new\s+ArrayList<\w*>\(\)", text):
        return []
    return text


def _java_array(text: str, nested: str | None) -> Any:
    m = re.search(r"new\s+\w+\[\]\s*\{(.*?)\}", text)
    if not m:
        return text
    parts = [x.strip() for x in m.group(1).split(",") if x.strip()]
    return [java_value(x, nested) if nested else java_literal(x) for x in parts]


def _java_hashmap(text: str) -> Any:
    m = re.search(r"new\s+HashMap<.*?>\s*\(\)\s*\{\s*\{?\s*(.*?)\s*\}?\s*\}", text, re.DOTALL)
    if m:
        out: dict[str, Any] = {}
        if m.group(1).strip():
            for key, val in re.findall(r"put\(\"(.*?)\",\s*(.*?)\)", m.group(1)):
                out[key] = java_literal(val.strip())
        return out
    if re.search(r"new\s+HashMap<.*?>\s*\(\)", text):
        return {}
    return text


def java_literal(text: str) -> Any:
    """A Java literal without a declared type (BFCL's ``parse_java_value``)."""
    if text == "true":
        return True
    if text == "false":
        return False
    if text.startswith('"') and text.endswith('"'):
        return text[1:-1]
    if _JAVA_LONG.match(text):
        return int(text[:-1])
    if _JAVA_FLOAT.match(text):
        return float(re.sub(r"[fF]$", "", text))
    return _number_or_text(text)


def _number_or_text(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


# --------------------------------------------------------------------------------------------------
# JavaScript
# --------------------------------------------------------------------------------------------------

_JS_FLOAT = re.compile(r"^-?\d+(\.\d+)?$")
_JS_BIGINT = re.compile(r"^-?\d+n$")


def js_value(value: str, expected: str, nested: str | None = None) -> Any:
    """Convert JavaScript source text ``value`` of doc type ``expected`` (BFCL's ``js_type_converter``)."""
    if expected not in JS_TYPES:
        raise Unsupported(f"unsupported JavaScript type {expected!r}")
    if expected == "String":
        quoted = (value.startswith('"') and value.endswith('"')) or (value.startswith("'") and value.endswith("'"))
        return value[1:-1] if quoted else str(value)
    if expected == "integer":
        return int(value) if _INT.match(value) else str(value)
    if expected == "float":
        return float(value) if _JS_FLOAT.match(value) else str(value)
    if expected == "Bigint":
        return int(value[:-1]) if _JS_BIGINT.match(value) else str(value)
    if expected == "Boolean":
        return value == "true" if value in ("true", "false") else str(value)
    if expected == "dict":
        return _js_collection(value, "dict", nested)
    if expected == "array":
        return _js_collection(value, "array", nested)
    return str(value)  # any


def _js_collection(code: str, kind: str, nested: str | None = None) -> Any:
    code = code.strip()
    if kind == "array":
        try:
            m2 = re.match(r"\[\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\]|\bnew\s+Array\(\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\)", code)
            if m2:
                rows = []
                for idx, inner in enumerate(re.findall(r"\[(.*?)\]", m2.group(0))):
                    inner = inner.strip()
                    if idx == 0 and inner.startswith("["):
                        inner = inner[1:]
                    rows.append([js_literal(e.strip()) for e in inner.split(",")])
                return rows
            m = re.match(r"\[(.*?)\]|\bnew\s+Array\((.*?)\)", code)
            if not m:
                return code
            inner = m.group(1) if m.group(1) is not None else m.group(2)
            inner = (inner or "").strip()
            elements = inner.split(",") if inner else []
            if nested:
                return [js_value(e.strip(), nested, "String") if e.strip().startswith(("'", '"'))
                        else js_value(e.strip(), nested) for e in elements]
            return [js_literal(e.strip()) for e in elements]
        except (ValueError, IndexError, Unsupported):
            return code
    if code == "{}":
        return {}
    m = re.match(r"\{(.*?)\}", code)
    if not m:
        return code
    out: dict[str, Any] = {}
    for key, val in re.findall(r"([^:]+):\s*(.*?)(?:,\s*(?=[^,]+:)|$)", m.group(1)):
        key = key.strip().strip("'\"")
        val = val.strip()
        if val.startswith("[") and val.endswith("]"):
            out[key] = _js_collection(val, "array")
        elif val.startswith("{") and val.endswith("}"):
            out[key] = _js_collection(val, "dict")
        else:
            out[key] = js_literal(val.strip("'\""))
    return out


def js_literal(text: str) -> Any:
    """A JavaScript literal without a declared type (BFCL's ``parse_js_value``)."""
    text = text.strip()
    if text == "true":
        return True
    if text == "false":
        return False
    if (text.startswith('"') and text.endswith('"')) or (text.startswith("'") and text.endswith("'")):
        return text[1:-1]
    return _number_or_text(text)
