"""A real console for the browser tests: the app under uvicorn in a thread on a free port, on a
fresh SQLite database with the demo areas, the session model (its MLflow store), the area index
and a weekly report stored by the CLI (``risk index --store``, ``risk report --store``), 督办 items
opened through the API in two counties, and a county supervisor to log in as."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pandas as pd
from ports import free_port

PASSWORD = "浏览器测试 password 1"
PHONE, PHONE_MASKED = "13812345678", "138****5678"
THREAT = "被申请人酒后扬言要杀了申请人全家，还拿着菜刀在门口转悠。"


class Clock:
    """The server's clock, moved by the tests (deadline lights, session expiry)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Site:
    url: str
    clock: Clock
    county: str  # the supervisor's
    county_name: str
    other_county: str
    items: dict[str, int] = field(default_factory=dict)  # case_id -> item id
    supervisor: str = "zhang.min"
    admin: str = "li.admin"
    village: str = ""  # one of the supervisor's villages
    report_id: int = 0

    def page_url(self, path: str) -> str:
        return f"{self.url}/console{path}"


def _villages(areas: pd.DataFrame, county: str, n: int) -> list[str]:
    towns = areas[(areas["level"] == "town") & (areas["parent_code"] == county)]["area_code"].tolist()
    villages = areas[(areas["level"] == "village") & areas["parent_code"].isin(towns)]
    return villages.drop_duplicates("parent_code")["area_code"].head(n).tolist()


def _store_archive(data: Path, tracking_uri: str, database_url: str, county: str, out: Path) -> None:
    """The index of the export's last weeks and the county's weekly report, as the CLI stores them."""
    from typer.testing import CliRunner

    from cli.main import app

    last = pd.to_datetime(pd.read_csv(data / "cases.csv", usecols=["registered_at"])["registered_at"]).max()
    common = ["--data", str(data), "--tracking-uri", tracking_uri, "--database-url", database_url]
    runs = [
        ["index", *common, "--out", str(out / "index.parquet"), "--store",
         "--from", (last - timedelta(weeks=12)).strftime("%Y-%m-%d")],
        ["report", *common, "--week", "latest", "--area", county, "--out", str(out / "reports"), "--store"],
    ]  # fmt: skip
    for args in runs:
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output


def _seed(site: Site, areas: pd.DataFrame, app: object) -> None:
    """Red items: three in the supervisor's county (two overdue by the time the tests run), two
    in the other county; the supervisor's login."""
    from serving import users
    from serving.auth import create_key

    runtime = app.state.runtime  # type: ignore[attr-defined]
    with runtime.session() as session:
        key, _ = create_key(session, role="intake", name="platform", area_code=None, now=site.clock())
        users.create_user(
            session, username=site.supervisor, password=PASSWORD, role="supervisor", area=site.county,
            now=site.clock(),
        )  # fmt: skip
        users.create_user(
            session, username=site.admin, password=PASSWORD, role="admin", area=None, now=site.clock()
        )
        session.commit()
    mine, theirs = _villages(areas, site.county, 3), _villages(areas, site.other_county, 2)
    site.village = mine[0]
    cases = [(f"A{i + 1}", code) for i, code in enumerate(mine)] + [
        (f"B{i + 1}", c) for i, c in enumerate(theirs)
    ]
    for n, (case_id, code) in enumerate(cases):
        if n == 2:
            site.clock.advance(hours=2.5)  # A1, A2 are overdue now; A3 and B* are not
        registered = (site.clock() - timedelta(hours=1)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {
            "case_id": case_id, "registered_at": registered, "area_code": code, "source": "群众来访",
            "category": "邻里纠纷", "narrative": f"{THREAT}申请人电话{PHONE}。", "amount_yuan": 500,
            "n_parties": 2, "n_people": 3, "police_calls_before": 2, "mediation_attempts": 1,
            "parties": [
                {"party_id": f"{case_id}-a", "role": "申请方", "party_type": "自然人", "gender": "男", "age": 45},
                {"party_id": f"{case_id}-b", "role": "被申请方", "party_type": "自然人", "gender": "男", "age": 47,
                 "key_groups": "刑满释放人员"},
            ],
        }  # fmt: skip
        r = httpx.post(f"{site.url}/v1/cases/score", json=body, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200, r.text
        site.items[case_id] = r.json()["item"]["id"]


@contextmanager
def console_site(trained: object, root: Path) -> Iterator[Site]:
    import uvicorn

    from serving import areas as area_table
    from serving.app import create_app
    from serving.db import make_engine, make_sessionmaker, upgrade
    from serving.settings import Settings
    from serving.tables import WeeklyReportRow

    data, tracking_uri = trained.data, trained.tracking_uri  # type: ignore[attr-defined]
    database_url = f"sqlite:///{root / 'queue.db'}"
    areas = pd.read_csv(data / "areas.csv", dtype=str)
    counties = sorted(areas[areas["level"] == "county"]["area_code"])
    county, other = counties[0], counties[1]
    engine = make_engine(database_url)
    upgrade(engine)
    with make_sessionmaker(engine)() as session:  # names for the pages; the server loads them at start
        area_table.load_file(session, data / "areas.csv")
        session.commit()
    engine.dispose()
    _store_archive(data, tracking_uri, database_url, county, root)
    clock = Clock()
    settings = Settings(
        mlflow_tracking_uri=tracking_uri, database_url=database_url, model_reload_seconds=0, log_json=False
    )
    app = create_app(settings, clock=clock)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, loop="asyncio"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    site = Site(
        f"http://127.0.0.1:{port}", clock, county, str(areas.set_index("area_code").at[county, "name"]), other
    )
    try:
        deadline = time.monotonic() + 120
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the console's server did not start"
            time.sleep(0.1)
        _seed(site, areas, app)
        with app.state.runtime.session() as session:
            site.report_id = session.query(WeeklyReportRow.id).filter_by(scope_code=county).scalar()
        yield site
    finally:
        server.should_exit = True
        thread.join(30)
