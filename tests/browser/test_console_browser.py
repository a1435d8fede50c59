"""The web console in a real headless Chromium against a real server (uvicorn on a free port, a
fresh SQLite database, the session model): a county supervisor's day, through the pages only.
No request may leave the app's origin and no page may log a console error; screenshots of each
page are kept in test-artifacts/console-*.png (and the printed notice as a PDF).

The tests share one server and run in order: the journey first, the session expiry last (it
moves the server's clock past the idle limit)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_site import PASSWORD, PHONE, PHONE_MASKED, Site, console_site


@pytest.fixture(scope="module")
def site(trained: Any, tmp_path_factory: pytest.TempPathFactory, chromium_path: str) -> Iterator[Site]:
    with console_site(trained, tmp_path_factory.mktemp("console")) as running:
        yield running


def _log_in(open_page: Any, site: Site, path: str = "/queue", user: str | None = None) -> Any:
    probe = open_page(site.page_url(path), allow=(site.url + "/",))
    page = probe.page
    assert "/console/login" in page.url
    page.get_by_label("用户名").fill(user or site.supervisor)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    return probe


def _shot(page: Any, artifacts: Path, name: str, **kwargs: Any) -> None:
    page.screenshot(path=str(artifacts / f"console-{name}.png"), full_page=True, **kwargs)


def _scan_the_queue(page: Any, site: Site, artifacts: Path) -> None:
    """The county's three items only, overdue first, with the counts at the top."""
    assert page.url.endswith("/console/queue")
    rows = page.locator("table.queue tbody tr")
    links = page.locator("table.queue tbody tr td:first-child a")
    assert sorted(links.nth(i).inner_text() for i in range(rows.count())) == sorted(
        f"督办 {site.items[c]}" for c in ("A1", "A2", "A3")
    )
    lights = [rows.nth(i).locator(".light").inner_text() for i in range(rows.count())]
    assert lights == ["红灯", "红灯", "绿灯"]
    body = page.inner_text("main")
    assert "B1" not in body and "B2" not in body and site.county_name in page.inner_text("header")
    assert "在办事项 3 件" in body.replace("\n", " ")
    _shot(page, artifacts, "queue")


def _work_an_item(page: Any, site: Site, artifacts: Path) -> None:
    """Sign A1, note what was done (a phone number in it is masked), close it as 化解, 回访."""
    page.get_by_role("link", name=f"督办 {site.items['A1']}").click()
    page.get_by_role("button", name="签收").click()
    assert "已签收" in page.inner_text(".message.ok")
    page.get_by_label("处置记录").fill(f"已约谈双方，申请人电话{PHONE}，承诺不再冲突。")
    page.get_by_role("button", name="添加处置记录").click()
    assert PHONE_MASKED in page.inner_text("ol.timeline") and PHONE not in page.content()
    assert "硬性预警规则" in page.inner_text("main")  # the rule that raised the model's level
    _shot(page, artifacts, "item")
    page.get_by_label("处置结果").select_option("化解")
    page.get_by_label("办结说明").fill("双方达成和解协议。")
    page.get_by_role("button", name="办结").click()
    assert "已办结" in page.inner_text(".message.ok") and "已化解" in page.inner_text("h1")
    page.get_by_label("回访记录").fill("一周后回访，双方关系平稳。")
    page.get_by_role("button", name="添加回访记录").click()
    assert "回访" in page.inner_text("ol.timeline")


def _print_the_notice(page: Any, site: Site, artifacts: Path) -> None:
    """A1's 预警提示函: names, the 回访, masked; the print button works under the CSP."""
    page.get_by_role("link", name="预警提示函（打印）").click()
    assert "矛盾纠纷预警提示函" in page.inner_text("h1")
    letter = page.inner_text("body")
    assert f"{site.county_name}综治中心" in letter and "一周后回访" in letter and PHONE not in page.content()
    page.evaluate("window.print = () => { window.__printed = true; }")  # headless: no dialog
    page.get_by_role("button", name="打印").click()
    assert page.evaluate("window.__printed === true")
    page.emulate_media(media="print")
    _shot(page, artifacts, "notice")
    page.pdf(path=str(artifacts / "console-notice.pdf"), format="A4")
    page.emulate_media(media="screen")


def _escalate(page: Any, site: Site) -> None:
    """A2 goes up to the county: off the town's desk, still this supervisor's to act on."""
    page.goto(site.page_url(f"/items/{site.items['A2']}"))
    page.get_by_label("提级理由").fill("矛盾激化，需县级协调。")
    page.get_by_role("button", name="提级至上级综治中心").click()
    assert "已升级" in page.inner_text("h1") and f"{site.county_name}综治中心" in page.inner_text("main")
    assert page.get_by_role("button", name="签收").count() == 1


def _index_and_report(page: Any, artifacts: Path) -> None:
    """The county's towns ranked, one town with its villages (drill down), then a report."""
    page.get_by_role("link", name="风险指数").click()
    assert page.locator("svg.chart").count() == 1 and page.locator("tbody tr").count() > 0
    _shot(page, artifacts, "index")
    page.locator("tbody tr td a").first.click()
    assert page.locator("svg.chart").count() == 1 and "下级区域" in page.inner_text("main")
    _shot(page, artifacts, "area")
    page.get_by_role("link", name="周研判报告").click()
    _shot(page, artifacts, "reports")
    page.get_by_role("link", name="在浏览器中打开").first.click()
    assert page.locator("h2").count() >= 5 and page.locator("svg.chart").count() > 0
    _shot(page, artifacts, "report")


def test_a_county_supervisors_day(open_page: Any, site: Site, artifacts: Path, cjk_fonts: list[str]) -> None:
    probe = _log_in(open_page, site)
    _scan_the_queue(probe.page, site, artifacts)
    _work_an_item(probe.page, site, artifacts)
    _print_the_notice(probe.page, site, artifacts)
    _escalate(probe.page, site)
    _index_and_report(probe.page, artifacts)
    assert probe.outside_requests() == []
    assert probe.errors == []


def test_the_other_countys_item_is_answered_as_a_missing_one(open_page: Any, site: Site) -> None:
    probe = _log_in(open_page, site)
    page = probe.page
    theirs = page.goto(site.page_url(f"/items/{site.items['B1']}"))
    text = page.inner_text("main")
    missing = page.goto(site.page_url("/items/999999"))
    assert (theirs.status, missing.status) == (404, 404) and page.inner_text("main") == text
    assert probe.outside_requests() == []


def test_a_form_without_the_right_csrf_token_is_refused(open_page: Any, site: Site, artifacts: Path) -> None:
    probe = _log_in(open_page, site, f"/items/{site.items['A3']}")
    page = probe.page
    page.evaluate("document.querySelector('form.action input[name=csrf_token]').value = 'forged'")
    response_status = []
    page.on("response", lambda r: response_status.append(r.status) if r.request.method == "POST" else None)
    page.get_by_role("button", name="签收").click()
    page.wait_for_load_state()
    assert response_status == [403] and "CSRF" in page.inner_text("main")
    _shot(page, artifacts, "csrf-refused")
    page.goto(site.page_url(f"/items/{site.items['A3']}"))
    assert "待签收" in page.inner_text("h1")  # nothing happened
    page.evaluate("document.querySelector('form.action input[name=csrf_token]').remove()")
    page.get_by_role("button", name="签收").click()
    page.wait_for_load_state()
    assert "CSRF" in page.inner_text("main")


def test_an_admin_checks_the_model_and_scores_a_case_by_hand(
    open_page: Any, site: Site, artifacts: Path
) -> None:
    probe = _log_in(open_page, site, "/model", user=site.admin)
    page = probe.page
    assert "冠军版本" in page.inner_text("main") and "ROC-AUC" in page.inner_text("main")
    _shot(page, artifacts, "model")
    page.get_by_role("link", name="个案评估").click()
    page.get_by_label("发生地区划代码（村或镇，12位）").fill(site.village)
    page.get_by_label("纠纷类别").select_option("婚恋家庭")
    page.get_by_label("事件简述").fill(f"丈夫酒后扬言要砍死妻子，手持菜刀追赶，邻居报警。妻子电话{PHONE}。")
    page.get_by_role("button", name="评估风险").click()
    result = page.inner_text("section.result")
    assert "评估结果" in result and "红" in result and "硬性预警规则" in result
    assert PHONE not in page.content() and PHONE_MASKED in page.input_value("#a-text")
    _shot(page, artifacts, "assess")
    page.get_by_role("link", name="督办队列").click()
    assert page.locator("table.queue tbody tr").count() == len(site.items)  # the dry run opened none
    assert probe.outside_requests() == [] and probe.errors == []


def test_an_expired_session_goes_back_to_login_and_then_to_the_page(
    open_page: Any, site: Site, artifacts: Path
) -> None:
    probe = _log_in(open_page, site)
    page = probe.page
    site.clock.advance(minutes=31)  # past console_idle_minutes (30)
    page.get_by_role("link", name="周研判报告").click()
    assert "/console/login" in page.url and "会话已过期" in page.inner_text("main")
    _shot(page, artifacts, "login")
    # By keyboard alone: the login form has the focus, Tab moves on, Enter sends it; on every
    # page the first Tab stop skips the menu to the content.
    assert page.evaluate("document.activeElement.id") == "username"
    page.keyboard.type(site.supervisor)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/reports")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "跳到正文"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    assert probe.outside_requests() == []
