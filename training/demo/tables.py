"""Turn the generator's arrays into the contract's three tables (plus truth), all as text columns
so that the CSV is exactly what the contract describes (empty = unknown, ISO-8601 times, true/false).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from features.cues import cue_column
from features.schema import CATEGORIES, PARTY_TYPES, ROLES, SOURCES
from training.demo import effects, params
from training.demo.areas import AreaUniverse
from training.demo.cases import Cases
from training.demo.mechanism import Outcome, people_count
from training.demo.people import Parties, key_group_text
from training.labels import horizon_labels as contract_labels

P_GENDER_UNKNOWN, P_AGE_UNKNOWN = 0.02, 0.06
GENERATOR_VERSION = 2


def iso_times(start: np.datetime64, seconds: np.ndarray) -> np.ndarray:
    """Seconds after ``start`` -> 'YYYY-MM-DDTHH:MM:SS' (Asia/Shanghai wall time, no offset)."""
    return np.datetime_as_string(start + seconds.astype("timedelta64[s]"), unit="s").astype(object)


def _int_text(values: np.ndarray) -> np.ndarray:
    """Integers as text, NaN as empty (a nullable integer column in CSV)."""
    out = np.full(len(values), "", dtype=object)
    known = ~np.isnan(values)
    out[known] = [str(int(v)) for v in values[known].tolist()]
    return out


def case_ids(start: np.datetime64, cases: Cases) -> np.ndarray:
    years = (start + cases.t.astype("timedelta64[s]")).astype("datetime64[Y]").astype(int) + 1970
    return np.array([f"MD{y}{i + 1:07d}" for i, y in enumerate(years.tolist())], dtype=object)


def area_codes(areas: AreaUniverse, cases: Cases) -> tuple[np.ndarray, np.ndarray]:
    village = areas.unit_codes[cases.unit].astype(object)
    town = areas.town_codes[areas.unit_town[cases.unit]].astype(object)
    code = np.where(cases.town_level, town, village)
    grid = np.full(len(code), "", dtype=object)
    has = cases.grid > 0
    grid[has] = [f"{v}{g:03d}" for v, g in zip(village[has].tolist(), cases.grid[has].tolist(), strict=True)]
    return code, grid


def cases_table(
    ids, start, areas, cases, parties, outcome: Outcome, narratives, export_s: int
) -> pd.DataFrame:
    code, grid = area_codes(areas, cases)
    known = (outcome.escalated_at >= 0) & (outcome.escalated_at < export_s)  # right-censored at export
    esc_at = np.full(len(ids), "", dtype=object)
    esc_at[known] = iso_times(start, outcome.escalated_at[known])
    charge = np.where(known, outcome.charge, "")
    amount = _int_text(cases.amount)
    return pd.DataFrame(
        {
            "case_id": ids,
            "registered_at": iso_times(start, cases.t),
            "area_code": code,
            "grid_code": grid,
            "source": np.asarray(SOURCES, dtype=object)[cases.source],
            "category": np.asarray(CATEGORIES, dtype=object)[cases.category],
            "narrative": narratives,
            "amount_yuan": amount,
            "n_parties": (parties.slots >= 0).sum(axis=1),
            "n_people": people_count(cases, parties),
            "police_calls_before": _int_text(cases.calls),
            "mediation_attempts": _int_text(cases.mediations),
            "escalated": np.where(known, "true", "false").astype(object),
            "escalated_at": esc_at,
            "criminal_charge": charge.astype(object),
        }
    )


def parties_table(rng: np.random.Generator, ids, start, cases: Cases, parties: Parties) -> pd.DataFrame:
    case, slot = np.nonzero(parties.slots >= 0)  # row-major: cases in order, slots in order
    who = parties.slots[case, slot]
    org = parties.is_org[who]
    gender = parties.gender[who].copy()
    gender[org | (rng.random(len(who)) < P_GENDER_UNKNOWN)] = ""
    reg_year = (start + cases.t[case].astype("timedelta64[s]")).astype("datetime64[Y]").astype(int) + 1970
    age = reg_year - parties.birth_year[who] - (rng.random(len(who)) < 0.5)
    age[org | (rng.random(len(who)) < P_AGE_UNKNOWN)] = np.nan
    return pd.DataFrame(
        {
            "case_id": ids[case],
            "party_id": parties.hex_id[who],
            "role": np.asarray(ROLES, dtype=object)[parties.roles[case, slot]],
            "party_type": np.where(org, PARTY_TYPES[1], PARTY_TYPES[0]).astype(object),
            "gender": gender,
            "age": _int_text(age),
            "key_groups": key_group_text(parties.key_mask[who]),
        }
    )


def areas_table(areas: AreaUniverse) -> pd.DataFrame:
    frame = areas.frame
    return pd.DataFrame(
        {
            "area_code": frame["area_code"].astype(object).to_numpy(),
            "name": frame["name"].astype(object).to_numpy(),
            "level": frame["level"].astype(object).to_numpy(),
            "parent_code": frame["parent_code"]
            .astype(object)
            .where(frame["parent_code"].notna(), "")
            .to_numpy(),
            "population": _int_text(frame["population"].to_numpy(dtype=float)),
        }
    )


def truth_table(
    ids, start, cases: Cases, outcome: Outcome, denied: np.ndarray, distractors: np.ndarray
) -> pd.DataFrame:
    """Not part of the contract: the generator's own probability and the terms of its logit."""
    true_at = np.full(len(ids), "", dtype=object)
    ever = outcome.escalated_at >= 0
    true_at[ever] = iso_times(start, outcome.escalated_at[ever])
    columns = {
        "case_id": ids,
        "p_true": np.round(outcome.p_true, 8),
        "logit": np.round(outcome.logit, 6),
        "p_escalate_ever": np.round(outcome.p_ever, 8),
        "p_within_horizon_if_escalates": np.round(outcome.f_horizon, 6),
        "term_intercept": np.full(len(ids), outcome.intercept),
    }
    columns.update({f"term_{name}": np.round(values, 6) for name, values in outcome.terms.items()})
    columns.update(
        {
            "prior_cases": outcome.prior_cases,
            "days_since_last_case": np.round(outcome.days_since_last, 6),
            "prior_escalations": outcome.prior_escalations,
            "town_recent_escalations": outcome.town_recent,
            **{cue_column(name): cases.cues[:, k].astype(np.int8) for k, name in enumerate(params.CUES)},
            "denied_cue_mentions": denied,
            "distractor_mentions": distractors,
            "follow_up_of": np.where(cases.parent >= 0, ids[np.maximum(cases.parent, 0)], ""),
            "true_escalated_at": true_at,
            "true_charge": np.where(ever, outcome.charge, ""),
        }
    )
    return pd.DataFrame(columns)


def horizon_labels(
    cases: pd.DataFrame, export_date: date, horizon_days: int = effects.HORIZON_DAYS
) -> pd.Series:
    """The contract's label on the string tables about to be written (NaN when right-censored).

    The rule itself is the project's one (``training.labels``); this only types the columns.
    """
    typed = pd.DataFrame(
        {
            "registered_at": pd.to_datetime(cases["registered_at"]),
            "escalated": cases["escalated"] == "true",
            "escalated_at": pd.to_datetime(cases["escalated_at"].replace("", None)),
        }
    )
    return contract_labels(typed, horizon_days, pd.Timestamp(export_date))


def summary(config, t, outcome: Outcome, export_s: int) -> dict:
    """generator.json: the configuration, every effect size, counts, base rate and shares."""
    labels = horizon_labels(t.cases, config.export_day())
    ever = outcome.escalated_at >= 0
    shares = t.cases["category"].value_counts(normalize=True)
    return {
        "generator_version": GENERATOR_VERSION,
        "config": {k: (str(v) if isinstance(v, (date, Path)) else v) for k, v in asdict(config).items()}
        | {"export_date": str(config.export_day())},
        "horizon_days": effects.HORIZON_DAYS,
        "intercept": outcome.intercept,
        "effects": {
            "category": effects.CATEGORY_EFFECT,
            "cues": effects.CUE_EFFECT,
            "threat_and_weapon": effects.THREAT_AND_WEAPON,
            "org_cue_factor": [effects.ORG_CUE_FACTOR, list(effects.ORG_DAMPED_CUES)],
            "recency": [effects.RECENCY_EFFECT, effects.RECENCY_DAYS],
            "interactions": effects.INTERACTIONS,
            "prior_cases": effects.PRIOR_CASES_EFFECT,
            "prior_escalations": effects.PRIOR_ESCALATION_EFFECT,
            "key_groups": effects.KEY_GROUP_EFFECT,
            "key_group_cap": effects.KEY_GROUP_CAP,
            "calls": effects.CALLS_EFFECT,
            "mediations": effects.MEDIATION_EFFECT,
            "money": effects.MONEY_EFFECT,
            "group": effects.GROUP_EFFECT,
            "town_sd": effects.TOWN_SD,
            "recent_town": [effects.RECENT_TOWN_EFFECT, effects.RECENT_TOWN_DAYS, effects.RECENT_TOWN_CAP],
            "delay_acute": effects.DELAY_ACUTE,
            "delay_other": effects.DELAY_OTHER,
        },
        "counts": {
            "cases": len(t.cases),
            "party_rows": len(t.parties),
            "parties": int(t.parties["party_id"].nunique()),
            "areas": len(t.areas),
            "escalated_in_export": int((t.cases["escalated"] == "true").sum()),
            "escalated_ever": int(ever.sum()),
            "escalated_after_export": int((outcome.escalated_at >= export_s).sum()),
            "labelled_cases": int(labels.notna().sum()),
            "positive_labels": int(labels.sum()),
        },
        "base_rate_90d": round(float(labels.mean()), 6),
        "mean_p_true": round(float(outcome.p_true.mean()), 6),
        "registered_first": str(t.cases["registered_at"].iloc[0]),
        "registered_last": str(t.cases["registered_at"].iloc[-1]),
        "category_shares": {c: round(float(shares.get(c, 0.0)), 4) for c in CATEGORIES},
    }
