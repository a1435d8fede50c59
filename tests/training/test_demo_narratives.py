"""The demo narratives: lengths, variety, cues present iff set, negations, distractors, noise, names."""

from __future__ import annotations

import re
from itertools import combinations

import pytest

from training.demo.generate import DemoConfig, build_demo_tables
from training.demo.narratives import person_label

# A word from every cue family's sentences, which appears nowhere else but in negations/distractors.
MARKERS = {
    "threat": "扬言|威胁|恐吓|放狠话|放话|叫嚣|好看|同归于尽|报复|极端手段|别想好过",
    "weapon": "刀|匕首|棍|钢管|铁锹|锄头|扁担|砖头|斧头|铁锤|汽油|农药|百草枯|敌敌畏|老鼠药",
    "self_harm": "不想活|农药|跳楼|轻生|以死相逼|割腕|跳下去|一死了之|老鼠药|百草枯|敌敌畏",
    "separation": "离婚|分居|娘家|搬出去住|分手|分开|破裂",
}


@pytest.fixture(scope="module")
def tables():
    return build_demo_tables(DemoConfig(n_cases=3000, seed=5))


def test_narratives_are_30_to_400_characters_and_all_different(tables):
    lengths = tables.cases["narrative"].str.len()
    assert lengths.min() >= 30 and lengths.max() <= 400
    assert lengths.quantile(0.95) > 2 * lengths.quantile(0.05)
    assert tables.cases["narrative"].is_unique


def test_categories_do_not_read_alike(tables):
    grams = {}
    for category, texts in tables.cases.groupby("category")["narrative"]:
        grams[category] = {t[i : i + 6] for t in texts for i in range(len(t) - 5)}
    for a, b in combinations(grams, 2):
        overlap = len(grams[a] & grams[b]) / min(len(grams[a]), len(grams[b]))
        assert overlap < 0.3, (a, b, overlap)


def test_a_cue_set_by_the_mechanism_is_written_in_the_narrative(tables):
    truth, texts = tables.truth, tables.cases["narrative"].str.replace(" ", "")
    for cue, pattern in MARKERS.items():
        flagged = truth[f"cue_{cue}"] == 1
        assert flagged.sum() > 10
        assert texts[flagged].str.contains(pattern).all(), cue


def test_cue_words_appear_without_the_cue_only_as_negations_or_distractors(tables):
    truth, texts = tables.truth, tables.cases["narrative"].str.replace(" ", "")
    clean = (truth["denied_cue_mentions"] == 0) & (truth["distractor_mentions"] == 0)
    for cue, pattern in MARKERS.items():
        absent = clean & (truth[f"cue_{cue}"] == 0)
        others = [c for c in MARKERS if c != cue]  # e.g. 农药 is both a weapon and a self-harm word
        unrelated = absent & (truth[[f"cue_{c}" for c in others]].sum(axis=1) == 0)
        assert not texts[unrelated].str.contains(pattern).any(), cue


def test_negated_mentions_and_distractors_occur(tables):
    texts = tables.cases["narrative"].str.replace(" ", "")
    denied = tables.truth["denied_cue_mentions"] > 0
    assert 0.1 < denied.mean() < 0.4
    assert texts[denied].str.contains("未|没有|没|无|否认|不愿").all()
    assert texts.str.contains("双方未发生肢体冲突|现场未见持械|没有威胁|无人员受伤|未造成人员受伤").any()
    assert 0.03 < (tables.truth["distractor_mentions"] > 0).mean() < 0.2


def test_typing_noise_is_present(tables):
    texts = tables.cases["narrative"]
    assert texts.str.contains(",").mean() > 0.05  # half-width commas
    assert texts.str.contains("，").mean() > 0.5
    assert texts.str.contains(" ").mean() > 0.05
    assert texts.str.contains("[０-９]").any()


def test_no_real_personal_names():
    labels = {person_label(i) for i in range(5000)}
    assert all(re.fullmatch(r"[\u4e00-\u9fff]某(某|甲|乙|丙)?", label) for label in labels)


def test_narratives_name_people_only_in_the_mou_style(tables):
    texts = tables.cases["narrative"]
    real_name = re.compile(r"[张王李赵刘陈杨][伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂]")
    assert not texts.str.contains(real_name).any()
    assert texts.str.contains(r"[\u4e00-\u9fff]某").mean() > 0.95
