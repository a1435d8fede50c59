"""Area isolation through the console, on SQLite and PostgreSQL: a county supervisor sees and acts
on no other county's item through any page or form (each answers as a missing item would, and
changes nothing), reads only its own areas' index and reports, and may read but not act on an
item escalated above its county."""

from __future__ import annotations

import re

from api_helpers import COUNTY, OTHER_COUNTY, OTHER_VILLAGE, TOWN, VILLAGE, VILLAGE_2, make_key, red_case
from console_helpers import audit_rows, login, make_user, post, store_archive, version_of
from fastapi.testclient import TestClient

OTHER_TOWN = "320623101000"
FORMS = {
    "sign": {},
    "note": {"text": "越权记录"},
    "escalate": {"reason": "越权提级"},
    "close": {"outcome": "化解"},
    "followup": {"text": "越权回访"},
}


def _main(html: str) -> str:
    return re.sub(r"\s+", " ", html.split("<main", 1)[1].split("</main>", 1)[0])


def _seed(client: TestClient) -> tuple[dict[str, int], str]:
    intake = make_key(client, "intake")
    items = {}
    for case_id, area in (("O1", VILLAGE), ("O2", VILLAGE_2), ("T1", OTHER_VILLAGE), ("T2", OTHER_VILLAGE)):
        r = client.post("/v1/cases/score", json=red_case(case_id, area_code=area), headers=intake.headers)
        items[case_id] = r.json()["item"]["id"]
    make_user(client, "chen.jie", "supervisor", COUNTY)
    return items, login(client, "chen.jie")


def test_another_countys_items_answer_as_missing_on_every_page_and_form(start, db_url: str) -> None:
    with start(db_url) as client:
        items, csrf = _seed(client)
        queue = client.get("/console/queue").text
        assert all(f">{c}<" in queue for c in ("O1", "O2")) and not any(
            f">{c}<" in queue for c in ("T1", "T2")
        )
        assert re.search(r"在办事项 <strong>2</strong> 件", queue)
        for area in (OTHER_COUNTY, OTHER_TOWN):
            assert client.get("/console/queue", params={"area": area}).status_code == 404
        missing = client.get("/console/items/999999")
        assert missing.status_code == 404
        for case_id in ("T1", "T2"):
            item_id = items[case_id]
            before = version_of(client, item_id)
            page = client.get(f"/console/items/{item_id}")
            assert page.status_code == 404 and _main(page.text) == _main(missing.text)
            assert client.get(f"/console/items/{item_id}/notice").status_code == 404
            for action, data in FORMS.items():
                r = post(client, f"/console/items/{item_id}/{action}", csrf, version=before, **data)
                assert (r.status_code, _main(r.text)) == (404, _main(missing.text)), action
            assert version_of(client, item_id) == before
            assert audit_rows(client, item_id=item_id, actor="chen.jie") == []
        # Its own items, by contrast, are there to act on.
        assert (
            post(
                client, f"/console/items/{items['O1']}/sign", csrf, version=version_of(client, items["O1"])
            ).status_code
            == 303
        )


def test_an_item_escalated_above_the_county_can_be_read_but_not_acted_on(start, db_url: str) -> None:
    with start(db_url) as client:
        items, csrf = _seed(client)
        item_id = items["O2"]
        for _ in range(2):  # town -> county -> city: beyond this supervisor's county
            r = post(client, f"/console/items/{item_id}/escalate", csrf, version=version_of(client, item_id))
            assert r.status_code == 303
        page = client.get(f"/console/items/{item_id}")
        assert page.status_code == 200 and 'action="/console/items/' not in page.text  # no form
        before = version_of(client, item_id)
        r = post(client, f"/console/items/{item_id}/sign", csrf, version=before)
        assert r.status_code == 403 and "由其负责处置" in r.text
        assert version_of(client, item_id) == before


def test_the_index_and_reports_show_only_the_users_areas(start, db_url: str) -> None:
    with start(db_url) as client:
        store_archive(
            client,
            [(COUNTY, "county", "320600000000", "通州区"), (TOWN, "town", COUNTY, "金沙街道"),
             (OTHER_COUNTY, "county", "320600000000", "海安市"), (OTHER_TOWN, "town", OTHER_COUNTY, "曲塘镇")],
        )  # fmt: skip
        make_user(client, "chen.jie", "supervisor", COUNTY)
        login(client, "chen.jie")
        ranking = client.get("/console/index").text  # the county's towns
        assert "金沙街道" in ranking and "曲塘镇" not in ranking
        assert "海安市" not in client.get("/console/index", params={"level": "county"}).text
        own = client.get(f"/console/index/areas/{COUNTY}")
        assert own.status_code == 200 and "金沙街道" in own.text and "曲塘镇" not in own.text
        assert "<svg" in own.text
        for code in (OTHER_COUNTY, OTHER_TOWN, "320600000000"):
            assert client.get(f"/console/index/areas/{code}").status_code == 404
        reports = client.get("/console/reports").text
        assert "通州区" in reports and "海安市" not in reports
        ids = [int(i) for i in re.findall(r'href="/console/reports/(\d+)"', reports)]
        assert len(ids) == 1
        mine = client.get(f"/console/reports/{ids[0]}")
        assert mine.status_code == 200 and "通州区周报" in mine.text
        assert mine.headers["content-security-policy"].startswith("default-src 'none'; style-src 'sha256-")
        pdf = client.get(f"/console/reports/{ids[0]}/pdf")
        assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
        for other in (ids[0] + 1, 999):
            assert client.get(f"/console/reports/{other}").status_code == 404
            assert client.get(f"/console/reports/{other}/pdf").status_code == 404
        chen = [e for e in audit_rows(client, actor="chen.jie") if e.action == "view"]
        assert {e.detail["page"] for e in chen} >= {"index", "index_area", "reports", "report", "report_pdf"}
