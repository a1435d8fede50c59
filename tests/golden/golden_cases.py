"""What the golden test pins: a fixed training run and a fixed set of contract cases scored
through the API and through the batch path. ``record_golden.py`` writes the values once;
``test_golden.py`` recomputes them with the code as it is and compares."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

GOLDEN_FILE = Path(__file__).with_name("golden.json")
N_HELD_OUT = 60

# Hand-written cases for the hard flags and the 其他 mapping (registered after the holdout cut).
_EXTRA = (
    ("G-threat", "被申请人酒后扬言要杀了申请人全家，还拿着菜刀在门口转悠，申请人电话13812345678。", {}),
    (
        "G-selfharm",
        "当事人情绪激动，多次说要跳楼同归于尽，家属非常担心。",
        {"key_groups": "严重精神障碍患者"},
    ),
    ("G-calls", "两家因排水沟堵塞多次争吵，邻居多次报警。", {"police_calls_before": 5}),
    ("G-injury", "双方在田间发生推搡厮打，申请人头部受伤流血送医。", {}),
    ("G-unseen", "因快递丢失与驿站发生争执。", {"category": "快递纠纷", "source": "微信小程序"}),
)


def held_out(
    cases: pd.DataFrame, parties: pd.DataFrame, as_of: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame]:
    later = cases[cases["registered_at"] > as_of].sort_values(["registered_at", "case_id"]).head(N_HELD_OUT)
    return later.reset_index(drop=True), parties[parties["case_id"].isin(later["case_id"])]


def api_bodies(cases: pd.DataFrame, parties: pd.DataFrame) -> list[dict[str, Any]]:
    """Contract JSON bodies for POST /v1/cases/score: the held-out cases, then the hand-written ones."""
    by_case = {cid: group for cid, group in parties.groupby("case_id")}
    out = []
    for row in cases.to_dict("records"):
        body = {
            "case_id": row["case_id"],
            "registered_at": row["registered_at"].isoformat(),
            "area_code": row["area_code"],
            "grid_code": row.get("grid_code"),
            "source": row["source_raw"],
            "category": row["category_raw"],
            "narrative": row["narrative"],
            "amount_yuan": _opt(row.get("amount_yuan")),
            "n_parties": int(row["n_parties"]),
            "n_people": int(row["n_people"]),
            "police_calls_before": _opt(row.get("police_calls_before")),
            "mediation_attempts": _opt(row.get("mediation_attempts")),
            "parties": [
                {k: _opt(v) for k, v in p.items() if k != "case_id"}
                for p in by_case[row["case_id"]].to_dict("records")
            ],
        }
        out.append(body)
    last = cases.iloc[-1]
    for i, (case_id, narrative, extra) in enumerate(_EXTRA):
        body = dict(out[-1]) if out else {}
        body.update(
            case_id=case_id,
            narrative=narrative,
            registered_at=(last["registered_at"] + pd.Timedelta(hours=i + 1)).isoformat(),
            police_calls_before=extra.get("police_calls_before", 0),
            category=extra.get("category", "邻里纠纷"),
            source=extra.get("source", "群众来访"),
            parties=[
                {
                    "party_id": f"{case_id}-a",
                    "role": "申请方",
                    "party_type": "自然人",
                    "gender": "男",
                    "age": 45,
                    "key_groups": extra.get("key_groups", ""),
                },
                {
                    "party_id": f"{case_id}-b",
                    "role": "被申请方",
                    "party_type": "自然人",
                    "gender": "女",
                    "age": 41,
                    "key_groups": "",
                },
            ],
            n_parties=2,
        )
        out.append(body)
    return out


def _opt(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def api_results(client: Any, headers: dict[str, str], bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for body in bodies:
        response = client.post("/v1/cases/score", json=body, headers=headers)
        assert response.status_code == 200, response.text
        got = response.json()
        out.append(
            {
                "case_id": got["case_id"],
                "risk": got["risk"],
                "level": got["level"],
                "model_level": got["model_level"],
                "reasons": [[r["code"], r["text"], r["direction"]] for r in got["reasons"]],
                "flags": [f["code"] for f in got["flags"]],
                "warnings": got["warnings"],
            }
        )
    return out


def batch_results(model: Any, cases: pd.DataFrame, parties: pd.DataFrame) -> list[dict[str, Any]]:
    scores = model.score(cases, parties)
    return [
        {"case_id": r["case_id"], "risk": float(r["risk"]), "level": r["level"], "reasons": r["reasons"]}
        for r in scores.to_dict("records")
    ]


def metrics_of(result: Any) -> dict[str, Any]:
    return {
        "thresholds": dict(result.model.thresholds),
        "windows": {name: dict(window) for name, window in result.prepared.windows.items()},
        "test": {
            str(key): {k: float(m.value) for k, m in ms.items()}
            for key, ms in result.judgement.metrics.items()
        },
    }


def now_for(cases: pd.DataFrame) -> datetime:
    """The API clock: a day after the last case (naive Shanghai -> aware UTC)."""
    last = cases["registered_at"].max() + pd.Timedelta(days=1)
    return last.tz_localize("Asia/Shanghai").tz_convert(UTC).to_pydatetime()


def write(values: dict[str, Any]) -> None:
    GOLDEN_FILE.write_text(json.dumps(values, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")


def read() -> dict[str, Any]:
    return json.loads(GOLDEN_FILE.read_text(encoding="utf-8"))


def compute(trained: Any, root: Path) -> dict[str, Any]:
    """Score the held-out cases of the session model's data through the API and the batch path."""
    from fastapi.testclient import TestClient

    from features.contract import load_dataset
    from serving.app import create_app
    from serving.auth import create_key
    from serving.settings import Settings
    from training import registry

    dataset = load_dataset(trained.data, write_rejects=False)
    cases, parties = held_out(dataset.cases, dataset.parties, trained.as_of)
    bodies = api_bodies(cases, parties)
    settings = Settings(
        mlflow_tracking_uri=trained.tracking_uri,
        database_url=f"sqlite:///{root / 'queue.db'}",
        model_uri=f"models:/{trained.model.name}/{trained.version}",
        model_reload_seconds=0,
        feed_history=False,
        log_json=False,
    )
    app = create_app(settings, clock=lambda: now_for(cases))
    with TestClient(app) as client:
        with app.state.runtime.session() as session:
            key, _ = create_key(session, role="intake", name="golden", area_code=None, now=datetime.now(UTC))
            session.commit()
        api = api_results(client, {"Authorization": f"Bearer {key}"}, bodies)
    registry.configure(trained.tracking_uri)
    model = registry.load_escalation_model(f"models:/{trained.model.name}/{trained.version}")
    return {"metrics": metrics_of(trained.result), "api": api, "batch": batch_results(model, cases, parties)}
