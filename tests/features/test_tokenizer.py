"""normalise_text and ChineseTokenizer (features/tokenizer.py)."""

from __future__ import annotations

import json
import pickle
import random
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from features.errors import DisputeRiskError
from features.tokenizer import ChineseTokenizer, default_cache_dir, normalise_text, parse_user_dict

FULL_WIDTH = "对方，扬言：“要打死你！”（张某）。涉案金额３．５万元；ＫＴＶ包间"
HALF_WIDTH = '对方,扬言:"要打死你!"(张某).涉案金额3.5万元;ktv包间'
SPACED = "对方 ，扬言： “要打死你 ！”\n（张某）。\t涉案金额３．５ 万元；\u3000ＫＴＶ 包间 "


def _jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def _reference_normalise(text: str) -> str:
    """The definition: NFKC, then the punctuation map, no whitespace, lower case."""
    from features.tokenizer import _PUNCT_MAP

    folded = unicodedata.normalize("NFKC", text).translate(str.maketrans(_PUNCT_MAP))
    return "".join(folded.split()).lower()


@pytest.fixture(scope="module")
def tokenizer() -> ChineseTokenizer:
    return ChineseTokenizer()


@pytest.fixture(scope="module")
def jieba_tokenizer() -> ChineseTokenizer:
    return ChineseTokenizer(backend="jieba")


# -- normalise_text


def test_normalise_gives_full_width_half_width_and_spaced_text_the_same_string():
    assert normalise_text(FULL_WIDTH) == normalise_text(HALF_WIDTH) == normalise_text(SPACED)
    assert normalise_text(HALF_WIDTH) == HALF_WIDTH


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("他说：“滚”。", '他说:"滚".'),
        ("《借条》【原件】", "<借条>[原件]"),
        ("争吵——推搡……", "争吵--推搡......"),
        ("双方\u200b调解\ufeff", "双方调解"),
        ("金额3.5万元。次日", "金额3.5万元.次日"),
        ("ＡＢＣ＠ｘｙｚ", "abc@xyz"),
    ],
)
def test_normalise_maps_punctuation_variants_to_one_canonical_form(raw, expected):
    assert normalise_text(raw) == expected


def test_normalise_removes_every_kind_of_whitespace():
    assert normalise_text(" 双方\u3000未发生\n肢体\t冲突\u00a0\r\n") == "双方未发生肢体冲突"


def test_normalise_is_idempotent_on_exotic_unicode():
    rnd = random.Random(7)
    pool = [
        chr(c)
        for c in [*range(0x20, 0x7F), *range(0x3000, 0x3040), *range(0xFF00, 0xFF70), *range(0xFE10, 0xFE70)]
    ]
    pool += list("İÏ\u0301\u0308\u302b№™Ⅱⅰ…⋯—纠纷打架")
    for _ in range(3000):
        text = "".join(rnd.choice(pool) for _ in range(rnd.randint(0, 12)))
        once = normalise_text(text)
        assert normalise_text(once) == once, repr(text)


def test_normalise_rejects_a_non_string():
    with pytest.raises(DisputeRiskError, match="text must be a str, got float"):
        normalise_text(float("nan"))  # type: ignore[arg-type]


@pytest.mark.shared_data
def test_normalise_matches_its_definition_on_real_texts(shared_data):
    texts = [r["fact"] for r in _jsonl(shared_data / "cases_cail2018_criminal.jsonl")[:1500]]
    texts += [r["text"] for r in _jsonl(shared_data / "cases_cail2019_cjrc.jsonl")[:1000]]
    mismatches = [t[:40] for t in texts if normalise_text(t) != _reference_normalise(t)]
    assert mismatches == []


# -- ChineseTokenizer


def test_tokenizer_keeps_project_dictionary_terms_whole(tokenizer):
    tokens = tokenizer.tokenize("双方发生肢体冲突后，对方扬言同归于尽，并以死相逼，网格员报综治中心")
    for term in ("肢体冲突", "扬言", "同归于尽", "以死相逼", "网格员", "综治中心"):
        assert term in tokens


def test_tokenizer_drops_stopwords_punctuation_and_numbers_but_keeps_emergency_numbers(tokenizer):
    tokens = tokenizer.tokenize("2019年5月3日，他的××被砸了，拨打110报警！")
    assert "的" not in tokens and "他" not in tokens
    assert not {",", "!", "××", "2019", "5", "3"} & set(tokens)
    assert "110" in tokens and "报警" in tokens


def test_tokenizer_keeps_negators_so_that_denials_stay_visible(tokenizer):
    assert {"未", "没有"} <= set(tokenizer.tokenize("双方未动手，也没有威胁"))


def test_tokens_do_not_depend_on_width_or_spacing(tokenizer):
    assert tokenizer.tokenize(FULL_WIDTH) == tokenizer.tokenize(HALF_WIDTH) == tokenizer.tokenize(SPACED)


def test_tokenize_many_equals_tokenize_per_text(tokenizer):
    texts = ["对方酒后持刀", "双方因宅基地纠纷积怨已久", ""]
    assert tokenizer.tokenize_many(texts) == [tokenizer.tokenize(t) for t in texts]


def test_tokenizer_pickles_small_and_unpickles_to_identical_tokens(tokenizer):
    text = "李某酒后持菜刀到王某家中砸坏门窗，扬言要同归于尽"
    expected = tokenizer.tokenize(text)
    blob = pickle.dumps(tokenizer)
    assert len(blob) < 1000  # parameters only: no dictionary inside
    assert pickle.loads(blob).tokenize(text) == expected


def test_auto_backend_uses_rjieba_when_installed():
    pytest.importorskip("rjieba")
    assert ChineseTokenizer().resolved_backend == "rjieba"


def test_backends_agree_on_mixed_scripts_and_rare_characters(jieba_tokenizer):
    pytest.importorskip("rjieba")
    texts = [
        "张某1于2015年3月在ktv包间(x+y)持水果刀6.5cm伤口",
        "㐀㐁abc鿿中国😀打人🔪砍①②〇年e-mail c++ 𠀀",
        "被告人以死相逼,网格员于当日报综治中心,110出警",
    ]
    rjieba_tok = ChineseTokenizer(backend="rjieba")
    for text in texts:
        assert jieba_tokenizer.tokenize(text) == rjieba_tok.tokenize(text)


@pytest.mark.shared_data
def test_backends_give_identical_tokens_on_2000_real_texts(shared_data, jieba_tokenizer):
    pytest.importorskip("rjieba")
    texts = [r["fact"] for r in _jsonl(shared_data / "cases_cail2018_criminal.jsonl")[:1600]]
    texts += [r["text"] for r in _jsonl(shared_data / "cases_lawbench_civil.jsonl")[::3]][:400]
    rjieba_tok = ChineseTokenizer(backend="rjieba")
    differing = [t[:40] for t in texts if jieba_tokenizer.tokenize(t) != rjieba_tok.tokenize(t)]
    assert len(texts) >= 2000
    assert differing == []


def test_tokenizer_never_touches_the_global_jieba_dictionary(jieba_tokenizer):
    import jieba

    jieba_tokenizer.tokenize("以死相逼")
    assert not jieba.dt.initialized or "以死相逼" not in jieba.dt.FREQ


def test_jieba_cache_goes_to_the_cache_dir_not_the_package(tmp_path):
    ChineseTokenizer(backend="jieba", cache_dir=tmp_path).tokenize("纠纷")
    assert (tmp_path / "jieba.cache").is_file()
    package_dir = Path(__import__("features").__file__).parent
    assert not list(package_dir.rglob("*.cache"))
    assert default_cache_dir().parent == Path(__import__("tempfile").gettempdir())


def test_importing_the_text_modules_loads_no_segmenter_and_jieba_stays_quiet():
    code = (
        "import sys\n"
        "import features.text_vectorizer, features.cues, features.cue_scan, features.tokenizer\n"
        "assert 'jieba' not in sys.modules and 'rjieba' not in sys.modules, 'imported at import time'\n"
        "assert features.cue_scan._compiled.cache_info().currsize == 0, 'lexicon compiled at import time'\n"
        "features.tokenizer.ChineseTokenizer(backend='jieba').tokenize('双方发生纠纷')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Building prefix dict" not in done.stderr and "Loading model" not in done.stderr


def test_unknown_backend_is_rejected():
    with pytest.raises(DisputeRiskError, match="backend must be one of auto, rjieba, jieba, got 'hmm'"):
        ChineseTokenizer(backend="hmm")


def test_user_dictionary_entry_without_frequency_is_rejected():
    with pytest.raises(DisputeRiskError, match="frequency must be a positive integer, got 'often'"):
        parse_user_dict(["扬言 often"], "test")
    with pytest.raises(DisputeRiskError, match="must be 'word freq \\[pos\\]', got '扬言'"):
        parse_user_dict(["扬言"], "test")


def test_custom_user_dict_and_stopwords_replace_the_packaged_ones(tmp_path):
    user_dict = tmp_path / "dict.txt"
    user_dict.write_text("# comment\n民转刑预警 5000 n\n", encoding="utf-8")
    tok = ChineseTokenizer(user_dict=user_dict, stopwords=())
    tokens = tok.tokenize("开展民转刑预警的工作")
    assert "民转刑预警" in tokens and "的" in tokens


def test_unreadable_user_dict_is_a_clear_error(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(DisputeRiskError, match="user_dict must be a readable UTF-8 file"):
        ChineseTokenizer(user_dict=missing).tokenize("纠纷")


@pytest.mark.parametrize("text", [FULL_WIDTH, HALF_WIDTH, SPACED, "Call １１０，İstanbul", ""])
def test_tokenize_of_normalised_text_skips_no_token(tokenizer, text):
    # the featurizer normalises once and says so; the tokens must be those of the raw text
    assert tokenizer.tokenize(normalise_text(text), normalised=True) == tokenizer.tokenize(text)
    assert tokenizer.tokenize_many([normalise_text(text)], normalised=True) == [tokenizer.tokenize(text)]
