"""Cue counts of a batch (texts joined, features/cue_rules.py) equal those of each text on its own.

The rule has one implementation, run on a batch of one text by ``detect_cues``; what these tests
guard is the joining: nothing may reach from one text into the next (a negator, a look-around, a
clause, a sentence's harmless setting or its violence, a threat's overlap).
"""

from __future__ import annotations

import itertools
import json
import random

import numpy as np
import pytest

from features.cue_rules import count_cues
from features.cue_scan import SEPARATOR, _require_inert_separator
from features.cues import CUE_FAMILIES, CueFlags, detect_cues
from features.errors import DisputeRiskError
from features.tokenizer import normalise_text

# Each text is tricky next to some other: the batch tries every ordered pair.
EDGES = [
    "",
    ",.;!?",
    ".",
    "没有",  # a negator ending a text ...
    "打架后报警",  # ... and a text starting with a cue
    "双方未",
    "发生肢体冲突",
    "扬言",  # a threat verb ending a text, the harm in the next
    "要杀了他",
    "对方持菜刀",
    "在超市购买",  # a harmless setting must not reach the previous text's 菜刀
    "对方殴打其",  # nor its violence vouch for the next text's weapon
    "在五金店买了菜刀",
    "办理离婚",  # 离婚(?!多年|已久)
    "多年未联系",
    "欠款3",  # (?<!\d)110(?!\d) and the decimal point beside a digit
    "110出警",
    ".5万元未还,对方扬言砍死你",
    "使",  # (?<![使...])用
    "用砖头砸他",
    "受伤",
    "摔倒后受伤,无人打架",
    "不会",  # 不会(?!放过...)
    "放过你",
    "未发生肢体冲突,但对方扬言要杀了他",
    "a\x00b打架",  # the separator inside a text is just a character
    "双方因3.5万元欠款未发生肢体冲突,无人受伤.",
]


def _one_by_one(texts: list[str]) -> np.ndarray:
    return np.array([[detect_cues(t, normalised=True)[f] for f in CUE_FAMILIES] for t in texts])


def test_every_ordered_pair_of_edge_cases_counts_as_its_texts_alone():
    alone = {t: _one_by_one([t])[0] for t in EDGES}
    for first, second in itertools.product(EDGES, repeat=2):
        got = count_cues([first, second])
        np.testing.assert_array_equal(got, [alone[first], alone[second]], err_msg=f"{first!r} + {second!r}")


def test_edge_cases_in_one_batch_in_any_order():
    texts = EDGES * 3
    random.Random(7).shuffle(texts)
    np.testing.assert_array_equal(count_cues(texts), _one_by_one(texts))


def test_the_texts_own_counts_where_the_rule_matters():
    assert detect_cues("双方未发生肢体冲突")["physical"] == 0
    assert count_cues(["双方未", "发生肢体冲突"])[1, CUE_FAMILIES.index("physical")] == 1
    assert count_cues(["对方殴打其", "在五金店买了菜刀"])[:, CUE_FAMILIES.index("weapon")].tolist() == [0, 0]
    assert count_cues(["对方殴打其在五金店买了菜刀"])[0, CUE_FAMILIES.index("weapon")] == 1


def test_empty_batch_and_empty_texts():
    assert count_cues([]).shape == (0, len(CUE_FAMILIES))
    assert count_cues(["", ""]).tolist() == [[0] * len(CUE_FAMILIES)] * 2


def test_batches_larger_than_a_block_equal_one_pass(monkeypatch):
    texts = [normalise_text(t) for t in EDGES] * 5
    whole = count_cues(texts)
    monkeypatch.setattr("features.cue_rules._BLOCK", 7)
    np.testing.assert_array_equal(count_cues(texts), whole)


@pytest.mark.parametrize("source", [r"打.", r"[^a]架", r"^打", r"打\b", r"\W", "打\x00"])
def test_a_pattern_that_could_match_the_separator_is_refused(source):
    with pytest.raises(DisputeRiskError, match="separator"):
        _require_inert_separator(source)
    assert SEPARATOR == "\x00"


def test_batch_equals_one_by_one_on_real_texts(shared_data):
    texts = []
    for path in sorted(shared_data.glob("cases_*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            rows = [json.loads(line) for line, _ in zip(handle, range(300), strict=False)]
        texts += [v for row in rows for v in row.values() if isinstance(v, str) and v]
    assert len(texts) > 1500
    norm = [normalise_text(t) for t in texts]
    batch = CueFlags(max_count=None).fit(texts).transform(texts)
    np.testing.assert_array_equal(batch, _one_by_one(norm))
    assert batch.sum() > 300  # the texts do hold cues
