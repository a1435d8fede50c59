"""What the model matrix takes from a batch's narratives: the cue counts and the word score.

One function computes them for the featurizer and for a batch-scoring worker process
(``training/narrative_worker.py``), which imports this module without scikit-learn: the word
score's model is duck-typed here, so a model without it costs the worker no heavy import. Each
text's numbers do not depend on the rest of the batch (``features/cue_scan.py``; a sparse row
times the coefficients), so a batch may be split anywhere and the parts stacked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from features.cue_rules import count_cues
from features.tokenizer import normalise_text


class WordScore(Protocol):
    """``features.text_score.NarrativeScore``, fitted."""

    def transform(self, X: Any, *, normalised: bool = False) -> np.ndarray: ...


@dataclass(frozen=True)
class NarrativeParts:
    cue_counts: np.ndarray  # int64 (n, len(CUE_FAMILIES)): ``count_cues`` of the normalised texts
    word_score: np.ndarray | None  # float32 (n, 1), or None when the model scores no words

    def __len__(self) -> int:
        return len(self.cue_counts)

    @classmethod
    def stacked(cls, parts: Sequence[NarrativeParts]) -> NarrativeParts:
        """The parts of consecutive slices of one batch, as the batch's."""
        scores = [p.word_score for p in parts]
        return cls(
            np.vstack([p.cue_counts for p in parts]),
            None if any(s is None for s in scores) else np.vstack(scores),  # type: ignore[arg-type]
        )


def normalised(narratives: Iterable[object]) -> list[str]:
    # Normalise once: the cue counter and the word score are told so (``normalised=True``).
    return [normalise_text(str(t)) for t in narratives]


def narrative_parts(narratives: Iterable[object], words: WordScore | None) -> NarrativeParts:
    texts = normalised(narratives)
    return NarrativeParts(
        count_cues(texts), None if words is None else words.transform(texts, normalised=True)
    )
