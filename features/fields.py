"""Field rules of the data contract: how one raw value (a CSV cell, a Parquet value, a JSON
value) becomes a typed one, or why it cannot.

Each rule's ``parse`` is the definition. ``parse_column`` applies it to a whole column fast
without a second definition: a code, count or amount column holds few distinct values, so
``parse`` runs once per distinct value; free text is stripped and measured in list
comprehensions (the same Python operations); date-times take a vectorised path for the common
plain shape and ``parse`` for the rest. Tests run both paths on the same rows and compare.
"""

from __future__ import annotations

import math
import re
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features import area_codes
from features.errors import DisputeRiskError, RecordError
from features.schema import DEFAULT_TIMEZONE

MAX_COUNT = 1_000_000_000  # keeps counts inside int64 and catches digits run together
YEARS = (1900, 2100)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]+(?:\.0*)?")  # "3.0" is how pandas writes a count next to a NaN
_ISO = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]{1,9}))?)?"
    r"(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)
# The shape handed to pandas' ISO parser; strict ranges, as pandas reads second 60 as a minute on.
_PLAIN_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?")
_BOOLEANS = {"true": True, "1": True, "是": True, "false": False, "0": False, "否": False}


class Invalid(DisputeRiskError):
    """A value breaks a field rule; ``reason`` says which (without the value, so reasons group).
    Records report it as a RecordError naming the field; see ``parse_value``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@cache
def shanghai() -> ZoneInfo:
    return ZoneInfo(DEFAULT_TIMEZONE)


def as_text(value: object) -> str:
    """Any Python value -> the text a CSV cell would hold, stripped; missing (None/NaN/NaT) -> ""."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return "" if math.isnan(value) else repr(float(value))
    if isinstance(value, np.datetime64):
        stamp = pd.Timestamp(value)
        return "" if stamp is pd.NaT else stamp.isoformat()
    if isinstance(value, date):  # datetime and pd.Timestamp included
        return value.isoformat()
    return str(value).strip()


def as_texts(column: pd.Series) -> np.ndarray:
    """``as_text`` of each value, as an object array; a column of str only (as CSV gives)
    without its type checks."""
    try:
        return np.fromiter(map(str.strip, column), dtype=object, count=len(column))
    except TypeError:
        return np.fromiter(map(as_text, column), dtype=object, count=len(column))


@dataclass(frozen=True)
class Text:
    """Free text or one of ``choices``; stripped, as every value is."""

    required: bool = True
    max_len: int | None = None
    choices: tuple[str, ...] | None = None
    missing: str | None = None  # stored when an optional value is empty

    def _choice_reason(self) -> str:
        assert self.choices is not None
        return "must be one of " + ", ".join(self.choices) + ("" if self.required else " or empty")

    def parse(self, text: str) -> str | None:
        if not text:
            if self.required:
                raise Invalid("must not be empty")
            return self.missing
        if self.max_len is not None and len(text) > self.max_len:
            raise Invalid(f"must be at most {self.max_len} characters")
        if self.choices is not None and text not in self.choices:
            raise Invalid(self._choice_reason())
        return text


@dataclass(frozen=True)
class Code:
    """A 12-digit 统计用区划代码, optionally only at some levels of its structure."""

    required: bool = True
    levels: tuple[str, ...] | None = None

    def parse(self, text: str) -> str | None:
        if not text:
            if self.required:
                raise Invalid("must not be empty")
            return None
        problem = area_codes.problem(text)
        if problem is not None:
            raise Invalid(problem)
        if self.levels is not None and area_codes.level_of(text) not in self.levels:
            raise Invalid(f"must be a {' or '.join(self.levels)} code (a town code ends in 000)")
        return text


@dataclass(frozen=True)
class Number:
    required: bool = False
    minimum: float = 0.0

    @property
    def reason(self) -> str:
        return f"must be a number >= {self.minimum:g}" + ("" if self.required else " or empty")

    def parse(self, text: str) -> float:
        if not text:
            if self.required:
                raise Invalid("must not be empty")
            return math.nan
        if not _NUMBER.fullmatch(text) or not math.isfinite(value := float(text)) or value < self.minimum:
            raise Invalid(self.reason)
        return value


@dataclass(frozen=True)
class Integer:
    required: bool = True
    minimum: int = 0
    maximum: int = MAX_COUNT

    @property
    def reason(self) -> str:
        return f"must be an integer >= {self.minimum}" + ("" if self.required else " or empty")

    def parse(self, text: str) -> float | int:
        if not text:
            if self.required:
                raise Invalid("must not be empty")
            return math.nan
        if not _INTEGER.fullmatch(text) or (value := int(text.split(".")[0])) < self.minimum:
            raise Invalid(self.reason)
        if value > self.maximum:
            raise Invalid(f"must be at most {self.maximum}")
        return value


@dataclass(frozen=True)
class Boolean:
    def parse(self, text: str) -> bool:
        value = _BOOLEANS.get(text.lower())
        if value is None:
            raise Invalid("must be true/false, 1/0 or 是/否")
        return value


@dataclass(frozen=True)
class DateTime:
    """ISO-8601 date-time; without an offset it is Shanghai wall time, with one it is converted
    to Shanghai wall time. Stored naive (design: datetime64[ns], Asia/Shanghai)."""

    required: bool = True
    reason = "must be an ISO-8601 date-time such as 2024-01-31T08:30:00 or 2024-01-31 08:30:00+08:00"

    def parse(self, text: str) -> datetime | None:
        if not text:
            if self.required:
                raise Invalid("must not be empty")
            return None
        match = _ISO.fullmatch(text)
        if match is None:
            raise Invalid(self.reason)
        year, month, day, hour, minute, second, fraction, offset = match.groups()
        if not YEARS[0] <= int(year) <= YEARS[1]:
            raise Invalid(f"year must be between {YEARS[0]} and {YEARS[1]}")
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        try:
            value = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro)
        except ValueError:
            raise Invalid("must be a real calendar date and time") from None
        if offset is None:
            return value
        minutes = 0
        if offset != "Z":
            hours, extra = int(offset[1:3]), int(offset[-2:]) if len(offset) > 3 else 0
            if hours > 23 or extra > 59:
                raise Invalid(self.reason)
            minutes = (hours * 60 + extra) * (-1 if offset[0] == "-" else 1)
        tz = timezone(timedelta(minutes=minutes))
        return value.replace(tzinfo=tz).astimezone(shanghai()).replace(tzinfo=None)


Field = Text | Code | Number | Integer | Boolean | DateTime


def parse_column(rule: Field, column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``rule.parse`` over a column of raw values -> (typed values, broken mask) as arrays; the
    values of broken rows are undefined. Date-times come back as datetime64[ns], all else object."""
    if isinstance(rule, Text) and rule.choices is None:
        return _text_column(rule, column)
    if isinstance(rule, DateTime):  # nearly every value distinct: grouping them would not pay
        return _datetimes(rule, as_texts(column))
    codes, uniques = factorize(column)
    if isinstance(rule, Text):  # a few choices: each distinct raw value checked once
        values, broken = _text_column(rule, pd.Series(uniques, dtype=object))
        return values[codes], broken[codes]
    texts = [as_text(value) for value in uniques]
    values, broken = np.empty(len(texts), dtype=object), np.zeros(len(texts), dtype=bool)
    for i, text in enumerate(texts):
        try:
            values[i] = rule.parse(text)
        except Invalid:
            broken[i] = True
    return values[codes], broken[codes]


def factorize(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(column, use_na_sentinel=False)``. A column of str only (as read from CSV)
    has no missing value to tell apart, so pandas' scan for them is skipped: the same result."""
    values = column.to_numpy()
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=False) == "string":
        return pd.factorize(values)
    return pd.factorize(values, use_na_sentinel=False)


def _text_column(rule: Text, column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    values = as_texts(column)
    empty = values == ""
    broken = empty.copy() if rule.required else np.zeros(len(values), dtype=bool)
    if rule.max_len is not None:
        broken |= np.fromiter(map(len, values), dtype=np.int64, count=len(values)) > rule.max_len
    if rule.choices is not None:
        allowed = frozenset(rule.choices).__contains__
        broken |= ~empty & ~np.fromiter(map(allowed, values), dtype=bool, count=len(values))
    values[empty] = rule.missing
    return values, broken


def _datetimes(rule: DateTime, texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values = np.full(len(texts), np.datetime64("NaT"), dtype="datetime64[ns]")
    empty = texts == ""
    found = pc.match_substring_regex(pa.array(texts, pa.string()), f"^(?:{_PLAIN_ISO.pattern})$")
    plain = found.to_numpy(zero_copy_only=False).astype(bool)
    if plain.any():  # the common shape: pandas' C parser; it agrees with ``parse`` on this shape
        parsed = pd.to_datetime(pd.Series(texts, dtype=object)[plain], format="ISO8601", errors="coerce")
        values[plain] = parsed.where(parsed.dt.year.between(*YEARS)).astype("datetime64[ns]").to_numpy()
    for i in np.flatnonzero(~plain & ~empty):
        with suppress(Invalid):
            values[i] = np.datetime64(rule.parse(texts[i]), "ns")
    broken = np.isnat(values) & (~empty | rule.required)
    return values, broken


def parse_value(rule: Field, value: object, field: str) -> object:
    """``rule`` applied to one raw value; a RecordError naming ``field`` when it breaks the rule."""
    try:
        return rule.parse(as_text(value))
    except Invalid as exc:
        raise RecordError(field, value, exc.reason) from None


def parse_datetime(value: object, field: str) -> datetime:
    """The contract's date-time rule for one required value: naive Shanghai wall time (an offset
    is converted), or a RecordError naming ``field``.

    >>> parse_datetime("2024-01-31T08:30:00+00:00", "escalated_at")
    datetime.datetime(2024, 1, 31, 16, 30)
    """
    parsed = parse_value(DateTime(), value, field)
    assert isinstance(parsed, datetime)
    return parsed
