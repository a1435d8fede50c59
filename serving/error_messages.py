"""How an error body speaks of a bad value: the rule in words, and the value itself only when it is
safe to show. Free text (a narrative, a note, a name) is never echoed: it may carry a name or a phone
number, and it is the caller's own anyway. Short coded values (a level, a count, an id) are shown,
masked; anything that could not be encoded as JSON (NaN, a lone surrogate, bytes) is not."""

from __future__ import annotations

import math
from typing import Any, Final

from features.personal_data import mask_personal
from serving.field_types import PATTERN_RULES

HIDDEN: Final = object()  # ``shown``'s answer for a value an error body must not carry

# Fields whose values are free text, by their last name ("cases[2].narrative" -> "narrative").
FREE_TEXT: Final = frozenset(
    {"narrative", "text", "note", "reason", "key_groups", "grid_code", "name", "party_id", "criminal_charge"}
)
_MAX_SHOWN_CHARS: Final = 64
_MAX_SHOWN_INT: Final = 10**15


def _leaf(field: str) -> str:
    return field.rsplit(".", 1)[-1].split("[", 1)[0]


def shown(field: str, value: Any) -> Any:
    """``value`` as an error body may show it, or HIDDEN.

    >>> shown("level", "紫"), shown("narrative", "张三电话13812345678") is HIDDEN
    ('紫', True)
    >>> shown("amount_yuan", float("nan")) is HIDDEN, shown("case_id", "13812345678")
    (True, '138****5678')
    """
    if _leaf(field) in FREE_TEXT:
        return HIDDEN
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < _MAX_SHOWN_INT else HIDDEN
    if isinstance(value, float):
        return value if math.isfinite(value) else HIDDEN
    if isinstance(value, str) and len(value) <= _MAX_SHOWN_CHARS and value.isprintable():
        return mask_personal(value)
    return HIDDEN


def with_value(message: str, field: str, value: Any) -> str:
    """``message`` with ", got <value>" when the value may be shown."""
    value = shown(field, value)
    return message if value is HIDDEN else f"{message}, got {value!r}"


def _rule(err: dict[str, Any]) -> str | None:
    """The rule a pydantic error broke, in the project's words (no pattern soup, no input)."""
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    if kind == "string_pattern_mismatch":
        return PATTERN_RULES.get(str(ctx.get("pattern")), "does not have the documented form")
    if kind == "literal_error" or kind == "enum":
        return f"must be one of {ctx.get('expected')}"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "string_too_short":
        return f"must be at least {ctx.get('min_length')} characters"
    if kind == "too_long":  # a list, or a string checked after a before-validator
        unit = "items" if ctx.get("field_type") == "List" else "characters"
        return f"must be at most {ctx.get('max_length')} {unit}"
    bounds = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}
    if kind in bounds:
        limit = next((v for k, v in ctx.items() if k in ("ge", "gt", "le", "lt")), None)
        return f"must be {bounds[kind]} {f'{limit:g}' if isinstance(limit, float) else limit}"
    if kind == "finite_number":
        return "must be a finite number"
    if kind == "value_error":  # our own validators state the rule themselves
        return str(ctx.get("error"))
    return None


def pydantic_message(field: str, err: dict[str, Any], value: Any) -> str:
    kind = err.get("type", "")
    if kind == "missing":
        return f"{field} is required"
    if kind == "json_invalid":
        return f"the body must be valid JSON: {(err.get('ctx') or {}).get('error', err.get('msg'))}"
    rule = _rule(err)
    message = f"{field} {rule}" if rule is not None else f"{field}: {err.get('msg', 'invalid value')}"
    return with_value(message, field, value)
