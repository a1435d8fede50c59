"""The effect sizes of the demo's escalation mechanism (training/demo/mechanism.py), in one
place: the source of truth README.md tabulates. Each is a term of the true logit of a case."""

from __future__ import annotations

from features.schema import CATEGORIES, CHARGES_ESCALATION, KEY_GROUPS

HORIZON_DAYS = 90
TARGET_STATIC_RATE = 0.0125  # intercept solved so the static terms alone give this 90-day rate

CATEGORY_EFFECT = dict(
    zip(CATEGORIES, (0.6, 0.3, 0.0, 0.2, -0.8, 0.2, -1.2, -0.4, -0.6, 0.0, -0.2, -0.5), strict=True)
)
CUE_EFFECT = {
    "threat": 1.6,
    "weapon": 1.8,
    "alcohol": 0.7,
    "physical": 1.1,
    "injury": 0.8,
    "self_harm": 1.3,
    "separation": 0.6,
    "damage": 0.8,
}
THREAT_AND_WEAPON = 0.5  # on top of both: a threat backed by a weapon
# Interactions that risk instruments (DASH, VioGén) and case reviews describe: risk factors that
# matter far more together than apart. A purely additive model cannot represent them.
INTERACTIONS = {
    "separation_after_violence": 0.9,  # 婚恋家庭: separation with a threat or a fight (DV lethality)
    "drunken_fight": 0.5,  # alcohol together with physical conflict
    "psychosis_threat": 0.8,  # a 严重精神障碍患者 party and a threat or self-harm talk
    "repeat_calls_violence": 0.4,  # 2+ earlier 110 calls and physical conflict or injury
}
# A dispute of people against an organisation (物业公司, 用人单位, 医院...) rarely turns into a crime
# between persons: the same threat or fight counts for half there. Applies to the interpersonal
# violence cues; self-harm, alcohol and separation keep their full weight.
ORG_CUE_FACTOR = 0.5
ORG_DAMPED_CUES = ("threat", "weapon", "physical", "injury", "damage")
# A conflict that comes back within weeks is still hot (反复纠纷): the term is largest when a person
# of the case had a case days ago and decays with the gap; nothing without an earlier case.
RECENCY_EFFECT, RECENCY_DAYS = 1.0, 30.0
PRIOR_CASES_EFFECT = (0.0, 0.4, 0.7, 0.9)  # by max over the case's persons of earlier cases (3+)
PRIOR_ESCALATION_EFFECT = (0.0, 1.3, 1.6)  # by max over persons of earlier known escalations (2+)
KEY_GROUP_EFFECT = dict(zip(KEY_GROUPS, (1.2, 0.7, 0.5, 0.9, 1.0, 0.2), strict=True))
KEY_GROUP_CAP = 1.8  # sum over the distinct tags among the case's parties
CALLS_EFFECT = (0.0, 0.25, 0.6, 0.9, 1.1)  # by police_calls_before (4+); unknown -> 0
MEDIATION_EFFECT = (0.0, 0.1, 0.4, 0.7)  # by mediation_attempts (3+); unknown -> 0
# (logit per tenfold amount above the reference, reference yuan); capped at 2 decades; unknown -> 0
MONEY_EFFECT = {
    "债务纠纷": (0.35, 30_000),
    "劳资纠纷": (0.30, 10_000),
    "征地拆迁": (0.25, 100_000),
    "建设工程": (0.20, 100_000),
    "婚恋家庭": (0.20, 100_000),
}
GROUP_EFFECT = ((5, 0.2), (10, 0.4))  # n_people thresholds
TOWN_SD = 0.25  # latent town effect
RECENT_TOWN_EFFECT, RECENT_TOWN_DAYS, RECENT_TOWN_CAP = 0.08, 365, 4
# Escalation delay: lognormal (median days, sigma); "acute" = threat, weapon, fight or injury present.
DELAY_ACUTE, DELAY_OTHER = (8.0, 1.5), (30.0, 1.6)
ACUTE_CUES = ("threat", "weapon", "physical", "injury")
CHARGE_BASE = dict(
    zip(CHARGES_ESCALATION, (0.58, 0.015, 0.15, 0.08, 0.04, 0.03, 0.01, 0.01, 0.03), strict=True)
)

STATIC_TERMS = (
    "category",
    "cues",
    "prior_cases",
    "recency",
    "key_groups",
    "calls",
    "mediations",
    "money",
    "group",
    "interactions",
    "town_latent",
)
