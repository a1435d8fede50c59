"""个案评估 (intake, admin): score one case typed in by hand, for checking and demonstrations.

A dry run through the API's own path (``serving.scoring``: the contract's checks, the model's
single-case scoring against the live history, the hard flags), with nothing stored: no queue
item, no history fact. Only the outcome is audited ("assess": risk, levels, flags, model
version), never the narrative."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from features.errors import RecordError
from features.schema import CATEGORIES, GENDERS, KEY_GROUPS, PARTY_TYPES, SOURCES
from serving import scoring
from serving.console import auditing
from serving.console.deps import Assessor
from serving.console.pages import render
from serving.console.routes_actions import FIELDS
from serving.deps import Runtime
from serving.errors import InvalidInput
from serving.inputs import CaseIn
from serving.queue import SHANGHAI

router = APIRouter()
PARTY_ROLES: Final = ("申请方", "被申请方")
LABELS: Final = FIELDS | {
    "case_id": "纠纷编号", "registered_at": "登记时间", "area_code": "发生地区划代码", "source": "来源渠道",
    "category": "纠纷类别", "narrative": "事件简述", "amount_yuan": "涉及金额", "n_people": "涉及人数",
    "police_calls_before": "此前110报警次数", "mediation_attempts": "此前调解次数", "age": "年龄",
}  # fmt: skip
_INTS: Final = ("n_people", "police_calls_before", "mediation_attempts")


def _defaults(now: datetime) -> dict[str, Any]:
    local = now.astimezone(SHANGHAI)
    return {
        "case_id": f"试算-{local:%Y%m%d%H%M%S}", "registered_at": f"{local:%Y-%m-%dT%H:%M}", "area_code": "",
        "source": SOURCES[0], "category": CATEGORIES[0], "narrative": "", "amount_yuan": "", "n_people": "2",
        "police_calls_before": "0", "mediation_attempts": "0",
        "parties": [{"id": "", "type": PARTY_TYPES[0], "gender": "", "age": "", "groups": []} for _ in PARTY_ROLES],
    }  # fmt: skip


def _values(form: FormData, now: datetime) -> dict[str, Any]:
    values = _defaults(now) | {k: str(form.get(k, "")).strip() for k in _defaults(now) if k != "parties"}
    values["parties"] = [
        {
            "id": str(form.get(f"p{i}_id", "")).strip(),
            "type": str(form.get(f"p{i}_type", "")),
            "gender": str(form.get(f"p{i}_gender", "")),
            "age": str(form.get(f"p{i}_age", "")).strip(),
            "groups": [str(g) for g in form.getlist(f"p{i}_groups") if g in KEY_GROUPS],
        }
        for i in range(len(PARTY_ROLES))
    ]
    return values


def _case(values: dict[str, Any]) -> CaseIn:
    """The form as the API's request model; a number that is not one names its field."""
    body: dict[str, Any] = {
        k: values[k] for k in ("case_id", "registered_at", "area_code", "source", "category", "narrative")
    }
    body["amount_yuan"] = _number(values["amount_yuan"], float, "amount_yuan")
    body |= {k: _number(values[k], int, k) for k in _INTS}
    body["n_parties"] = len(PARTY_ROLES)
    body["parties"] = [
        {
            "party_id": p["id"] or f"{values['case_id']}-{i + 1}", "role": role, "party_type": p["type"],
            "gender": p["gender"] or None, "age": _number(p["age"], int, "age"), "key_groups": ";".join(p["groups"]),
        }
        for i, (role, p) in enumerate(zip(PARTY_ROLES, values["parties"], strict=True))
    ]  # fmt: skip
    return CaseIn.model_validate(body)


def _number(text: str, kind: type, field: str) -> Any:
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        raise RecordError(field, None, "must be a number") from None


def _problems(exc: Exception) -> list[str]:
    if isinstance(exc, ValidationError):
        fields = [str(e["loc"][-1] if e["loc"] else "") for e in exc.errors()]
    elif isinstance(exc, InvalidInput):
        fields = [e.field.rsplit(".", 1)[-1] for e in exc.errors]
    else:
        assert isinstance(exc, RecordError)
        fields = [exc.field]
    return [f"{LABELS.get(f, f)}：填写不完整或格式不正确" for f in dict.fromkeys(fields)]


def _page(request: Request, login: Assessor, values: dict[str, Any], **result: Any) -> HTMLResponse:
    context = {"result": None, "problems": [], "status": 200} | result
    return render(
        request, "assess.html", login.who, login.csrf, status=context.pop("status"), values=values,
        sources=SOURCES, categories=CATEGORIES, party_types=PARTY_TYPES, genders=GENDERS,
        key_groups=KEY_GROUPS, party_roles=PARTY_ROLES, **context,
    )  # fmt: skip


@router.get("/assess", name="assess")
def assess_form(request: Request, login: Assessor) -> HTMLResponse:
    rt: Runtime = request.app.state.runtime
    return _page(request, login, _defaults(rt.clock()))


@router.post("/assess")
async def assess(request: Request, login: Assessor) -> HTMLResponse:
    """Score the form's case without storing anything; the form comes back with the result."""
    rt: Runtime = request.app.state.runtime
    values = _values(await request.form(), rt.clock())
    try:
        case_in = _case(values)
        checked = scoring.check_one(case_in, rt.intake_limits())
    except (ValidationError, InvalidInput, RecordError) as exc:
        return _page(request, login, values, problems=_problems(exc), status=422)
    if not login.who.covers(checked.case["area_code"]):
        problem = "发生地不在您的辖区范围内。"
        return _page(request, login, values, problems=[problem], status=403)
    loaded = rt.models.get()
    scored = scoring.score(loaded, checked, rt.settings.n_reasons)
    a = scored.assessment
    detail = {"risk": round(a.risk, 6), "level": a.level, "model_level": a.model_level,
              "flags": [f["code"] for f in a.flags], "model_version": a.model_version}  # fmt: skip
    await run_in_threadpool(auditing.event, rt, login.who, "assess", detail, a.area_code)
    result = {"a": a, "horizon": loaded.model.horizon_days, "warnings": scored.warnings}
    return _page(request, login, values, result=result)
