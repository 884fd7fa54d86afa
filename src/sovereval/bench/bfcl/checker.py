"""BFCL's AST checker: does a decoded answer match one of the possible answers?

A decoded answer is a list of calls ``[{name: {param: value}}]``; a possible answer (``ground_truth``) is a
list ``[{name: {param: [allowed values]}}]`` where ``""`` among the allowed values marks an optional
parameter that may be left out.  The result is a :class:`Check` (valid, error type, messages) with BFCL's
error types (``simple_function_checker:missing_required``, ``value_error:string``, ...), so a score can
say exactly which rule failed.  Behaviour follows BFCL's checker rule by rule, including its limits
(nested types are checked one level deep; in parallel categories each expected call takes the first
unmatched model call that fits, greedily).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from sovereval.bench.bfcl.convert import (
    JAVA_TYPES,
    JS_TYPES,
    NESTED_CONVERSION,
    PYTHON_NESTED,
    PYTHON_TYPES,
    Unsupported,
    java_value,
    js_value,
)

Language = Literal["python", "java", "javascript"]
Call = dict[str, dict[str, Any]]


@dataclass
class Check:
    valid: bool
    error_type: str = ""
    errors: list[Any] = field(default_factory=list)
    is_variable: bool = False

    @classmethod
    def ok(cls, is_variable: bool = False) -> Check:
        return cls(True, is_variable=is_variable)

    @classmethod
    def fail(cls, error_type: str, *errors: Any) -> Check:
        return cls(False, error_type, list(errors))


def language_of(category: str) -> Language:
    if category.endswith("java"):
        return "java"
    if category.endswith("javascript"):
        return "javascript"
    return "python"


def converted_name(name: str, underscore_to_dot: bool) -> str:
    """The name a model sees (and must call): dots become underscores for OpenAI-style tools."""
    return re.sub(r"\.", "_", name) if underscore_to_dot and "." in name else name


# --------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------


def ast_check(functions: list[dict[str, Any]], output: list[Call], answer: list[Call], category: str, *,
              underscore_to_dot: bool = False) -> Check:
    """BFCL's ``ast_checker`` for one item (``category`` as in the file names: simple_python, parallel...)."""
    lang = language_of(category)
    if "parallel" in category:
        return _parallel_no_order(functions, output, answer, lang, underscore_to_dot)
    if "multiple" in category:
        if len(output) != len(answer):
            return Check.fail("multiple_function_checker:wrong_count", "Wrong number of functions.")
        expected = next(iter(answer[0]))
        return simple_check(_find(functions, expected), output[0], answer[0], lang, underscore_to_dot)
    if len(output) != 1:
        return Check.fail("simple_function_checker:wrong_count", "Wrong number of functions.")
    return simple_check(functions[0], output[0], answer[0], lang, underscore_to_dot)


def _find(functions: list[dict[str, Any]], name: str) -> dict[str, Any]:
    for f in functions:
        if f["name"] == name:
            return f
    raise ValueError(f"the possible answer names {name!r}, which is not among the item's functions")


def _parallel_no_order(functions: list[dict[str, Any]], output: list[Call], answer: list[Call], lang: Language,
                       underscore_to_dot: bool) -> Check:
    if len(output) != len(answer):
        return Check.fail("parallel_function_checker_no_order:wrong_count", "Wrong number of functions.")
    matched: list[int] = []
    for i, expected in enumerate(answer):
        doc = _find(functions, next(iter(expected)))
        errors: list[Any] = []
        found = False
        for j, call in enumerate(output):
            if j in matched:
                continue
            r = simple_check(doc, call, expected, lang, underscore_to_dot)
            if r.valid:
                matched.append(j)
                found = True
                break
            errors.append({f"model call {j}": {"error_type": r.error_type, "errors": r.errors}})
        if not found:
            left = [j for j in range(len(output)) if j not in matched]
            return Check.fail("parallel_function_checker_no_order:cannot_find_match",
                              f"no model call among {left} matches expected call {i}", *errors)
    return Check.ok()


# --------------------------------------------------------------------------------------------------
# One call
# --------------------------------------------------------------------------------------------------


def simple_check(doc: dict[str, Any], call: Call, answer: Call, lang: Language, underscore_to_dot: bool) -> Check:
    """BFCL's ``simple_function_checker``: one model call against one expected call."""
    possible = next(iter(answer.values()))
    name = converted_name(doc["name"], underscore_to_dot)
    details = doc["parameters"]["properties"]
    required = doc["parameters"].get("required", [])
    if name not in call:
        return Check.fail("simple_function_checker:wrong_func_name", f"Function name {name!r} not found in model output.")
    params = call[name]
    for p in required:
        if p not in params:
            return Check.fail("simple_function_checker:missing_required", f"Missing required parameter: {p!r}.")
    for p, value in params.items():
        if p not in details or p not in possible:
            return Check.fail("simple_function_checker:unexpected_param", f"Unexpected parameter: {p!r}.")
        r = _check_param(p, value, details[p], possible[p], lang)
        if not r.valid:
            return r
    for p, allowed in possible.items():
        if p not in params and "" not in allowed:
            return Check.fail("simple_function_checker:missing_optional",
                              f"Optional parameter {p!r} not provided and not marked as optional.")
    return Check.ok()


def _check_param(p: str, value: Any, detail: dict[str, Any], allowed: list[Any], lang: Language) -> Check:
    doc_type = detail.get("type")
    nested_type: type | None = None
    try:
        if lang == "python":
            if doc_type not in PYTHON_TYPES:
                raise Unsupported(f"unsupported type {doc_type!r}")
            expected = PYTHON_TYPES[doc_type]
            items = detail.get("items")
            if doc_type in PYTHON_NESTED and isinstance(items, dict) and items.get("type") in PYTHON_TYPES:
                nested_type = PYTHON_TYPES[items["type"]]
        else:
            table, convert = (JAVA_TYPES, java_value) if lang == "java" else (JS_TYPES, js_value)
            if doc_type not in table:
                raise Unsupported(f"unsupported {lang} type {doc_type!r}")
            expected = table[doc_type]
            if not isinstance(value, str):
                return Check.fail(f"type_error:{'java' if lang == 'java' else 'js'}",
                                  f"Incorrect type for parameter {p!r}. Expected type String, got "
                                  f"{type(value).__name__}. Parameter value: {value!r}.")
            if doc_type in NESTED_CONVERSION:
                inner = (detail.get("items") or {}).get("type")
                if inner not in table:
                    raise Unsupported(f"unsupported {lang} element type {inner!r}")
                nested_type = table[inner]
                value = convert(value, doc_type, inner)
            else:
                value = convert(value, doc_type)
    except Unsupported as e:
        return Check.fail("type_error:unsupported", f"parameter {p!r}: {e}")

    if doc_type == "tuple" and isinstance(value, tuple):
        value = list(value)
    if lang == "python" and doc_type == "float" and type(value) is int:
        value = float(value)

    t = type_check(p, value, allowed, str(doc_type), expected, nested_type)
    if not t.valid:
        return t
    if not t.is_variable:
        if expected is dict:
            return dict_check(p, value, allowed)
        if expected is list and nested_type is dict:
            return list_dict_check(p, value, allowed)
        if expected is str:
            return string_check(p, value, allowed)
        if expected is list:
            return list_check(p, value, allowed)
    if value not in allowed:
        return Check.fail("value_error:others",
                          f"Invalid value for parameter {p!r}: {value!r}. Expected one of {allowed}.")
    return Check.ok()


def _answer_type(allowed: list[Any]) -> type | None:
    for a in allowed:
        if a != "":
            return type(a)
    return None


def type_check(p: str, value: Any, allowed: list[Any], described: str, expected: type,
               nested: type | None) -> Check:
    """BFCL's ``type_checker``: the value has the doc type, or the answer's type (a variable name)."""
    answer_type = _answer_type(allowed)
    is_variable = answer_type is not None and answer_type is not expected
    result = Check.ok()
    if type(value) is expected:
        if nested is None:
            return Check.ok(is_variable)
        for option in allowed:
            fits = True
            if type(option) is list:
                for element in value:
                    if not type_check(p, element, option, str(nested), nested, None).valid:
                        fits = False
                        break
            if fits:
                return Check.ok(is_variable)
        result = Check.fail("type_error:nested", f"Nested type checking failed for parameter {p!r}. Expected outer "
                                                 f"type {described} with inner type {nested}. Parameter value: {value!r}.")
    if answer_type is not None and type(value) is answer_type:
        result.is_variable = True
        return result
    result.valid = False
    result.errors.append(f"Incorrect type for parameter {p!r}. Expected type {described}, got "
                         f"{type(value).__name__}. Parameter value: {value!r}.")
    result.error_type = "type_error:simple"
    return result


def standardize(s: str) -> str:
    """BFCL's string normalisation: drop spaces and ``,./-_*^``, lower case, ``'`` -> ``"``."""
    return re.sub(r"[ ,./\-_*^]", "", s).lower().replace("'", '"')


def _std(v: Any) -> Any:
    return standardize(v) if type(v) is str else v


def string_check(p: str, value: str, allowed: list[Any]) -> Check:
    if standardize(value) not in [standardize(a) for a in allowed if type(a) is str]:
        return Check.fail("value_error:string", f"Invalid value for parameter {p!r}: {value!r}. Expected one of "
                                                f"{allowed}. Case insensitive.")
    return Check.ok()


def list_check(p: str, value: list[Any], allowed: list[Any]) -> Check:
    got = [_std(v) for v in value]
    options = [[_std(x) for x in option] for option in allowed]
    if got not in options:
        return Check.fail("value_error:list/tuple", f"Invalid value for parameter {p!r}: {value!r}. Expected one "
                                                    f"of {allowed}.")
    return Check.ok()


def dict_check(p: str, value: dict[str, Any], allowed: list[Any]) -> Check:
    """One flat dict against each allowed dict (each key's value among that key's options)."""
    result = Check.fail("dict_checker:unclear")
    for option in allowed:
        if option == "":
            continue
        result = Check.fail("dict_checker:unclear")
        if not isinstance(option, dict):  # a variable name among dict answers: no dict equals it
            continue
        fits = True
        for key, v in value.items():
            if key not in option:
                result = Check.fail("value_error:dict_key", f"Unexpected dict key parameter: {key!r}.")
                fits = False
                break
            if _std(v) not in [_std(x) for x in option[key]]:
                result = Check.fail("value_error:dict_value", f"Invalid value for parameter {key!r}: {v!r}. "
                                                              f"Expected one of {option[key]}.")
                fits = False
                break
        for key, options in option.items():
            if key not in value and "" not in options:
                result = Check.fail("value_error:dict_key", f"Missing dict key parameter: {key!r}.")
                fits = False
                break
        if fits:
            return Check.ok()
    return result


def list_dict_check(p: str, value: list[Any], allowed: list[Any]) -> Check:
    """A list of dicts, in order, against each allowed list of dicts."""
    result = Check.fail("list_dict_checker:unclear")
    for option in allowed:
        if len(value) != len(option):
            result = Check.fail("value_error:list_dict_count", "Wrong number of dictionaries in the list.")
            continue
        fits = True
        for i, d in enumerate(value):
            result = dict_check(p, d, [option[i]])
            if not result.valid:
                fits = False
                break
        if fits:
            return Check.ok()
    return result
