"""Batch scoring for the index: the narratives computed in a second process while this one reads
the history (``training.narrative_worker``), and the scored cases read as the batch's own
records instead of being copied into the state first, give exactly the numbers of the plain path
(the whole export put into the state, the featurizer in this process)."""

from __future__ import annotations

import copy
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.areas import population_of
from features.contract import load_dataset
from features.history_state import HistoryState
from features.narrative_parts import narrative_parts
from features.text_score import NarrativeScore
from training import narrative_worker
from training.narrative_worker import NarrativeJob
from training.score import index_rows, score_for_index


@pytest.fixture(scope="module")
def dataset(demo_dir: Path):  # noqa: ANN201
    return load_dataset(demo_dir, write_rejects=False)


@pytest.fixture(scope="module")
def narratives(dataset) -> list[object]:  # noqa: ANN001
    return dataset.cases["narrative"].tolist()


@pytest.fixture(scope="module")
def words(dataset, narratives) -> NarrativeScore:  # noqa: ANN001
    y = dataset.cases["escalated"].eq(True).to_numpy(dtype=int)
    return NarrativeScore(min_df=2, max_features=2_000).fit(narratives, y)


def _plain(model, dataset, since: pd.Timestamp | None) -> pd.DataFrame:  # noqa: ANN001
    state = copy.deepcopy(model.history)
    state.update(dataset.cases, dataset.parties)
    cases = dataset.cases if since is None else dataset.cases.loc[dataset.cases["registered_at"] >= since]
    cases = cases.sort_values(["registered_at", "case_id"], kind="stable").reset_index(drop=True)
    parties = dataset.parties.loc[dataset.parties["case_id"].isin(cases["case_id"])]
    return index_rows(model, cases, parties, state, None)


@pytest.fixture(scope="module")
def model(trained, dataset):  # noqa: ANN001, ANN201
    """The session model with the history it would have had at a cut between registrations and
    their escalations: the export then tells of escalations of cases that history holds but did
    not know of (most escalations follow within days: the cut with the most of them is taken)."""
    registered, escalated = dataset.cases["registered_at"], pd.to_datetime(dataset.cases["escalated_at"])
    cuts = (registered + (escalated - registered) / 2).dropna()
    straddling = [int(((registered < cut) & (escalated >= cut)).sum()) for cut in cuts]
    cut = cuts.iloc[int(np.argmax(straddling))]
    cases = dataset.cases.loc[registered < cut].copy()
    late = pd.to_datetime(cases["escalated_at"]) >= cut
    assert late.sum() >= 2, "the demo export should hold escalations known only after the cut"
    cases.loc[late, "escalated_at"] = pd.NaT
    cases.loc[late, "escalated"] = False
    parties = dataset.parties.loc[dataset.parties["case_id"].isin(cases["case_id"])]
    model = copy.copy(trained.model)
    model.history = HistoryState.from_records(cases, parties, population=population_of(dataset.areas))
    return model


@pytest.mark.parametrize("weeks_before_end", [None, 10, 30])
def test_score_for_index_equals_the_plain_path(model, dataset, monkeypatch, weeks_before_end) -> None:
    monkeypatch.setattr(narrative_worker, "MIN_ROWS", 0)  # the worker takes part even in a small batch
    monkeypatch.setattr(narrative_worker, "SLICE_ROWS", 256)
    since = None if weeks_before_end is None else dataset.export_date - pd.Timedelta(weeks=weeks_before_end)
    expected = _plain(model, dataset, since)
    got = score_for_index(model, dataset, since=since)
    assert len(got) == (
        len(dataset.cases) if since is None else (dataset.cases["registered_at"] >= since).sum()
    )
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    # what the late escalations change: without them, the plain path would give other numbers
    held = model.history.contains(dataset.cases["case_id"])
    unaware = replace(
        dataset, cases=dataset.cases.assign(escalated_at=dataset.cases["escalated_at"].where(~held))
    )
    assert not _plain(model, unaware, since)["risk"].equals(got["risk"])


@pytest.mark.parametrize("with_words", [False, True])
def test_worker_and_this_process_share_the_batch_and_get_its_parts(narratives, words, with_words) -> None:
    scorer = words if with_words else None
    expected = narrative_parts(narratives, scorer)
    with NarrativeJob(narratives, scorer, min_rows=0, slice_rows=97) as job:
        _wait_for(lambda: job._front >= 3)  # the worker has taken slices from the front
        got = job.result()
    assert job._back < job._front  # every slice claimed by one side or the other
    np.testing.assert_array_equal(got.cue_counts, expected.cue_counts)
    assert expected.cue_counts.sum() > 0
    if with_words:
        assert got.word_score is not None and expected.word_score is not None
        np.testing.assert_array_equal(got.word_score, expected.word_score)
    else:
        assert got.word_score is None


def test_a_worker_that_dies_costs_time_not_results(narratives, monkeypatch) -> None:
    def dead_worker() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-c", "import sys; sys.exit(3)"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )

    monkeypatch.setattr(narrative_worker, "_start_worker", dead_worker)
    with NarrativeJob(narratives, None, min_rows=0, slice_rows=50) as job:
        _wait_for(lambda: job._feeder is not None and not job._feeder.is_alive())
        got = job.result()
    np.testing.assert_array_equal(got.cue_counts, narrative_parts(narratives, None).cue_counts)


def test_the_parts_must_be_of_the_frame_they_are_used_for(trained, narratives) -> None:
    with NarrativeJob(narratives[:10], None) as job, pytest.raises(ValueError, match="the frame has 3 rows"):
        job.transform(trained.model.featurizer, pd.DataFrame({"narrative": ["a", "b", "c"]}))


def test_a_small_batch_starts_no_worker(narratives) -> None:
    with NarrativeJob(narratives[:100], None) as job:
        assert job._process is None
        assert len(job.result()) == 100


def _wait_for(condition, timeout: float = 60.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
