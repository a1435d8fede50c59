"""Escalation cues (features/cues.py, features/cue_lexicon.py): lexicon, negation, CueFlags."""

from __future__ import annotations

import json
import pickle
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from features.cue_lexicon import FAMILY_PATTERNS
from features.cue_scan import _compile, _compiled, family_spans
from features.cues import (
    CUE_FAMILIES,
    CUE_LABELS,
    CueFlags,
    cue_reasons,
    detect_cues,
)
from features.errors import DisputeRiskError, NotFittedError
from features.tokenizer import normalise_text


def _present(text: str) -> set[str]:
    return {family for family, n in detect_cues(text).items() if n > 0}


def test_families_and_their_plain_chinese_labels():
    assert CUE_FAMILIES[:8] == (
        "threat",
        "weapon",
        "alcohol",
        "physical",
        "injury",
        "self_harm",
        "separation",
        "property_damage",
    )
    assert set(CUE_LABELS) == set(CUE_FAMILIES) == set(FAMILY_PATTERNS)
    assert [CUE_LABELS[f] for f in CUE_FAMILIES[:8]] == [
        "言语威胁",
        "涉及凶器",
        "饮酒",
        "肢体冲突",
        "有人受伤",
        "自伤自杀倾向",
        "分居离婚",
        "毁坏财物",
    ]


def test_detect_cues_reports_every_family_even_when_absent():
    assert detect_cues("双方因物业费发生纠纷") == dict.fromkeys(CUE_FAMILIES, 0)


# How intake staff, police and courts actually write each cue: every phrasing must fire.
TYPICAL = {
    "threat": [
        "对方扬言要杀了他",
        "李某多次恐吓张某",
        "他说要和对方同归于尽",
        "对方称“迟早弄死你”",
        "放话要让张某好看",
        "扬言要他的命",
        "你等着，让你不得好死",
        "王某放狠话称要报复",
    ],
    "weapon": [
        "李某持菜刀追砍张某",
        "对方拿着一把水果刀",
        "王某从家中拿出砍刀",
        "抄起铁锹朝张某打去",
        "用砖头将其砸伤",
        "手持木棒冲进院子",
        "提着一桶汽油来到村委会",
        "携带农药前往张某家中",
        "拿起石头砸向对方",
        "双方持械斗殴",
    ],
    "alcohol": [
        "李某酒后到张某家闹事",
        "对方喝醉后辱骂邻居",
        "当晚饮酒后与妻子争吵",
        "李某长期酗酒",
        "满身酒气",
    ],
    "physical": [
        "双方发生肢体冲突",
        "李某殴打张某",
        "双方相互推搡",
        "两人扭打在一起",
        "对张某拳打脚踢",
        "被告人持刀捅刺被害人",
        "扇了张某两个耳光",
        "双方互殴",
        "长期遭受家庭暴力",
        "被对方打了一顿",
    ],
    "injury": [
        "致张某轻伤二级",
        "张某头部受伤",
        "张某鼻梁骨折",
        "被打得头破血流",
        "经鉴定为轻微伤",
        "张某被打伤住院",
        "到医院缝了5针",
    ],
    "self_harm": [
        "妻子扬言要喝农药",
        "张某有轻生念头",
        "以死相逼要求解决",
        "爬上楼顶欲跳楼",
        "曾割腕自残",
        "称活不下去了",
    ],
    "separation": ["双方已分居两年", "女方起诉离婚", "妻子带孩子回了娘家", "丈夫有婚外情", "感情破裂"],
    "property_damage": [
        "砸坏张某家的门窗",
        "将对方车辆砸毁",
        "故意毁坏他人财物",
        "拔掉了张某家的庄稼",
        "划坏了张某的车",
        "放火烧了柴房",
    ],
    "grudge": ["两家积怨已久", "李某怀恨在心", "为报复张某", "矛盾激化", "双方多次发生争吵"],
    "police": ["拨打110报警", "民警到场处置", "派出所调解未果"],
}


@pytest.mark.parametrize(("family", "text"), [(f, t) for f, texts in TYPICAL.items() for t in texts])
def test_typical_wording_fires_its_family(family, text):
    assert detect_cues(text)[family] > 0


@pytest.mark.parametrize(
    ("text", "family"),
    [
        ("双方未发生肢体冲突", "physical"),
        ("现场未见持械", "weapon"),
        ("对方没有威胁张某", "threat"),
        ("无人受伤", "injury"),
        ("李某否认殴打张某", "physical"),
        ("双方仅有口角，并未动手", "physical"),
        ("不存在家庭暴力", "physical"),
        ("双方未发生任何形式的肢体冲突", "physical"),
        ("没有对被害人进行殴打", "physical"),
        ("未发生推搡、殴打", "physical"),
        ("未造成人员受伤", "injury"),
        ("双方均未饮酒", "alcohol"),
        ("劝其不要动手", "physical"),
        ("保证不再动手", "physical"),
        ("对方没有报警", "police"),
        ("双方都表示不愿离婚", "separation"),
    ],
)
def test_negated_mention_does_not_count(text, family):
    assert detect_cues(text)[family] == 0


@pytest.mark.parametrize(
    ("text", "family"),
    [
        ("未成年人被殴打", "physical"),  # 未成年 is not a negator
        ("无业人员李某殴打他人", "physical"),  # 无业
        ("无故殴打他人", "physical"),  # 无故
        ("索要欠款未果后持刀将其捅伤", "weapon"),  # 未果
        ("经抢救无效死亡", "injury"),  # 无效
        ("没钱还就拿刀砍人", "weapon"),  # 就 ends the negator's reach
        ("没想到对方竟然动手打人", "physical"),  # 没想到
    ],
)
def test_words_that_merely_start_with_a_negator_do_not_negate(text, family):
    assert detect_cues(text)[family] > 0


def test_negation_does_not_cross_a_clause_boundary():
    assert detect_cues("双方没有调解成功，李某持刀砍伤张某")["weapon"] == 1


def test_negated_clause_does_not_cancel_a_positive_clause():
    counts = detect_cues("双方未发生肢体冲突，但次日李某又与张某发生肢体冲突")
    assert counts["physical"] == 1
    counts = detect_cues("双方未发生肢体冲突，但对方扬言要杀了他")
    assert counts["physical"] == 0 and counts["threat"] == 1


def test_knife_attack_counts_weapon_physical_and_injury():
    counts = detect_cues("对方持刀砍伤")
    assert counts["weapon"] > 0 and counts["physical"] > 0 and counts["injury"] > 0


def test_threat_wording_is_not_counted_as_a_fight_or_injury():
    counts = detect_cues("李某扬言要砍死张某，还说要打伤他全家")
    assert counts["threat"] >= 1
    assert counts["physical"] == 0 and counts["injury"] == 0


def test_a_threat_phrase_counts_once():
    assert detect_cues("李某扬言要砍死张某")["threat"] == 1


def test_accident_injury_is_not_a_conflict_injury_unless_violence_is_told():
    assert detect_cues("原告骑电动车与被告驾驶的轿车相撞,致原告受伤.")["injury"] == 0
    assert detect_cues("原告被被告饲养的犬只咬伤.")["injury"] == 0
    assert detect_cues("双方因交通事故赔偿发生争执,被告将原告打伤.")["injury"] == 1


HARMLESS = [
    "原告使用钢管搭建脚手架",
    "用钢筋网封闭楼梯洞口",
    "被告人独自拉扯孩子长大",
    "原告住院期间动手术",
    "一脚油门撞上护栏",
    "投保了第三者责任险",
    "商家以跳楼价促销",
    "在五金店购买的菜刀刀刃崩口",
    "平时负责切菜，菜刀由店里提供",
    "楼上装修时砸墙，噪音很大",
    "点击打开网页",
    "服用硫酸氨基葡萄糖胶囊",
    "离婚多年，一直独居",
    "母亲于2010年死亡",
]


@pytest.mark.parametrize("text", HARMLESS)
def test_harmless_senses_of_cue_words_fire_nothing(text):
    assert _present(text) == set()


def test_cue_counts_do_not_depend_on_width_or_spacing():
    full = "李某酒后持菜刀，扬言：“要砍死你！”　双方未发生肢体冲突。"
    half = '李某酒后持菜刀,扬言:"要砍死你!"双方 未发生 肢体冲突.'
    assert detect_cues(full) == detect_cues(half)


def test_decimal_point_is_not_a_clause_boundary():
    # "3.5" must not split the clause and free the cue from its negator
    assert detect_cues("双方未因3.5万元欠款发生肢体冲突")["physical"] == 0


def test_cue_reasons_lists_labels_of_present_families_in_family_order():
    assert cue_reasons(detect_cues("李某酒后持刀扬言报复")) == ["言语威胁", "涉及凶器", "饮酒", "积怨报复"]
    assert cue_reasons(dict.fromkeys(CUE_FAMILIES, 0)) == []


def test_first_character_prefilter_never_changes_matches():
    texts = [t for texts in TYPICAL.values() for t in texts] + ["双方因3.5万元欠款未发生肢体冲突,无人受伤."]
    for source in FAMILY_PATTERNS.values():
        plain, fast = re.compile("|".join(source)), _compile("|".join(source))
        assert fast.pattern != plain.pattern  # the prefilter is in use
        for text in texts:
            assert [m.span() for m in fast.finditer(text)] == [m.span() for m in plain.finditer(text)]


def test_matches_tried_only_where_a_family_can_start_equal_a_full_scan(shared_data):
    texts = [t for texts in TYPICAL.values() for t in texts] + HARMLESS
    for path in sorted(shared_data.glob("cases_*.jsonl"))[:3]:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[:300]]
        texts += [v for row in rows for v in row.values() if isinstance(v, str) and len(v) > 20]
    lex = _compiled()
    for text in map(normalise_text, texts):
        full = {family: [m.span() for m in pattern.finditer(text)] for family, pattern in lex.families}
        found = {family: family_spans(text, lex, i) for i, (family, _) in enumerate(lex.families)}
        assert found == full, text[:40]


# -- CueFlags


def test_cue_flags_give_a_dense_float_row_per_text_in_family_order():
    flags = CueFlags().fit(["纠纷"])
    out = flags.transform(["李某酒后持刀", "物业费纠纷"])
    assert out.dtype == np.float64 and out.shape == (2, len(CUE_FAMILIES))
    assert out[0, CUE_FAMILIES.index("alcohol")] == 1 and out[0, CUE_FAMILIES.index("weapon")] == 1
    assert out[1].sum() == 0
    assert list(flags.get_feature_names_out()) == [f"cue_{f}" for f in CUE_FAMILIES]


def test_cue_flags_cap_counts_at_max_count():
    text = "报警,报警,报警,报警,报警"
    assert detect_cues(text)["police"] == 5
    assert CueFlags().fit([text]).transform([text])[0, CUE_FAMILIES.index("police")] == 3
    assert CueFlags(max_count=None).fit([text]).transform([text])[0, CUE_FAMILIES.index("police")] == 5


def test_cue_flags_subset_of_families_in_the_order_given():
    flags = CueFlags(families=["weapon", "threat"]).fit(["x"])
    assert list(flags.get_feature_names_out()) == ["cue_weapon", "cue_threat"]
    assert flags.transform(["扬言要杀了他"]).tolist() == [[0.0, 1.0]]


def test_cue_flags_accept_series_and_one_column_frame():
    flags = CueFlags().fit(["x"])
    texts = ["李某酒后持刀", "无人受伤"]
    expected = flags.transform(texts)
    np.testing.assert_array_equal(flags.transform(pd.Series(texts)), expected)
    np.testing.assert_array_equal(flags.transform(pd.DataFrame({"narrative": texts})), expected)


def test_cue_flags_reject_unknown_family_and_bad_cap():
    with pytest.raises(DisputeRiskError, match="families must be a non-empty subset of .*got \\['knife'\\]"):
        CueFlags(families=["knife"]).fit(["x"])
    with pytest.raises(DisputeRiskError, match="max_count must be an int >= 1 or None, got 0"):
        CueFlags(max_count=0).fit(["x"])


def test_cue_flags_transform_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError, match="CueFlags must be fitted"):
        CueFlags().transform(["x"])


def test_cue_flags_reject_a_single_string():
    with pytest.raises(DisputeRiskError, match="takes an iterable of texts, got a single str"):
        CueFlags().fit("李某酒后持刀")


def test_cue_flags_pickle_and_clone():
    texts = ["李某酒后持刀扬言报复", "双方未发生肢体冲突", "物业费纠纷"]
    flags = CueFlags(max_count=2).fit(texts)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(flags)).transform(texts), flags.transform(texts))
    copy = clone(flags)
    assert copy.get_params() == {"families": None, "max_count": 2} and not hasattr(copy, "families_")
