"""Who is in a dispute: a pool of residents per village (couples, repeat disputants, 重点人群) and
pools of organisations (单位) that recur across cases (employers, 物业公司, hospitals, insurers...).

A person's dispute-proneness (``involvement``) only decides how often they appear; it carries no
risk of its own, so everything risky about a person is visible in the export (their key groups,
their earlier cases and escalations).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.errors import DisputeRiskError
from features.schema import CATEGORIES, GENDERS, KEY_GROUPS, ROLES
from training.demo import params
from training.demo.areas import AreaUniverse

MAX_PARTIES = 4
ROLE_CODE = {role: i for i, role in enumerate(ROLES)}


@dataclass
class Parties:
    """Everyone who appears, and which of them sit in which case (party slots, -1 = empty)."""

    hex_id: np.ndarray  # object array of 16-hex pseudonymous ids
    is_org: np.ndarray  # bool
    org_kind: np.ndarray  # object: pool name for organisations, "" for persons
    gender: np.ndarray  # object: 男/女, None for organisations
    birth_year: np.ndarray  # float, NaN for organisations
    key_mask: np.ndarray  # int bitmask over KEY_GROUPS
    slots: np.ndarray  # (n_cases, MAX_PARTIES) party index
    roles: np.ndarray  # (n_cases, MAX_PARTIES) index into ROLES


def _segment_pick(
    rng: np.random.Generator, cumw: np.ndarray, start: np.ndarray, end: np.ndarray
) -> np.ndarray:
    """One index per row, drawn from [start, end) with the weights whose running sum is ``cumw``."""
    low = np.where(start > 0, cumw[np.maximum(start - 1, 0)], 0.0)
    target = low + rng.random(len(start)) * (cumw[end - 1] - low)
    return np.minimum(np.searchsorted(cumw, target, side="right"), end - 1)


class _PersonPool:
    """Residents who recur (a pool per village, weighted by dispute-proneness) and one-off people
    created on demand. In both, persons 2k and 2k+1 are a couple."""

    def __init__(self, rng: np.random.Generator, areas: AreaUniverse, n_cases: int) -> None:
        # pools per town, not per village: a town is big enough for the share of repeat disputants
        # not to depend on how many cases are generated
        weight = np.bincount(areas.unit_town, weights=areas.unit_weight, minlength=len(areas.town_codes))
        weight = weight / weight.sum()
        per_town = np.maximum(4, 2 * np.round(params.RECURRENT_PER_CASE * n_cases * weight / 2)).astype(
            np.int64
        )
        self.town = areas.unit_town
        self.n_pool = int(per_town.sum())
        self.end = np.cumsum(per_town)
        self.start = self.end - per_town
        self.cumw = np.cumsum(rng.lognormal(0.0, params.INVOLVEMENT_SIGMA, size=self.n_pool))
        self.n_total = self.n_pool  # grows as one-off couples are created

    def pick(self, rng: np.random.Generator, units: np.ndarray, avoid: np.ndarray) -> np.ndarray:
        """A resident of each case's town, never one already in the case (``avoid`` columns)."""
        chosen = np.empty(len(units), dtype=np.int64)
        known = np.flatnonzero(rng.random(len(units)) < params.P_RECURRENT)
        start, end = self.start[self.town[units[known]]], self.end[self.town[units[known]]]
        picked = _segment_pick(rng, self.cumw, start, end)
        for _ in range(MAX_PARTIES):
            clash = (
                (picked[:, None] == avoid[known]).any(axis=1) if avoid.size else np.zeros(len(known), bool)
            )
            if not clash.any():
                break
            nxt = picked[clash] + 1
            picked[clash] = np.where(nxt >= end[clash], start[clash], nxt)
        chosen[known] = picked
        fresh = np.setdiff1d(np.arange(len(units)), known, assume_unique=True)
        chosen[fresh] = self.n_total + 2 * np.arange(len(fresh))
        self.n_total += 2 * len(fresh)
        return chosen

    def attributes(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(gender, birth_year, key_mask) of every person; couples differ in gender, not much in age."""
        n = self.n_total
        first_male = rng.random(n // 2) < 0.5
        gender = np.empty(n, dtype=object)
        male, female = GENDERS
        gender[0::2] = np.where(first_male, male, female)
        gender[1::2] = np.where(first_male, female, male)
        age_2022 = np.clip(rng.normal(46, 14, size=n // 2), 20, 86)
        birth_year = np.round(np.minimum(np.repeat(2022 - age_2022, 2) + rng.normal(0, 2.5, size=n), 2003))
        prevalence = np.where(np.arange(n) < self.n_pool, *params.KEY_GROUP_PREVALENCE)
        return gender, birth_year, _key_groups(rng, prevalence)


def _key_groups(rng: np.random.Generator, prevalence: np.ndarray) -> np.ndarray:
    mix = np.array(list(params.KEY_GROUP_MIX.values()))
    mask = np.zeros(len(prevalence), dtype=np.int64)
    tagged = np.flatnonzero(rng.random(len(prevalence)) < prevalence)
    mask[tagged] |= 1 << rng.choice(len(KEY_GROUPS), size=len(tagged), p=mix)
    second = tagged[rng.random(len(tagged)) < params.P_SECOND_TAG]
    mask[second] |= 1 << rng.choice(len(KEY_GROUPS), size=len(second), p=mix)
    return mask


def _org_groups(areas: AreaUniverse, scope: str, units: np.ndarray) -> np.ndarray:
    codes = areas.unit_codes[units]
    if scope == "unit":
        return units.astype(np.int64)
    width = 6 if scope == "county" else 4
    keys = np.array([c[:width] for c in codes])
    _, inverse = np.unique(keys, return_inverse=True)
    return inverse.astype(np.int64)


def assign_parties(
    rng: np.random.Generator,
    areas: AreaUniverse,
    categories: np.ndarray,
    units: np.ndarray,
    parent: np.ndarray,
) -> Parties:
    """Parties of every case. ``parent[i] >= 0`` marks a follow-up that keeps its parent's parties
    (parents always come earlier in the arrays)."""
    # Long on purpose: who takes part in each case is drawn in one pass over the cases (recurring
    # residents, couples, organisations), sharing the draws' state; split, the state would travel.
    n = len(categories)
    people = _PersonPool(rng, areas, n)
    slots = np.full((n, MAX_PARTIES), -1, dtype=np.int64)
    roles = np.full((n, MAX_PARTIES), -1, dtype=np.int64)
    org_requests: dict[str, list[tuple[np.ndarray, int]]] = {}  # pool -> (cases, slot)
    fresh = parent < 0
    for c, category in enumerate(CATEGORIES):
        cases = np.flatnonzero(fresh & (categories == c))
        patterns = params.PARTY_PATTERNS[category]
        probs = np.array([p for p, _ in patterns])
        choice = rng.choice(len(patterns), size=len(cases), p=probs / probs.sum())
        for k, (_, pattern) in enumerate(patterns):
            rows = cases[choice == k]
            for j, (role, kind) in enumerate(pattern):
                roles[rows, j] = ROLE_CODE[role]
                if kind == "local":
                    slots[rows, j] = people.pick(rng, units[rows], slots[rows, :j])
                elif kind == "spouse":
                    slots[rows, j] = slots[rows, 0] ^ 1  # the couple partner
                else:
                    org_requests.setdefault(kind.split(":")[1], []).append((rows, j))
    n_people = people.n_total
    org_kind: list[str] = []
    for pool in sorted(org_requests):
        per_org, scope = params.ORG_POOLS[pool]
        rows = np.concatenate([r for r, _ in org_requests[pool]])
        cols = np.concatenate([np.full(len(r), j) for r, j in org_requests[pool]])
        groups = _org_groups(areas, scope, units[rows])
        if scope == "unit":  # one 村委会 per village: the organisation is the village itself
            used, local = np.unique(groups, return_inverse=True)
            slots[rows, cols] = n_people + len(org_kind) + local
            org_kind.extend([pool] * len(used))
            continue
        demand = np.bincount(groups)
        size = np.maximum(2, np.ceil(demand / per_org)).astype(np.int64)
        end = np.cumsum(size)
        start = end - size
        cumw = np.cumsum(rng.lognormal(0.0, 1.0, size=int(size.sum())))
        base = n_people + len(org_kind)
        picked = _segment_pick(rng, cumw, start[groups], end[groups])
        slots[rows, cols] = base + picked
        # two organisations of one pool in a case (建设工程 builder v builder) must differ
        same = np.zeros(len(rows), bool)
        for j in range(MAX_PARTIES):
            same |= (j < cols) & (slots[rows, j] == base + picked)
        bump = picked[same] + 1
        picked[same] = np.where(bump >= end[groups[same]], start[groups[same]], bump)
        slots[rows, cols] = base + picked
        org_kind.extend([pool] * int(size.sum()))
    for i in np.flatnonzero(~fresh):  # follow-ups in time order: parents are already filled
        slots[i], roles[i] = slots[parent[i]], roles[parent[i]]
    n_orgs = len(org_kind)
    gender, birth_year, key_mask = people.attributes(rng)
    return Parties(
        hex_id=_hex_ids(rng, n_people + n_orgs, slots),
        is_org=np.r_[np.zeros(n_people, bool), np.ones(n_orgs, bool)],
        org_kind=np.r_[np.full(n_people, "", dtype=object), np.array(org_kind, dtype=object)],
        gender=np.r_[gender, np.full(n_orgs, None, dtype=object)],
        birth_year=np.r_[birth_year, np.full(n_orgs, np.nan)],
        key_mask=np.r_[key_mask, np.zeros(n_orgs, dtype=np.int64)],
        slots=slots,
        roles=roles,
    )


def _hex_ids(rng: np.random.Generator, n: int, slots: np.ndarray) -> np.ndarray:
    """Pseudonymous ids that look like a salted hash of an ID number (the contract's example);
    only parties that appear in a case get one (one-off partners never do)."""
    raw = rng.integers(0, np.iinfo(np.int64).max, size=n, dtype=np.int64)
    used = np.unique(slots[slots >= 0])
    if len(np.unique(raw[used])) != len(used):  # 63-bit draws: astronomically unlikely, never silent
        raise DisputeRiskError(
            f"party ids must be unique, got a collision among {len(used)} draws; use another seed"
        )
    out = np.full(n, "", dtype=object)
    out[used] = [f"{x:016x}" for x in raw[used].tolist()]
    return out


def key_group_text(mask: np.ndarray) -> np.ndarray:
    """Bitmask -> the contract's ``;``-separated tags ("" when none)."""
    out = np.full(len(mask), "", dtype=object)
    for m in np.unique(mask[mask > 0]):
        out[mask == m] = ";".join(tag for b, tag in enumerate(KEY_GROUPS) if m >> b & 1)
    return out
