"""督办队列 and 督办事项: the user's items, most urgent first, and one item with its case, level,
deadlines, timeline and forms. Reads are audited as the API's are (one "read" row per item
shown); an item outside the user's areas is answered as a missing one (404)."""

from __future__ import annotations

from collections.abc import Sequence
from math import ceil
from typing import Annotated, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from features import area_codes
from features.schema import CHARGES_ESCALATION
from risk.levels import WARNING_LEVELS
from serving import queries, queue
from serving.auth import Principal
from serving.console import auditing, queue_view
from serving.console.deps import Reader
from serving.console.pages import areas_of, render
from serving.console.sessions import Login
from serving.deps import Runtime
from serving.errors import NotFound
from serving.notice import NOTICE_LEVELS
from serving.routes.items import MAX_ID

router = APIRouter()
PAGE_SIZE: Final = 20
DONE: Final = {
    "sign": "已签收，处置期限开始计时。", "note": "已添加处置记录。", "escalate": "已提级，事项已移交上级综治中心。",
    "close": "已办结，处置结果已记录。", "followup": "已添加回访记录。",
}  # fmt: skip


def _pick(value: str, allowed: Sequence[str], what: str) -> str | None:
    if not value:
        return None
    if value not in allowed:
        raise NotFound(f"no {what} {value!r}")
    return value


def _filter_area(who: Principal, area: str) -> str | None:
    """The area filter, within the user's areas: another area answers as an unknown one."""
    if not area:
        return None
    if area_codes.problem(area) is not None or not who.covers(area):
        raise NotFound(f"no area {area!r} among this user's areas")
    return area


@router.get("/queue", name="queue")
def queue_page(
    request: Request,
    login: Reader,
    area: Annotated[str, Query(max_length=12)] = "",
    level: Annotated[str, Query(max_length=2)] = "",
    status: Annotated[str, Query(max_length=8)] = "",
    light: Annotated[str, Query(max_length=2)] = "",
    page: Annotated[int, Query(ge=1, le=MAX_ID // PAGE_SIZE)] = 1,
) -> HTMLResponse:
    """The user's items: filters, counts by light and level, most urgent first (overdue, then
    the deadline running soonest: both are the order of ``due_at``), 20 a page."""
    rt: Runtime = request.app.state.runtime
    who, now = login.who, rt.clock()
    flt = queries.ItemFilter(
        area=_filter_area(who, area),
        levels=[x for x in [_pick(level, WARNING_LEVELS, "level")] if x],
        statuses=[x for x in [_pick(status, queue.STATUSES, "status")] if x],
        lights=[x for x in [_pick(light, queue.LIGHTS, "light")] if x],
    )
    with rt.session() as session:
        total, items = queries.list_items(
            session, scope=who.area_code, flt=flt, now=now, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        counts = queue_view.counts(session, scope=who.area_code, area=flt.area, now=now)
        rows = [{"item": i, "light": queue.light_of(i, now)} for i in items]
        response = render(
            request, "queue.html", who, login.csrf,
            rows=rows, total=total, counts=counts, page=page, pages=max(1, ceil(total / PAGE_SIZE)),
            filters={"area": area, "level": level, "status": status, "light": light},
            query=lambda **change: urlencode(
                {k: v for k, v in ({"area": area, "level": level, "status": status, "light": light} | change).items() if v}
            ),
            area_choices=queue_view.area_choices(who, areas_of(rt)),
            levels=WARNING_LEVELS, statuses=queue.STATUSES, lights=queue.LIGHTS,
        )  # fmt: skip
        auditing.reads(rt, session, who, items)
    return response


def item_page(
    request: Request, login: Login, item_id: int, *, message: str | None = None, status: int = 200
) -> HTMLResponse:
    """The item page, optionally with a message about a refused form (and its status)."""
    rt: Runtime = request.app.state.runtime
    who, now = login.who, rt.clock()
    with rt.session() as session:
        item = queue.get_visible_item(session, item_id, who)
        response = render(
            request, "item.html", who, login.csrf, status=status,
            item=item, case=item.case, light=queue.light_of(item, now),
            facts=queue_view.case_facts(session, item.case_id),
            story=queue_view.level_story(item.case, item),
            events=queue_view.timeline(session, item),
            action_names=queue_view.ACTION_NAMES,
            forms=queue_view.forms_for(who, item),
            notice=queue_view.notice_issue(session, item),
            can_print=item.level in NOTICE_LEVELS,
            outcomes=queue.OUTCOMES, criminal=queue.CRIMINAL_OUTCOME, charges=CHARGES_ESCALATION,
            done=DONE.get(request.query_params.get("done", "")), message=message,
        )  # fmt: skip
        auditing.reads(rt, session, who, [item])
    return response


@router.get("/items/{item_id}", name="item")
def item(request: Request, login: Reader, item_id: int) -> HTMLResponse:
    """One item: case summary (masked), level and why, deadlines and light, timeline, forms."""
    if not 1 <= item_id <= MAX_ID:
        raise NotFound(f"no supervision item {item_id}")
    return item_page(request, login, item_id)
