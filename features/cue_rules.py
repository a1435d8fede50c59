"""The counting rule of cue mentions (see ``features/cues.py``), over a batch of texts at once.

This is the only implementation: ``detect_cues`` of one text runs it on a batch of one. The texts
are joined (``features/cue_scan.py``) so that each pattern runs once, in C, over the batch; the
rules then work on arrays of positions. Positions are in the joined string; a text's start is a
clause and a sentence start, and a clause or sentence never reaches past its text's end.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cached_property
from typing import Final

import numpy as np

from features.cue_lexicon import BENIGN_CONTEXT, CUE_FAMILIES, NEGATION_MAX_GAP, SUPPRESSED_BY_THREAT
from features.cue_scan import SEPARATOR, _Compiled, _compiled, family_spans, match_ends, match_spans

_INDEX: Final = {family: i for i, family in enumerate(CUE_FAMILIES)}
_SUPPRESSED: Final = [_INDEX[f] for f in SUPPRESSED_BY_THREAT]
_VIOLENT: Final = ("physical", "weapon")
# physical first, then weapon, then injury: violence told in a sentence overrides a harmless setting
_ORDER: Final = (*_VIOLENT, "injury", *(f for f in CUE_FAMILIES if f not in (*_VIOLENT, "injury")))
# Texts per pass: bounds the joined string and the position arrays (about 100 bytes per character).
_BLOCK: Final = 20_000


def count_cues(texts: Sequence[str]) -> np.ndarray:
    """Counted mentions per text and family: int64 (len(texts), len(CUE_FAMILIES)), columns in
    ``CUE_FAMILIES`` order. ``texts`` must be normalised (``normalise_text``).

    >>> count_cues(["双方未发生肢体冲突", "", "未发生肢体冲突,但对方扬言要杀了他"])[:, :4].tolist()
    [[0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0]]
    """
    blocks = [_count_block(texts[i : i + _BLOCK]) for i in range(0, len(texts), _BLOCK)]
    if len(blocks) == 1:
        return blocks[0]
    return np.vstack(blocks) if blocks else np.zeros((0, len(CUE_FAMILIES)), dtype=np.int64)


class _Batch:
    """A batch of texts joined, with where each text, clause and sentence starts."""

    def __init__(self, texts: Sequence[str], lex: _Compiled) -> None:
        self.joined = SEPARATOR.join(texts)
        self.lex = lex
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        self.text_starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1])).astype(np.int64)
        self.text_ends = self.text_starts + lengths

    # Each found on first use: a text without mentions needs none of them. Clause boundaries are
    # only looked for between a negator and a mention (``negated``): most text lies elsewhere.
    @cached_property
    def sentence_starts(self) -> np.ndarray:
        return self._starts(self.lex.sentence)

    @cached_property
    def negators(self) -> np.ndarray:
        return match_spans(self.lex.negator, self.joined)

    def _starts(self, boundary: re.Pattern[str]) -> np.ndarray:
        # as in one text: its start, then the end of every boundary match (never a text's start)
        return np.sort(np.concatenate((self.text_starts, match_ends(boundary, self.joined))))

    def text_of(self, starts: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.text_starts, starts, side="right") - 1

    def sentence_of(self, starts: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.sentence_starts, starts, side="right") - 1

    def negated(self, starts: np.ndarray) -> np.ndarray:
        """A negator precedes the mention in its clause, at most NEGATION_MAX_GAP characters
        before it, with no scope breaker in between."""
        if not len(self.negators) or not len(starts):
            return np.zeros(len(starts), dtype=bool)
        # the nearest negator ending at or before the mention; a farther one cannot reach past it
        i = np.searchsorted(self.negators[:, 1], starts, side="right") - 1
        neg_start, neg_end = self.negators[np.maximum(i, 0)].T
        near = (
            (i >= 0)
            & (starts - neg_end <= NEGATION_MAX_GAP)
            & (self.text_of(neg_start) == self.text_of(starts))
        )
        out = near.copy()
        for k in np.flatnonzero(near).tolist():
            out[k] = self._one_clause_unbroken(int(neg_start[k]), int(neg_end[k]), int(starts[k]))
        return out

    def _one_clause_unbroken(self, neg_start: int, neg_end: int, start: int) -> bool:
        # A clause starts where a boundary match ends: none may end in (neg_start, start]. The
        # search reads one character past the mention's start so that a boundary's look-ahead
        # sees what it would see in the whole text; a match found there ends past ``start``.
        boundary = self.lex.clause.search(self.joined, neg_start, start + 1)
        if boundary is not None and boundary.end() <= start:
            return False
        return self.lex.breaker.search(self.joined, neg_end, start) is None

    def benign(self, family: str, sentences: np.ndarray) -> np.ndarray:
        """Whether each sentence (an index into sentence_starts) tells of a harmless setting."""
        unique, back = np.unique(sentences, return_inverse=True)
        lo = self.sentence_starts[unique]
        following = np.append(self.sentence_starts, len(self.joined))[unique + 1]
        hi = np.minimum(following, self.text_ends[self.text_of(lo)])
        pattern = self.lex.benign[family]
        found = [
            pattern.search(self.joined, a, b) is not None
            for a, b in zip(lo.tolist(), hi.tolist(), strict=True)
        ]
        return np.asarray(found, dtype=bool).reshape(-1)[back]


def _count_block(texts: Sequence[str]) -> np.ndarray:
    batch = _Batch(texts, _compiled())
    # every family's mentions in one array, family by family (each in order of start)
    found = [family_spans(batch.joined, batch.lex, i) for i in range(len(CUE_FAMILIES))]
    sizes = [len(spans) for spans in found]
    if not any(sizes):
        return np.zeros((len(texts), len(CUE_FAMILIES)), dtype=np.int64)
    family = np.repeat(np.arange(len(CUE_FAMILIES)), sizes)
    starts, ends = np.array([s for spans in found for s in spans], dtype=np.int64).reshape(-1, 2).T
    counted = ~batch.negated(starts)
    threats = found[_INDEX["threat"]]
    if threats:
        # threat wording holds harm verbs: drop those mentions that overlap a threat match
        threat_starts, threat_ends = np.array(threats, dtype=np.int64).T
        i = np.minimum(np.searchsorted(threat_ends, starts, side="right"), len(threats) - 1)
        overlaps = (threat_ends[i] > starts) & (threat_starts[i] < ends)
        counted &= ~(overlaps & np.isin(family, _SUPPRESSED))
    _drop_benign(batch, starts, family, counted)
    cells = batch.text_of(starts[counted]) * len(CUE_FAMILIES) + family[counted]
    return np.bincount(cells, minlength=len(texts) * len(CUE_FAMILIES)).reshape(len(texts), -1)


def _drop_benign(batch: _Batch, starts: np.ndarray, family: np.ndarray, counted: np.ndarray) -> None:
    """A mention of a BENIGN_CONTEXT family in a sentence that tells of a harmless setting does not
    count unless that sentence tells of violence: a counted physical or weapon mention, judged in
    ``_ORDER`` (a weapon in such a sentence thus needs a physical mention: the first weapon there
    has no earlier one to vouch for it)."""
    violent = np.zeros(len(batch.sentence_starts), dtype=bool)
    for name in _ORDER:
        if name not in BENIGN_CONTEXT and name not in _VIOLENT:
            continue
        mine = np.flatnonzero(family == _INDEX[name])
        if not len(mine):
            continue
        sentence = batch.sentence_of(starts[mine])
        if name in BENIGN_CONTEXT:
            judged = np.flatnonzero(counted[mine] & ~violent[sentence])
            if len(judged):
                counted[mine[judged[batch.benign(name, sentence[judged])]]] = False
        if name in _VIOLENT:
            violent[sentence[counted[mine]]] = True
