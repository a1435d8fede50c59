"""The API's field types: what the OpenAPI schema promises is exactly what validation accepts.

Each pattern is written in the subset of regular-expression syntax that pydantic (Rust ``regex``),
the JSON Schema validators clients use (ECMA-262) and Hypothesis (Python ``re``) read alike:
explicit character ranges, no ``\\s`` or ``\\d`` (each engine has its own idea of whitespace and
digits), no look-arounds. ``PATTERN_RULES`` says each rule in words for error bodies.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

from features.fields import MAX_COUNT
from features.personal_data import mask_personal

# What Python's str.strip() removes (str.isspace) plus the byte-order mark: never at either end.
_EDGE: Final = r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
_INNER: Final = r"[^\x00-\x1f\x7f-\x9f]"  # no control characters (NUL included)
_INNER_LINES: Final = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"  # the same, but tab and line breaks
_NZ2: Final = "(?:0[1-9]|[1-9][0-9])"  # a two-digit group that is not 00
_NZ3: Final = "(?:00[1-9]|0[1-9][0-9]|[1-9][0-9]{2})"

# features.area_codes' structure as a pattern: non-zero groups first (the county group alone may be
# 00 below a city, as in 东莞). A case is registered at a town or a village.
CASE_AREA_PATTERN: Final = f"^{_NZ2}{_NZ2}[0-9]{{2}}{_NZ3}[0-9]{{3}}$"
AREA_PATTERN: Final = f"^{_NZ2}(?:0{{10}}|{_NZ2}(?:[0-9]{{2}}0{{6}}|[0-9]{{2}}{_NZ3}[0-9]{{3}}))$"
ID_PATTERN: Final = f"^{_EDGE}(?:{_INNER}{{0,62}}{_EDGE})?$"
LINE_PATTERN: Final = f"^{_INNER}*{_EDGE}{_INNER}*$"
TEXT_PATTERN: Final = f"^{_INNER_LINES}*{_EDGE}{_INNER_LINES}*$"
OPTIONAL_LINE_PATTERN: Final = f"^{_INNER}*$"
# The contract's ISO-8601 shape (features.fields.DateTime), with each part in its range.
DATETIME_PATTERN: Final = (
    r"^(?:19[0-9]{2}|20[0-9]{2}|2100)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[T ]"
    r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:[.,][0-9]{1,9})?)?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3])(?::?[0-5][0-9])?)?$"
)

PATTERN_RULES: Final[dict[str, str]] = {
    CASE_AREA_PATTERN: "must be the 12-digit 统计用区划代码 of a town or village",
    AREA_PATTERN: "must be a 12-digit 统计用区划代码",
    ID_PATTERN: "must be 1-64 characters, without control characters or spaces at either end",
    LINE_PATTERN: "must not be blank and must not contain control characters",
    TEXT_PATTERN: "must not be blank and must not contain control characters other than line breaks",
    OPTIONAL_LINE_PATTERN: "must not contain control characters",
    DATETIME_PATTERN: "must be an ISO-8601 date-time such as 2024-01-31T08:30:00 or 2024-01-31 08:30:00+08:00",
}


def _unicode(value: Any) -> Any:
    # A lone surrogate (JSON "\ud800") is not text: no database or JSON encoder takes it.
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode text (no lone surrogate characters)") from None
    return value


_LARGEST_FLOAT: Final = 1.7976931348623157e308


def _json_number(value: Any) -> Any:
    # "3" and true are not numbers: the schema says number, and a client generated from it agrees.
    # NaN, Infinity and 1e400 (read as infinity) are not numbers either.
    if isinstance(value, str | bool):
        raise ValueError("must be a JSON number, not a string or a boolean")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    if isinstance(value, int) and abs(value) > _LARGEST_FLOAT:  # no float can hold it
        raise ValueError("is out of range")
    return value


_Unicode = BeforeValidator(_unicode)
_JsonNumber = BeforeValidator(_json_number)

CaseId = Annotated[
    str, Field(pattern=ID_PATTERN, max_length=64, description="the platform's id of the case"), _Unicode
]
PartyId = Annotated[
    str,
    Field(
        pattern=ID_PATTERN,
        max_length=64,
        description="a stable pseudonymous id of the person or organisation",
    ),
    _Unicode,
]
CaseAreaCode = Annotated[
    str,
    Field(
        pattern=CASE_AREA_PATTERN, description="统计用区划代码 of the village, or of the town when unknown"
    ),
    _Unicode,
]
AreaCode = Annotated[str, Field(pattern=AREA_PATTERN, description="a 12-digit 统计用区划代码"), _Unicode]
DateTimeText = Annotated[
    str,
    Field(pattern=DATETIME_PATTERN, description="ISO-8601; without an offset it is Asia/Shanghai time"),
    _Unicode,
]
Line = Annotated[str, Field(pattern=LINE_PATTERN, max_length=64, description="a short value"), _Unicode]
Narrative = Annotated[
    str, Field(pattern=TEXT_PATTERN, max_length=5000, description="事件简述, free text"), _Unicode
]
Note = Annotated[
    str,
    Field(
        pattern=TEXT_PATTERN, max_length=2000, description="free text (personal numbers masked when shown)"
    ),
    _Unicode,
]
OptionalLine = Annotated[
    str, Field(pattern=OPTIONAL_LINE_PATTERN, max_length=500, description="may be empty"), _Unicode
]
Charge = Annotated[
    str, Field(pattern=LINE_PATTERN, max_length=32, description="the charge, e.g. 故意伤害"), _Unicode
]

Count = Annotated[int, Field(ge=0, le=MAX_COUNT), _JsonNumber]
PositiveCount = Annotated[int, Field(ge=1, le=MAX_COUNT), _JsonNumber]
Age = Annotated[int, Field(ge=0, le=120), _JsonNumber]
Amount = Annotated[
    float,
    Field(ge=0, le=1e13, allow_inf_nan=False, description="涉及金额(元); null means unknown, not zero"),
    _JsonNumber,
]

# Free text on its way out: personal numbers masked (features.personal_data, the one masker).
Masked = Annotated[str, AfterValidator(mask_personal)]

# The vocabularies, as the schema's enums (tests tie each to its tuple in risk/ and serving/).
# ``...Out``: the same enum in the schema of an answer the server builds from plain strings.
LevelName = Literal["红", "橙", "黄", "蓝", "无"]
WarningLevelName = Literal["红", "橙", "黄", "蓝"]
StatusName = Literal["待签收", "处置中", "已化解", "已升级", "已关闭"]
LightName = Literal["绿", "黄", "红"]
OutcomeName = Literal["化解", "转诉讼", "转仲裁", "转行政处理", "信访", "民转刑", "撤回", "其他"]
RoleName = Literal["intake", "supervisor", "analyst", "admin"]
PartyRole = Literal["申请方", "被申请方", "第三方"]
PartyType = Literal["自然人", "单位"]
Gender = Literal["男", "女"]
AuditAction = Literal[
    "read",
    "open",
    "rescore",
    "raise",
    "lower",
    "sign",
    "note",
    "escalate",
    "close",
    "key_create",
    "key_revoke",
    "login",
    "login_failed",
    "logout",
    "followup",
    "notice",
    "assess",
    "view",
    "user_create",
    "user_disable",
    "user_password",
]
LevelOut = Annotated[str, WithJsonSchema({"type": "string", "enum": list(get_args(LevelName))})]
WarningLevelOut = Annotated[str, WithJsonSchema({"type": "string", "enum": list(get_args(WarningLevelName))})]
