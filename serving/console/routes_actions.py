"""The item page's forms (签收, 处置记录, 提级, 办结, 回访) and the printable 预警提示函.

Each form carries the item's version as the page showed it: when someone else changed the item
since (or changes it while this one commits: the ORM's optimistic lock), the page comes back
with a clear message and the latest state (409), never an error page. A form's fields are
checked by the API's own request models (``serving.inputs``) and the transitions' own rules;
every change is audited under the user's name in its transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Final

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from features.errors import RecordError
from serving import audit, notices, queue, transitions
from serving.auth import Principal
from serving.console import auditing
from serving.console.deps import Actor, Reader
from serving.console.pages import base_path, render
from serving.console.routes_queue import item_page
from serving.console.security import page_csp
from serving.console.sessions import Login
from serving.deps import Runtime
from serving.errors import Conflict, Forbidden, InvalidInput
from serving.inputs import CloseIn, EscalateIn, NoteIn
from serving.notice import NOTICE_LEVELS, render_notice, style_hash

router = APIRouter()
Version = Annotated[int, Form(ge=1)]
Text = Annotated[str, Form(max_length=4000)]
LABELS: Final = {
    "sign": "签收",
    "note": "添加处置记录",
    "escalate": "提级",
    "close": "办结",
    "followup": "添加回访记录",
}
STALE: Final = "该事项刚刚已被他人更新，您的操作未执行。以下是最新情况，请确认后再操作。"
# The rules' reasons (serving.inputs, transitions), as a Chinese page says them.
REASONS: Final = (
    ("must not lie in the future", "不能晚于当前时间"),
    ("must not be before the case was registered", "不能早于纠纷登记时间"),
    ("is only given with the outcome", "仅在处置结果为民转刑时填写"),
    ("at most", "内容过长"),
)
FIELDS: Final = {"text": "记录内容", "reason": "提级理由", "note": "办结说明", "outcome": "处置结果",
                 "escalated_at": "转为刑事案件的时间", "criminal_charge": "涉嫌罪名"}  # fmt: skip


class _Stale(Exception):
    """The form was filled in on an older version of the item."""


Change = Callable[[Session, queue.Policy, queue.Item, Principal, Any], Any]


def _act(request: Request, login: Login, item_id: int, version: int, action: str, change: Change) -> Response:
    rt: Runtime = request.app.state.runtime
    who = login.who
    try:
        with rt.writing(), rt.session() as session:
            item = queue.get_visible_item(session, item_id, who)  # another area's: 404, as missing
            if item.version != version:
                raise _Stale
            change(session, rt.policy, item, who, rt.clock())
            session.commit()
    except (_Stale, StaleDataError):
        return item_page(request, login, item_id, message=STALE, status=409)
    except Conflict:
        return item_page(request, login, item_id, message=_conflict(rt, action), status=409)
    except Forbidden:
        message = "该事项已移交上级综治中心，您可以查看，但由其负责处置。"
        return item_page(request, login, item_id, message=message, status=403)
    except (RecordError, InvalidInput, ValidationError) as exc:
        return item_page(request, login, item_id, message=_invalid(exc), status=422)
    return RedirectResponse(f"{base_path(request)}/items/{item_id}?done={action}", status_code=303)


def _conflict(rt: Runtime, action: str) -> str:
    if action == "escalate":  # open items only reach the rule: the top of the hierarchy
        return f"事项当前状态不能提级，或已到最高提级层级（{rt.settings.escalation_top_level}）。"
    if action == "followup":
        return "回访记录用于已办结的事项；事项尚在处置中，请添加处置记录。"
    return f"事项当前状态不能{LABELS[action]}，请查看最新情况。"


def _invalid(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        pairs = [(str(e["loc"][-1]) if e["loc"] else "", e["msg"]) for e in exc.errors()]
    elif isinstance(exc, InvalidInput):
        pairs = [(e.field, e.reason) for e in exc.errors]
    else:
        assert isinstance(exc, RecordError)
        pairs = [(exc.field, exc.reason)]
    parts = []
    for field, reason in pairs:
        said = next((zh for en, zh in REASONS if en in reason), "填写不完整或格式不正确")
        parts.append(f"{FIELDS.get(field, field)}：{said}")
    return "表单有误，未保存。" + "；".join(parts) + "。"


@router.post("/items/{item_id}/sign", name="sign")
def sign(request: Request, login: Actor, item_id: int, version: Version) -> Response:
    return _act(request, login, item_id, version, "sign", transitions.sign)


@router.post("/items/{item_id}/note", name="note")
def note(request: Request, login: Actor, item_id: int, version: Version, text: Text = "") -> Response:
    def change(s: Session, p: queue.Policy, item: queue.Item, who: Principal, now: Any) -> Any:
        return transitions.add_note(s, p, item, who, now, NoteIn(text=text).text)

    return _act(request, login, item_id, version, "note", change)


@router.post("/items/{item_id}/escalate", name="escalate")
def escalate(request: Request, login: Actor, item_id: int, version: Version, reason: Text = "") -> Response:
    def change(s: Session, p: queue.Policy, item: queue.Item, who: Principal, now: Any) -> Any:
        return transitions.escalate(s, p, item, who, now, EscalateIn(reason=reason or None).reason)

    return _act(request, login, item_id, version, "escalate", change)


@router.post("/items/{item_id}/close", name="close")
def close(
    request: Request,
    login: Actor,
    item_id: int,
    version: Version,
    outcome: Annotated[str, Form(max_length=16)] = "",
    note: Text = "",
    escalated_at: Annotated[str, Form(max_length=40)] = "",
    criminal_charge: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    def change(s: Session, p: queue.Policy, item: queue.Item, who: Principal, now: Any) -> Any:
        body = CloseIn.model_validate(
            {"outcome": outcome, "note": note or None, "escalated_at": escalated_at or None,
             "criminal_charge": criminal_charge or None}
        )  # fmt: skip
        return transitions.close(
            s, p, item, who, now, outcome=body.outcome, note=body.note,
            escalated_at=body.escalated_at, criminal_charge=body.criminal_charge,
        )  # fmt: skip

    return _act(request, login, item_id, version, "close", change)


@router.post("/items/{item_id}/followup", name="followup")
def followup(request: Request, login: Actor, item_id: int, version: Version, text: Text = "") -> Response:
    def change(s: Session, p: queue.Policy, item: queue.Item, who: Principal, now: Any) -> None:
        notices.follow_up(s, item, who, now, NoteIn(text=text).text)

    return _act(request, login, item_id, version, "followup", change)


@router.get("/items/{item_id}/notice", name="notice")
def notice(request: Request, login: Reader, item_id: int) -> HTMLResponse:
    """The 预警提示函 of a 红/橙 item, dated by its first issue, with a print button."""
    rt: Runtime = request.app.state.runtime
    who, now, base = login.who, rt.clock(), base_path(request)
    with rt.session() as session:
        item = queue.get_visible_item(session, item_id, who)
        if item.level not in NOTICE_LEVELS:
            message = f"预警提示函仅对红色、橙色事项出具；本事项为{item.level}色。"
            return render(
                request, "error.html", who, login.csrf, status=409, title="无法出具", message=message
            )
        session.commit()
        with rt.writing():
            issued = notices.first_issue(session, item, who, now)
        loaded = rt.models.current
        html = render_notice(
            item, audit.history(session, item.id), now, loaded.model.horizon_days if loaded else None,
            areas=rt.policy.areas, issued_at=issued.issued_at, issued_by=issued.issued_by,
            script=f"{base}/static/console.js", back=f"{base}/items/{item.id}",
        )  # fmt: skip
        auditing.reads(rt, session, who, [item], detail={"document": "预警提示函"})
    return HTMLResponse(html, headers={"content-security-policy": page_csp(style_hash())})
