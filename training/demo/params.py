"""Distribution tables of the demo generator: how often, how much, who. Risk effects live in
``mechanism.py``; these tables only shape what is recorded.

Rows follow ``features.schema.CATEGORIES``; source columns follow ``features.schema.SOURCES``.
"""

from __future__ import annotations

import numpy as np

from features.schema import KEY_GROUPS

# 婚恋家庭 邻里 劳资 土地 物业 债务 消费 医疗 交通 征地 建设 其他: 邻里/婚恋/债务/劳资 largest, as in 综治 reports.
CATEGORY_SHARES = np.array([0.18, 0.24, 0.11, 0.05, 0.06, 0.13, 0.05, 0.02, 0.05, 0.03, 0.03, 0.05])
# How much more often a category arises in a 社区 (urban) than in a 村 (rural) unit.
URBAN_FACTOR = np.array([1.0, 0.9, 1.3, 0.1, 3.0, 1.0, 1.8, 1.3, 1.2, 0.6, 1.2, 1.1])

# fmt: off
#                   群众来访 110  12345 网格员 信访  诉前调解 部门移交 其他
SOURCE_MIX = np.array([
    [0.30, 0.28, 0.05, 0.20, 0.03, 0.06, 0.04, 0.04],  # 婚恋家庭
    [0.28, 0.22, 0.08, 0.30, 0.02, 0.04, 0.03, 0.03],  # 邻里纠纷
    [0.25, 0.08, 0.22, 0.06, 0.08, 0.06, 0.22, 0.03],  # 劳资纠纷
    [0.30, 0.05, 0.05, 0.30, 0.15, 0.05, 0.07, 0.03],  # 土地承包
    [0.22, 0.05, 0.40, 0.18, 0.02, 0.05, 0.05, 0.03],  # 物业纠纷
    [0.32, 0.10, 0.05, 0.08, 0.03, 0.35, 0.04, 0.03],  # 债务纠纷
    [0.25, 0.03, 0.45, 0.03, 0.01, 0.08, 0.12, 0.03],  # 消费纠纷
    [0.35, 0.05, 0.12, 0.02, 0.08, 0.10, 0.25, 0.03],  # 医疗纠纷
    [0.20, 0.30, 0.04, 0.02, 0.02, 0.35, 0.04, 0.03],  # 交通事故
    [0.28, 0.04, 0.08, 0.10, 0.30, 0.03, 0.14, 0.03],  # 征地拆迁
    [0.25, 0.05, 0.20, 0.05, 0.10, 0.12, 0.20, 0.03],  # 建设工程
    [0.35, 0.12, 0.15, 0.15, 0.05, 0.05, 0.05, 0.08],  # 其他
])
# fmt: on

# amount_yuan: P(unknown), median, lognormal sigma, rounding step.
AMOUNT = {
    "婚恋家庭": (0.70, 80_000, 1.2, 1000),
    "邻里纠纷": (0.65, 3_000, 1.1, 100),
    "劳资纠纷": (0.10, 18_000, 1.0, 100),
    "土地承包": (0.45, 12_000, 1.1, 100),
    "物业纠纷": (0.30, 3_500, 1.0, 10),
    "债务纠纷": (0.08, 60_000, 1.2, 1000),
    "消费纠纷": (0.15, 2_500, 1.3, 1),
    "医疗纠纷": (0.30, 60_000, 1.2, 1000),
    "交通事故": (0.25, 25_000, 1.2, 100),
    "征地拆迁": (0.35, 300_000, 1.0, 1000),
    "建设工程": (0.15, 250_000, 1.3, 1000),
    "其他": (0.60, 5_000, 1.3, 100),
}
# Share of cases that are collective (群体性, one representative party for 5-200 people).
GROUP_SHARE = {"劳资纠纷": 0.18, "建设工程": 0.22, "征地拆迁": 0.30, "物业纠纷": 0.10, "土地承包": 0.06}
# Relatives/bystanders on top of the parties (Poisson mean).
EXTRA_PEOPLE = {"婚恋家庭": 0.6, "邻里纠纷": 0.5, "土地承包": 0.5, "交通事故": 0.3}

# Mean 110 calls and mediation attempts before registration, by category.
CALLS_MEAN = np.array([0.45, 0.40, 0.15, 0.25, 0.12, 0.15, 0.05, 0.12, 0.35, 0.15, 0.12, 0.20])
MEDIATION_MEAN = np.array([0.45, 0.60, 0.40, 0.70, 0.35, 0.55, 0.25, 0.50, 0.45, 0.90, 0.50, 0.35])
P_CALLS_UNKNOWN, P_MEDIATION_UNKNOWN = 0.10, 0.14

# Escalation cues a narrative can carry (the mechanism's text features).
CUES = ("threat", "weapon", "alcohol", "physical", "injury", "self_harm", "separation", "damage")
# fmt: off
#                     threat weapon alcohol physical injury self_harm separation damage
CUE_RATES = np.array([
    [0.070, 0.030, 0.100, 0.120, 0.040, 0.050, 0.400, 0.050],  # 婚恋家庭
    [0.060, 0.030, 0.050, 0.140, 0.040, 0.010, 0.000, 0.080],  # 邻里纠纷
    [0.040, 0.010, 0.020, 0.040, 0.012, 0.035, 0.000, 0.020],  # 劳资纠纷
    [0.050, 0.040, 0.030, 0.100, 0.035, 0.020, 0.000, 0.080],  # 土地承包
    [0.020, 0.005, 0.020, 0.040, 0.010, 0.005, 0.000, 0.040],  # 物业纠纷
    [0.060, 0.015, 0.030, 0.050, 0.015, 0.020, 0.000, 0.030],  # 债务纠纷
    [0.010, 0.002, 0.010, 0.020, 0.005, 0.002, 0.000, 0.020],  # 消费纠纷
    [0.030, 0.010, 0.010, 0.040, 0.010, 0.010, 0.000, 0.030],  # 医疗纠纷
    [0.020, 0.005, 0.030, 0.040, 0.000, 0.005, 0.000, 0.015],  # 交通事故 (accident injuries are not a cue)
    [0.060, 0.030, 0.020, 0.060, 0.020, 0.040, 0.000, 0.050],  # 征地拆迁
    [0.040, 0.010, 0.020, 0.050, 0.015, 0.020, 0.000, 0.040],  # 建设工程
    [0.030, 0.010, 0.030, 0.050, 0.015, 0.010, 0.000, 0.030],  # 其他
])
# fmt: on
P_INJURY_AFTER_FIGHT = 0.30  # injuries mostly follow a fight or a weapon
# Per case: chance of mentioning absent cues in the negative ("双方未发生肢体冲突"), and of a distractor.
NEGATION_RATE = np.array([0.28, 0.30, 0.12, 0.25, 0.12, 0.15, 0.06, 0.12, 0.20, 0.15, 0.10, 0.15])
DISTRACTOR_RATE = np.array([0.06, 0.06, 0.04, 0.12, 0.03, 0.05, 0.18, 0.25, 0.45, 0.04, 0.06, 0.05])

# Share of cases that re-register an earlier dispute of the same parties (follow-ups), by category.
FOLLOW_UP_WEIGHT = np.array([1.6, 1.5, 0.8, 1.2, 0.9, 1.2, 0.3, 0.6, 0.4, 1.0, 0.8, 0.6])
FOLLOW_UP_SHARE = 0.12
FOLLOW_UP_GAP_DAYS = (40.0, 0.9)  # lognormal median and sigma of the time to the next registration

# 重点人群: share of natural persons carrying at least one tag, and how the tags are spread.
KEY_GROUP_PREVALENCE = (0.06, 0.025)  # recurring residents, one-off people
KEY_GROUP_MIX = dict(zip(KEY_GROUPS, (0.12, 0.20, 0.08, 0.08, 0.12, 0.40), strict=True))
P_SECOND_TAG = 0.08

# Party patterns per category: (probability, ((role, kind), ...)). Kinds: "local" a person of the
# case's village, "spouse" the first party's spouse, "org:<pool>" an organisation (单位).
_A, _B, _T = "申请方", "被申请方", "第三方"
PARTY_PATTERNS: dict[str, list[tuple[float, tuple[tuple[str, str], ...]]]] = {
    "婚恋家庭": [
        (0.80, ((_A, "local"), (_B, "spouse"))),
        (0.20, ((_A, "local"), (_B, "spouse"), (_T, "local"))),
    ],
    "邻里纠纷": [
        (0.82, ((_A, "local"), (_B, "local"))),
        (0.13, ((_A, "local"), (_B, "local"), (_B, "local"))),
        (0.05, ((_A, "local"), (_B, "local"), (_T, "org:village"))),
    ],
    "劳资纠纷": [
        (0.75, ((_A, "local"), (_B, "org:employer"))),
        (0.15, ((_A, "local"), (_B, "local"))),
        (0.10, ((_A, "local"), (_B, "local"), (_T, "org:employer"))),
    ],
    "土地承包": [(0.65, ((_A, "local"), (_B, "local"))), (0.35, ((_A, "local"), (_B, "org:village")))],
    "物业纠纷": [
        (0.70, ((_A, "local"), (_B, "org:property"))),
        (0.30, ((_A, "org:property"), (_B, "local"))),
    ],
    "债务纠纷": [
        (0.86, ((_A, "local"), (_B, "local"))),
        (0.06, ((_A, "local"), (_B, "local"), (_T, "local"))),
        (0.08, ((_A, "org:lender"), (_B, "local"))),
    ],
    "消费纠纷": [(0.88, ((_A, "local"), (_B, "org:merchant"))), (0.12, ((_A, "local"), (_B, "local")))],
    "医疗纠纷": [(1.00, ((_A, "local"), (_B, "org:hospital")))],
    "交通事故": [
        (0.55, ((_A, "local"), (_B, "local"))),
        (0.40, ((_A, "local"), (_B, "local"), (_T, "org:insurer"))),
        (0.05, ((_A, "local"), (_B, "org:employer"))),
    ],
    "征地拆迁": [
        (0.70, ((_A, "local"), (_B, "org:demolition"))),
        (0.30, ((_A, "local"), (_B, "org:village"))),
    ],
    "建设工程": [
        (0.55, ((_A, "local"), (_B, "org:builder"))),
        (0.25, ((_A, "org:builder"), (_B, "org:builder"))),
        (0.20, ((_A, "local"), (_B, "local"), (_T, "org:builder"))),
    ],
    "其他": [(0.85, ((_A, "local"), (_B, "local"))), (0.15, ((_A, "local"),))],
}
# Organisation pools: cases per organisation on average (heavy-tailed), and the scope of a pool.
ORG_POOLS = {
    "employer": (4.0, "county"),
    "property": (25.0, "county"),
    "merchant": (3.0, "county"),
    "hospital": (12.0, "county"),
    "builder": (5.0, "county"),
    "insurer": (200.0, "city"),
    "demolition": (15.0, "county"),
    "lender": (6.0, "county"),
    "village": (1.0, "unit"),
}
# People: a party is a recurring resident with probability P_RECURRENT (a village pool of
# RECURRENT_PER_CASE persons per generated case, lognormal dispute-proneness), else a one-off person.
P_RECURRENT, RECURRENT_PER_CASE, INVOLVEMENT_SIGMA = 0.15, 0.2, 0.8
