"""Durable, shared live history: every answered case has its history facts committed, a 民转刑
close adds an escalation fact, a restarted app replays the facts into the same history, and a
second app on the same database follows the first's intake within the documented delay. On
SQLite and on PostgreSQL."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from api_helpers import RED_FLAG, TOWN, VILLAGE, case, make_key, party, red_case
from fastapi.testclient import TestClient
from sqlalchemy import select

from serving import scoring
from serving.schemas import CaseIn
from serving.tables import HistoryFact

SCORE = "/v1/cases/score"
# The session model's history ends at its as-of date (about 2025-05-01): these are after it.
DAY = "2025-06-1{}T09:00:00"
NOW = datetime(2025, 6, 20, 1, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def after_the_cut_off(clock, trained) -> None:
    assert trained.as_of < datetime(2025, 6, 10)
    clock.now = NOW


def repeat_case(case_id: str, day: int, **overrides: Any) -> dict[str, Any]:
    """A case of the same two people (RP-a, RP-b) on 2025-06-1<day>."""
    people = [party(1, party_id="RP-a"), party(2, party_id="RP-b")]
    return case(case_id, registered_at=DAY.format(day), parties=people, **overrides)


def history_of(client: TestClient, body: dict[str, Any]) -> dict[str, float]:
    """The history features the app's current model would give ``body`` now."""
    checked = scoring.check_one(CaseIn(**body))
    history = client.app.state.runtime.models.current.history  # type: ignore[attr-defined]
    return history.features_one(checked.case, checked.parties)


def same(a: dict[str, float], b: dict[str, float]) -> bool:
    """Identical features (NaN, unknown, equals NaN)."""
    return a.keys() == b.keys() and all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)


def facts(client: TestClient) -> list[dict[str, Any]]:
    with client.app.state.runtime.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(select(HistoryFact.__table__).order_by(HistoryFact.id)).mappings().all()
    return [dict(r) for r in rows]


def catch_up(client: TestClient) -> None:
    client.app.state.runtime.follower.catch_up()  # type: ignore[attr-defined]


def test_every_answered_case_has_its_facts_and_never_its_narrative(start, db_url) -> None:
    with start(db_url) as client:
        headers = make_key(client, "intake").headers
        body = repeat_case("F1", 0, police_calls_before=2, mediation_attempts=None)
        body["parties"][0]["key_groups"] = "吸毒人员"
        assert client.post(SCORE, json=body, headers=headers).status_code == 200  # no item: group commit
        assert client.post(SCORE, json=red_case("F2"), headers=headers).json()["item"] is not None
        batch = {"cases": [repeat_case("F3", 1), red_case("F4")]}
        assert client.post(f"{SCORE}-batch", json=batch, headers=headers).status_code == 200
        rows = facts(client)
    assert [(r["kind"], r["case_id"]) for r in rows] == [("case", c) for c in ("F1", "F2", "F3", "F4")]
    first = rows[0]
    assert first["registered_at"] == datetime(2025, 6, 10, 9, 0) and first["area_code"] == VILLAGE
    assert first["parties"] == [["RP-a", "自然人", "吸毒人员"], ["RP-b", "自然人", ""]]
    assert (first["police_calls_before"], first["mediation_attempts"], first["escalated_at"]) == (
        2,
        None,
        None,
    )
    assert rows[1]["cues"] and all(n > 0 for n in rows[1]["cues"].values())  # the threat's cue counts
    dump = str(rows)
    assert RED_FLAG[:8] not in dump and "宅基地" not in dump and "13812345678" not in dump


def test_a_scored_case_joins_the_history_for_the_next_case_of_its_people(start, db_url) -> None:
    with start(db_url) as client:
        headers = make_key(client, "intake").headers
        later = repeat_case("H2", 2)
        before = history_of(client, later)
        assert client.post(SCORE, json=repeat_case("H1", 1), headers=headers).status_code == 200
        catch_up(client)
        after = history_of(client, later)
        model = client.app.state.runtime.models.current.model  # type: ignore[attr-defined]
        checked = scoring.check_one(CaseIn(**later))
        trained = model.history.features_one(checked.case, checked.parties)
    assert after["party_prior_cases_max"] == before["party_prior_cases_max"] + 1
    assert after["pair_prior_cases_max"] == before["pair_prior_cases_max"] + 1
    assert same(trained, before)  # the model's own history stays as trained: a reload starts from it


def test_a_case_registered_by_the_cut_off_is_left_to_the_model_export(start, sqlite_url, trained) -> None:
    """The model was trained on everything registered by its as-of date: a fact of that time is
    kept but not applied, by a follower and by replay alike (one rule, so both end equal)."""
    early = trained.as_of.isoformat()  # at the cut-off itself: known to the model
    with start(sqlite_url) as client:
        headers = make_key(client, "intake").headers
        next_case = case("E2", registered_at=DAY.format(1), n_parties=1, parties=[party(1, party_id="EP-a")])
        before = history_of(client, next_case)
        body = case("E1", registered_at=early, n_parties=1, parties=[party(1, party_id="EP-a")])
        r = client.post(SCORE, json=body, headers=headers)
        assert r.status_code == 200, r.text
        catch_up(client)
        assert [r["case_id"] for r in facts(client)] == ["E1"]
        assert same(history_of(client, next_case), before)


def test_replay_after_a_restart_gives_identical_features(start, db_url) -> None:
    later = repeat_case("R9", 9)
    with start(db_url) as client:
        headers = make_key(client, "intake").headers
        trained = history_of(client, later)
        for i in range(4):
            assert client.post(SCORE, json=repeat_case(f"R{i}", i), headers=headers).status_code == 200
        catch_up(client)
        live = history_of(client, later)
        ready = client.get("/health/ready").json()["history"]
    assert live["party_prior_cases_max"] == trained["party_prior_cases_max"] + 4
    assert ready["state"] == "following" and ready["facts_applied"] == 4
    with start(db_url) as client:  # a new process on the same database: replay only
        assert same(history_of(client, later), live)
        assert client.get("/health/ready").json()["history"]["facts_applied"] == 4


def test_a_second_app_follows_the_first_within_the_documented_delay(start, db_url) -> None:
    poll = 0.05
    with (
        start(db_url, history_poll_seconds=poll) as first,
        start(db_url, history_poll_seconds=poll) as second,
    ):
        headers = make_key(first, "intake").headers
        later = repeat_case("S2", 2)
        before = history_of(second, later)["party_prior_cases_max"]
        assert first.post(SCORE, json=repeat_case("S1", 1), headers=headers).status_code == 200
        committed = time.monotonic()
        while history_of(second, later)["party_prior_cases_max"] == before:
            # The bound: one poll plus the time to read and apply one fact (generous on a busy machine).
            assert time.monotonic() - committed < poll + 2.0, "the second app never saw the first's case"
            time.sleep(0.005)
        assert history_of(second, later)["party_prior_cases_max"] == before + 1
        catch_up(first)
        assert same(history_of(first, later), history_of(second, later))


def test_a_criminal_close_counts_for_the_party_next_case(start, db_url) -> None:
    later = repeat_case("X2", 5)
    with start(db_url) as client:
        intake, boss = make_key(client, "intake").headers, make_key(client, "supervisor", TOWN)
        item = client.post(
            SCORE, json=red_case("X1", registered_at=DAY.format(1), parties=later["parties"]), headers=intake
        ).json()["item"]
        assert client.post(f"/v1/items/{item['id']}/sign", headers=boss.headers).status_code == 200
        catch_up(client)
        before = history_of(client, later)
        closed = client.post(
            f"/v1/items/{item['id']}/close",
            json={"outcome": "民转刑", "escalated_at": "2025-06-13T22:00:00", "criminal_charge": "故意伤害"},
            headers=boss.headers,
        )
        assert closed.status_code == 200, closed.text
        assert facts(client)[-1] | {"id": 0, "recorded_at": None} == {
            "id": 0,
            "kind": "escalation",
            "case_id": "X1",
            "registered_at": None,
            "area_code": None,
            "parties": None,
            "police_calls_before": None,
            "mediation_attempts": None,
            "cues": None,
            "escalated_at": datetime(2025, 6, 13, 22, 0),
            "recorded_at": None,
        }
        catch_up(client)
        after = history_of(client, later)
    assert before["party_prior_escalations_max"] == 0 and after["party_prior_escalations_max"] == 1
    assert after["town_escalations_30d"] == before["town_escalations_30d"] + 1
    with start(db_url) as client:  # replayed after a restart: the same
        assert same(history_of(client, later), after)


def test_without_feed_history_facts_are_kept_but_the_history_stays_as_trained(start, sqlite_url) -> None:
    later = repeat_case("N2", 2)
    with start(sqlite_url, feed_history=False) as client:
        headers = make_key(client, "intake").headers
        before = history_of(client, later)
        assert client.post(SCORE, json=repeat_case("N1", 1), headers=headers).status_code == 200
        catch_up(client)
        assert same(history_of(client, later), before) and len(facts(client)) == 1
        assert client.get("/health/ready").json()["history"] == {
            "state": "as_trained",
            "facts_applied": 0,
            "lag_seconds": None,
        }
