"""Tokenizer, cue and text-feature speed on real narratives (the CAIL files in ../shared/data).

    .venv/bin/python bench/bench_tokenize.py [--n 3000] [--data ../shared/data]

Prints, per backend (rjieba, jieba): chars/s and ms per narrative for the raw segmenter and for
ChineseTokenizer.tokenize (normalise + segment + filter), side by side, and the share of texts
on which both backends give identical tokens. Then the cost of normalise_text, detect_cues and
NarrativeVectorizer (batch and single-text, as in the API).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from features.cues import detect_cues  # noqa: E402
from features.text_vectorizer import NarrativeVectorizer  # noqa: E402
from features.tokenizer import ChineseTokenizer, normalise_text  # noqa: E402

FILES = {
    "cases_cail2018_criminal.jsonl": "fact",
    "cases_cail2019_cjrc.jsonl": "text",
    "cases_cail2019_scm_loan.jsonl": "text",
}


def load(data: Path, n: int) -> list[str]:
    texts: list[str] = []
    for name, field in FILES.items():
        with (data / name).open(encoding="utf-8") as handle:
            texts += [json.loads(line)[field] for line in handle]
    # a fixed shuffle mixing criminal and civil texts, so that any n covers both
    texts.sort(key=lambda t: zlib.crc32(t.encode("utf-8")))
    return texts[:n]


def per_text(fn: Callable[[str], object], texts: list[str]) -> tuple[float, float]:
    """(seconds total, median ms per text) over the texts."""
    times = []
    start = time.perf_counter()
    for text in texts:
        t0 = time.perf_counter()
        fn(text)
        times.append(time.perf_counter() - t0)
    return time.perf_counter() - start, statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="number of narratives (default 3000)")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()

    texts = load(args.data, args.n)
    normalised = [normalise_text(t) for t in texts]
    chars = sum(map(len, texts))
    print(f"{len(texts)} narratives, {chars / len(texts):.0f} chars on average\n")

    results: dict[str, dict[str, float]] = {}
    tokens: dict[str, list[list[str]]] = {}
    for backend in ("rjieba", "jieba"):
        tok = ChineseTokenizer(backend=backend)
        t0 = time.perf_counter()
        tok.tokenize("预热")
        load_s = time.perf_counter() - t0
        cut = tok._cut  # the raw segmenter, to separate segmentation from normalise + filter
        assert cut is not None
        seg_s, seg_ms = per_text(cut, normalised)
        tok_s, tok_ms = per_text(tok.tokenize, texts)
        tokens[backend] = [tok.tokenize(t) for t in texts]
        results[backend] = {
            "load s": load_s,
            "segment chars/s": chars / seg_s,
            "segment ms/text": seg_ms,
            "tokenize chars/s": chars / tok_s,
            "tokenize ms/text": tok_ms,
        }

    print(f"{'':24}{'rjieba':>14}{'jieba':>14}")
    for key in results["rjieba"]:
        fmt = "{:>14,.0f}" if "chars/s" in key else "{:>14.3f}"
        print(f"{key:24}" + "".join(fmt.format(results[b][key]) for b in ("rjieba", "jieba")))
    same = sum(a == b for a, b in zip(tokens["rjieba"], tokens["jieba"], strict=True))
    print(f"{'identical tokens':24}{same}/{len(texts)} = {same / len(texts):.4f}\n")

    norm_s, norm_ms = per_text(normalise_text, texts)
    cue_s, cue_ms = per_text(detect_cues, texts)
    print(f"normalise_text          {chars / norm_s:>14,.0f} chars/s {norm_ms:8.3f} ms/text (median)")
    print(f"detect_cues             {chars / cue_s:>14,.0f} chars/s {cue_ms:8.3f} ms/text (median)")

    vec = NarrativeVectorizer(max_features=50_000, min_df=2)
    t0 = time.perf_counter()
    vec.fit(texts)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    matrix = vec.transform(texts)
    transform_s = time.perf_counter() - t0
    _, single_ms = per_text(lambda t: vec.transform([t]), texts[:500])
    print(f"NarrativeVectorizer fit {fit_s:8.2f} s, {matrix.shape[1]} terms")
    print(
        f"NarrativeVectorizer transform {len(texts) / transform_s:10,.0f} texts/s; one text {single_ms:.3f} ms (median)"
    )


if __name__ == "__main__":
    main()
