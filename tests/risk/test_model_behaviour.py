"""Behaviour tests of the trained model (Made-With-ML style): direction, invariance, minimum
functionality, and the single-case path agreeing with the batch path."""

from __future__ import annotations

import copy
import json
import pickle

import numpy as np
import pandas as pd
import pytest

from features.contract import load_dataset
from features.errors import DisputeRiskError
from features.records import normalise_record, record_warnings
from risk.levels import LEVELS


@pytest.fixture(scope="module")
def recent(trained, demo_dir):
    ds = load_dataset(demo_dir, write_rejects=False)
    cases = ds.cases.sort_values("registered_at").tail(150).reset_index(drop=True)
    return cases, ds.parties[ds.parties["case_id"].isin(cases["case_id"])]


def _parties_of(parties: pd.DataFrame, case_id: str) -> list[dict]:
    return parties[parties["case_id"] == case_id].drop(columns=["case_id"]).to_dict("records")


@pytest.mark.parametrize("phrase", ["扬言要杀了他", "手持菜刀"])
def test_adding_a_threat_or_weapon_never_lowers_the_risk(trained, recent, phrase: str) -> None:
    model = trained.model
    cases, parties = recent
    raised = 0
    for case in cases.to_dict("records"):
        people = _parties_of(parties, case["case_id"])
        before = model.score_case(case, people).risk
        after = model.score_case(
            {**case, "narrative": case["narrative"] + "对方" + phrase + "。"}, people
        ).risk
        assert after >= before - 1e-12, (case["case_id"], before, after)
        raised += after > before
    assert raised > len(cases) / 2  # and it does raise it for most cases


def test_punctuation_width_and_spacing_do_not_change_the_risk(trained, recent) -> None:
    model = trained.model
    cases, parties = recent
    for case in cases.head(60).to_dict("records"):
        people = _parties_of(parties, case["case_id"])
        text = case["narrative"]
        variant = text.replace("，", ",").replace("。", ".").replace("：", ":").replace("；", ";")
        variant = " ".join(variant[i : i + 5] for i in range(0, len(variant), 5))
        base = model.score_case(case, people)
        other = model.score_case({**case, "narrative": variant}, people)
        assert other.risk == pytest.approx(base.risk, rel=1e-6)
        assert other.cues == base.cues


def test_model_survives_a_pickle_round_trip_unchanged(trained, recent) -> None:
    cases, parties = recent
    restored = pickle.loads(pickle.dumps(trained.model))
    pd.testing.assert_frame_equal(restored.score(cases, parties), trained.model.score(cases, parties))


def test_single_case_path_matches_the_batch_path(trained, recent) -> None:
    model = trained.model
    history = copy.deepcopy(model.history)
    cases, parties = recent
    batch = model.score(cases, parties, n_reasons=0).set_index("case_id")["risk"]
    # The API scores cases one by one and remembers each; the batch sees the same history.
    for case in cases.to_dict("records"):
        people = _parties_of(parties, case["case_id"])
        assert model.score_case(case, people, history=history).risk == pytest.approx(
            batch[case["case_id"]], rel=1e-5
        )
        history.update(
            pd.DataFrame([case]), pd.DataFrame([{**p, "case_id": case["case_id"]} for p in people])
        )


def test_scores_come_with_levels_and_plain_chinese_reasons(trained, recent) -> None:
    cases, parties = recent
    case = cases.iloc[0].to_dict()
    scored = trained.model.score_case(case, _parties_of(parties, case["case_id"]))
    assert 0.0 < scored.risk < 1.0
    assert scored.level in LEVELS
    assert 1 <= len(scored.reasons) <= 3
    for reason in scored.reasons:
        assert reason.direction in ("升高", "降低")
        assert any("\u4e00" <= ch <= "\u9fff" for ch in reason.text)


def test_unseen_category_is_normalised_at_the_boundary_and_scored_as_other(trained, recent) -> None:
    cases, parties = recent
    people = _parties_of(parties, cases.iloc[0]["case_id"])
    values = {**cases.iloc[0].to_dict(), "category": "宠物纠纷"}
    normalise_record(values)
    assert record_warnings(values) == ["category '宠物纠纷' is not in the data contract; treated as 其他"]
    other = {**cases.iloc[0].to_dict(), "category": "其他"}
    assert trained.model.score_case(values, people).risk == trained.model.score_case(other, people).risk
    with pytest.raises(DisputeRiskError, match="category must be normalised"):
        trained.model.score_case({**cases.iloc[0].to_dict(), "category": "宠物纠纷"}, people)


def test_pyfunc_entry_scores_nested_contract_input(trained, recent) -> None:
    cases, parties = recent
    head = cases.head(3).copy()
    head["parties"] = [
        json.dumps(_parties_of(parties, c), ensure_ascii=False, default=str) for c in head["case_id"]
    ]
    head["registered_at"] = head["registered_at"].dt.strftime("%Y-%m-%dT%H:%M:%S+08:00")
    out = trained.model(head)
    assert list(out.columns) == ["case_id", "risk", "level", "reasons"]
    expected = trained.model.score(cases.head(3), parties)
    np.testing.assert_allclose(out["risk"], expected["risk"])


def _real_texts(shared_data, name: str, field: str, keep) -> list[str]:
    rows = [json.loads(line) for line in (shared_data / name).read_text(encoding="utf-8").splitlines()]
    return [r[field][:600] for r in rows if keep(r)][:150]


def test_demo_trained_model_ranks_real_violent_texts_above_real_civil_ones(
    trained, recent, shared_data
) -> None:
    """Minimum functionality on real text: the model must not have learned only the generator's phrasing."""
    violent = _real_texts(
        shared_data,
        "cases_cail2018_criminal.jsonl",
        "fact",
        lambda r: {"故意伤害", "故意杀人", "寻衅滋事"} & set(r.get("accusation_norm") or []),
    )
    civil = _real_texts(
        shared_data, "cases_cail2019_cjrc.jsonl", "text", lambda r: r.get("domain") == "civil"
    )
    cases, parties = recent
    template = cases.iloc[0].to_dict()
    people = _parties_of(parties, template["case_id"])

    def risks(texts: list[str]) -> np.ndarray:
        return np.array([trained.model.score_case({**template, "narrative": t}, people).risk for t in texts])

    from sklearn.metrics import roc_auc_score

    r_violent, r_civil = risks(violent), risks(civil)
    auc = roc_auc_score(np.r_[np.ones(len(r_violent)), np.zeros(len(r_civil))], np.r_[r_violent, r_civil])
    assert auc >= 0.8, f"violent-vs-civil AUC {auc:.3f}"
    assert np.median(r_violent) > np.median(r_civil)
