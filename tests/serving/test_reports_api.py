"""The weekly report archive and its API: ``store_report`` keeps one report per week and scope,
and GET /v1/reports, /v1/reports/weekly, /v1/reports/{id}.html and .pdf answer with the reports
the key's area may read, on SQLite and PostgreSQL. The reports are weekly_report_factory's."""

from __future__ import annotations

from dataclasses import replace

import pytest
from api_helpers import make_key
from sqlalchemy import func, select
from weekly_report_factory import (
    HAIAN,
    ID_MASKED,
    ID_NUMBER,
    PHONE,
    PHONE_MASKED,
    QUTANG,
    RUDONG,
    WEEK,
    weekly_inputs,
)

from risk.weekly_report import build_weekly_report
from serving.report_archive import store_report
from serving.tables import WeeklyReportRow

PDF = b"%PDF-1.7\n% a stand-in for Chromium's print\n%%EOF\n"
SCOPES = (None, HAIAN, QUTANG, RUDONG)


def report(area: str | None = None, week: str = WEEK):
    return build_weekly_report(week, **weekly_inputs(), area=area)


def _store_all(client) -> dict[str | None, int]:
    """Every area's report of WEEK (only the every-area one without a PDF); ids by scope."""
    ids = {}
    with client.app.state.runtime.session() as session:
        for area in SCOPES:
            page = f"<!doctype html><title>周研判 {area or '全部辖区'}</title>"
            row = store_report(session, report(area), page, None if area is None else PDF, "5")
            ids[area] = row.id
    return ids


def test_a_county_key_reads_its_own_and_its_towns_reports_only(start, db_url) -> None:
    with start(db_url) as client:
        ids = _store_all(client)
        haian = make_key(client, "analyst", HAIAN)
        listed = client.get("/v1/reports", headers=haian.headers).json()
        own = client.get(
            "/v1/reports/weekly", params={"week": WEEK}, headers=haian.headers
        )  # area: the key's
        town = client.get("/v1/reports/weekly", params={"area": QUTANG}, headers=haian.headers)
        other = client.get("/v1/reports/weekly", params={"week": WEEK, "area": RUDONG}, headers=haian.headers)
        pages = {a: client.get(f"/v1/reports/{ids[a]}.html", headers=haian.headers) for a in SCOPES}
        pdfs = {a: client.get(f"/v1/reports/{ids[a]}.pdf", headers=haian.headers) for a in SCOPES}
        never = client.get("/v1/reports/999999.html", headers=haian.headers)
    assert listed["total"] == 2 and [r["scope_code"] for r in listed["reports"]] == [HAIAN, QUTANG]
    assert (
        own.status_code == 200 and own.json()["scope_code"] == HAIAN and own.json()["scope_name"] == "海安市"
    )
    assert town.status_code == 200 and town.json()["id"] == ids[QUTANG]
    assert other.status_code == 404
    assert other.json() == {
        "error": "not_found",
        "message": f"no weekly report for area {RUDONG} in week {WEEK}",
        "detail": [],
    }
    assert {a: r.status_code for a, r in pages.items()} == {None: 404, HAIAN: 200, QUTANG: 200, RUDONG: 404}
    assert pages[None].json() == never.json() | {"message": f"no weekly report {ids[None]}"}
    assert f"周研判 {HAIAN}" in pages[HAIAN].text
    assert pages[HAIAN].headers["content-type"] == "text/html; charset=utf-8"
    assert pdfs[HAIAN].content == PDF and pdfs[HAIAN].headers["content-type"] == "application/pdf"
    assert pdfs[HAIAN].headers["content-disposition"] == f'attachment; filename="weekly-{WEEK}-{HAIAN}.pdf"'
    assert pdfs[RUDONG].status_code == 404


def test_the_every_area_report_is_for_keys_without_an_area_limit(start, db_url) -> None:
    with start(db_url) as client:
        ids = _store_all(client)
        admin = make_key(client, "admin")
        listed = client.get("/v1/reports", params={"limit": 2, "offset": 1}, headers=admin.headers).json()
        latest = client.get("/v1/reports/weekly", headers=admin.headers).json()
        no_pdf = client.get(f"/v1/reports/{ids[None]}.pdf", headers=admin.headers)
    assert listed["total"] == 4 and (listed["limit"], listed["offset"]) == (2, 1)
    assert [r["scope_code"] for r in listed["reports"]] == [RUDONG, HAIAN]  # after the every-area one
    assert latest["id"] == ids[None] and latest["scope_code"] is None and latest["scope_name"] == "全部辖区"
    assert latest["html_url"] == f"/v1/reports/{ids[None]}.html" and latest["pdf_url"] is None
    assert no_pdf.status_code == 404
    assert no_pdf.json()["message"] == f"weekly report {ids[None]} was stored without a PDF"


def test_the_report_json_holds_the_headline_and_masked_section_tables(start, db_url) -> None:
    with start(db_url) as client:
        ids = _store_all(client)
        with client.app.state.runtime.session() as session:  # a row stored unmasked, by hand
            row = session.get(WeeklyReportRow, ids[HAIAN])
            assert row is not None and PHONE not in str(row.sections)  # masked as it was stored
            row.sections = {**row.sections, "warnings": [{"reasons": f"电话{PHONE}，身份证{ID_NUMBER}"}]}
            row.health_warnings = [f"联系{PHONE}"]
            session.commit()
        analyst = make_key(client, "analyst", HAIAN)
        body = client.get("/v1/reports/weekly", params={"week": WEEK}, headers=analyst.headers).json()
        full = client.get("/v1/reports/weekly", headers=make_key(client, "admin").headers).json()
    assert body["sections"]["warnings"] == [{"reasons": f"电话{PHONE_MASKED}，身份证{ID_MASKED}"}]
    assert body["health_warnings"] == [f"联系{PHONE_MASKED}"]
    headline = {h["metric"]: h for h in full["headline"]}
    assert headline["cases"] == {
        "metric": "cases",
        "label": "本周登记纠纷（件）",
        "value": 3.0,
        "previous": 1.0,
        "change": 2.0,
    }
    assert headline["overdue_items"]["previous"] is None
    assert set(full["sections"]) == {
        "ranking", "trends", "categories", "warnings", "overdue", "overdue_by_area", "model_health", "hierarchy",
    }  # fmt: skip
    warning = next(w for w in full["sections"]["warnings"] if w["case_id"] == "C-47-1")
    assert PHONE_MASKED in warning["reasons"] and warning["registered_at"] == "2026-11-17T09:30:00"
    assert full["score_drift"] == pytest.approx(0.042) and full["model_version"] == "5"


def test_storing_a_week_and_scope_again_replaces_the_report_in_place(start, db_url) -> None:
    with start(db_url) as client:
        with client.app.state.runtime.session() as session:
            first = store_report(session, report(HAIAN), "<p>一</p>", PDF, "5").id
            every = store_report(session, report(), "<p>全</p>", None, "5").id
            again = store_report(session, replace(report(HAIAN), score_drift=0.5), "<p>二</p>", None, "6").id
            every_again = store_report(session, report(), "<p>全二</p>", None, "6").id
            n = session.scalar(select(func.count()).select_from(WeeklyReportRow))
        admin = make_key(client, "admin")
        page = client.get(f"/v1/reports/{first}.html", headers=admin.headers)
        body = client.get("/v1/reports/weekly", params={"area": HAIAN}, headers=admin.headers).json()
    assert (again, every_again) == (first, every) and n == 2
    assert page.text == "<p>二</p>" and body["model_version"] == "6" and body["pdf_url"] is None
    assert body["score_drift"] == pytest.approx(0.5)


def test_only_analysts_and_admins_read_reports(start, sqlite_url) -> None:
    with start(sqlite_url) as client:
        ids = _store_all(client)
        supervisor = make_key(client, "supervisor")
        intake = make_key(client, "intake")
        analyst = make_key(client, "analyst")
        refused = [
            client.get("/v1/reports", headers=supervisor.headers),
            client.get(f"/v1/reports/{ids[None]}.html", headers=intake.headers),
        ]
        bad_id = client.get("/v1/reports/x.html", headers=analyst.headers)
        bad_week = client.get("/v1/reports/weekly", params={"week": "2026W47"}, headers=analyst.headers)
        no_week = client.get("/v1/reports/weekly", params={"week": "2019-W02"}, headers=analyst.headers)
    assert [r.status_code for r in refused] == [403, 403]
    assert bad_id.status_code == 422 and bad_week.status_code == 422 and no_week.status_code == 404
    assert bad_week.json()["detail"][0]["field"] == "week"
