"""POST /v1/cases/score and /score-batch against the real trained model: the answer, the hard
flags, idempotency by case_id, and the error bodies (401/403/413/422/503)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from api_helpers import BENIGN, OTHER_VILLAGE, RED_FLAG, TOWN, case, make_key, party, red_case
from fastapi.testclient import TestClient

from risk.levels import LEVELS

SCORE = "/v1/cases/score"


@pytest.fixture
def intake(client: TestClient) -> dict[str, str]:
    return make_key(client, "intake").headers


def post(client: TestClient, headers: dict[str, str], body: dict[str, Any], path: str = SCORE) -> Any:
    return client.post(path, json=body, headers=headers)


def test_score_answers_risk_level_reasons_model_and_thresholds(client: TestClient, intake, registry) -> None:
    r = post(client, intake, case("C1"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["case_id"] == "C1" and 0.0 <= body["risk"] <= 1.0 and body["level"] in LEVELS
    assert body["model"] == {"name": "dispute-escalation", "version": registry.version, "horizon_days": 90}
    assert list(body["thresholds"]) == ["红", "橙", "黄", "蓝"]
    assert body["reasons"] and all(r["direction"] in ("升高", "降低") and r["text"] for r in body["reasons"])
    assert body["flags"] == [] and body["warnings"] == []


def test_threat_with_weapon_is_red_names_the_rule_and_opens_an_item(client: TestClient, intake) -> None:
    body = post(client, intake, red_case("C2")).json()
    assert body["level"] == "红"
    assert [f["code"] for f in body["flags"]] == ["threat_with_weapon"]
    item = body["item"]
    assert body["item_created"] is True
    assert (item["area_code"], item["status"], item["level"], item["light"]) == (TOWN, "待签收", "红", "绿")
    assert (item["respond_by"], item["feedback_by"]) == (
        "2025-03-03T11:00:00+08:00",
        "2025-03-04T09:00:00+08:00",
    )


def test_same_case_sent_twice_is_rescored_into_the_same_item(client: TestClient, intake) -> None:
    first = post(client, intake, red_case("C3")).json()
    second = post(client, intake, red_case("C3")).json()
    assert second["item_created"] is False and second["item"]["id"] == first["item"]["id"]
    admin = make_key(client, "admin").headers
    assert client.get("/v1/items", headers=admin).json()["total"] == 1


def test_rescore_that_looks_harmless_keeps_the_open_red_item_and_says_so(client: TestClient, intake) -> None:
    item_id = post(client, intake, red_case("C4")).json()["item"]["id"]
    body = post(client, intake, case("C4", BENIGN)).json()
    assert body["item"]["level"] == "红" and body["level"] != "红"
    assert f"item {item_id} stays at 红" in body["warnings"][0]


def test_rescore_raises_an_open_orange_item_to_red(client: TestClient, intake) -> None:
    first = post(client, intake, case("C5", police_calls_before=3)).json()
    assert first["level"] == "橙" and [f["code"] for f in first["flags"]] == ["repeat_police_calls"]
    second = post(client, intake, red_case("C5", police_calls_before=3)).json()
    assert (second["item"]["id"], second["item"]["level"]) == (first["item"]["id"], "红")


def test_unseen_category_and_source_become_other_with_a_warning(client: TestClient, intake) -> None:
    body = post(client, intake, case("C6", category="宠物纠纷", source="微信群")).json()
    assert body["warnings"] == [
        "category '宠物纠纷' is not in the data contract; treated as 其他",
        "source '微信群' is not in the data contract; treated as 其他",
    ]


def test_bad_fields_are_each_named_with_the_rule_and_free_text_is_never_echoed(
    client: TestClient, intake
) -> None:
    bad = case("C7", "  ", amount_yuan=-3, area_code="32061200100", parties=[party(1), party(2, role="路人")])
    r = post(client, intake, bad)
    assert r.status_code == 422
    assert r.json() == {
        "error": "invalid_input",
        "message": "4 invalid field(s)",
        "detail": [
            {
                "field": "area_code",
                "value": "32061200100",
                "message": "area_code must be the 12-digit 统计用区划代码 of a town or village, got '32061200100'",
            },
            {
                "field": "narrative",
                "value": None,
                "message": "narrative must not be blank and must not contain control characters other than line breaks",
            },
            {"field": "amount_yuan", "value": -3, "message": "amount_yuan must be >= 0, got -3"},
            {
                "field": "parties[1].role",
                "value": "路人",
                "message": "parties[1].role must be one of '申请方', '被申请方' or '第三方', got '路人'",
            },
        ],
    }


def test_contract_rules_beyond_the_schema_still_apply(client: TestClient, intake) -> None:
    r = post(client, intake, case("C7b", registered_at="2025-02-30T08:00:00"))
    assert r.json()["detail"] == [
        {
            "field": "registered_at",
            "value": "2025-02-30T08:00:00",
            "message": "registered_at must be a real calendar date and time, got '2025-02-30T08:00:00'",
        }
    ]


def test_wrong_json_types_are_422_in_the_same_shape(client: TestClient, intake) -> None:
    r = post(client, intake, case("C8", n_people=True, n_parties="2", parties={"a": 1}))
    assert r.status_code == 422
    assert r.json()["detail"] == [
        {
            "field": "n_parties",
            "value": "2",
            "message": "n_parties must be a JSON number, not a string or a boolean, got '2'",
        },
        {
            "field": "n_people",
            "value": True,
            "message": "n_people must be a JSON number, not a string or a boolean, got True",
        },
        {"field": "parties", "value": None, "message": "parties: Input should be a valid list"},
    ]


def test_body_that_is_not_json_is_422(client: TestClient, intake) -> None:
    r = client.post(SCORE, content=b"{not json", headers=intake | {"Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"] == [
        {
            "field": "body",
            "value": None,
            "message": "the body must be valid JSON: Expecting property name enclosed in double quotes",
        }
    ]


def test_oversized_body_is_413_before_parsing(start, sqlite_url) -> None:
    with start(sqlite_url, max_body_bytes=2048) as client:
        headers = make_key(client, "intake").headers
        big = case("C9", "吵架" * 2000)
        r = client.post(SCORE, json=big, headers=headers)
        assert r.status_code == 413
        assert r.json() == {
            "error": "payload_too_large",
            "message": "the request body must be at most 2048 bytes",
            "detail": [],
        }
        chunked = client.post(
            SCORE,
            content=iter([b"{" + b" " * 3000, b"}"]),
            headers=headers | {"Content-Type": "application/json"},
        )
        assert chunked.status_code == 413


def test_missing_or_wrong_key_is_401(client: TestClient) -> None:
    r = post(client, {}, case("C10"))
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert r.json() == {
        "error": "unauthorized",
        "detail": [],
        "message": "an API key is required: send 'Authorization: Bearer <key>'",
    }
    r = post(client, {"Authorization": "Bearer drk_not-a-key"}, case("C10"))
    assert (r.status_code, r.json()["message"]) == (401, "the API key is not valid")


def test_supervisor_may_not_score_and_intake_is_held_to_its_area(client: TestClient) -> None:
    r = post(client, make_key(client, "supervisor", TOWN).headers, case("C11"))
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    town_intake = make_key(client, "intake", TOWN).headers
    assert post(client, town_intake, case("C12")).status_code == 200
    r = post(client, town_intake, case("C13", area_code=OTHER_VILLAGE))
    assert r.status_code == 403
    assert r.json()["message"] == f"case C13 in area {OTHER_VILLAGE} is outside this key's area {TOWN}"


def test_batch_scores_every_case_and_opens_their_items(client: TestClient, intake) -> None:
    cases = [red_case("B1"), case("B2"), red_case("B3")]
    r = post(client, intake, {"cases": cases}, "/v1/cases/score-batch")
    assert r.status_code == 200
    results = r.json()["results"]
    assert [x["case_id"] for x in results] == ["B1", "B2", "B3"]
    assert [x["item_created"] for x in results if x["level"] == "红"] == [True, True]


def test_batch_with_one_bad_case_is_rejected_whole(client: TestClient, intake) -> None:
    r = post(client, intake, {"cases": [red_case("B4"), case("B5", amount_yuan=-1)]}, "/v1/cases/score-batch")
    assert r.status_code == 422
    assert [d["field"] for d in r.json()["detail"]] == ["cases[1].amount_yuan"]
    admin = make_key(client, "admin").headers
    assert client.get("/v1/items", headers=admin).json()["total"] == 0


def test_batch_over_the_limit_or_with_repeated_ids_is_422(start, sqlite_url) -> None:
    with start(sqlite_url, batch_max_cases=2) as client:
        headers = make_key(client, "intake").headers
        r = post(client, headers, {"cases": [case("B6"), case("B7"), case("B8")]}, "/v1/cases/score-batch")
        assert r.json()["detail"] == [
            {"field": "cases", "value": 3, "message": "cases must hold at most 2 cases, got 3"}
        ]
        r = post(client, headers, {"cases": [case("B6"), case("B6")]}, "/v1/cases/score-batch")
        assert r.json()["detail"][0]["field"] == "cases[1].case_id"


def test_without_a_model_ready_fails_and_scoring_answers_503(start, sqlite_url) -> None:
    with start(sqlite_url, model_uri="models:/dispute-escalation/999") as client:
        assert client.get("/health/live").status_code == 200
        ready = client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json() == {
            "error": "not_ready",
            "message": "model: failed to load; see the server log",
            "detail": [
                {"field": "model", "value": None, "message": "model: failed to load; see the server log"}
            ],
        }
        r = post(client, make_key(client, "intake").headers, case("C14"))
        assert r.status_code == 503 and r.json()["error"] == "model_unavailable"
        assert r.json()["message"] == "no model is loaded: loading failed; see the server log"
        # States only: the model URI and the tracking store (which may hold a password) stay in the log.
        for body in (r.text, ready.text):
            assert "models:/" not in body and "sqlite" not in body and "mlflow" not in body


def test_narrative_and_names_are_not_stored(client: TestClient, intake) -> None:
    post(client, intake, red_case("C15"))
    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        dump = "\n".join(
            str(row)
            for table in ("scored_cases", "items", "audit_log")
            for row in conn.exec_driver_sql(f"SELECT * FROM {table}")
        )
    assert "C15" in dump
    assert RED_FLAG[:8] not in dump and "13812345678" not in dump and "C15-a" not in dump


def test_an_unexpected_failure_is_a_500_in_the_same_shape_logged_without_values(
    client: TestClient, intake, caplog
) -> None:
    client.app.state.runtime.models.current.model.thresholds = {}  # a broken model: level_for fails
    with caplog.at_level(logging.ERROR, logger="serving.errors"):
        r = post(client, intake, red_case("C18"))
    assert r.status_code == 500 and r.headers["x-request-id"]
    assert r.json() == {
        "error": "internal_error",
        "detail": [],
        "message": "internal error; see the server log with this request id",
    }
    (record,) = [rec for rec in caplog.records if rec.getMessage() == "unhandled error"]
    assert record.error.startswith("builtins.KeyError at ") and "levels.py" in record.error
