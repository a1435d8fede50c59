"""Small builders shared by the serving tests: contract cases, API keys, a settable clock."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from serving.auth import create_key

CITY, COUNTY, TOWN, VILLAGE = "320600000000", "320612000000", "320612001000", "320612001001"
TOWN_2, VILLAGE_2 = "320612002000", "320612002003"
OTHER_COUNTY, OTHER_VILLAGE = "320623000000", "320623101001"

BENIGN = "两家因宅基地边界发生口角，社区已上门了解情况，双方同意再次协商。"
RED_FLAG = "被申请人酒后扬言要杀了申请人全家，还拿着菜刀在门口转悠，申请人电话13812345678。"

START = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


class Clock:
    """The app's clock, set by hand so deadline lights are exact."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def party(i: int = 1, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "party_id": f"P{i:04d}",
        "role": "申请方" if i % 2 else "被申请方",
        "party_type": "自然人",
        "gender": "男",
        "age": 40 + i,
        "key_groups": "",
    }
    row.update(overrides)
    return row


def case(case_id: str = "C0001", narrative: str = BENIGN, **overrides: Any) -> dict[str, Any]:
    """A valid contract case with two parties nested; ``overrides`` replace any field."""
    row: dict[str, Any] = {
        "case_id": case_id,
        "registered_at": "2025-03-03T08:30:00",
        "area_code": VILLAGE,
        "grid_code": "G01",
        "source": "群众来访",
        "category": "邻里纠纷",
        "narrative": narrative,
        "amount_yuan": 1200,
        "n_parties": 2,
        "n_people": 3,
        "police_calls_before": 0,
        "mediation_attempts": 1,
        "parties": [party(1, party_id=f"{case_id}-a"), party(2, party_id=f"{case_id}-b")],
    }
    row.update(copy.deepcopy(overrides))
    return row


def red_case(case_id: str, **overrides: Any) -> dict[str, Any]:
    """A case whose threat-with-weapon flag makes it 红 whatever the model says."""
    return case(case_id, RED_FLAG, **overrides)


@dataclass(frozen=True)
class Key:
    key: str
    id: int
    role: str
    area: str | None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def make_key(client: TestClient, role: str, area: str | None = None, name: str | None = None) -> Key:
    with client.app.state.runtime.session() as session:  # type: ignore[attr-defined]
        key, row = create_key(
            session, role=role, name=name or f"{role}-{area or 'all'}", area_code=area, now=datetime.now(UTC)
        )
        session.commit()
        return Key(key, row.id, role, area)
