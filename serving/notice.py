"""The 预警提示函: a printable letter (HTML with print CSS, nothing fetched from outside) for a
红 or 橙 supervision item. Every value is masked for personal numbers (features.personal_data,
the project's one masker), then HTML-escaped, before it enters the page."""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from pathlib import Path
from string import Template

from features import area_codes
from features.personal_data import mask_personal
from risk.levels import ORANGE, RED
from serving.queue import SHANGHAI
from serving.tables import AuditEntry, Item

NOTICE_LEVELS = (RED, ORANGE)
_COLORS = {RED: "#c00000", ORANGE: "#d26900"}
_CENTRE = {
    "province": "省",
    "city": "市",
    "county": "县（市、区）",
    "town": "镇（街道）",
    "village": "村（社区）",
}


def _safe(value: object) -> str:
    return html.escape(mask_personal(str(value)))


def _when(value: datetime | None) -> str:
    return "—" if value is None else value.astimezone(SHANGHAI).strftime("%Y年%m月%d日 %H:%M")


def _items(lines: Iterable[str], empty: str) -> str:
    out = [f"  <li>{line}</li>" for line in lines]
    return "\n".join(out) if out else f"  <li>{empty}</li>"


def _centre(code: str | None) -> str:
    if code is None:
        return "上级综治中心"
    return f"{_CENTRE[area_codes.level_of(code)]}综治中心（区划代码 {code}）"


@cache
def _template() -> Template:
    return Template((Path(__file__).with_name("templates") / "notice.html").read_text(encoding="utf-8"))


def render_notice(item: Item, history: Iterable[AuditEntry], now: datetime, horizon_days: int | None) -> str:
    case = item.case
    reasons = (f"{_safe(r['text'])}（{_safe(r['direction'])}风险）" for r in case.reasons)
    flags = (f"{_safe(f['text'])}（规则 {_safe(f['code'])}，至少{_safe(f['level'])}色）" for f in case.flags)
    notes = (f"{_safe(_when(e.at))} {_safe(e.actor)}：{_safe(e.note)}" for e in history if e.note)
    values = {
        "number": f"督办预警〔{item.opened_at.astimezone(SHANGHAI).year}〕{item.id:06d}号",
        "recipient": _centre(item.area_code),
        "issuer": _centre(area_codes.parent_of(item.area_code)),
        "level": item.level,
        "color": _COLORS.get(item.level, "#000"),
        "case_id": case.case_id,
        "category": case.category,
        "case_area": case.area_code,
        "registered_at": case.registered_at.strftime("%Y年%m月%d日 %H:%M"),
        "horizon": horizon_days or "—",
        "risk": f"{case.risk:.1%}",
        "respond_by": _when(item.respond_by),
        "feedback_by": _when(item.feedback_by),
        "issued_at": _when(now),
        "model": f"{case.model_name} v{case.model_version or '?'}",
        "status": item.status,
    }
    safe = {k: _safe(v) for k, v in values.items()}
    safe |= {"reasons": _items(reasons, "—"), "flags": _items(flags, "无"), "notes": _items(notes, "暂无")}
    return _template().substitute(safe)
