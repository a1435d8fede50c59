"""Chinese narrative text: normalisation and the project tokenizer.

``normalise_text`` makes every spelling variant of the same narrative (full-width or half-width
characters, Chinese or ASCII punctuation, spaces and line breaks) one string, so that the
tokens, the cue counts and the text features do not depend on how intake staff typed it.

``ChineseTokenizer`` segments with jieba *without* HMM and the project user dictionary. The
Rust port (rjieba / jieba-rs) gives exactly the same tokens in that mode and segments many times
faster (bench/bench_tokenize.py), so ``backend="auto"`` uses it when installed and falls back to
jieba (tests/features/test_tokenizer.py checks the identity on real texts). HMM mode is not used: there the two disagree on numbers with
units ("6.5cm"), and unknown words falling back to single characters suit word n-grams anyway.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path
from typing import Any, Final

from features.errors import DisputeRiskError

BACKENDS: Final[tuple[str, ...]] = ("auto", "rjieba", "jieba")

# After NFKC (which already maps ，；：？！（） etc. to ASCII) these Chinese forms are left; each goes
# to one canonical character so that both spellings tokenise and match cues alike.
_PUNCT_MAP: Final[dict[int, str | None]] = {
    **{ord(c): "." for c in "。"},
    **{ord(c): '"' for c in "“”„‟〝〞〟「」『』"},
    **{ord(c): "'" for c in "‘’‚‛"},
    **{ord(c): "[" for c in "【〔〖〘〚"},
    **{ord(c): "]" for c in "】〕〗〙〛"},
    **{ord(c): "<" for c in "《〈"},
    **{ord(c): ">" for c in "》〉"},
    **{ord(c): "-" for c in "‐‑‒–—―─"},
    **{ord(c): "~" for c in "〜"},
    **{ord(c): "·" for c in "・•‧"},
    ord("⋯"): "...",
    # invisible characters pasted from web forms and Word
    **{ord(c): None for c in "\u200b\u200c\u200d\u2060\ufeff\u00ad"},
}
# Full-width ASCII (U+FF01-FF5E) and the ideographic space, mapped as NFKC maps them. Doing this
# first leaves most Chinese texts already in NFKC, where unicodedata.normalize returns at once.
_FULL_WIDTH: Final[dict[int, str]] = {c: chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)} | {0x3000: " "}
_PRE_MAP: Final[dict[str, str]] = {chr(c): v or "" for c, v in ({**_FULL_WIDTH, **_PUNCT_MAP}).items()}
# A regex finds the characters to map; str.translate with a dict costs ~250 ns per character.
_PRE_RE: Final = re.compile("[" + "".join(re.escape(c) for c in _PRE_MAP) + "]")

# A token is kept when it holds at least one letter or ideograph; the emergency numbers are words.
_HAS_WORD_CHAR: Final = re.compile(r"[^\W\d_]")
_NUMBERS_KEPT: Final[frozenset[str]] = frozenset({"110", "119", "120", "122", "12345"})

_RESOURCE_PACKAGE: Final = "features"
_log = logging.getLogger(__name__)


def normalise_text(text: str) -> str:
    """NFKC, canonical punctuation, no whitespace at all, Latin lower-cased. Idempotent.

    >>> normalise_text("双方 发生口角，对方扬言：“要你好看！” Call 110")
    '双方发生口角,对方扬言:"要你好看!"call110'
    >>> normalise_text(normalise_text("Ａ　ｂ，")) == normalise_text("Ａ　ｂ，")
    True
    """
    if not isinstance(text, str):
        raise DisputeRiskError(f"text must be a str, got {type(text).__name__}")
    folded = _fold(text)
    # Lower-casing can leave exotic letters outside NFKC (İ -> i + U+0307 before another combining
    # mark); fold again until stable so that normalising twice changes nothing. Chinese never loops.
    for _ in range(3):
        if unicodedata.is_normalized("NFKC", folded):
            break
        folded = _fold(folded)
    return folded


def _fold(text: str) -> str:
    text = _PRE_RE.sub(_canonical_punct, text)
    nfkc = unicodedata.normalize("NFKC", text)
    if nfkc != text:  # NFKC produced more characters (e.g. ﹁ -> 「) that need mapping
        text = _PRE_RE.sub(_canonical_punct, nfkc)
    # str.split() without argument splits on every Unicode whitespace, incl. U+3000 and U+00A0.
    return "".join(text.split()).lower()


def _canonical_punct(match: re.Match[str]) -> str:
    return _PRE_MAP[match.group()]


def _is_word(token: str) -> bool:
    """Holds a letter or ideograph, or is an emergency number (punctuation and numbers are not words)."""
    return _HAS_WORD_CHAR.search(token) is not None or token in _NUMBERS_KEPT


def read_resource_lines(name: str) -> list[str]:
    """Non-empty, non-comment lines of a text file packaged in features/resources."""
    path = resources.files(_RESOURCE_PACKAGE) / "resources" / name
    return _content_lines(path.read_text(encoding="utf-8"))


def _content_lines(text: str) -> list[str]:
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def parse_user_dict(lines: Iterable[str], source: str) -> list[tuple[str, int, str | None]]:
    """``word freq [pos]`` lines -> entries. The frequency is required so both backends agree."""
    entries = []
    for number, line in enumerate(lines, start=1):
        parts = line.split()
        if len(parts) not in (2, 3):
            raise DisputeRiskError(
                f"user dictionary {source} entry {number} must be 'word freq [pos]', got {line!r}"
            )
        word, freq = parts[0], parts[1]
        if not freq.isdigit() or int(freq) <= 0:
            raise DisputeRiskError(
                f"user dictionary {source} entry {number}: frequency must be a positive integer, got {freq!r}"
            )
        entries.append((normalise_text(word), int(freq), parts[2] if len(parts) == 3 else None))
    return entries


def default_cache_dir() -> Path:
    """Where jieba may write its prefix-dictionary cache: a temp folder, never the package."""
    return Path(tempfile.gettempdir()) / "dispute-risk-jieba"


class ChineseTokenizer:
    """Project tokenizer: normalise, segment (jieba dictionary, no HMM), drop stopwords and punctuation.

    Parameters are stored as given. ``user_dict``: None = the packaged dictionary, else a path to a
    file in the same ``word freq [pos]`` format. ``stopwords``: None = the packaged list, else the
    words to drop (e.g. ``()`` for none). ``cache_dir``: None = ``default_cache_dir()``.
    The segmenter is built on first use and left out of pickles; unpickling rebuilds it.
    """

    def __init__(
        self,
        backend: str = "auto",
        user_dict: str | os.PathLike[str] | None = None,
        stopwords: Iterable[str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise DisputeRiskError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        self.backend = backend
        self.user_dict = user_dict
        self.stopwords = stopwords
        self.cache_dir = cache_dir
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._cut: Callable[[str], list[str]] | None = None
        self._stopset: frozenset[str] = frozenset()
        self._resolved: str | None = None

    # -- pickling: parameters only; the dictionary (tens of MB) is rebuilt on first use
    def __getstate__(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "user_dict": self.user_dict,
            "stopwords": self.stopwords,
            "cache_dir": self.cache_dir,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset()

    def __repr__(self) -> str:
        state = self.__getstate__()
        shown = {k: v for k, v in state.items() if v is not None and not (k == "backend" and v == "auto")}
        params = ", ".join(f"{k}={v!r}" for k, v in shown.items())
        return f"ChineseTokenizer({params})"

    @property
    def resolved_backend(self) -> str:
        """``"rjieba"`` or ``"jieba"``: what actually segments (builds the segmenter if needed)."""
        self._ensure_loaded()
        assert self._resolved is not None
        return self._resolved

    def tokenize(self, text: str, *, normalised: bool = False) -> list[str]:
        """Tokens of one narrative. ``normalised``: ``text`` already went through ``normalise_text``
        (the featurizer normalises once for every text feature); the tokens are the same either way."""
        cut = self._cut or self._ensure_loaded()
        stop = self._stopset
        # most tokens start with an ideograph: the inline range test spares a call per token
        return [
            tok
            for tok in cut(text if normalised else normalise_text(text))
            if tok not in stop and ("\u4e00" <= tok[0] <= "\u9fff" or _is_word(tok))
        ]

    def tokenize_many(self, texts: Iterable[str], *, normalised: bool = False) -> list[list[str]]:
        return [self.tokenize(text, normalised=normalised) for text in texts]

    def _ensure_loaded(self) -> Callable[[str], list[str]]:
        with self._lock:
            if self._cut is None:
                entries = self._user_entries()
                self._stopset = self._stopword_set()
                self._resolved = self._pick_backend()
                if self._resolved == "rjieba":
                    self._cut = _build_rjieba(entries)
                else:
                    self._cut = _build_jieba(entries, Path(self.cache_dir or default_cache_dir()))
            return self._cut

    def _user_entries(self) -> list[tuple[str, int, str | None]]:
        if self.user_dict is None:
            return parse_user_dict(read_resource_lines("userdict.txt"), "userdict.txt (packaged)")
        path = Path(self.user_dict)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise DisputeRiskError(
                f"user_dict must be a readable UTF-8 file, got {str(path)!r}: {exc}"
            ) from exc
        return parse_user_dict(_content_lines(text), str(path))

    def _stopword_set(self) -> frozenset[str]:
        words = read_resource_lines("stopwords.txt") if self.stopwords is None else self.stopwords
        if isinstance(words, str):
            raise DisputeRiskError(f"stopwords must be an iterable of words, got the string {words!r}")
        return frozenset(normalise_text(w) for w in words)

    def _pick_backend(self) -> str:
        if self.backend != "auto":
            return self.backend
        try:
            import rjieba  # noqa: F401
        except ImportError:
            return "jieba"
        return "rjieba"


def _build_rjieba(entries: list[tuple[str, int, str | None]]) -> Callable[[str], list[str]]:
    try:
        import rjieba
    except ImportError as exc:
        raise DisputeRiskError("backend 'rjieba' needs the rjieba package, which is not installed") from exc
    seg = rjieba.Jieba()
    for word, freq, tag in entries:
        seg.add_word(word, freq, tag)

    def cut(text: str) -> list[str]:
        return seg.cut(text, False)

    return cut


def _build_jieba(entries: list[tuple[str, int, str | None]], cache_dir: Path) -> Callable[[str], list[str]]:
    import jieba

    # jieba sets its own logger to DEBUG on import and announces every dictionary load on stderr.
    logging.getLogger("jieba").setLevel(logging.WARNING)
    seg = jieba.Tokenizer()
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        seg.tmp_dir = str(cache_dir)
    except OSError:
        _log.warning("jieba cache dir %s is not writable; jieba falls back to the system temp dir", cache_dir)
    seg.initialize()
    for word, freq, tag in entries:
        # jieba adds a re-weighted word's new frequency to the total without removing the old one;
        # jieba-rs replaces it. Follow jieba-rs (the true total) so both backends segment alike.
        old_freq = seg.FREQ.get(word, 0)
        seg.add_word(word, freq, tag)
        seg.total -= old_freq

    def cut(text: str) -> list[str]:
        return seg.lcut(text, HMM=False)

    return cut
