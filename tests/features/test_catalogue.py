"""The feature catalogue is the one description of the model's columns: the builders produce
exactly the columns it declares, in its order, and every consumer reads it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.build import CATALOGUE, CaseFeaturizer
from features.cues import CUE_CATALOGUE, CueFlags
from features.errors import DisputeRiskError
from features.history_schema import HISTORY_CATALOGUE, HISTORY_FEATURES
from features.tabular import TABULAR_CATALOGUE, tabular_matrix
from training.baselines import CHECKLIST_COLUMNS


def test_each_builder_makes_the_columns_it_declares() -> None:
    frame = pd.DataFrame(
        {
            "category": ["邻里纠纷"],
            "source": ["群众来访"],
            "registered_at": [pd.Timestamp("2024-01-01 08:00")],
            "n_parties": [2],
            "n_people": [2],
        }
    )
    assert tabular_matrix(frame).shape[1] == len(TABULAR_CATALOGUE)
    names = CueFlags().fit(["x"]).get_feature_names_out().tolist()
    assert names == [f.name for f in CUE_CATALOGUE]
    assert [f.name for f in HISTORY_CATALOGUE] == list(HISTORY_FEATURES)


def test_the_fitted_featurizer_names_its_columns_in_catalogue_order(trained) -> None:
    names = list(trained.model.featurizer.get_feature_names_out())
    assert names == [n for n in CATALOGUE.names if n in names]
    assert len(names) >= len(CATALOGUE.names) - 1  # at most the text score is left out


def test_every_family_reads_a_sentence_and_monotone_features_are_the_rising_signals() -> None:
    case = {
        "category": "邻里纠纷",
        "source": "群众来访",
        "amount_yuan": np.nan,
        "n_parties": 2,
        "n_people": 3,
    }
    history = {"party_prior_escalations_sum": 2.0, "key_group_persons": 0.0}
    for code in CATALOGUE.families:
        assert CATALOGUE.describe(code, case, history, ("刀",))
    assert CATALOGUE.describe("party_escalations", case, history) == "当事人此前有2起纠纷已转为刑事案件"
    assert CATALOGUE.describe("key_groups", case, history) == "当事人中没有重点人群人员"
    rising = {f.name for f in CATALOGUE.features if f.monotone > 0}
    assert {"cue_threat", "cue_weapon", "text_score", "police_calls_before", "key_group_persons"} <= rising
    assert not rising & {"amount_log", "n_people", "party_days_since_last_case", "village_cases_30d"}


def test_a_name_outside_the_catalogue_is_refused() -> None:
    assert set(CHECKLIST_COLUMNS) <= set(CATALOGUE.names)
    with pytest.raises(DisputeRiskError, match="'key_group_any' is not a feature of the catalogue"):
        CATALOGUE.require(["cue_threat", "key_group_any"])


def test_a_featurizer_without_text_drops_only_the_text_score(trained) -> None:
    featurizer = CaseFeaturizer(use_text=False)
    assert featurizer.use_text is False  # parameters stored verbatim
    names = list(trained.model.featurizer.get_feature_names_out())
    if "text_score" in names:
        assert list(trained.model.featurizer.without_text().get_feature_names_out()) == names[:-1]
