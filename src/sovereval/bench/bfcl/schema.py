"""What the model is shown: BFCL's function-doc preprocessing, OpenAI tools, and the prompting-mode prompt."""

from __future__ import annotations

import copy
import json
from typing import Any

from sovereval.bench.bfcl.checker import Language, converted_name
from sovereval.bench.bfcl.convert import GORILLA_TO_OPENAPI

#: BFCL's classic prompting-mode system prompt (``DEFAULT_SYSTEM_PROMPT``, bfcl_eval, Apache-2.0);
#: ``{functions}`` is the list of (language-annotated) function docs as indented JSON
PROMPTING_SYSTEM_PROMPT = (
    "You are an expert in composing functions. You are given a question and a set of possible functions. Based on "
    "the question, you will need to make one or more function/tool calls to achieve the purpose.\n"
    "If none of the functions can be used, point it out. If the given question lacks the parameters required by "
    "the function, also point it out.\n"
    "You should only return the function calls in your response.\n\n"
    "If you decide to invoke any of the function(s), you MUST put it in the format of [func_name1(params_name1="
    "params_value1, params_name2=params_value2...), func_name2(params)]\n"
    "You SHOULD NOT include any other text in the response.\n\n"
    "At each turn, you should try your best to complete the tasks requested by the user within the current turn. "
    "Continue to output functions to call until you have fulfilled the user's request to the best of your "
    "ability. Once you have no more functions to call, the system will consider the current turn complete and "
    "proceed to the next turn or task.\n\n"
    "Here is a list of functions in JSON format that you can invoke.\n{functions}\n"
)

_HINTS: dict[str, str] = {
    "java": " Note that the provided function is in Java 8 SDK syntax.",
    "javascript": " Note that the provided function is in JavaScript syntax.",
    "python": " Note that the provided function is in Python 3 syntax.",
}


def language_docs(functions: list[dict[str, Any]], lang: Language) -> list[dict[str, Any]]:
    """BFCL's ``func_doc_language_specific_pre_processing`` on a copy: a language hint on every description;
    Java/JavaScript parameters become strings "in string representation" (element types named in words)."""
    out = copy.deepcopy(functions)
    for fn in out:
        fn["description"] = fn.get("description", "") + _HINTS[lang]
        props = fn["parameters"]["properties"]
        if lang == "python":
            continue
        word = "Java" if lang == "java" else "JavaScript"
        for value in props.values():
            kind = value.get("type")
            desc = value.get("description", "")
            if kind == "any":
                desc += f" This parameter can be of any type of {word} object in string representation."
            else:
                desc += f" This is {word} {kind} type parameter in string representation."
            if kind in (("ArrayList", "Array") if lang == "java" else ("array",)):
                desc += (f" The list elements are of type {(value.get('items') or {}).get('type')}; they are not in "
                         "string representation.")
                value.pop("items", None)
            if lang == "javascript" and kind == "dict" and "properties" in value:
                desc += (" The dictionary entries have the following schema; they are not in string representation. "
                         + json.dumps(value["properties"]))
                del value["properties"]
            value["description"] = desc
            value["type"] = "string"
    return out


def _cast(properties: dict[str, Any]) -> dict[str, Any]:
    """BFCL's ``_cast_to_openai_type`` (in place): doc types -> JSON schema types, floats annotated."""
    for value in properties.values():
        if "type" not in value:
            value["type"] = "string"
        else:
            kind = value["type"]
            if kind == "float":
                value["format"] = "float"
                value["description"] = value.get("description", "") + " This is a float type value."
            value["type"] = GORILLA_TO_OPENAPI.get(kind, "string")
        if value["type"] in ("array", "object"):
            if "properties" in value:
                value["properties"] = _cast(value["properties"])
            elif "items" in value:
                items = value["items"]
                items["type"] = GORILLA_TO_OPENAPI.get(items.get("type"), "string")
                if items["type"] == "array" and "items" in items:
                    items["items"]["type"] = GORILLA_TO_OPENAPI.get(items["items"].get("type"), "string")
                elif items["type"] == "object" and "properties" in items:
                    items["properties"] = _cast(items["properties"])
    return properties


def openai_tools(functions: list[dict[str, Any]], lang: Language, *,
                 underscore_to_dot: bool = True) -> tuple[dict[str, Any], ...]:
    """The function docs as OpenAI chat-completions ``tools`` (BFCL's ``convert_to_tool``, OpenAI style)."""
    tools = []
    for fn in language_docs(functions, lang):
        params = fn["parameters"]
        params["type"] = "object"
        params["properties"] = _cast(params["properties"])
        tools.append({"type": "function", "function": {
            "name": converted_name(fn["name"], underscore_to_dot), "description": fn["description"],
            "parameters": params}})
    return tuple(tools)


def prompting_system_prompt(functions: list[dict[str, Any]], lang: Language) -> str:
    return PROMPTING_SYSTEM_PROMPT.format(functions=json.dumps(language_docs(functions, lang), indent=4))
