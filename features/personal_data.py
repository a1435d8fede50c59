"""One masker for the personal numbers in free text: mobile and landline phones, ID and bank cards.

Every response or export that carries free text (notes, narratives, reasons, reports) passes
through ``mask_personal``. A number keeps a recognisable shape (``138****5678``,
``0513-****1234``, ``320612********123X``, ``6222 **** **** 1234``): every masked digit becomes one
``*`` in place, so the text keeps its length and everything but those digits, and masking twice
changes nothing.

The patterns run on a folded copy of the text (full-width digits, letters, ``＋－．＊`` and the
ideographic space mapped to ASCII, one character for one, so positions agree); the masks are applied
to the original. A candidate must stand alone: no digit, letter or ``*`` on either side, no decimal
part, no unit (元 万 亿 % 倍 年) or 号 right after it. That keeps dates, amounts, 12-digit area
codes and case numbers such as ``MD20250003781`` or ``第3311218201601052号`` as they are.

Not masked: landlines written without an area code, 400/800 and short service numbers, QQ or WeChat
ids, and numbers written in Chinese numerals.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from features.errors import DisputeRiskError

_MASK: Final = "*"
_WIDE: Final = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\uff0a\uff0b\uff0d\uff0e\u3000]")
# Personal numbers have at least 10 digits; below 7 a text cannot hold one (most notes, reasons).
_SEVEN_DIGITS: Final = re.compile(r"(?:[^0-9０-９]*[0-9０-９]){7}")

# Each pattern opens with a character class and checks what stands before that first character
# right after it: a pattern that opens with a look-behind cannot be skimmed and runs ~5x slower.
_ALONE: Final = r"(?<![0-9A-Za-z*][\s\S])(?<![0-9]\.[\s\S])"
# A mobile may also follow a country code written without a space: +86, 0086 or 86.
_ALONE_OR_86: Final = (
    rf"(?:{_ALONE}|(?<=\+86[\s\S])|(?<=(?<![0-9A-Za-z*])86[\s\S])|(?<=(?<![0-9A-Za-z*])0086[\s\S]))"
)
_END: Final = r"(?![0-9A-Za-z*])(?!\.[0-9])(?!\ *(?:[元万亿%‰倍年]|号(?!码)))"
# One separator between digit groups: a space, or a hyphen, dash or dot with optional spaces.
_SEP: Final = r"(?:\ ?[-‐‑–—.]\ ?|\ )"
_MMDD: Final = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
_AREA_CODE: Final = r"(?:10|2\d|[3-9]\d\d)"  # after its leading 0: 010, 02x, 0[3-9]xx
# A bank account named just before the number ("卡号：", "账号为", "银行卡（卡号"); see _bank_card.
_ACCOUNT_WORD: Final = re.compile(r"(?:卡|账号|帐号|账户|帐户|户号)[^0-9]{0,6}$")


@dataclass(frozen=True)
class _Rule:
    """Group ``core`` of a match is masked, but for its first ``head`` and last ``tail`` places."""

    pattern: re.Pattern[str]
    head: int
    tail: int
    accepts: Callable[[re.Match[str]], bool] = lambda match: True


def _rule(
    pattern: str, head: int, tail: int, accepts: Callable[[re.Match[str]], bool] | None = None
) -> _Rule:
    compiled = re.compile(pattern + _END, re.VERBOSE | re.ASCII)
    return _Rule(compiled, head, tail) if accepts is None else _Rule(compiled, head, tail, accepts)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _bank_card(match: re.Match[str]) -> bool:
    # Written in groups of four, a 16-19 digit number is a card (card numbers never start with 0).
    # Run together it may also be a report, policy or cheque number: it is masked when its Luhn
    # check digit holds (every 62... UnionPay card in ../shared/data does; 17 of 24 other such
    # numbers there fail it) or when an account is named just before it (bank *account* numbers,
    # which may start with 0, carry no Luhn digit).
    number = match["core"]
    if not number.isdigit():
        return number[0] != "0"
    before = match.string[max(0, match.start() - 12) : match.start()]
    return (number[0] != "0" and _luhn(number)) or _ACCOUNT_WORD.search(before) is not None


# Order matters: an earlier rule claims its digits first (an 18-digit ID before a card).
_RULES: Final[tuple[_Rule, ...]] = (
    # ID card, 18 places: area (first digit 1-8), birth date, sequence, check digit (or X), grouped
    # 6-8-4 or 6-4-4-4. The birth date is what is masked.
    _rule(
        rf"(?P<core>[1-8]{_ALONE}\d{{5}} {_SEP}? (?:18|19|20)\d\d {_SEP}? {_MMDD} {_SEP}? \d{{3}}[\dXx])",
        6,
        4,
    ),
    # Old ID card, 15 digits (a YYMMDD birth date, no check digit); two separators or none.
    _rule(rf"(?P<core>[1-8]{_ALONE}\d{{5}} (?P<s>{_SEP})? \d\d{_MMDD} (?(s)(?P=s)) \d{{3}})", 6, 3),
    _rule(
        rf"(?P<core>\d{_ALONE}(?:\d{{3}}(?:{_SEP}\d{{4}}){{3}}(?:{_SEP}?\d{{1,3}})? | \d{{15,18}}))",
        4,
        4,
        _bank_card,
    ),
    # Mobile: 1[3-9] and 9 digits, grouped 3-4-4, 3-8 or 7-4; a country code before it stays.
    _rule(rf"(?P<core>1{_ALONE_OR_86}[3-9]\d {_SEP}? \d{{4}} {_SEP}? \d{{4}})", 3, 4),
    # Landline: an area code, in brackets or not, then a 7-8 digit number (an extension after it
    # stays). Only the number is masked, all but its last four digits.
    _rule(rf"[(（]{_ALONE}0{_AREA_CODE}[)）]\ ? (?P<core>[1-9]\d{{2,3}} {_SEP}? \d{{4}})", 0, 4),
    _rule(rf"0{_ALONE}{_AREA_CODE} {_SEP}? (?P<core>[1-9]\d{{2,3}} {_SEP}? \d{{4}})", 0, 4),
)


def mask_personal(text: str) -> str:
    """Mask phone, ID-card and bank-card numbers in free text, keeping their shape and all else.

    Examples
    --------
    >>> mask_personal("申请人手机 138-1234-5678，身份证 320612199001011234")
    '申请人手机 138-****-5678，身份证 320612********1234'
    >>> mask_personal("座机（0513）8888 1234 转 808，卡号 6222 0212 3456 7890")
    '座机（0513）**** 1234 转 808，卡号 6222 **** **** 7890'
    >>> mask_personal("２０２４年３月５日借款12000元，案号（2023）苏0612民初1234号")
    '２０２４年３月５日借款12000元，案号（2023）苏0612民初1234号'
    """
    if not isinstance(text, str):
        raise DisputeRiskError(f"text must be a str, got {type(text).__name__}")
    if _SEVEN_DIGITS.match(text) is None:
        return text
    probe = _WIDE.sub(_unwide, text)
    masked = bytearray(len(text))
    for rule in _RULES:
        for match in rule.pattern.finditer(probe):
            if not any(masked[match.start() : match.end()]) and rule.accepts(match):
                _mark(match, rule, masked)
    if not any(masked):
        return text
    return "".join(_MASK if hidden else ch for ch, hidden in zip(text, masked, strict=True))


def _unwide(match: re.Match[str]) -> str:
    ch = match.group()
    return " " if ch == "\u3000" else chr(ord(ch) - 0xFEE0)


def _mark(match: re.Match[str], rule: _Rule, masked: bytearray) -> None:
    start, end = match.span("core")
    # Separators keep their place; the X of an ID card counts as a place, so "123X" stays whole.
    places = [i for i in range(start, end) if match.string[i].isalnum()]
    for i in places[rule.head : len(places) - rule.tail]:
        masked[i] = 1
