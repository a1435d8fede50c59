"""Builders shared by the console tests: users, logins and the CSRF token a page carries."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from serving import users

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "the page carries no CSRF token"
    return found.group(1)


def make_user(
    client: TestClient, username: str, role: str, area: str | None, password: str = PASSWORD
) -> int:
    with client.app.state.runtime.session() as session:  # type: ignore[attr-defined]
        user, _ = users.create_user(
            session, username=username, password=password, role=role, area=area, now=datetime.now(UTC)
        )
        session.commit()
        return user.id


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log ``client`` in; the CSRF token of its session (from the page it lands on)."""
    form = client.get("/console/login")
    r = client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf_of(client.get(r.headers["location"]).text)


def post(client: TestClient, path: str, csrf: str, **data: Any) -> Any:
    return client.post(path, data={"csrf_token": csrf, **data}, follow_redirects=False)


def version_of(client: TestClient, item_id: int) -> int:
    with client.app.state.runtime.session() as session:  # type: ignore[attr-defined]
        from serving.tables import Item

        item = session.get(Item, item_id)
        assert item is not None
        return item.version


def audit_rows(client: TestClient, **where: Any) -> list[Any]:
    from sqlalchemy import select

    from serving.tables import AuditEntry

    with client.app.state.runtime.session() as session:  # type: ignore[attr-defined]
        stmt = select(AuditEntry).order_by(AuditEntry.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(AuditEntry, key) == value)
        return list(session.scalars(stmt))


def store_archive(
    client: TestClient, areas: list[tuple[str, str, str | None, str]], week: str = "2025-W10"
) -> None:
    """Index rows (code, level, parent, name) of one week, and a weekly report (with a PDF) for
    each county among them: what ``risk index --store`` and ``risk report --store`` keep."""
    from datetime import date

    from serving.tables import AreaIndex, WeeklyReportRow

    now = datetime.now(UTC)
    with client.app.state.runtime.session() as session:  # type: ignore[attr-defined]
        for i, (code, level, parent, name) in enumerate(areas):
            session.add(
                AreaIndex(
                    area_code=code, week=week, week_start=date(2025, 3, 3), level=level, parent_code=parent,
                    name=name, index=80.0 - i, lower=60.0 - i, upper=90.0 - i, band="红", trend="new",
                    red_3_weeks=False, forecast_escalations=0.5, expected_escalations=0.4, open_cases=3,
                    warnings=1, cases=4, escalations=0, overdue_items=0, population=None,
                    top_drivers="纠纷数量60%", drivers={"volume": 0.6, "severity": 0.4},
                    categories={"邻里纠纷": 1.0}, model_version="1", computed_at=now,
                )
            )  # fmt: skip
            if level == "county":
                session.add(
                    WeeklyReportRow(
                        week=week, week_start=date(2025, 3, 3), scope_code=code, scope_key=code,
                        scope_name=name, created_at=now, generated_at=now, model_version="1", headline=[],
                        sections={}, score_drift=None, health_warnings=[],
                        html=f"<!DOCTYPE html><html><head><style>h1{{color:red}}</style></head><body><h1>{name}周报</h1></body></html>",
                        pdf=b"%PDF-1.4 " + name.encode(),
                    )
                )  # fmt: skip
        session.commit()
