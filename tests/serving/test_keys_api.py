"""Key lifecycle through the admin API, on SQLite and PostgreSQL: create with an explicit scope,
list, revoke (401 from the next request on), expiry, scoped admins, the area table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import COUNTY, OTHER_COUNTY, TOWN, Clock, Key, make_key, red_case
from fastapi.testclient import TestClient

AREAS_CSV = (
    "area_code,name,level,parent_code\n"
    "320600000000,南通市,city,\n"
    "320612000000,通州区,county,320600000000\n"
    "320612001000,金沙街道,town,320612000000\n"
    "320612001001,金沙村,village,320612001000\n"
    # A village renumbered under another town: the table, not the digits, says where it belongs.
    "320612009001,新村,village,320612001000\n"
)


@pytest.fixture
def admin_client(start, db_url: str) -> Iterator[tuple[TestClient, Key]]:
    with start(db_url) as client:
        yield client, make_key(client, "admin")


def create(client: TestClient, by: Key, **body) -> tuple[int, dict]:
    r = client.post("/v1/keys", json=body, headers=by.headers)
    return r.status_code, r.json()


def test_admin_creates_lists_and_revokes_keys_and_a_revoked_key_is_refused_at_once(admin_client) -> None:
    client, admin = admin_client
    status, made = create(client, admin, role="intake", area_code=TOWN, name="金沙街道受理")
    assert status == 201 and made["key"].startswith(made["key_prefix"])
    assert (made["area_code"], made["all_areas"], made["status"]) == (TOWN, False, "active")
    assert made["warnings"] == [
        f"the area table is empty, so area {TOWN} was checked for its structure only; "
        "load the 统计用区划代码 with `risk areas load FILE`"
    ]
    headers = {"Authorization": f"Bearer {made['key']}"}
    assert client.post("/v1/cases/score", json=red_case("K1"), headers=headers).status_code == 200
    listed = client.get("/v1/keys", headers=admin.headers).json()
    assert [k["name"] for k in listed] == ["admin-all", "金沙街道受理"]
    assert made["key"] not in str(listed)

    revoked = client.post(f"/v1/keys/{made['id']}/revoke", headers=admin.headers).json()
    assert revoked["status"] == "revoked"
    r = client.post("/v1/cases/score", json=red_case("K2"), headers=headers)
    assert (r.status_code, r.json()["message"]) == (401, "the API key was revoked")
    again = client.post(f"/v1/keys/{made['id']}/revoke", headers=admin.headers)
    assert (again.status_code, again.json()["message"]) == (409, f"API key {made['id']} is already revoked")
    actions = [e["action"] for e in client.get("/v1/audit", headers=admin.headers).json()["entries"]]
    assert actions == ["key_revoke", "open", "key_create"]


def test_a_key_must_name_its_scope_explicitly(admin_client) -> None:
    client, admin = admin_client
    assert create(client, admin, role="admin")[0] == 422
    assert create(client, admin, role="admin", area_code=TOWN, all_areas=True)[0] == 422
    status, made = create(client, admin, role="analyst", all_areas=True)
    assert (status, made["area_code"], made["all_areas"]) == (201, None, True)


def test_an_expired_key_gets_401_as_soon_as_it_expires(admin_client, clock: Clock) -> None:
    client, admin = admin_client
    status, made = create(client, admin, role="analyst", all_areas=True, expires_at="2025-03-03T10:00:00")
    assert status == 201 and made["expires_at"] == "2025-03-03T10:00:00+08:00"
    headers = {"Authorization": f"Bearer {made['key']}"}
    assert client.get("/v1/feedback", headers=headers).status_code == 200
    clock.advance(hours=1)  # 10:00 Shanghai
    r = client.get("/v1/feedback", headers=headers)
    assert (r.status_code, r.json()["message"]) == (401, "the API key has expired")
    assert create(client, admin, role="analyst", all_areas=True, expires_at="2025-03-03T09:00:00")[0] == 422


def test_a_scoped_admin_manages_only_keys_within_its_area(admin_client) -> None:
    client, admin = admin_client
    county_admin = make_key(client, "admin", COUNTY)
    other = create(client, admin, role="intake", area_code=OTHER_COUNTY)[1]
    assert create(client, county_admin, role="intake", area_code=TOWN)[0] == 201
    status, body = create(client, county_admin, role="intake", area_code=OTHER_COUNTY)
    assert (status, body["message"]) == (403, f"a new key must lie within this key's area {COUNTY}")
    assert create(client, county_admin, role="admin", all_areas=True)[0] == 403
    assert {k["area_code"] for k in client.get("/v1/keys", headers=county_admin.headers).json()} == {
        COUNTY,
        TOWN,
    }
    r = client.post(f"/v1/keys/{other['id']}/revoke", headers=county_admin.headers)
    assert (r.status_code, r.json()["message"]) == (404, f"no API key {other['id']}")


def test_the_area_table_checks_new_keys_and_routes_new_items(start, db_url, tmp_path: Path) -> None:
    from serving import areas

    (tmp_path / "areas.csv").write_text(AREAS_CSV, encoding="utf-8")
    with start(db_url) as client, client.app.state.runtime.session() as session:  # type: ignore[attr-defined]
        assert areas.load_file(session, tmp_path / "areas.csv") == 5
        session.commit()
    with start(db_url) as client:  # the tree is read at start-up
        admin = make_key(client, "admin")
        status, body = create(client, admin, role="intake", area_code="320612002000")
        assert (status, body["detail"][0]["message"]) == (
            422,
            "area_code must be an area in the area table (risk areas load), got '320612002000'",
        )
        status, made = create(client, admin, role="intake", area_code=TOWN)
        assert (status, made["warnings"]) == (201, [])
        r = client.post(
            "/v1/cases/score", json=red_case("K3", area_code="320612009001"), headers=admin.headers
        )
        assert r.json()["item"]["area_code"] == TOWN  # by the table, not the digits (320612009000)
