"""The console's pages and forms (TestClient, SQLite): optimistic-lock conflicts as a message, form
rules in Chinese, the 预警提示函's fixed issue date, the dry-run 个案评估, and on every page a strict
CSP, no inline script, style or handler, and a label for every field."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from api_helpers import COUNTY, OTHER_VILLAGE, VILLAGE, make_key, red_case
from console_helpers import login, make_user, post, version_of
from fastapi.testclient import TestClient

from serving.console.security import CSP
from serving.queue import SHANGHAI


def _open(client: TestClient, body: dict) -> int:
    intake = make_key(client, "intake")
    return client.post("/v1/cases/score", json=body, headers=intake.headers).json()["item"]["id"]


def test_a_form_on_an_item_changed_meanwhile_says_so_and_shows_the_latest(client: TestClient) -> None:
    item_id = _open(client, red_case("L1"))
    make_user(client, "a.one", "supervisor", COUNTY)
    make_user(client, "b.two", "supervisor", COUNTY)
    other = TestClient(client.app)
    csrf_a, csrf_b = login(client, "a.one"), login(other, "b.two")
    seen = version_of(client, item_id)  # both pages show this version
    assert post(client, f"/console/items/{item_id}/sign", csrf_a, version=seen).status_code == 303
    for action, data in (("note", {"text": "我也来记录"}), ("sign", {})):
        r = post(other, f"/console/items/{item_id}/{action}", csrf_b, version=seen, **data)
        assert r.status_code == 409 and "已被他人更新" in r.text and "处置中" in r.text
    assert "我也来记录" not in client.get(f"/console/items/{item_id}").text


def test_form_rules_are_said_in_chinese_and_change_nothing(client: TestClient, clock) -> None:
    item_id = _open(client, red_case("R1"))
    make_user(client, "a.one", "supervisor", COUNTY)
    csrf = login(client, "a.one")
    post(client, f"/console/items/{item_id}/sign", csrf, version=version_of(client, item_id))
    version = version_of(client, item_id)
    cases = [
        ("note", {"text": "   "}, "记录内容"),
        ("close", {"outcome": "民转刑", "escalated_at": "2099-01-01T10:00"}, "不能晚于当前时间"),
        ("close", {"outcome": "化解", "criminal_charge": "故意伤害"}, "仅在处置结果为民转刑时填写"),
        ("close", {"outcome": ""}, "处置结果"),
        ("followup", {"text": "回访"}, "事项尚在处置中"),
    ]
    for action, data, said in cases:
        r = post(client, f"/console/items/{item_id}/{action}", csrf, version=version, **data)
        assert r.status_code in (409, 422) and said in r.text, (action, data, r.status_code)
    assert version_of(client, item_id) == version
    local_now = clock().astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")
    r = post(client, f"/console/items/{item_id}/close", csrf, version=version, outcome="民转刑",
             escalated_at=local_now, criminal_charge="故意伤害")  # fmt: skip
    assert r.status_code == 303
    assert "故意伤害" in client.get(f"/console/items/{item_id}").text


def test_the_notice_keeps_its_first_issue_date_and_prints_under_the_csp(client: TestClient, clock) -> None:
    item_id = _open(client, red_case("N1"))
    make_user(client, "a.one", "supervisor", COUNTY)
    login(client, "a.one")
    first = client.get(f"/console/items/{item_id}/notice")
    issued = re.search(r'<p class="sign">.*?<br>(.*?)</p>', first.text, re.DOTALL)
    assert issued is not None
    csp = first.headers["content-security-policy"]
    assert "script-src 'self'" in csp and re.search(r"style-src 'self' 'sha256-[A-Za-z0-9+/=]+'", csp)
    assert "onclick" not in first.text and "data-print" in first.text and "签发人：a.one" in first.text
    clock.advance(days=2)
    login(client, "a.one")  # the first session has ended meanwhile
    again = client.get(f"/console/items/{item_id}/notice").text
    assert issued.group(1) in again
    admin = make_key(client, "admin")
    assert issued.group(1) in client.get(f"/v1/items/{item_id}/notice", headers=admin.headers).text
    assert "首次签发" in client.get(f"/console/items/{item_id}").text


def test_assess_refuses_an_area_outside_the_users_and_names_a_bad_field(client: TestClient) -> None:
    make_user(client, "lin.fang", "intake", COUNTY)
    csrf = login(client, "lin.fang")
    form = {"case_id": "试算-2", "registered_at": "2025-03-03T08:00", "area_code": OTHER_VILLAGE,
            "source": "群众来访", "category": "邻里纠纷", "narrative": "邻里争吵", "n_people": "2",
            "p0_type": "自然人", "p1_type": "自然人"}  # fmt: skip
    r = post(client, "/console/assess", csrf, **form)
    assert r.status_code == 403 and "不在您的辖区" in r.text
    r = post(client, "/console/assess", csrf, **(form | {"area_code": VILLAGE, "n_people": "两个"}))
    assert r.status_code == 422 and "涉及人数" in r.text
    r = post(client, "/console/assess", csrf, **(form | {"area_code": VILLAGE}))
    assert r.status_code == 200 and "评估结果" in r.text


class _Fields(HTMLParser):
    """Inline scripts, styles and handlers, and form fields without a label, in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.fields: list[str] = []
        self.labels: set[str] = set()
        self.styles = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.problems += [f"{tag} {k}" for k in a if k.startswith("on") or k == "style"]
        if tag == "script" and not a.get("src"):
            self.problems.append("inline script")
        self.styles += tag == "style"
        if tag == "label" and a.get("for"):
            self.labels.add(str(a["for"]))
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.fields.append(str(a.get("id")))


def test_every_page_has_a_strict_csp_no_inline_code_and_a_label_on_every_field(client: TestClient) -> None:
    item_id = _open(client, red_case("P1"))
    make_user(client, "root", "admin", None)
    pages = ["/console/login"]
    login(client, "root")
    pages += ["/console/queue", f"/console/items/{item_id}", f"/console/items/{item_id}/notice", "/console/assess",
              "/console/model", "/console/index", "/console/reports", "/console/items/999999", "/console/nowhere"]  # fmt: skip
    for path in pages:
        r = client.get(path)
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["cache-control"] == "no-store"
        csp = r.headers["content-security-policy"]
        assert csp == CSP or (path.endswith("/notice") and "'unsafe-inline'" not in csp), path
        parser = _Fields()
        parser.feed(r.text)
        assert parser.problems == [], (path, parser.problems)
        assert parser.styles == (1 if path.endswith("/notice") else 0), path
        assert [f for f in parser.fields if f not in parser.labels] == [], path
    static = client.get("/console/static/console.css")
    assert static.status_code == 200 and "cache-control" not in static.headers
