"""The 督办 queue through the API, on SQLite and PostgreSQL: the whole life cycle, filters and
pagination, area scopes and roles, the audit log, feedback labels and the 预警提示函."""

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
    VILLAGE_2,
    Clock,
    Key,
    case,
    make_key,
    red_case,
)
from fastapi.testclient import TestClient


@dataclass
class Queue:
    client: TestClient
    intake: Key
    town: Key
    county: Key
    other_county: Key
    analyst: Key
    admin: Key

    def score(self, body: dict) -> dict:
        r = self.client.post("/v1/cases/score", json=body, headers=self.intake.headers)
        assert r.status_code == 200, r.text
        return r.json()

    def get(self, path: str, key: Key, **params) -> tuple[int, dict]:
        r = self.client.get(path, headers=key.headers, params=params)
        return r.status_code, r.json()

    def post(self, path: str, key: Key, body: dict | None = None) -> tuple[int, dict]:
        r = self.client.post(path, headers=key.headers, json=body)
        return r.status_code, r.json()


@pytest.fixture
def q(start, db_url: str) -> Iterator[Queue]:
    with start(db_url) as client:
        yield Queue(
            client,
            make_key(client, "intake"),
            make_key(client, "supervisor", TOWN, "金沙街道综治中心"),
            make_key(client, "supervisor", COUNTY, "通州区综治中心"),
            make_key(client, "supervisor", OTHER_COUNTY),
            make_key(client, "analyst", COUNTY),
            make_key(client, "admin", None, "市综治中心"),
        )


def test_queue_life_cycle_from_warning_to_feedback_label(q: Queue, clock: Clock) -> None:
    item_id = q.score(red_case("L1"))["item"]["id"]
    status, page = q.get("/v1/items", q.town)
    assert status == 200 and [i["id"] for i in page["items"]] == [item_id]
    assert q.post(f"/v1/items/{item_id}/sign", q.town)[1]["status"] == "处置中"
    clock.advance(hours=1)
    assert q.post(f"/v1/items/{item_id}/notes", q.town, {"text": "已约谈双方，收缴菜刀"})[1]["feedback_at"]
    escalated = q.post(f"/v1/items/{item_id}/escalate", q.town, {"reason": "镇级难以稳控"})[1]
    assert (escalated["status"], escalated["area_code"]) == ("已升级", COUNTY)
    assert q.post(f"/v1/items/{item_id}/sign", q.county)[1]["signed_by"] == "通州区综治中心"
    clock.advance(hours=5)
    status, closed = q.post(
        f"/v1/items/{item_id}/close",
        q.county,
        {"outcome": "民转刑", "escalated_at": "2025-03-03T13:00:00", "criminal_charge": "故意伤害"},
    )
    assert (status, closed["status"], closed["outcome"], closed["light"]) == (200, "已关闭", "民转刑", None)

    status, detail = q.get(f"/v1/items/{item_id}", q.county)
    assert [e["action"] for e in detail["history"]] == ["open", "sign", "note", "escalate", "sign", "close"]
    assert detail["history"][2]["note"] == "已约谈双方，收缴菜刀"

    status, labels = q.get("/v1/feedback", q.analyst)
    served = {k: labels[0].pop(k) for k in ("risk", "level", "model_version")}
    assert (status, labels) == (
        200,
        [
            {
                "case_id": "L1",
                "outcome": "民转刑",
                "closed_at": "2025-03-03T15:00:00+08:00",
                "escalated": True,
                "escalated_at": "2025-03-03T13:00:00+08:00",
                "criminal_charge": "故意伤害",
            }
        ],
    )
    assert served["level"] == "红" and 0 < served["risk"] < 1 and served["model_version"]  # what was served
    status, log = q.get("/v1/audit", q.admin, item_id=item_id)
    actions = [(e["action"], e["actor"]) for e in reversed(log["entries"])]
    assert actions == [
        ("open", "intake-all"),
        ("read", "金沙街道综治中心"),
        ("sign", "金沙街道综治中心"),
        ("note", "金沙街道综治中心"),
        ("escalate", "金沙街道综治中心"),
        ("sign", "通州区综治中心"),
        ("close", "通州区综治中心"),
        ("read", "通州区综治中心"),
    ]
    assert all(e["request_id"] for e in log["entries"])


def test_list_filters_by_level_status_light_and_area_and_paginates(q: Queue, clock: Clock) -> None:
    ids = [
        q.score(red_case(f"F{i}", area_code=VILLAGE_2 if i == 3 else "320612001001"))["item"]["id"]
        for i in range(4)
    ]
    orange = q.score(case("F9", police_calls_before=5))["item"]["id"]
    q.post(f"/v1/items/{ids[0]}/sign", q.town)
    assert q.get("/v1/items", q.admin, level="橙")[1]["total"] == 1
    assert q.get("/v1/items", q.admin, level=["红", "橙"])[1]["total"] == 5
    assert [i["id"] for i in q.get("/v1/items", q.admin, status="处置中")[1]["items"]] == [ids[0]]
    assert [i["id"] for i in q.get("/v1/items", q.admin, area=TOWN_2)[1]["items"]] == [ids[3]]
    clock.advance(minutes=100)  # red items waiting for signature: 1 h 40 of 2 h gone
    amber = q.get("/v1/items", q.admin, light="黄")[1]
    assert sorted(i["id"] for i in amber["items"]) == sorted(ids[1:])
    assert {i["light"] for i in amber["items"]} == {"黄"}
    assert sorted(i["id"] for i in q.get("/v1/items", q.admin, light="绿")[1]["items"]) == [ids[0], orange]
    clock.advance(minutes=21)
    assert q.get("/v1/items", q.admin, light="红")[1]["total"] == 3
    page = q.get("/v1/items", q.admin, limit=2, offset=2)[1]
    assert (page["total"], page["limit"], page["offset"], len(page["items"])) == (5, 2, 2, 2)


def test_bad_list_filters_are_422_naming_each(q: Queue) -> None:
    status, body = q.get("/v1/items", q.admin, level="紫", light="蓝", area="3206", offset=-1)
    assert status == 422
    assert [(d["field"], d["value"]) for d in body["detail"]] == [
        ("area", "3206"),
        ("level[0]", "紫"),
        ("light[0]", "蓝"),
        ("offset", "-1"),
    ]
    assert body["detail"][1]["message"] == "level[0] must be one of '红', '橙', '黄', '蓝' or '无', got '紫'"


def test_a_page_larger_than_page_max_is_served_at_page_max(q: Queue) -> None:
    status, page = q.get("/v1/items", q.admin, limit=1000)
    assert (status, page["limit"]) == (200, 200)


def test_supervisor_sees_and_acts_only_under_their_county(q: Queue) -> None:
    mine = q.score(red_case("S1"))["item"]["id"]
    theirs = q.score(red_case("S2", area_code=OTHER_VILLAGE))["item"]["id"]
    assert [i["id"] for i in q.get("/v1/items", q.county)[1]["items"]] == [mine]
    assert [i["id"] for i in q.get("/v1/items", q.other_county)[1]["items"]] == [theirs]
    # Another area's item answers exactly as a missing one: its id cannot be probed.
    missing = (404, {"error": "not_found", "message": f"no supervision item {theirs + 100}", "detail": []})
    assert q.get(f"/v1/items/{theirs + 100}", q.county) == missing
    for path in (f"/v1/items/{theirs}", f"/v1/items/{theirs}/notice"):
        assert q.get(path, q.county) == (404, {**missing[1], "message": f"no supervision item {theirs}"})
    for action in ("sign", "escalate"):
        status, body = q.post(f"/v1/items/{theirs}/{action}", q.county)
        assert (status, body["message"]) == (404, f"no supervision item {theirs}")
    assert q.get("/v1/items", q.county, area=OTHER_COUNTY)[0] == 403


def test_town_keeps_sight_of_an_escalated_item_but_no_longer_acts_on_it(q: Queue) -> None:
    item_id = q.score(red_case("S3"))["item"]["id"]
    q.post(f"/v1/items/{item_id}/escalate", q.town)
    assert q.get(f"/v1/items/{item_id}", q.town)[0] == 200
    status, body = q.post(f"/v1/items/{item_id}/notes", q.town, {"text": "补充情况"})
    assert status == 403 and "outside this key's area" in body["message"]


def test_roles_decide_who_reads_acts_and_exports(q: Queue) -> None:
    item_id = q.score(red_case("R1"))["item"]["id"]
    assert q.get("/v1/items", q.intake)[0] == 403
    assert q.get("/v1/items", q.analyst)[0] == 200
    assert q.post(f"/v1/items/{item_id}/sign", q.analyst)[0] == 403
    assert q.get("/v1/feedback", q.town)[0] == 403
    assert q.get("/v1/audit", q.analyst)[0] == 403
    assert q.post(f"/v1/items/{item_id}/sign", q.admin)[0] == 200


def test_missing_item_is_404_and_a_wrong_transition_409(q: Queue) -> None:
    assert q.get("/v1/items/999", q.admin) == (
        404,
        {"error": "not_found", "message": "no supervision item 999", "detail": []},
    )
    assert q.get("/v1/no-such-thing", q.admin) == (
        404,
        {"error": "not_found", "message": "Not Found", "detail": []},
    )
    item_id = q.score(red_case("E1"))["item"]["id"]
    status, body = q.post(f"/v1/items/{item_id}/close", q.town, {"outcome": "化解"})
    assert (status, body["error"]) == (409, "conflict")
    assert body["message"] == f"close needs the item to be 处置中, item {item_id} is 待签收"
    q.post(f"/v1/items/{item_id}/sign", q.town)
    status, body = q.post(f"/v1/items/{item_id}/close", q.town, {"outcome": "没事了"})
    assert (status, body["detail"][0]["field"]) == (422, "outcome")


def test_feedback_labels_export_as_csv_in_contract_terms(q: Queue) -> None:
    item_id = q.score(red_case("X1"))["item"]["id"]
    q.post(f"/v1/items/{item_id}/sign", q.town)
    q.post(f"/v1/items/{item_id}/close", q.town, {"outcome": "化解"})
    r = q.client.get("/v1/feedback", headers=q.analyst.headers, params={"format": "csv"})
    header, row = r.text.splitlines()
    assert (
        header == "case_id,outcome,closed_at,escalated,escalated_at,criminal_charge,risk,level,model_version"
    )
    assert row.startswith("X1,化解,2025-03-03T09:00:00+08:00,false,,,0.") and row.endswith(",红,1")
    assert q.get("/v1/feedback", q.analyst, since="2025-03-04T00:00:00") == (200, [])


def test_notice_of_a_red_item_is_a_printable_page_with_numbers_masked(q: Queue) -> None:
    item_id = q.score(red_case("N1"))["item"]["id"]
    q.post(f"/v1/items/{item_id}/sign", q.town)
    q.post(f"/v1/items/{item_id}/notes", q.town, {"text": "申请人电话13812345678，身份证320612198001011234"})
    r = q.client.get(f"/v1/items/{item_id}/notice", headers=q.town.headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert "预警提示函" in page and "@media print" in page and "红色" in page
    assert "138****5678" in page and "320612********1234" in page
    assert "13812345678" not in page and "320612198001011234" not in page
    assert "http" not in page.replace("http-equiv", "")  # nothing fetched from outside
    assert "镇（街道）综治中心（区划代码 320612001000）" in page


def test_notice_is_only_for_red_and_orange_items(start, sqlite_url) -> None:
    deadlines = {"红": (2, 24), "橙": (12, 48), "黄": (24, 168), "蓝": (48, 336)}
    with start(sqlite_url, queue_level="蓝", deadlines_hours=deadlines) as client:
        # Thresholds that put every case without a hard flag at 蓝, whatever its risk.
        client.app.state.runtime.models.current.model.thresholds = {
            "红": 0.999,
            "橙": 0.998,
            "黄": 0.997,
            "蓝": 1e-12,
        }
        intake, admin = make_key(client, "intake"), make_key(client, "admin")
        item = client.post("/v1/cases/score", json=case("N2"), headers=intake.headers).json()["item"]
        assert item["level"] == "蓝"
        r = client.get(f"/v1/items/{item['id']}/notice", headers=admin.headers)
        assert (r.status_code, r.json()["message"]) == (
            409,
            f"a 预警提示函 is issued for 红/橙 items only; item {item['id']} is 蓝",
        )


def test_concurrent_sends_of_one_case_open_exactly_one_item(q: Queue) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def send(_: int) -> tuple[int, int | None]:
        r = q.client.post("/v1/cases/score", json=red_case("P1"), headers=q.intake.headers)
        return r.status_code, (r.json().get("item") or {}).get("id")

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    assert {status for status, _ in answers} == {200}
    assert len({item_id for _, item_id in answers}) == 1
    assert q.get("/v1/items", q.admin)[1]["total"] == 1
    log = q.get("/v1/audit", q.admin, action="open")[1]
    assert log["total"] == 1
