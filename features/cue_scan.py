"""The cue lexicon compiled, and its matches found over many texts in one pass of C code.

``features/cue_rules.py`` joins a batch of normalised texts with ``SEPARATOR`` and runs each
pattern once over the joined string. That finds in each text exactly what a pattern finds in the
text alone because no part of any pattern can match the separator (checked when compiling): no
match crosses it, and a look-around that reaches it fails or succeeds as it does at the text's
start or end.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

import numpy as np

from features.cue_lexicon import (
    BENIGN_CONTEXT,
    CLAUSE_BOUNDARY,
    CUE_FAMILIES,
    FAMILY_PATTERNS,
    NEGATOR,
    SCOPE_BREAKER,
    SENTENCE_BOUNDARY,
)
from features.errors import DisputeRiskError

SEPARATOR: Final = "\x00"


@dataclass(frozen=True)
class _Compiled:
    families: tuple[tuple[str, re.Pattern[str]], ...]  # each family as one (prefiltered) pattern
    scanners: tuple[re.Pattern[str] | None, ...]  # per family: every start of a match, or None
    negator: re.Pattern[str]
    breaker: re.Pattern[str]
    clause: re.Pattern[str]
    sentence: re.Pattern[str]
    benign: dict[str, re.Pattern[str]]


@lru_cache(maxsize=1)
def _compiled() -> _Compiled:
    """Compiled once per process, on first use (not at import)."""
    sources = [(f, "|".join(FAMILY_PATTERNS[f])) for f in CUE_FAMILIES]
    others = [NEGATOR, SCOPE_BREAKER, CLAUSE_BOUNDARY, SENTENCE_BOUNDARY, *BENIGN_CONTEXT.values()]
    for source in [s for _, s in sources] + others:
        _require_inert_separator(source)
    return _Compiled(
        families=tuple((f, _compile(source)) for f, source in sources),
        scanners=tuple(_scanner(source) for _, source in sources),
        negator=_compile(NEGATOR),
        breaker=_compile(SCOPE_BREAKER),
        clause=_compile(CLAUSE_BOUNDARY),
        sentence=_compile(SENTENCE_BOUNDARY),
        benign={family: _compile(source) for family, source in BENIGN_CONTEXT.items()},
    )


def _compile(source: str) -> re.Pattern[str]:
    """Compile with a leading ``(?=[first chars])`` when the first characters can be listed.

    Python's engine tries every alternative at every position unless each one starts with a plain
    literal; look-behinds and groups defeat that. Checking one character class first makes the
    lexicon several times faster and cannot change what matches (a test checks the matches).
    """
    first = _first_chars(source)
    if first is None:
        return re.compile(source)
    return re.compile(f"(?=[{_char_class(first)}])(?:{source})")


def _scanner(source: str) -> re.Pattern[str] | None:
    """A pattern whose group 1 is the match of ``source`` at every position where one starts.

    The engine skips in a tight C loop to the next possible start only when a pattern begins by
    consuming a character class (``_compile``'s look-ahead does not count); this one consumes the
    first character, and its look-behind steps back onto it to try ``source`` there. Matches
    overlap; ``family_spans`` keeps finditer's leftmost non-overlapping ones."""
    first = _first_chars(source)
    if first is None:
        return None
    # DOTALL: the look-behind's dot re-reads the consumed character, whatever it is
    return re.compile(f"[{_char_class(first)}](?<=(?=({source})).)", re.DOTALL)


def family_spans(joined: str, lex: _Compiled, family: int) -> list[tuple[int, int]]:
    """Spans of a family's matches in ``joined``, exactly as ``finditer`` finds them."""
    scanner = lex.scanners[family]
    if scanner is None:
        return [m.span() for m in lex.families[family][1].finditer(joined)]
    found = []
    resume = 0
    for m in scanner.finditer(joined):
        start, end = m.span(1)
        if start >= resume:  # finditer resumes after its previous match
            found.append((start, end))
            resume = end
    return found


def match_spans(pattern: re.Pattern[str], joined: str) -> np.ndarray:
    """(n, 2) int64 starts and ends of the matches of ``pattern``."""
    return np.array([m.span() for m in pattern.finditer(joined)], dtype=np.int64).reshape(-1, 2)


def match_ends(pattern: re.Pattern[str], joined: str) -> np.ndarray:
    return np.array([m.end() for m in pattern.finditer(joined)], dtype=np.int64)


def _char_class(chars: set[str]) -> str:
    return "".join(re.escape(c) for c in sorted(chars))


def _parse(source: str) -> list[Any]:
    parser = importlib.import_module("re._parser")  # internal, but stable across 3.11-3.13
    return list(parser.parse(source))


def _first_chars(source: str) -> set[str] | None:
    """Every character a match can start with, or None when that is not a short literal set."""
    try:
        chars: set[str] = set()
        return chars if _collect_first(_parse(source), chars) else None
    except Exception:
        return None


def _collect_first(items: list[Any], chars: set[str]) -> bool:
    if not items:
        return False
    op, av = items[0]
    kind = str(op)
    if kind == "LITERAL":
        chars.add(chr(av))
        return True
    if kind in ("ASSERT", "ASSERT_NOT"):  # zero-width: the first consumed character comes next
        return _collect_first(items[1:], chars)
    if kind == "SUBPATTERN":
        return _collect_first(list(av[-1]), chars)
    if kind == "BRANCH":
        return all(_collect_first(list(branch), chars) for branch in av[1])
    if kind == "IN" and all(str(o) == "LITERAL" for o, _ in av):
        chars.update(chr(a) for _, a in av)
        return True
    return False


def _require_inert_separator(source: str) -> None:
    """Fail unless ``source`` is made of literals, positive classes of literals, ranges and digits,
    and the structure around them (no '.', negated class, anchor or word boundary), none of which
    matches ``SEPARATOR``."""
    sep = ord(SEPARATOR)

    def check(items: Any) -> None:
        for op, av in items:
            kind = str(op)
            if kind == "LITERAL" and av != sep:
                continue
            if kind == "IN" and all(_inert_member(str(o), a, sep) for o, a in av):
                continue
            if kind == "BRANCH":
                for branch in av[1]:
                    check(branch)
            elif kind in ("SUBPATTERN", "MAX_REPEAT", "MIN_REPEAT", "ASSERT", "ASSERT_NOT"):
                check(av[-1])
            else:
                raise DisputeRiskError(
                    f"cue lexicon: {kind} in {source[:40]!r} could match the text separator "
                    f"{SEPARATOR!r}; batch cue counting needs patterns that cannot"
                )

    check(_parse(source))


def _inert_member(kind: str, value: Any, sep: int) -> bool:
    if kind == "LITERAL":
        return bool(value != sep)
    if kind == "RANGE":
        return not value[0] <= sep <= value[1]
    return kind == "CATEGORY" and str(value) == "CATEGORY_DIGIT"
