"""What the queue and item pages show, read within the user's area scope: the counts at the top
of the queue, the area filter's choices, and an item's case facts, timeline and allowed forms.

Listing and scoping are ``serving.queries``' (the API's own): a page can show no item the API
would not. The case facts come from the history facts stored at intake (110 calls, mediations,
party types and 重点人群, the narrative's cue families): the narrative itself is never stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from features import area_codes
from features.cues import cue_reasons
from features.schema import split_key_groups
from risk.levels import LEVELS, WARNING_LEVELS
from serving import audit, history_facts, queries
from serving.auth import Principal
from serving.console.pages import ACT_ROLES, Areas
from serving.queue import (
    ESCALATED,
    IN_HAND,
    LIGHTS,
    OPEN_STATUSES,
    PENDING,
    Item,
)
from serving.tables import AuditEntry, HistoryFact, NoticeIssue, ScoredCase

ACTION_NAMES: Final = {
    "open": "开启督办", "rescore": "重新评分", "raise": "提高等级", "lower": "降低等级", "sign": "签收",
    "note": "处置记录", "escalate": "提级", "close": "办结", audit.FOLLOW_UP: "回访",
}  # fmt: skip
FILTER_LEVELS: Final = ("province", "city", "county", "town")  # the desks an item can sit at


@dataclass(frozen=True)
class Counts:
    open_items: int
    lights: dict[str, int]
    levels: dict[str, int]


def counts(session: Session, *, scope: str | None, area: str | None, now: datetime) -> Counts:
    """Open items within the scope (and the area filter), by light and by level."""
    base = select(Item.id).join(Item.case).where(queries.scope_clause(scope), Item.status.in_(OPEN_STATUSES))
    if area is not None:
        base = base.where(Item.area_code.startswith(area_codes.prefix(area)))
    ids = base.subquery()
    total = session.scalar(select(func.count()).select_from(ids)) or 0
    lights = {
        light: session.scalar(
            select(func.count())
            .select_from(Item)
            .where(Item.id.in_(select(ids.c.id)), queries.light_clause(light, now))
        )
        or 0
        for light in LIGHTS
    }
    by_level = dict(
        session.execute(
            select(Item.level, func.count()).where(Item.id.in_(select(ids.c.id))).group_by(Item.level)
        ).all()
    )
    levels = {level: int(by_level.get(level, 0)) for level in LEVELS if level in WARNING_LEVELS}
    return Counts(total, lights, levels)


def area_choices(who: Principal, areas: Areas) -> list[tuple[str, str]]:
    """(code, label) of the desks within the user's scope the filter offers, from the area
    table; empty without one (the page then takes a typed code)."""
    tree = areas.tree
    if tree is None:
        return []
    roots = [who.area_code] if who.area_code is not None and who.area_code in tree else []
    if who.area_code is None:
        roots = [c for c in tree.codes() if tree.parent(c) is None]
    out = []
    for root in roots:
        for code in [root, *tree.descendants(root)]:
            if tree.level(code) in FILTER_LEVELS:
                indent = "　" * max(0, FILTER_LEVELS.index(tree.level(code)) - 1)
                out.append((code, f"{indent}{tree.name(code)}"))
    return out


def case_facts(session: Session, case_id: str) -> dict[str, Any] | None:
    """What intake stored of the case beyond the queue's row (its latest score's fact)."""
    fact = session.scalar(
        select(HistoryFact)
        .where(HistoryFact.case_id == case_id, HistoryFact.kind == history_facts.CASE)
        .order_by(HistoryFact.id.desc())
        .limit(1)
    )
    if fact is None:
        return None
    parties = fact.parties or []
    types: dict[str, int] = {}
    groups: list[str] = []
    for _, party_type, key_groups in parties:
        types[party_type] = types.get(party_type, 0) + 1
        groups += [g for g in split_key_groups(key_groups) if g not in groups]
    return {
        "parties": "，".join(f"{t} {n}" for t, n in types.items()) or "—",
        "key_groups": "、".join(groups) or "无",
        "police_calls": fact.police_calls_before,
        "mediations": fact.mediation_attempts,
        "cues": "、".join(cue_reasons(fact.cues or {})) or "未发现",
    }


def forms_for(who: Principal, item: Item) -> dict[str, bool]:
    """Which forms the item page offers this user now (the transitions check again)."""
    can_act = who.role in ACT_ROLES and who.covers(item.area_code)
    is_open = item.status in OPEN_STATUSES
    return {
        "sign": can_act and item.status in (PENDING, ESCALATED),
        "note": can_act and is_open,
        "escalate": can_act and is_open,
        "close": can_act and item.status == IN_HAND,
        "followup": can_act and not is_open,
    }


def timeline(session: Session, item: Item) -> list[AuditEntry]:
    return audit.history(session, item.id)


def level_story(case: ScoredCase, item: Item) -> list[str]:
    """Why the item has its level, in sentences: the model's level, a rule that raised it, a
    re-score or a person that moved it since."""
    lines = [f"模型评分 {case.risk * 100:.1f}%，对应模型等级：{case.model_level}。"]
    if case.level != case.model_level:
        rules = "、".join(str(f["text"]) for f in case.flags) or "硬性规则"
        lines.append(f"硬性预警规则（{rules}）将等级由 {case.model_level} 提升为 {case.level}。")
    if item.level != case.level:
        lines.append(f"事项当前等级为 {item.level}（评分后因重新评分或提级调整）。")
    return lines


def notice_issue(session: Session, item: Item) -> NoticeIssue | None:
    return session.get(NoticeIssue, item.id)
