"""Escalation cues in a narrative: counts per cue family, negation-aware, and their transformer.

A cue mention does not count when a negator precedes it in the same clause (clause = text
between punctuation marks), at most ``NEGATION_MAX_GAP`` characters before it, with no scope
breaker (但, 就, 后 ...) in between: "双方未发生肢体冲突" counts no physical conflict, while in
"未发生肢体冲突,但对方扬言要杀了他" the threat still counts. Each mention is judged on its
own, so a negated clause never cancels a positive one elsewhere.
"""

from __future__ import annotations

import importlib
import math
import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from features.catalogue import RISES, Family, Feature, fixed
from features.checks import as_text_list, require_fitted
from features.cue_lexicon import (
    BENIGN_CONTEXT,
    CLAUSE_BOUNDARY,
    CUE_FAMILIES,
    CUE_LABELS,
    FAMILY_PATTERNS,
    NEGATION_MAX_GAP,
    NEGATOR,
    SCOPE_BREAKER,
    SENTENCE_BOUNDARY,
    SUPPRESSED_BY_THREAT,
)
from features.errors import DisputeRiskError
from features.tokenizer import normalise_text

__all__ = [
    "CUE_CATALOGUE",
    "CUE_COLUMNS",
    "CUE_FAMILIES",
    "CUE_LABELS",
    "CUE_REASON_FAMILIES",
    "cue_column",
    "CueFlags",
    "cue_reasons",
    "detect_cues",
]


def cue_column(family: str) -> str:
    """The model-matrix column (and reason family) of a cue family.

    >>> cue_column("threat")
    'cue_threat'
    """
    return f"cue_{family}"


# column -> cue family, for readers of a feature row (the API's cue counts)
CUE_COLUMNS: dict[str, str] = {cue_column(f): f for f in CUE_FAMILIES}

# One feature and one reason per cue family; a threat or a weapon added to a narrative never
# lowers the risk (a monotone constraint).
CUE_CATALOGUE: tuple[Feature, ...] = tuple(Feature(cue_column(f), cue_column(f), RISES) for f in CUE_FAMILIES)
CUE_REASON_FAMILIES: tuple[Family, ...] = tuple(
    Family(cue_column(f), CUE_LABELS[f], "escalation cues", fixed(f"事件简述提到{CUE_LABELS[f]}"))
    for f in CUE_FAMILIES
)


@dataclass(frozen=True)
class _Compiled:
    families: tuple[tuple[str, re.Pattern[str]], ...]
    starting: dict[str, tuple[int, ...]]  # a character -> the families whose match can start with it
    any_first: re.Pattern[str]  # one class of every family's first characters
    unlisted: tuple[int, ...]  # families whose first characters cannot be listed (scanned whole)
    negator: re.Pattern[str]
    breaker: re.Pattern[str]
    clause: re.Pattern[str]
    sentence: re.Pattern[str]
    benign: dict[str, re.Pattern[str]]


@lru_cache(maxsize=1)
def _compiled() -> _Compiled:
    """Compiled once per process, on first use (not at import)."""
    sources = [(f, "|".join(FAMILY_PATTERNS[f])) for f in CUE_FAMILIES]
    first = [_first_chars(source) for _, source in sources]
    starting: dict[str, list[int]] = {}
    for i, chars in enumerate(first):
        for c in chars or ():
            starting.setdefault(c, []).append(i)
    return _Compiled(
        families=tuple((f, _compile(source)) for f, source in sources),
        starting={c: tuple(families) for c, families in starting.items()},
        any_first=re.compile(f"[{''.join(re.escape(c) for c in sorted(starting))}]"),
        unlisted=tuple(i for i, chars in enumerate(first) if chars is None),
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
    return re.compile(f"(?=[{''.join(re.escape(c) for c in sorted(first))}])(?:{source})")


def _first_chars(source: str) -> set[str] | None:
    """Every character a match can start with, or None when that is not a short literal set."""
    try:
        parser = importlib.import_module("re._parser")  # internal; any surprise only means "no shortcut"
        chars: set[str] = set()
        return chars if _collect_first(list(parser.parse(source)), chars) else None
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


def detect_cues(text: str, *, normalised: bool = False) -> dict[str, int]:
    """Counts of non-negated cue mentions per family (every family present, 0 when absent).
    ``normalised``: the text already went through ``normalise_text`` (it is idempotent; this
    only spares doing it twice)."""
    lex = _compiled()
    norm = text if normalised else normalise_text(text)
    found = _mentions(norm, lex)
    counts = dict.fromkeys(CUE_FAMILIES, 0)
    if not any(found.values()):
        return counts
    negators = [m.span() for m in lex.negator.finditer(norm)]
    scope = _Scope(norm, lex, negators)
    threats = found["threat"]
    violent: list[int] = []  # starts of counted physical / weapon mentions
    for family in _ORDER:
        for start, end in found[family]:
            if family in SUPPRESSED_BY_THREAT and any(s < end and start < e for s, e in threats):
                continue
            if scope.negated(start):
                continue
            if family in BENIGN_CONTEXT and scope.benign(family, start, violent):
                continue
            if family in ("physical", "weapon"):
                violent.append(start)
            counts[family] += 1
    return counts


def _mentions(norm: str, lex: _Compiled) -> dict[str, list[tuple[int, int]]]:
    """Each family's matches, as ``finditer`` would find them, tried only where they can start.

    One pass finds the positions holding a first character of some family (most characters of a
    narrative are none); at each, the families that can start there try ``match``, each skipping
    positions inside its own previous match: exactly finditer's leftmost, non-overlapping matches,
    with a few match attempts per text instead of ten scans."""
    spans: list[list[tuple[int, int]]] = [[] for _ in lex.families]
    resume = [0] * len(lex.families)
    for m in lex.any_first.finditer(norm):
        position = m.start()
        for i in lex.starting[m.group()]:
            if position >= resume[i] and (found := lex.families[i][1].match(norm, position)):
                spans[i].append(found.span())
                resume[i] = max(found.end(), position + 1)
    for i in lex.unlisted:
        spans[i] = [m.span() for m in lex.families[i][1].finditer(norm)]
    return {family: spans[i] for i, (family, _) in enumerate(lex.families)}


# physical first, then weapon, then injury: violence told in a sentence overrides a harmless setting
_ORDER = ("physical", "weapon", "injury") + tuple(
    f for f in CUE_FAMILIES if f not in ("physical", "weapon", "injury")
)


class _Scope:
    """Clause, sentence and negator positions of one normalised text."""

    def __init__(self, norm: str, lex: _Compiled, negators: list[tuple[int, int]]) -> None:
        self.norm = norm
        self.lex = lex
        self.negators = negators
        self.negator_ends = [end for _, end in negators]
        self.clause_starts = [0] + [m.end() for m in lex.clause.finditer(norm)]
        self.sentence_starts = [0] + [m.end() for m in lex.sentence.finditer(norm)]

    def negated(self, start: int) -> bool:
        # the nearest negator ending at or before the cue; a farther one cannot reach past it
        i = bisect_right(self.negator_ends, start) - 1
        if i < 0:
            return False
        neg_start, neg_end = self.negators[i]
        clause_start = self.clause_starts[bisect_right(self.clause_starts, start) - 1]
        if neg_start < clause_start or start - neg_end > NEGATION_MAX_GAP:
            return False
        return self.lex.breaker.search(self.norm, neg_end, start) is None

    def benign(self, family: str, start: int, violent: list[int]) -> bool:
        i = bisect_right(self.sentence_starts, start)
        lo = self.sentence_starts[i - 1]
        hi = self.sentence_starts[i] if i < len(self.sentence_starts) else len(self.norm)
        if any(lo <= v < hi for v in violent):
            return False
        return self.lex.benign[family].search(self.norm, lo, hi) is not None


def cue_reasons(counts: dict[str, int]) -> list[str]:
    """Chinese labels of the families present, in ``CUE_FAMILIES`` order (for plain reasons)."""
    return [CUE_LABELS[f] for f in CUE_FAMILIES if counts.get(f, 0) > 0]


class CueFlags(TransformerMixin, BaseEstimator):
    """Texts -> dense float array (n, n_families) of cue counts capped at ``max_count``.

    ``families``: None = all of ``CUE_FAMILIES``, else a subset in any order.
    ``max_count``: cap per family (None = uncapped); capping keeps one verbose text from
    looking many times riskier than a terse one.
    """

    def __init__(self, families: Iterable[str] | None = None, max_count: int | None = 3) -> None:
        self.families = families
        self.max_count = max_count

    def fit(self, X: Any, y: Any = None) -> CueFlags:
        families = CUE_FAMILIES if self.families is None else tuple(self.families)
        unknown = [f for f in families if f not in CUE_FAMILIES]
        if unknown or not families:
            raise DisputeRiskError(
                f"families must be a non-empty subset of {', '.join(CUE_FAMILIES)}, got {list(families)!r}"
            )
        if self.max_count is not None and (
            isinstance(self.max_count, bool) or not isinstance(self.max_count, int) or self.max_count < 1
        ):
            raise DisputeRiskError(f"max_count must be an int >= 1 or None, got {self.max_count!r}")
        as_text_list(X, "CueFlags")  # validates the input shape; the lexicon has nothing to learn
        self.families_ = families
        self.n_features_out_ = len(families)
        return self

    def transform(self, X: Any) -> np.ndarray:
        return self.counts(as_text_list(X, "CueFlags"))

    def counts(self, texts: list[str], *, normalised: bool = False) -> np.ndarray:
        """``transform`` of a list of texts; ``normalised``: each already went through
        ``normalise_text`` (the featurizer normalises once for every text feature)."""
        require_fitted(self, "families_")
        out = np.zeros((len(texts), len(self.families_)), dtype=np.float64)
        for row, text in enumerate(texts):
            counts = detect_cues(text, normalised=normalised)
            out[row] = [counts[f] for f in self.families_]
        if self.max_count is not None:
            np.minimum(out, self.max_count, out=out)
        return out

    def transform_one(self, text: str, *, normalised: bool = False) -> list[float]:
        """``transform([text])[0]`` as a list, for one text (the intake fast path)."""
        require_fitted(self, "families_")
        counts = detect_cues(text, normalised=normalised)
        cap = math.inf if self.max_count is None else self.max_count
        return [float(min(counts[f], cap)) for f in self.families_]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        require_fitted(self, "families_")
        return np.asarray([cue_column(f) for f in self.families_], dtype=object)
