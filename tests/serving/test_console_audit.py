"""Every console action lands in the audit log under the user's name, on SQLite and PostgreSQL, and
the API's audit endpoint reads those rows (their actions are in its schema); free text is stored
as typed and masked on every way out."""

from __future__ import annotations

from api_helpers import COUNTY, TOWN, VILLAGE, make_key, red_case
from console_helpers import audit_rows, csrf_of, login, make_user, post, store_archive, version_of
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from serving.tables import HistoryFact, Item

PHONE = "13812345678"


def _count(client: TestClient, table: type) -> int:
    with client.app.state.runtime.session() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def _supervisor_day(client: TestClient, item_id: int) -> None:
    bad = client.get("/console/login")
    client.post(
        "/console/login", data={"username": "chen.jie", "password": "wrong", "csrf_token": csrf_of(bad.text)}
    )
    csrf = login(client, "chen.jie")
    client.get("/console/queue")
    client.get(f"/console/items/{item_id}")
    for action, data in (
        ("sign", {}),
        ("note", {"text": f"已约谈，电话{PHONE}"}),
        ("escalate", {"reason": "需县级协调"}),
        ("sign", {}),
        ("close", {"outcome": "化解", "note": "已和解"}),
        ("followup", {"text": "回访平稳"}),
    ):
        r = post(
            client, f"/console/items/{item_id}/{action}", csrf, version=version_of(client, item_id), **data
        )
        assert r.status_code == 303, (action, r.text)
    client.get(f"/console/items/{item_id}/notice")
    client.get("/console/index")
    client.get("/console/reports")
    post(client, "/console/logout", csrf)


def test_every_console_action_is_audited_under_the_users_name(start, db_url: str) -> None:
    with start(db_url) as client:
        intake = make_key(client, "intake")
        item_id = client.post("/v1/cases/score", json=red_case("AU1"), headers=intake.headers).json()["item"][
            "id"
        ]
        store_archive(
            client, [(COUNTY, "county", "320600000000", "通州区"), (TOWN, "town", COUNTY, "金沙街道")]
        )
        users = {"chen.jie": make_user(client, "chen.jie", "supervisor", COUNTY)}
        users["lin.fang"] = make_user(client, "lin.fang", "intake", COUNTY)
        users["gao.yan"] = make_user(client, "gao.yan", "analyst", None)
        _supervisor_day(client, item_id)

        clerk = TestClient(client.app)
        csrf = login(clerk, "lin.fang")
        items, facts = _count(client, Item), _count(client, HistoryFact)
        form = {"case_id": "试算-1", "registered_at": "2025-03-03T08:00", "area_code": VILLAGE, "source": "群众来访",
                "category": "邻里纠纷", "narrative": f"对方扬言要杀了他全家，还拿着菜刀，电话{PHONE}", "n_people": "2",
                "police_calls_before": "1", "mediation_attempts": "0", "p0_type": "自然人", "p1_type": "自然人"}  # fmt: skip
        r = post(clerk, "/console/assess", csrf, **form)
        assert r.status_code == 200 and "评估结果" in r.text and "至少红色" in r.text
        assert PHONE not in r.text and "138****5678" in r.text
        assert (_count(client, Item), _count(client, HistoryFact)) == (
            items,
            facts,
        )  # a dry run: nothing kept
        analyst = TestClient(client.app)
        login(analyst, "gao.yan")
        assert analyst.get("/console/model").status_code == 200

        by_user = {name: [e.action for e in audit_rows(client, actor=name)] for name in users}
        assert by_user["chen.jie"] == [  # the queue read on landing after login, then the queue, the item
            "login_failed", "login", "read", "read", "read", "sign", "note", "escalate", "sign", "close", "followup",
            "notice", "read", "view", "view", "logout",
        ]  # fmt: skip
        assert by_user["lin.fang"] == ["login", "assess"]
        assert by_user["gao.yan"] == ["login", "view", "view"]  # the index on landing, the model page
        rows = [e for name in users for e in audit_rows(client, actor=name)]
        assert all(e.user_id == users[e.actor] and e.key_id is None for e in rows)
        assess = next(e for e in rows if e.action == "assess")
        assert (
            assess.detail["level"] == "红"
            and "narrative" not in str(assess.detail)
            and PHONE not in str(assess.detail)
        )
        note = next(e for e in rows if e.action == "note")
        assert note.note == f"已约谈，电话{PHONE}"  # stored as typed; every read path masks it

        admin = make_key(client, "admin")
        entries = client.get("/v1/audit", headers=admin.headers, params={"limit": 200}).json()["entries"]
        assert {e["actor"] for e in entries} >= set(users) and PHONE not in str(entries)
        detail = client.get(f"/v1/items/{item_id}", headers=admin.headers).json()
        assert [e["action"] for e in detail["history"]][-2:] == ["close", "followup"]
