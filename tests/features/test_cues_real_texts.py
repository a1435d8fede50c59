"""Cue rates on real public texts (../shared/data): violent criminal facts vs civil disputes.

The violence cues (physical, injury or weapon) must fire on most criminal facts charged as
故意伤害 / 故意杀人 / 寻衅滋事 and rarely on civil judgments, loan cases and legal consultations.
Measured when written: criminal 0.97; CJRC civil 0.06, SCM loan 0.00, LawBench consultation 0.08.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from features.cues import CueFlags, detect_cues

pytestmark = pytest.mark.shared_data

VIOLENT_CHARGES = {"故意伤害", "故意杀人", "寻衅滋事"}
VIOLENCE = ("physical", "injury", "weapon")


def _jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def _violence_rate(texts: list[str]) -> float:
    return float(np.mean([any(detect_cues(t)[f] for f in VIOLENCE) for t in texts]))


def test_violence_cues_fire_on_most_violent_criminal_facts(shared_data):
    rows = _jsonl(shared_data / "cases_cail2018_criminal.jsonl")
    texts = [r["fact"] for r in rows if VIOLENT_CHARGES & set(r["accusation_norm"])]
    assert len(texts) > 2000
    rate = _violence_rate(texts)
    assert rate >= 0.8, f"violence cues fired on {rate:.3f} of {len(texts)} violent criminal facts"


@pytest.mark.parametrize(
    ("file", "keep"),
    [
        ("cases_cail2019_cjrc.jsonl", lambda r: r["domain"] == "civil"),
        ("cases_cail2019_scm_loan.jsonl", lambda r: True),
        ("cases_lawbench_civil.jsonl", lambda r: r["source_path"].endswith("2-4.json")),
    ],
    ids=["cjrc_civil", "scm_loan", "lawbench_consultation"],
)
def test_violence_cues_rarely_fire_on_civil_texts(shared_data, file, keep):
    texts = [r["text"] for r in _jsonl(shared_data / file) if keep(r)]
    assert len(texts) >= 200
    rate = _violence_rate(texts)
    assert rate <= 0.15, f"violence cues fired on {rate:.3f} of {len(texts)} civil texts in {file}"


def test_violent_facts_score_higher_than_other_crimes_on_every_violence_family(shared_data):
    rows = _jsonl(shared_data / "cases_cail2018_criminal.jsonl")[:4000]
    violent = [r["fact"] for r in rows if VIOLENT_CHARGES & set(r["accusation_norm"])]
    theft_drugs = [
        r["fact"] for r in rows if set(r["accusation_norm"]) <= {"盗窃", "走私、贩卖、运输、制造毒品"}
    ]
    flags = CueFlags(families=list(VIOLENCE)).fit(violent)
    assert (flags.transform(violent).mean(axis=0) > 3 * flags.transform(theft_drugs).mean(axis=0)).all()


def test_cue_flags_pickle_round_trip_is_identical_on_real_texts(shared_data):
    import pickle

    texts = [r["fact"] for r in _jsonl(shared_data / "cases_cail2018_criminal.jsonl")[:500]]
    flags = CueFlags().fit(texts)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(flags)).transform(texts), flags.transform(texts))
