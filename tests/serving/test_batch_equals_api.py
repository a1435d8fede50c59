"""One scoring policy everywhere: the same cases scored through the intake API (one at a time, each
fed into the live history) and through batch scoring (``risk score``'s path) give the same risk,
model level, hard flags, final level, reasons, model name and version."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pandas as pd
import pytest
from api_helpers import make_key

sys.path.insert(0, str(Path(__file__).parents[1] / "golden"))
from golden_cases import api_bodies, held_out, now_for  # noqa: E402

from features.contract import load_dataset  # noqa: E402
from features.records import nested_tables  # noqa: E402
from training.score import apply_policy  # noqa: E402


@pytest.fixture(scope="module")
def bodies(trained):
    dataset = load_dataset(trained.data, write_rejects=False)
    cases, parties = held_out(dataset.cases, dataset.parties, trained.as_of)
    return api_bodies(cases, parties)


def test_batch_scoring_answers_every_field_as_the_api(trained, bodies, start, sqlite_url, clock) -> None:
    clock.now = now_for(pd.DataFrame({"registered_at": pd.to_datetime([b["registered_at"] for b in bodies])}))
    with start(
        sqlite_url, feed_history=True, model_uri=f"models:/dispute-escalation/{trained.version}"
    ) as client:
        headers = make_key(client, "intake").headers
        api = []
        for body in bodies:
            response = client.post("/v1/cases/score", json=body, headers=headers)
            assert response.status_code == 200, response.text
            api.append(response.json())
            client.app.state.runtime.follower.catch_up()  # type: ignore[attr-defined]
    cases, parties = nested_tables(pd.DataFrame(bodies))
    model = trained.model
    assessed = model.assess(cases, parties, history=copy.deepcopy(model.history))
    batch = apply_policy(model, cases, parties, assessed, trained.version).to_dict("records")
    assert len(batch) == len(api) and sum(a["level"] != "无" for a in api) >= 3  # warnings are exercised
    assert any(a["flags"] for a in api)
    for got, want in zip(batch, api, strict=True):
        assert got["case_id"] == want["case_id"]
        assert got["risk"] == pytest.approx(want["risk"], rel=1e-9, abs=1e-12)
        assert (got["level"], got["model_level"]) == (want["level"], want["model_level"])
        assert got["flags"] == ";".join(f["code"] for f in want["flags"])
        assert got["reasons"] == "；".join(f"{r['text']}（{r['direction']}）" for r in want["reasons"])
        assert (got["model_name"], got["model_version"]) == (want["model"]["name"], want["model"]["version"])
