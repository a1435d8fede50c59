"""Narrative text, one import away: normalisation, the project tokenizer and the text features.

The code lives in ``features/tokenizer.py`` (normalise_text, ChineseTokenizer) and
``features/text_vectorizer.py`` (NarrativeVectorizer); ``features/cues.py`` holds the cue flags.
"""

from __future__ import annotations

from features.text_vectorizer import NarrativeVectorizer, ngrams
from features.tokenizer import ChineseTokenizer, normalise_text

__all__ = ["ChineseTokenizer", "NarrativeVectorizer", "ngrams", "normalise_text"]
