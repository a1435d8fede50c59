"""The vocabulary of the data contract (../shared/spec/data-contract.md), in one place.

Every loader, the demo generator, the feature pipeline and the API take their
enumerations from here, so that a value means the same thing everywhere.
"""

from __future__ import annotations

from typing import Final

OTHER: Final = "其他"

SOURCES: Final[tuple[str, ...]] = (
    "群众来访",
    "110警情转办",
    "12345热线",
    "网格员排查",
    "信访转办",
    "诉前调解",
    "部门移交",
    OTHER,
)
CATEGORIES: Final[tuple[str, ...]] = (
    "婚恋家庭",
    "邻里纠纷",
    "劳资纠纷",
    "土地承包",
    "物业纠纷",
    "债务纠纷",
    "消费纠纷",
    "医疗纠纷",
    "交通事故",
    "征地拆迁",
    "建设工程",
    OTHER,
)
ROLES: Final[tuple[str, ...]] = ("申请方", "被申请方", "第三方")
PARTY_TYPES: Final[tuple[str, ...]] = ("自然人", "单位")
GENDERS: Final[tuple[str, ...]] = ("男", "女")
KEY_GROUPS: Final[tuple[str, ...]] = (
    "严重精神障碍患者",
    "刑满释放人员",
    "社区矫正对象",
    "吸毒人员",
    "三失一偏人员",
    "低保困难群众",
)
AREA_LEVELS: Final[tuple[str, ...]] = ("province", "city", "county", "town", "village")
# The 综治 hierarchy the index runs over; grids sit below villages and are not in the code file.
AREA_LEVEL_NAMES: Final[dict[str, str]] = {
    "province": "省",
    "city": "市",
    "county": "县",
    "town": "镇",
    "village": "村",
    "grid": "网格",
}
CHARGES_ESCALATION: Final[tuple[str, ...]] = (
    "故意伤害",
    "故意杀人",
    "寻衅滋事",
    "故意毁坏财物",
    "非法拘禁",
    "聚众斗殴",
    "过失致人死亡",
    "放火",
    "非法侵入住宅",
)

DEFAULT_TIMEZONE: Final = "Asia/Shanghai"
DEFAULT_HORIZON_DAYS: Final = 90
NARRATIVE_MAX_CHARS: Final = 5000
CASE_ID_MAX_CHARS: Final = 64

# Column order of the three tables as the contract lists them.
CASE_COLUMNS: Final[tuple[str, ...]] = (
    "case_id",
    "registered_at",
    "area_code",
    "grid_code",
    "source",
    "category",
    "narrative",
    "amount_yuan",
    "n_parties",
    "n_people",
    "police_calls_before",
    "mediation_attempts",
)
OUTCOME_COLUMNS: Final[tuple[str, ...]] = ("escalated", "escalated_at", "criminal_charge")
CASE_REQUIRED: Final[frozenset[str]] = frozenset(
    {"case_id", "registered_at", "area_code", "source", "category", "narrative", "n_parties", "n_people"}
)
PARTY_COLUMNS: Final[tuple[str, ...]] = (
    "case_id",
    "party_id",
    "role",
    "party_type",
    "gender",
    "age",
    "key_groups",
)
PARTY_REQUIRED: Final[frozenset[str]] = frozenset({"case_id", "party_id", "role", "party_type"})
AREA_COLUMNS: Final[tuple[str, ...]] = ("area_code", "name", "level", "parent_code", "population")
AREA_REQUIRED: Final[frozenset[str]] = frozenset({"area_code", "name", "level"})


def split_key_groups(value: str | None) -> list[str]:
    """``"吸毒人员;刑满释放人员"`` -> list of tags; empty or missing -> []."""
    if not value or not isinstance(value, str):
        return []
    return [tag.strip() for tag in value.replace("；", ";").split(";") if tag.strip()]


# Levels a case may be registered at: the village, or its town when the village is unknown.
CASE_AREA_LEVELS: Final[tuple[str, ...]] = ("town", "village")
