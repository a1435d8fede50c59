"""Bad input never gives a 500: each malformed value is a 4xx naming the field and the rule, and an
error body never carries free text or anything it could not encode. Ids beyond the columns' range
run on both backends (SQLite overflows at 2^63, PostgreSQL's integer at 2^31)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from api_helpers import RED_FLAG, case, make_key, party, red_case
from fastapi.testclient import TestClient

SCORE = "/v1/cases/score"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return make_key(client, "admin").headers


def raw(client: TestClient, headers: dict[str, str], text: str, path: str = SCORE) -> Any:
    return client.post(path, content=text.encode("utf-8"), headers=headers | JSON)


@pytest.mark.parametrize(
    "content_type",
    [None, "application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"],
)
@pytest.mark.parametrize(
    "path", [SCORE, "/v1/cases/score-batch", "/v1/items/1/notes", "/v1/items/1/escalate"]
)
def test_a_body_not_sent_as_json_is_415_naming_the_body(client, admin, path, content_type) -> None:
    headers = admin | ({"Content-Type": content_type} if content_type else {})
    r = client.post(path, content=json.dumps(case("W1")).encode(), headers=headers)
    rule = "the request body must be JSON, sent with Content-Type: application/json"
    assert r.status_code == 415
    assert r.json() == {
        "error": "unsupported_media_type",
        "message": rule,
        "detail": [{"field": "body", "value": None, "message": rule}],
    }


@pytest.mark.parametrize(
    ("literal", "message"),
    [
        ("NaN", "amount_yuan must be a finite number"),
        ("Infinity", "amount_yuan must be a finite number"),
        ("-Infinity", "amount_yuan must be a finite number"),
        ("1e400", "amount_yuan must be a finite number"),
        ("1" * 400, "amount_yuan is out of range"),
        ("1" * 20, "amount_yuan must be <= 1e+13"),
    ],
)
def test_non_finite_and_oversized_numbers_are_422(client, admin, literal, message) -> None:
    text = json.dumps(case("W2")).replace('"amount_yuan": 1200', f'"amount_yuan": {literal}')
    r = raw(client, admin, text)
    assert (r.status_code, r.json()["detail"]) == (
        422,
        [{"field": "amount_yuan", "value": None, "message": message}],
    )


def test_a_number_beyond_4300_digits_is_400_naming_the_body(client, admin) -> None:
    r = raw(client, admin, json.dumps(case("W3")).replace('"n_people": 3', '"n_people": ' + "7" * 4301))
    assert r.status_code == 400
    assert r.json()["detail"] == [
        {
            "field": "body",
            "value": None,
            "message": "the body could not be read as JSON (a number may be too long: at most 4300 digits)",
        }
    ]


@pytest.mark.parametrize(
    ("field", "bad"),
    [("case_id", "C\\u0000"), ("case_id", "C\\ud800"), ("narrative", "\\udfff吵架"), ("source", "\\u0000")],
)
def test_nul_and_lone_surrogates_are_422_naming_the_field(client, admin, field, bad) -> None:
    body = json.dumps(case("W4"), ensure_ascii=True)
    body = body.replace(f'"{field}": ', f'"{field}": "{bad}", "_was": ', 1)
    r = raw(client, admin, body)
    assert r.status_code == 422, r.text
    (detail,) = [d for d in r.json()["detail"] if d["field"] == field]
    assert detail["value"] is None


def test_a_registration_in_the_future_beyond_the_clock_tolerance_is_422(client, admin) -> None:
    # The test clock is 2025-03-03 09:00 Shanghai; the tolerance is 10 minutes.
    assert (
        client.post(SCORE, json=case("W5", registered_at="2025-03-03T09:09:00"), headers=admin).status_code
        == 200
    )
    r = client.post(SCORE, json=case("W6", registered_at="2099-01-01T00:00:00"), headers=admin)
    assert r.json()["detail"] == [
        {
            "field": "registered_at",
            "value": "2099-01-01T00:00:00",
            "message": "registered_at must not lie in the future (more than 10 minutes ahead of the server's "
            "clock), got '2099-01-01T00:00:00'",
        }
    ]


def test_n_parties_contradicting_the_party_list_and_a_long_party_id_are_422(client, admin) -> None:
    r = client.post(SCORE, json=case("W7", n_parties=3), headers=admin)
    assert r.json()["detail"] == [
        {
            "field": "n_parties",
            "value": 3,
            "message": "n_parties must equal the number of parties listed (2), got 3",
        }
    ]
    assert client.post(SCORE, json=case("W8", n_parties=3, parties=[]), headers=admin).status_code == 200
    r = client.post(SCORE, json=case("W9", parties=[party(1, party_id="p" * 65), party(2)]), headers=admin)
    assert r.json()["detail"] == [
        {
            "field": "parties[0].party_id",
            "value": None,
            "message": "parties[0].party_id must be at most 64 characters",
        }
    ]


def test_an_error_body_never_echoes_the_narrative(client, admin) -> None:
    long = RED_FLAG * 200  # over 5000 characters, with a phone number in it
    r = client.post(SCORE, json=case("W10", long, category=""), headers=admin)
    assert r.status_code == 422
    assert "13812345678" not in r.text and RED_FLAG[:8] not in r.text
    assert [d["field"] for d in r.json()["detail"]] == ["category", "narrative"]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/items/9223372036854775808",
        "/v1/items/2147483648",
        "/v1/items/2147483648/notice",
        "/v1/items?offset=9223372036854775808",
        "/v1/items?limit=99999999999999999999",
        "/v1/audit?item_id=2147483648",
        "/v1/audit?key_id=9223372036854775808",
    ],
)
def test_ids_beyond_the_columns_range_are_422_on_every_backend(start, db_url, path) -> None:
    with start(db_url) as client:
        r = client.get(path, headers=make_key(client, "admin").headers)
        assert r.status_code == 422 and r.json()["detail"][0]["message"].endswith(("<= 2147483647", "'")), (
            r.text
        )
        for action in ("sign", "escalate"):
            assert (
                client.post(
                    f"/v1/items/2147483648/{action}", headers=make_key(client, "admin").headers
                ).status_code
                == 422
            )


@pytest.mark.parametrize("query", ["action=%00", "area=3206%0012001", "since=2025-01-01%00", "level=%00"])
def test_nul_characters_in_query_parameters_are_422(start, db_url, query) -> None:
    with start(db_url) as client:
        headers = make_key(client, "admin").headers
        path = (
            "/v1/audit" if query.startswith("action") else "/v1/feedback" if "since" in query else "/v1/items"
        )
        assert client.get(f"{path}?{query}", headers=headers).status_code == 422


def test_blank_notes_and_reasons_are_refused(start, db_url) -> None:
    with start(db_url) as client:
        admin = make_key(client, "admin").headers
        item_id = client.post(SCORE, json=red_case("W11"), headers=admin).json()["item"]["id"]
        client.post(f"/v1/items/{item_id}/sign", headers=admin)
        for path, body in (
            ("notes", {"text": " \n\t "}),
            ("notes", {"text": ""}),
            ("escalate", {"reason": "  "}),
        ):
            r = client.post(f"/v1/items/{item_id}/{path}", json=body, headers=admin)
            assert r.status_code == 422 and r.json()["detail"][0]["value"] is None
        item = client.get(f"/v1/items/{item_id}", headers=admin).json()
        assert item["feedback_at"] is None and [e["action"] for e in item["history"]] == ["open", "sign"]


def test_closing_as_criminal_without_a_time_never_stores_one_before_registration(start, db_url) -> None:
    with start(db_url) as client:
        admin = make_key(client, "admin").headers
        # Registered 5 minutes ahead of the server's clock (within the tolerance).
        body = red_case("W12", registered_at="2025-03-03T09:05:00")
        item_id = client.post(SCORE, json=body, headers=admin).json()["item"]["id"]
        client.post(f"/v1/items/{item_id}/sign", headers=admin)
        closed = client.post(f"/v1/items/{item_id}/close", json={"outcome": "民转刑"}, headers=admin).json()
        assert closed["escalated_at"] == "2025-03-03T09:05:00+08:00" >= closed["registered_at"]
