"""Reads the first JSON value of a message as Spark's parser (Jackson) reads it: the same
limits, the same idea of what is JSON, and what follows the value ignored."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

# Iterative, so deep nesting cannot exhaust the stack. Limits are Jackson's defaults, which
# Spark keeps: deeper nesting or longer numbers are not JSON to it.
MAX_DEPTH = 1000
MAX_NUMBER_DIGITS = 1000  # digits of one number (integer, fraction and exponent), inside a container
_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"')
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(?:\.([0-9]+))?(?:[eE][+-]?([0-9]+))?")
_LITERALS = {"true": True, "false": False, "null": None}
ROOT_END = " \t\n\r"  # a number or literal at the root must be followed by one of these, or nothing


@dataclass
class FirstValue:
    kind: str  # object, array, string, number or literal
    pairs: list[tuple[str, str, Any]] = field(default_factory=list)  # the root object's fields, in order
    # no repeated name in any object and no lone surrogate in any string: what Spark's Variant
    # parser (try_parse_json, which tells "not JSON" from "not an object") also accepts
    plain: bool = True


def read_first_value(text: str) -> FirstValue:
    """The first JSON value of `text` (what follows it is ignored); ValueError if there is none."""
    at = _WS.match(text).end()
    if at == len(text):
        raise ValueError("no JSON value")
    if text[at] == "{" and text.count("{") + text.count("[") < FAST_BRACKETS:
        return _read_object_fast(text, at)
    if text[at] in "{[":
        return _read_container(text, at)
    if text[at] == '"':
        return FirstValue("string", plain=not _lone_surrogate(_string_at(text, at)[0]))
    return _read_root_scalar(text, at)


# Below this many brackets in all, nesting cannot reach Python's recursion limit, so an object
# is read by the json module's C scanner (about 5 times faster), with the same limits applied.
FAST_BRACKETS = 400


class _Float(str):
    """A JSON number with a fraction or exponent, as written."""


def _read_object_fast(text: str, at: int) -> FirstValue:
    decoder = json.JSONDecoder(object_pairs_hook=list, parse_int=_int_token, parse_float=_float_token,
                               parse_constant=_no_constant)
    root, _ = decoder.raw_decode(text, at)
    return FirstValue("object", [(name, *_kind_of(value)) for name, value in root])


def _int_token(token: str) -> int:
    if len(token.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise ValueError("number too long")
    return int(token)


def _float_token(token: str) -> _Float:
    if sum(char.isdigit() for char in token) > MAX_NUMBER_DIGITS:
        raise ValueError("number too long")
    return _Float(token)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _kind_of(value: Any) -> tuple[str, Any]:
    """(kind, value) of a value the C scanner read, in _read_container's terms."""
    if value is None:
        return "null", None
    if isinstance(value, bool):
        return "bool", value
    if isinstance(value, int):
        return "int", value
    if isinstance(value, _Float):
        return "float", str(value)
    return ("string", value) if isinstance(value, str) else ("nested", None)


def _read_root_scalar(text: str, at: int) -> FirstValue:
    """A number or literal at the root, followed by whitespace or the end of the text."""
    number = _NUMBER.match(text, at)
    if number:
        end, kind = number.end(), "number"
    else:
        word = next((w for w in _LITERALS if text.startswith(w, at)), None)
        if word is None:
            raise ValueError("not a JSON value")
        end, kind = at + len(word), "literal"
    if end < len(text) and text[end] not in ROOT_END:
        raise ValueError("no space after a root-level value")
    return FirstValue(kind)


def _read_container(text: str, at: int) -> FirstValue:
    """The object or array starting at `at`, read with an explicit stack."""
    first = FirstValue("object" if text[at] == "{" else "array")
    stack: list[set[str] | None] = []  # per open container: names seen (objects) or None (arrays)
    state, name = "value", ""
    while True:
        at = _WS.match(text, at).end()
        if at == len(text):
            raise ValueError("unexpected end of JSON")
        char = text[at]
        if state in ("value", "value_or_close") and char in "{[":
            if len(stack) == MAX_DEPTH:
                raise ValueError("nested too deeply")
            if len(stack) == 1 and first.kind == "object":
                first.pairs.append((name, "nested", None))
            stack.append(set() if char == "{" else None)
            state, at = ("name_or_close" if char == "{" else "value_or_close"), at + 1
        elif (state == "value_or_close" and char == "]") or (state == "name_or_close" and char == "}") \
                or (state == "after" and char == ("}" if isinstance(stack[-1], set) else "]")):
            stack.pop()
            at += 1
            if not stack:
                return first
            state = "after"
        elif state in ("value", "value_or_close"):
            kind, value, at = _scalar_at(text, at)
            first.plain = first.plain and not (kind == "string" and _lone_surrogate(value))
            if len(stack) == 1 and first.kind == "object":
                first.pairs.append((name, kind, value))
            state = "after"
        elif state in ("name", "name_or_close") and char == '"':
            name, at = _string_at(text, at)
            first.plain = first.plain and not _lone_surrogate(name) and name not in stack[-1]
            stack[-1].add(name)
            state = "colon"
        elif state == "colon" and char == ":":
            state, at = "value", at + 1
        elif state == "after" and char == ",":
            state, at = ("name" if isinstance(stack[-1], set) else "value"), at + 1
        else:
            raise ValueError(f"unexpected {char!r}")


def _scalar_at(text: str, at: int) -> tuple[str, Any, int]:
    """(kind, value, end) of the string, number or literal at `at` inside a container."""
    if text[at] == '"':
        value, end = _string_at(text, at)
        return "string", value, end
    number = _NUMBER.match(text, at)
    if number:
        digits = sum(len(part or "") for part in number.groups())
        if digits > MAX_NUMBER_DIGITS:
            raise ValueError("number too long")
        is_int = number.group(2) is None and number.group(3) is None
        return ("int", int(number.group()), number.end()) if is_int else ("float", number.group(), number.end())
    for word, value in _LITERALS.items():
        if text.startswith(word, at):
            return ("null" if value is None else "bool"), value, at + len(word)
    raise ValueError("not a JSON value")


def _string_at(text: str, at: int) -> tuple[str, int]:
    """The decoded JSON string at `at` and where it ends."""
    match = _STRING.match(text, at)
    if not match:
        raise ValueError("bad JSON string")
    return json.loads(match.group()), match.end()


def _lone_surrogate(text: str) -> bool:
    return any("\ud800" <= char <= "\udfff" for char in text)
