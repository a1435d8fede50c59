"""Small synthetic inputs for the weekly report, shaped like the real ones (the area index, scored
cases, overdue 督办 items, model health), shared by the unit and the browser tests.

One city, two counties, three towns, five villages; weeks 2026-W40..W47 (the report week). The
report week holds three cases (a 红 whose reason carries a phone and an ID number, an 橙, a 蓝),
the week before one 橙 case; three items are overdue.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

WEEK = "2026-W47"
PHONE = "13812345678"
PHONE_MASKED = "138****5678"
ID_NUMBER = "320612199001011234"
ID_MASKED = "320612********1234"
CITY, HAIAN, RUDONG = "320600000000", "320685000000", "320623000000"
QUTANG, LIBAO, JUEGANG = "320685104000", "320685105000", "320623001000"
BAIDIAN, SHUANGLOU, YANGZHUANG = "320685104201", "320685104202", "320685105201"
DONGLING, QINGYUAN = "320623001001", "320623001002"

AREAS = pd.DataFrame(
    [
        (CITY, "南通市", "city", None, 7_700_000.0),
        (HAIAN, "海安市", "county", CITY, 860_000.0),
        (RUDONG, "如东县", "county", CITY, 880_000.0),
        (QUTANG, "曲塘镇", "town", HAIAN, 80_000.0),
        (LIBAO, "李堡镇", "town", HAIAN, 70_000.0),
        (JUEGANG, "掘港街道", "town", RUDONG, np.nan),
        (BAIDIAN, "白甸村", "village", QUTANG, 3_000.0),
        (SHUANGLOU, "双楼村", "village", QUTANG, 2_500.0),
        (YANGZHUANG, "杨庄村", "village", LIBAO, 2_800.0),
        (DONGLING, "东凌社区", "village", JUEGANG, np.nan),
        (QINGYUAN, "青园社区", "village", JUEGANG, 4_100.0),
    ],
    columns=["area_code", "name", "level", "parent_code", "population"],
)
# Index in the report week, and how much it rose each week before it.
_LAST = {
    CITY: 48.0, HAIAN: 55.0, RUDONG: 38.0, QUTANG: 71.0, LIBAO: 44.0, JUEGANG: 36.0,
    BAIDIAN: 86.0, SHUANGLOU: 63.0, YANGZHUANG: 41.0, DONGLING: 24.0, QINGYUAN: 12.0,
}  # fmt: skip
_SLOPE = {BAIDIAN: 4.0, QUTANG: 2.0, SHUANGLOU: -1.5, QINGYUAN: -1.0}
_TREND = {BAIDIAN: "intensifying", QUTANG: "consecutive", SHUANGLOU: "diminishing", YANGZHUANG: "sporadic"}


def band(index: float) -> str:
    return (
        "红"
        if index >= 80
        else "橙"
        if index >= 60
        else "黄"
        if index >= 40
        else "蓝"
        if index >= 20
        else "无"
    )


def weeks(last: str = WEEK, n: int = 8) -> list[tuple[str, pd.Timestamp]]:
    year, number = int(last[:4]), int(last[-2:])
    mondays = [pd.Timestamp.fromisocalendar(year, number, 1) - pd.Timedelta(weeks=k) for k in range(n)][::-1]
    return [(f"{m.isocalendar()[0]}-W{m.isocalendar()[1]:02d}", m) for m in mondays]


def index_frame() -> pd.DataFrame:
    rows = []
    all_weeks = weeks()
    for back, (week, monday) in enumerate(reversed(all_weeks)):
        for area in AREAS.to_dict("records"):
            code = area["area_code"]
            value = float(np.clip(_LAST[code] - back * _SLOPE.get(code, 0.5), 0, 100))
            cases = 3 + int(value // 10)
            rows.append(
                {
                    **area,
                    "week": week,
                    "week_start": monday,
                    "index": value,
                    "lower": max(value - 8.0, 0.0),
                    "upper": min(value + 8.0, 100.0),
                    "band": band(value),
                    "trend": _TREND.get(code, "none"),
                    "red_3_weeks": code == BAIDIAN,
                    "expected_escalations": round(value / 40, 2),
                    "cases": cases,
                    "escalations": 1 if code in (BAIDIAN, QUTANG, HAIAN, CITY) and back == 0 else 0,
                    "driver_volume": 0.4,
                    "driver_severity": 0.35,
                    "driver_overdue": 0.25,
                    "top_drivers": "纠纷量上升；威胁言语增多",
                }
            )
    return pd.DataFrame(rows)


def cases_frame() -> pd.DataFrame:
    reason = f"叙述中有威胁言语；申请人电话{PHONE}，身份证号{ID_NUMBER}"
    rows = [
        ("C-47-1", BAIDIAN, "2026-11-17 09:30", "邻里纠纷", 0.31, "红", reason, f"扬言杀人（联系{PHONE}）"),
        ("C-47-2", DONGLING, "2026-11-18 14:00", "婚恋家庭", 0.12, "橙", "当事人曾多次报警", ""),
        ("C-47-3", YANGZHUANG, "2026-11-20 10:15", "劳资纠纷", 0.02, "蓝", "涉及金额较大", ""),
        ("C-46-1", SHUANGLOU, "2026-11-10 11:00", "债务纠纷", 0.09, "橙", "多次调解未果", ""),
        ("C-45-1", QINGYUAN, "2026-11-03 08:00", "劳资纠纷", 0.01, "无", "", ""),
        ("C-44-1", BAIDIAN, "2026-10-27 16:20", "劳资纠纷", 0.01, "无", "", ""),
        ("C-43-1", LIBAO, "2026-10-20 10:00", "物业纠纷", 0.005, "无", "", ""),
        ("C-48-1", BAIDIAN, "2026-11-23 09:00", "邻里纠纷", 0.40, "红", "下一周，不属于本报告", ""),
    ]
    frame = pd.DataFrame(
        rows,
        columns=["case_id", "area_code", "registered_at", "category", "risk", "level", "reasons", "flags"],
    )
    return frame.assign(registered_at=pd.to_datetime(frame["registered_at"]))


def overdue_frame() -> pd.DataFrame:
    rows = [
        (101, "C-46-1", QUTANG, "橙", "已签收", datetime(2026, 11, 20, 1, 0, tzinfo=UTC), 80.0),
        (102, "C-47-1", QUTANG, "红", "待签收", datetime(2026, 11, 22, 1, 0, tzinfo=UTC), 32.0),
        (103, "C-47-2", JUEGANG, "橙", "待签收", datetime(2026, 11, 23, 1, 0, tzinfo=UTC), 8.0),
    ]
    return pd.DataFrame(
        rows, columns=["item_id", "case_id", "area_code", "level", "status", "due_at", "hours_overdue"]
    )


def health_frame() -> pd.DataFrame:
    rows = []
    for k, (week, monday) in enumerate(weeks()):
        mature = k < 4
        rows.append(
            {
                "week": week,
                "week_start": monday,
                "n": 400 + 10 * k,
                "predicted_escalations": 4.0 + 0.2 * k,
                "realised_escalations": 4.0 + (k % 2) if mature else np.nan,
                "predicted_rate": (4.0 + 0.2 * k) / (400 + 10 * k),
                "realised_rate": (4.0 + (k % 2)) / (400 + 10 * k) if mature else np.nan,
                "estimated_auc": 0.88,
                "realised_auc": 0.87 if mature else np.nan,
            }
        )
    return pd.DataFrame(rows)


def weekly_inputs() -> dict:
    """Keyword arguments for ``build_weekly_report(WEEK, **weekly_inputs())``."""
    return {
        "index": index_frame(),
        "cases": cases_frame(),
        "overdue_items": overdue_frame(),
        "model_health": health_frame(),
        "score_drift": 0.042,
        "health_warnings": ["近 4 周实际民转刑标签尚未成熟"],
        "generated_at": datetime(2026, 11, 23, 1, 0, tzinfo=UTC),
    }
