"""The 预警提示函: a printable letter (HTML with print CSS, nothing fetched from outside) for a
红 or 橙 supervision item. Every value is masked for personal numbers (features.personal_data,
the project's one masker) before it enters the page; Jinja2 escapes it.

The letter names the recipient and the issuer by their areas' names when the area table knows
them (the code otherwise), and carries the date it was first issued (``serving.notices``) when
the caller passes it. Its style is one fixed stylesheet inlined in the page, so that a strict
Content-Security-Policy can allow exactly it by hash (``STYLE_HASH``, the web console's page)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Final

import jinja2
from markupsafe import Markup

from features import area_codes
from features.areas import AreaTree
from features.personal_data import mask_personal
from risk.levels import ORANGE, RED
from serving.queue import SHANGHAI
from serving.tables import AuditEntry, Item

NOTICE_LEVELS = (RED, ORANGE)
_LEVEL_CLASS = {RED: "red", ORANGE: "orange"}
_CENTRE = {
    "province": "省",
    "city": "市",
    "county": "县（市、区）",
    "town": "镇（街道）",
    "village": "村（社区）",
}
_TEMPLATES: Final = Path(__file__).with_name("templates")


def _safe(value: object) -> str:
    return mask_personal(str(value))


def _when(value: datetime | None) -> str:
    return "—" if value is None else value.astimezone(SHANGHAI).strftime("%Y年%m月%d日 %H:%M")


def area_name(code: str, areas: AreaTree | None) -> str | None:
    """The area's name in the area table, or None when the table does not know it."""
    return areas.name(code) if areas is not None and code in areas else None


def area_path(code: str, areas: AreaTree | None) -> str | None:
    """The area's name after its ancestors' from the county down (西堡区 柳陵街道 兴滩社区居委会),
    or None when the area table does not know it."""
    if areas is None or code not in areas:
        return None
    chain = [
        c for c in [*reversed(areas.ancestors(code)), code] if areas.level(c) not in ("province", "city")
    ]
    return " ".join(areas.name(c) for c in chain) or areas.name(code)


def _centre(code: str | None, areas: AreaTree | None) -> str:
    if code is None:
        return "上级综治中心"
    name = area_name(code, areas)
    if name is not None:
        return f"{name}综治中心"
    return f"{_CENTRE[area_codes.level_of(code)]}综治中心（区划代码 {code}）"


@cache
def _css() -> str:
    return (_TEMPLATES / "notice.css").read_text(encoding="utf-8")


@cache
def style_hash() -> str:
    """The CSP source that allows the letter's inline style: ``'sha256-…'``."""
    digest = base64.b64encode(hashlib.sha256(_css().encode("utf-8")).digest()).decode("ascii")
    return f"'sha256-{digest}'"


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    return env.get_template("notice.html")


def render_notice(
    item: Item,
    history: Iterable[AuditEntry],
    now: datetime,
    horizon_days: int | None,
    *,
    areas: AreaTree | None = None,
    issued_at: datetime | None = None,
    issued_by: str | None = None,
    script: str | None = None,
    back: str | None = None,
) -> str:
    """The letter as one HTML page. ``issued_at`` (default ``now``) is the date it bears;
    ``script`` the URL of a print script (the console; None: a standalone page), ``back`` the
    link back to the item beside the print button."""
    case = item.case
    case_area = area_path(case.area_code, areas)
    values = {
        "number": f"督办预警〔{item.opened_at.astimezone(SHANGHAI).year}〕{item.id:06d}号",
        "recipient": _centre(item.area_code, areas),
        "issuer": _centre(area_codes.parent_of(item.area_code), areas),
        "level": item.level,
        "case_id": case.case_id,
        "category": case.category,
        "case_area": f"{case_area}（{case.area_code}）" if case_area else case.area_code,
        "registered_at": case.registered_at.strftime("%Y年%m月%d日 %H:%M"),
        "horizon": horizon_days or "—",
        "risk": f"{case.risk:.1%}",
        "respond_by": _when(item.respond_by),
        "feedback_by": _when(item.feedback_by),
        "issued_at": _when(issued_at or now),
        "model": f"{case.model_name} v{case.model_version or '?'}",
        "status": item.status,
        "issued_by": issued_by or "",
    }
    return _template().render(
        {key: _safe(value) for key, value in values.items()},
        level_class=_LEVEL_CLASS.get(item.level, ""),
        css=Markup(_css()),
        reasons=[f"{_safe(r['text'])}（{_safe(r['direction'])}风险）" for r in case.reasons],
        flags=[
            f"{_safe(f['text'])}（规则 {_safe(f['code'])}，至少{_safe(f['level'])}色）" for f in case.flags
        ],
        notes=[f"{_when(e.at)} {_safe(e.actor)}：{_safe(e.note)}" for e in history if e.note],
        script=script,
        back=back or "",
    )
