"""The escalation mechanism (民转刑): the true logit of each case and when escalations happen.

Every term is a function of something recorded in the export, except a small town effect whose
traces are that town's own escalations. README.md tabulates the sizes; training/demo/effects.py holds
them. Cases are processed in registration order, because a person's earlier escalation
raises risk only once it has happened (escalated_at < registered_at).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from features.schema import CATEGORIES, KEY_GROUPS
from training.demo import effects, params
from training.demo.cases import DAY, Cases
from training.demo.people import Parties


@dataclass
class Outcome:
    terms: dict[str, np.ndarray]  # every logit component, including intercept and the dynamic ones
    logit: np.ndarray
    p_ever: np.ndarray  # P(escalates at all)
    f_horizon: np.ndarray  # P(delay <= 90 days | escalates)
    p_true: np.ndarray  # P(escalates within 90 days of registration)
    escalated_at: np.ndarray  # int seconds (true, uncensored); -1 = never
    charge: np.ndarray  # object; None = never
    prior_cases: np.ndarray
    days_since_last: np.ndarray  # NaN: no person of the case had an earlier case
    prior_escalations: np.ndarray
    town_recent: np.ndarray
    intercept: float


def _lookup(table: tuple[float, ...], counts: np.ndarray) -> np.ndarray:
    values = np.asarray(table)
    known = ~np.isnan(counts)
    idx = np.minimum(np.where(known, counts, 0), len(values) - 1).astype(np.int64)
    return np.where(known, values[idx], 0.0)


def _lognormal_cdf(x: float, median: float, sigma: float) -> float:
    return 0.5 * (1.0 + math.erf((math.log(x) - math.log(median)) / (sigma * math.sqrt(2.0))))


def person_rows(parties: Parties) -> tuple[np.ndarray, np.ndarray]:
    """(case, person) pairs of natural persons, in case order: the people whose history counts."""
    case, slot = np.nonzero(parties.slots >= 0)
    who = parties.slots[case, slot]
    keep = ~parties.is_org[who]
    return case[keep], who[keep]


def prior_case_counts(n_cases: int, case: np.ndarray, who: np.ndarray) -> np.ndarray:
    """Per case: max over its persons of how many earlier cases that person was in."""
    order = np.lexsort((case, who))
    w = who[order]
    first = np.r_[True, w[1:] != w[:-1]]
    run_start = np.maximum.accumulate(np.where(first, np.arange(len(w)), 0))
    earlier = np.arange(len(w)) - run_start
    out = np.zeros(n_cases, dtype=np.int64)
    np.maximum.at(out, case[order], earlier)
    return out


def days_since_last_case(t: np.ndarray, case: np.ndarray, who: np.ndarray) -> np.ndarray:
    """Per case: days since the latest earlier case of any of its persons (NaN: none had one)."""
    order = np.lexsort((case, who))
    w, c = who[order], case[order]
    again = np.r_[False, w[1:] == w[:-1]]  # the row before is this person's previous case
    previous = np.r_[c[:1], c[:-1]]
    gap = np.full(len(t), np.inf)
    rows = again & (t[previous] < t[c])  # strictly earlier, as the history features count
    np.minimum.at(gap, c[rows], (t[c[rows]] - t[previous[rows]]) / DAY)
    return np.where(np.isinf(gap), np.nan, gap)


def has_organisation(parties: Parties) -> np.ndarray:
    slots = parties.slots
    return ((slots >= 0) & parties.is_org[np.maximum(slots, 0)]).any(axis=1)


def static_terms(
    cases: Cases,
    parties: Parties,
    town: np.ndarray,
    town_effect: np.ndarray,
    prior_cases: np.ndarray,
    days_since_last: np.ndarray,
) -> dict[str, np.ndarray]:
    n = len(cases.t)
    cue = {name: cases.cues[:, k] for k, name in enumerate(params.CUES)}
    damp = np.where(has_organisation(parties), effects.ORG_CUE_FACTOR, 1.0)
    weight = {name: damp if name in effects.ORG_DAMPED_CUES else 1.0 for name in params.CUES}
    cue_sum = np.sum([weight[name] * effects.CUE_EFFECT[name] * cue[name] for name in params.CUES], axis=0)
    key_mask = np.zeros(n, dtype=np.int64)
    for j in range(parties.slots.shape[1]):
        present = parties.slots[:, j] >= 0
        key_mask[present] |= parties.key_mask[parties.slots[present, j]]
    key = np.sum(
        [effects.KEY_GROUP_EFFECT[tag] * ((key_mask >> b) & 1) for b, tag in enumerate(KEY_GROUPS)], axis=0
    )
    money = np.zeros(n)
    for name, (slope, ref) in effects.MONEY_EFFECT.items():
        rows = (cases.category == CATEGORIES.index(name)) & ~np.isnan(cases.amount)
        money[rows] = slope * np.clip(np.log10(cases.amount[rows] / ref), 0.0, 2.0)
    n_people = people_count(cases, parties)
    group = np.zeros(n)
    for threshold, effect in effects.GROUP_EFFECT:
        group[n_people >= threshold] = effect
    return {
        "category": np.array([effects.CATEGORY_EFFECT[c] for c in CATEGORIES])[cases.category],
        "cues": cue_sum + damp * effects.THREAT_AND_WEAPON * (cue["threat"] & cue["weapon"]),
        "prior_cases": np.asarray(effects.PRIOR_CASES_EFFECT)[
            np.minimum(prior_cases, len(effects.PRIOR_CASES_EFFECT) - 1)
        ],
        "recency": np.nan_to_num(
            effects.RECENCY_EFFECT * np.exp(-days_since_last / effects.RECENCY_DAYS), nan=0.0
        ),
        "key_groups": np.minimum(key, effects.KEY_GROUP_CAP),
        "calls": _lookup(effects.CALLS_EFFECT, cases.calls),
        "mediations": _lookup(effects.MEDIATION_EFFECT, cases.mediations),
        "money": money,
        "group": group,
        "interactions": _interactions(cases, cue, key_mask),
        "town_latent": town_effect[town],
    }


def _interactions(cases: Cases, cue: dict[str, np.ndarray], key_mask: np.ndarray) -> np.ndarray:
    family = cases.category == CATEGORIES.index("婚恋家庭")
    psychosis = ((key_mask >> KEY_GROUPS.index("严重精神障碍患者")) & 1).astype(bool)
    calls = np.nan_to_num(cases.calls, nan=0.0)
    hits = {
        "separation_after_violence": family
        & cue["separation"].astype(bool)
        & (cue["threat"] | cue["physical"]).astype(bool),
        "drunken_fight": (cue["alcohol"] & cue["physical"]).astype(bool),
        "psychosis_threat": psychosis & (cue["threat"] | cue["self_harm"]).astype(bool),
        "repeat_calls_violence": (calls >= 2) & (cue["physical"] | cue["injury"]).astype(bool),
    }
    return np.sum([effects.INTERACTIONS[name] * hit for name, hit in hits.items()], axis=0)


def people_count(cases: Cases, parties: Parties) -> np.ndarray:
    """n_people as exported: one per party plus relatives, or the crowd behind a collective case."""
    return (parties.slots >= 0).sum(axis=1) + cases.extra_people


def _solve_intercept(static: np.ndarray, f_horizon: np.ndarray, target: float) -> float:
    low, high = -15.0, 5.0
    for _ in range(50):
        mid = 0.5 * (low + high)
        rate = float(np.mean(f_horizon / (1.0 + np.exp(-(mid + static)))))
        low, high = (mid, high) if rate < target else (low, mid)
    return round(0.5 * (low + high), 6)


def simulate(
    rng: np.random.Generator, cases: Cases, parties: Parties, town: np.ndarray, n_towns: int
) -> Outcome:
    """Draw every case's outcome in registration order (the history terms need the past only)."""
    # Long on purpose: the escalation process in registration order, a single pass whose state (known
    # escalations, recent town events) must be updated case by case exactly as time runs.
    n = len(cases.t)
    case_rows, who = person_rows(parties)
    prior_cases = prior_case_counts(n, case_rows, who)
    since = days_since_last_case(cases.t, case_rows, who)
    town_effect = rng.normal(0.0, effects.TOWN_SD, size=n_towns)
    terms = static_terms(cases, parties, town, town_effect, prior_cases, since)
    static = np.sum(list(terms.values()), axis=0)
    acute = np.zeros(n, bool)
    for name in effects.ACUTE_CUES:
        acute |= cases.cues[:, params.CUES.index(name)]
    f_acute = _lognormal_cdf(effects.HORIZON_DAYS, *effects.DELAY_ACUTE)
    f_other = _lognormal_cdf(effects.HORIZON_DAYS, *effects.DELAY_OTHER)
    f_horizon = np.where(acute, f_acute, f_other)
    intercept = _solve_intercept(static, f_horizon, effects.TARGET_STATIC_RATE)

    median = np.where(acute, effects.DELAY_ACUTE[0], effects.DELAY_OTHER[0])
    sigma = np.where(acute, effects.DELAY_ACUTE[1], effects.DELAY_OTHER[1])
    delay = np.maximum(600, np.round(np.exp(np.log(median) + sigma * rng.standard_normal(n)) * DAY))
    when = cases.t + delay.astype(np.int64)
    for _ in range(5):  # an escalation never lands on the very second of another registration
        pos = np.minimum(np.searchsorted(cases.t, when), n - 1)
        when = when + (cases.t[pos] == when)
    uniform = rng.random(n)

    persons: list[list[int]] = [[] for _ in range(n)]
    for c, p in zip(case_rows.tolist(), who.tolist(), strict=True):
        persons[c].append(p)
    esc_known = [0] * len(parties.hex_id)
    town_events: list[deque[int]] = [deque() for _ in range(n_towns)]
    pending: list[tuple[int, int]] = []
    prior_esc = np.zeros(n, dtype=np.int64)
    recent = np.zeros(n, dtype=np.int64)
    escalated_at = np.full(n, -1, dtype=np.int64)
    window = effects.RECENT_TOWN_DAYS * DAY
    base = (intercept + static).tolist()
    t_list, town_list, when_list, u_list = cases.t.tolist(), town.tolist(), when.tolist(), uniform.tolist()
    esc_table, cap = effects.PRIOR_ESCALATION_EFFECT, len(effects.PRIOR_ESCALATION_EFFECT) - 1
    for i in range(n):
        ti = t_list[i]
        while pending and pending[0][0] < ti:  # escalations that happened before this registration
            te, j = heapq.heappop(pending)
            for p in persons[j]:
                esc_known[p] += 1
            town_events[town_list[j]].append(te)
        m = max((esc_known[p] for p in persons[i]), default=0)
        events = town_events[town_list[i]]
        while events and events[0] < ti - window:
            events.popleft()
        r = len(events)
        eta = base[i] + esc_table[min(m, cap)] + effects.RECENT_TOWN_EFFECT * min(r, effects.RECENT_TOWN_CAP)
        prior_esc[i], recent[i] = m, r
        if u_list[i] * (1.0 + math.exp(-eta)) < 1.0:  # u < sigmoid(eta)
            escalated_at[i] = when_list[i]
            heapq.heappush(pending, (when_list[i], i))

    terms["prior_escalations"] = np.asarray(esc_table)[np.minimum(prior_esc, cap)]
    terms["town_recent"] = effects.RECENT_TOWN_EFFECT * np.minimum(recent, effects.RECENT_TOWN_CAP)
    logit = intercept + np.sum(list(terms.values()), axis=0)
    p_ever = 1.0 / (1.0 + np.exp(-logit))
    return Outcome(
        terms=terms,
        logit=logit,
        p_ever=p_ever,
        f_horizon=f_horizon,
        p_true=p_ever * f_horizon,
        escalated_at=escalated_at,
        charge=_charges(rng, cases, parties, escalated_at >= 0),
        prior_cases=prior_cases,
        days_since_last=since,
        prior_escalations=prior_esc,
        town_recent=recent,
        intercept=intercept,
    )


def _charges(rng: np.random.Generator, cases: Cases, parties: Parties, escalated: np.ndarray) -> np.ndarray:
    """故意伤害 most often; 毁坏财物 after property damage, 非法拘禁 in money disputes, 故意杀人 rare."""
    names = list(effects.CHARGE_BASE)
    weight = np.tile(np.array(list(effects.CHARGE_BASE.values())), (len(cases.t), 1))
    cue = {name: cases.cues[:, k] for k, name in enumerate(params.CUES)}
    money_case = np.isin(cases.category, [CATEGORIES.index(c) for c in ("债务纠纷", "劳资纠纷", "建设工程")])
    weight[:, names.index("故意毁坏财物")] *= np.where(cue["damage"], 5.0, 1.0)
    weight[:, names.index("非法拘禁")] *= np.where(money_case, 5.0, 1.0)
    weight[:, names.index("故意杀人")] *= np.where(cue["threat"] & cue["weapon"], 4.0, 1.0)
    weight[:, names.index("聚众斗殴")] *= np.where(people_count(cases, parties) >= 5, 5.0, 1.0)
    weight[:, names.index("寻衅滋事")] *= np.where(cue["alcohol"], 2.0, 1.0)
    cum = np.cumsum(weight, axis=1)
    pick = (rng.random(len(cases.t))[:, None] * cum[:, -1:] > cum).sum(axis=1)
    charges = np.asarray(names, dtype=object)[pick]
    charges[~escalated] = None
    return charges
