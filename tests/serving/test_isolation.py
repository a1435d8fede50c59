"""Area isolation through the API, on SQLite and PostgreSQL: a case belongs to the area it was first
registered in, an item outside a key's area answers as a missing one, and every read path (items,
notes, notice, feedback, audit) applies the key's area, for every role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from api_helpers import (
    COUNTY,
    OTHER_COUNTY,
    OTHER_VILLAGE,
    TOWN,
    TOWN_2,
    VILLAGE,
    VILLAGE_2,
    Key,
    make_key,
    red_case,
)
from fastapi.testclient import TestClient

OTHER_TOWN = "320623101000"
PHONE, ID_CARD = "13812345678", "320612198001011234"


@dataclass
class Areas:
    client: TestClient
    town_intake: Key
    other_intake: Key
    county_intake: Key
    town: Key
    other: Key
    other_admin: Key
    admin: Key

    def score(self, key: Key, body: dict) -> tuple[int, dict]:
        r = self.client.post("/v1/cases/score", json=body, headers=key.headers)
        return r.status_code, r.json()

    def get(self, path: str, key: Key, **params) -> tuple[int, object]:
        r = self.client.get(path, headers=key.headers, params=params)
        return r.status_code, r.json()

    def stored_case(self, case_id: str) -> tuple:
        with self.client.app.state.runtime.engine.connect() as conn:  # type: ignore[attr-defined]
            return tuple(
                conn.exec_driver_sql(
                    "SELECT area_code, registered_at, risk, level, reasons, n_scores FROM scored_cases "
                    f"WHERE case_id = '{case_id}'"
                ).one()
            )


@pytest.fixture
def a(start, db_url: str) -> Iterator[Areas]:
    with start(db_url) as client:
        yield Areas(
            client,
            make_key(client, "intake", TOWN),
            make_key(client, "intake", OTHER_COUNTY),
            make_key(client, "intake", COUNTY),
            make_key(client, "supervisor", TOWN),
            make_key(client, "supervisor", OTHER_COUNTY),
            make_key(client, "admin", OTHER_COUNTY),
            make_key(client, "admin"),
        )


def test_cross_area_takeover_is_refused_and_changes_nothing(a: Areas) -> None:
    """The reproduction of issue 9: another county's intake key posts a case_id of ours."""
    status, first = a.score(a.town_intake, red_case("T1"))
    item_id = first["item"]["id"]
    a.client.post(f"/v1/items/{item_id}/sign", headers=a.town.headers)
    a.client.post(f"/v1/items/{item_id}/notes", headers=a.town.headers, json={"text": "已约谈双方"})
    before = a.stored_case("T1")

    status, body = a.score(
        a.other_intake, red_case("T1", area_code=OTHER_VILLAGE, registered_at="2025-03-03T09:00")
    )
    assert (status, body["error"]) == (409, "conflict")
    assert body["message"] == (
        "case_id T1 is already registered to an area outside this key's scope; "
        "a case_id names one case on the whole platform: send this case under its own id"
    )
    assert TOWN not in body["message"] and VILLAGE not in body["message"]
    assert a.stored_case("T1") == before
    # ... and the other county still cannot reach the item, its notes or its notice.
    for path in (f"/v1/items/{item_id}", f"/v1/items/{item_id}/notice"):
        assert a.get(path, a.other)[0] == 404
    assert a.get("/v1/items", a.other)[1]["total"] == 0
    assert a.get("/v1/items", a.town)[1]["items"][0]["case_area_code"] == VILLAGE


def test_a_batch_with_another_areas_case_id_is_refused_whole(a: Areas) -> None:
    a.score(a.town_intake, red_case("T2"))
    r = a.client.post(
        "/v1/cases/score-batch",
        json={"cases": [red_case("T3", area_code=OTHER_VILLAGE), red_case("T2", area_code=OTHER_VILLAGE)]},
        headers=a.other_intake.headers,
    )
    assert r.status_code == 409 and "case_id T2" in r.json()["message"]
    assert a.get("/v1/items", a.admin)[1]["total"] == 1


def test_a_correction_within_the_callers_area_is_allowed_and_audited(a: Areas) -> None:
    item_id = a.score(a.county_intake, red_case("T4"))[1]["item"]["id"]
    status, body = a.score(a.county_intake, red_case("T4", area_code=VILLAGE_2))
    assert status == 200 and body["item"]["id"] == item_id
    assert (body["item"]["case_area_code"], body["item"]["area_code"]) == (VILLAGE_2, TOWN_2)
    entries = a.get("/v1/audit", a.admin, item_id=item_id)[1]["entries"]
    rescore = entries[0]
    assert (rescore["from_area"], rescore["to_area"]) == (TOWN, TOWN_2)
    assert rescore["detail"]["case_area"] == [VILLAGE, VILLAGE_2]
    # A town key may not move a case out of its town: the new area is outside its scope.
    status, body = a.score(a.town_intake, red_case("T5"))
    status, body = a.score(a.town_intake, red_case("T5", area_code=VILLAGE_2))
    assert (status, body["error"]) == (403, "forbidden")


def test_closed_items_are_not_rewritten_by_a_rescore(a: Areas) -> None:
    item_id = a.score(a.town_intake, red_case("T6"))[1]["item"]["id"]
    a.client.post(f"/v1/items/{item_id}/sign", headers=a.town.headers)
    a.client.post(f"/v1/items/{item_id}/close", headers=a.town.headers, json={"outcome": "化解"})
    before = a.stored_case("T6")
    status, body = a.score(a.town_intake, red_case("T6", registered_at="2025-03-03T08:45:00"))
    assert status == 200 and body["item"]["status"] == "已化解"
    assert body["warnings"][-1].endswith("the re-score did not reopen or change it")
    assert a.stored_case("T6") == before


def test_every_read_path_applies_the_keys_area_for_every_role(a: Areas) -> None:
    ours = a.score(a.town_intake, red_case("T7"))[1]["item"]["id"]
    theirs = a.score(a.other_intake, red_case("T8", area_code=OTHER_VILLAGE))[1]["item"]["id"]
    for item_id, key in ((ours, a.town), (theirs, a.other)):
        a.client.post(f"/v1/items/{item_id}/sign", headers=key.headers)
        a.client.post(f"/v1/items/{item_id}/close", headers=key.headers, json={"outcome": "化解"})
    # A scoped admin: its own area's items, labels and audit rows only.
    assert [i["id"] for i in a.get("/v1/items", a.other_admin)[1]["items"]] == [theirs]
    assert a.get(f"/v1/items/{ours}", a.other_admin)[0] == 404
    assert [r["case_id"] for r in a.get("/v1/feedback", a.other_admin)[1]] == ["T8"]
    audit = a.get("/v1/audit", a.other_admin)[1]
    assert {e["case_id"] for e in audit["entries"]} == {"T8"} and audit["total"] == len(audit["entries"])
    assert a.get("/v1/audit", a.other_admin, item_id=ours)[1] == {
        "total": 0,
        "limit": 100,
        "offset": 0,
        "entries": [],
    }
    csv = a.client.get("/v1/feedback", params={"format": "csv"}, headers=a.other_admin.headers).text
    assert "T8" in csv and "T7" not in csv
    # The admin for every area sees both.
    assert {e["case_id"] for e in a.get("/v1/audit", a.admin)[1]["entries"]} == {"T7", "T8"}


def test_notes_reasons_and_closing_notes_are_masked_on_every_read_path(a: Areas) -> None:
    item_id = a.score(a.town_intake, red_case("T9"))[1]["item"]["id"]
    h = a.town.headers
    a.client.post(f"/v1/items/{item_id}/sign", headers=h)
    a.client.post(
        f"/v1/items/{item_id}/notes", headers=h, json={"text": f"申请人电话{PHONE}，身份证{ID_CARD}"}
    )
    a.client.post(f"/v1/items/{item_id}/escalate", headers=h, json={"reason": "座机（0513）8888 1234 打不通"})
    county = make_key(a.client, "supervisor", COUNTY)
    a.client.post(f"/v1/items/{item_id}/sign", headers=county.headers)
    a.client.post(
        f"/v1/items/{item_id}/close",
        headers=county.headers,
        json={"outcome": "民转刑", "criminal_charge": "故意伤害", "note": "卡号 6222 0212 3456 7890"},
    )
    pages = [
        a.client.get(f"/v1/items/{item_id}", headers=h).text,
        a.client.get(f"/v1/items/{item_id}/notice", headers=h).text,
        a.client.get("/v1/audit", headers=a.admin.headers).text,
    ]
    for page in pages:
        assert PHONE not in page and ID_CARD not in page and "8888 1234" not in page
        assert "6222 0212 3456 7890" not in page
    detail = a.get(f"/v1/items/{item_id}", a.town)[1]
    assert [e["note"] for e in detail["history"] if e["note"]] == [
        "申请人电话138****5678，身份证320612********1234",
        "座机（0513）**** 1234 打不通",
        "卡号 6222 **** **** 7890",
    ]
    assert OTHER_TOWN not in pages[0]
