"""mask_personal (features/personal_data.py): one masker for phones, ID and bank cards in free text.

A table of real-world spellings, each with the exact expected output (the negatives come back as
they were), a seeded generator of numbers in context, and properties checked on the real case texts
in ../shared/data: masking is idempotent, turns only digits into ``*``, and leaves almost every
text alone (they are full of dates, amounts and document numbers).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from features.errors import DisputeRiskError
from features.personal_data import mask_personal

MASKED = [
    # mobile numbers
    ("13812345678", "138****5678"),
    ("138 1234 5678", "138 **** 5678"),
    ("138-1234-5678", "138-****-5678"),
    ("138－1234－5678", "138－****－5678"),
    ("138—1234—5678", "138—****—5678"),
    ("138–1234–5678", "138–****–5678"),
    ("138.1234.5678", "138.****.5678"),
    ("138 - 1234 - 5678", "138 - **** - 5678"),
    ("1381234 5678", "138**** 5678"),
    ("138 12345678", "138 ****5678"),
    ("１３８１２３４５６７８", "１３８****５６７８"),
    ("１３８　１２３４　５６７８", "１３８　****　５６７８"),
    ("１３９－１２３４－５６７８", "１３９－****－５６７８"),
    ("+86 138 1234 5678", "+86 138 **** 5678"),
    ("+8613812345678", "+86138****5678"),
    ("＋８６１３８１２３４５６７８", "＋８６１３８****５６７８"),
    ("008613812345678", "0086138****5678"),
    ("86-13812345678", "86-138****5678"),
    ("(+86)13812345678", "(+86)138****5678"),
    ("（+86）138-1234-5678", "（+86）138-****-5678"),
    ("tel:13812345678", "tel:138****5678"),
    ("联系电话：19912345678。", "联系电话：199****5678。"),
    ("手机15012345678/17712345678", "手机150****5678/177****5678"),
    ("王某（电话13812345678）", "王某（电话138****5678）"),
    ("2024-03-05 13812345678", "2024-03-05 138****5678"),
    # landlines with an area code
    ("(0513)88881234", "(0513)****1234"),
    ("（0513）88881234", "（0513）****1234"),
    ("（0513）8888-1234", "（0513）****-1234"),
    ("(0513) 8888 1234", "(0513) **** 1234"),
    ("0513-88881234", "0513-****1234"),
    ("0513 8888 1234", "0513 **** 1234"),
    ("0513-8888-1234", "0513-****-1234"),
    ("051388881234", "0513****1234"),
    ("0513-8881234", "0513-***1234"),
    ("010-12345678", "010-****5678"),
    ("021-6888 1234", "021-**** 1234"),
    ("0513-88881234-808", "0513-****1234-808"),
    ("0513-88881234转808", "0513-****1234转808"),
    ("０５１３－８８８８１２３４", "０５１３－****１２３４"),
    ("（０５１３）８８８８１２３４", "（０５１３）****１２３４"),
    ("传真0755-27644225,经理签名", "传真0755-****4225,经理签名"),
    # ID numbers: the birth date goes
    ("320612199001011234", "320612********1234"),
    ("32061219900101123X", "320612********123X"),
    ("32061219900101123x", "320612********123x"),
    ("320612 19900101 123X", "320612 ******** 123X"),
    ("320612-19900101-123X", "320612-********-123X"),
    ("320612 1990 0101 123X", "320612 **** **** 123X"),
    ("３２０６１２１９９００１０１１２３Ｘ", "３２０６１２********１２３Ｘ"),
    ("身份证号：110105196512310019，", "身份证号：110105********0019，"),
    ("320612900101123", "320612******123"),
    ("320612 900101 123", "320612 ****** 123"),
    # bank cards: first and last four stay
    ("6222 0212 3456 7890", "6222 **** **** 7890"),
    ("6222-0212-3456-7890", "6222-****-****-7890"),
    ("6222 0212 3456 7890 123", "6222 **** **** ***0 123"),
    ("６２２２　０２１２　３４５６　７８９０", "６２２２　****　****　７８９０"),
    ("6217866000000378676", "6217***********8676"),
    ("4381260011358919", "4381********8919"),
    ("卡号：6217003010000045870", "卡号：6217***********5870"),
    ("转入其账号0402020301004074617的", "转入其账号0402***********4617的"),
    # several in one note
    (
        "2024年3月5日，王某（身份证320612199001011234，电话0513-88881234）借款12000元",
        "2024年3月5日，王某（身份证320612********1234，电话0513-****1234）借款12000元",
    ),
]

UNCHANGED = [
    # dates and times
    "2024-03-05",
    "2024年3月5日",
    "２０２４年３月５日",
    "20240305",
    "2024.03.05",
    "2024/03/05 08:30:00",
    "2024-03-05 08:30",
    "2017.4.25-2017.4.28住院",
    "截至2024年12月31日",
    # amounts, percentages, ages, counts
    "12000元",
    "1,200,000.50元",
    "3.5万元",
    "欠款13812345678元",
    "13812345678.50",
    "工程款15330000.00元",
    "利率12.5%",
    "58岁",
    "共3人，涉及17户",
    # case, document and other numbers
    "（2023）苏0612民初1234号",
    "（2024）苏0612执1234号之一",
    "MD20250003781",
    "第3311218201601052号道路交通事故认定书",
    "合同编号021000714010002848",
    "银行电子回单(号码0007-1144-5903-1100)",
    "专利号ZL201230264859.5",
    "发票代码137161220043",
    "串号359580057751701",
    "3208049201401421",
    "车牌苏F12345",
    # 统计用区划代码 and numbers that only look close
    "320612001001",
    "区划代码320612001001 123户",
    "1381234567",
    "138123456789",
    "12345678901",
    "0.13812345678",
    "拨打110、12345热线",
]


@pytest.mark.parametrize(("text", "expected"), MASKED)
def test_masks_personal_number_keeping_its_shape(text, expected):
    assert mask_personal(text) == expected


@pytest.mark.parametrize("text", UNCHANGED)
def test_leaves_dates_amounts_and_case_numbers_alone(text):
    assert mask_personal(text) == text


def test_corpus_holds_at_least_fifty_formats():
    assert len(MASKED) + len(UNCHANGED) >= 50
    assert len({t for t, _ in MASKED} | set(UNCHANGED)) == len(MASKED) + len(UNCHANGED)


def test_text_with_few_digits_comes_back_unchanged():
    text = "双方因宅基地界址发生争吵，对方扬言要打死他（已报警110）"
    assert mask_personal(text) is text


def test_rejects_what_is_not_text():
    with pytest.raises(DisputeRiskError, match="text must be a str, got NoneType"):
        mask_personal(None)  # type: ignore[arg-type]


def _luhn_complete(body: str) -> str:
    total = sum(d * 2 - 9 * (d > 4) if i % 2 == 0 else d for i, d in enumerate(map(int, reversed(body))))
    return body + str(-total % 10)


def _generated(rng: random.Random) -> tuple[str, str]:
    """A random personal number with random separators and width, and the digits that must go."""
    kind = rng.choice(["mobile", "id", "card"])
    if kind == "mobile":
        digits = f"1{rng.choice('3456789')}" + "".join(rng.choices("0123456789", k=9))
        hidden, groups = digits[3:7], [digits[:3], digits[3:7], digits[7:]]
    elif kind == "id":
        birth = f"{rng.randint(1930, 2015)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        digits = f"{rng.randint(110000, 829999)}{birth}{rng.randint(0, 999):03d}{rng.choice('0123456789X')}"
        hidden, groups = birth, [digits[:6], digits[6:14], digits[14:]]
    else:
        digits = _luhn_complete("62" + "".join(rng.choices("0123456789", k=rng.choice([13, 14, 15, 16]))))
        hidden, groups = digits[4:-4], [digits[i : i + 4] for i in range(0, len(digits), 4)]
    sep = rng.choice(["", " ", "-", "－", "—"]) if kind != "card" else rng.choice(["", " ", "-"])
    text = sep.join(groups)
    if rng.random() < 0.3:
        text = text.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    return text, hidden


def test_generated_numbers_in_context_lose_their_middle_digits():
    rng = random.Random(20240305)
    for _ in range(500):
        number, hidden = _generated(rng)
        before, after = "2024年3月5日王某（", "）称借款12000元"
        masked = mask_personal(before + number + after)
        assert masked.startswith(before) and masked.endswith(after), masked
        assert masked.count("*") == len(hidden), (number, masked)


def _real_texts(folder: Path) -> list[str]:
    texts = []
    for path in sorted(folder.glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                texts.extend(v for v in json.loads(line).values() if isinstance(v, str) and len(v) > 20)
    return texts


@pytest.fixture(scope="module")
def real_masked(shared_data) -> list[tuple[str, str]]:
    texts = _real_texts(shared_data)
    if not texts:
        pytest.skip(f"no *.jsonl case texts in {shared_data}")
    return [(text, mask_personal(text)) for text in texts]


@pytest.mark.shared_data
def test_real_texts_change_only_digits_into_stars_and_masking_is_idempotent(real_masked):
    for text, masked in real_masked:
        if masked == text:
            continue
        assert len(masked) == len(text)
        changed = [(a, b) for a, b in zip(text, masked, strict=True) if a != b]
        assert all(b == "*" and a.isdigit() for a, b in changed), text
        assert mask_personal(masked) == masked


@pytest.mark.shared_data
def test_real_texts_full_of_dates_and_amounts_are_almost_all_left_alone(real_masked):
    # 26 of 26,879 texts held a card, account or phone number when this was written.
    changed = sum(masked != text for text, masked in real_masked)
    assert 10 <= changed <= 60, f"{changed} of {len(real_masked)} real texts were masked"
