"""Orchestration: areas -> cases -> parties -> outcomes (in time order) -> narratives -> files.

``generate_demo_data(out_dir, DemoConfig(...))`` writes cases/parties/areas (the data contract),
truth.csv (the generator's p_true and logit terms) and generator.json. Same config, same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from features.errors import DisputeRiskError
from features.schema import CATEGORIES, GENDERS, KEY_GROUPS, SOURCES
from training.demo import calendar, mechanism, params, tables
from training.demo.areas import AreaUniverse, real_areas, synthetic_city
from training.demo.cases import DAY, Cases, sample_cases
from training.demo.narratives import NarrativeWriter, person_label
from training.demo.people import Parties, assign_parties

FORMATS = ("csv", "parquet")


@dataclass(frozen=True)
class DemoConfig:
    n_cases: int
    seed: int = 0
    start: date = date(2022, 1, 1)
    export_date: date | None = None  # default: start + 3.5 years; registrations stop the day before
    areas_path: Path | None = None
    population_path: Path | None = None

    def export_day(self) -> date:
        if self.export_date is not None:
            return self.export_date
        month = self.start.month + 6
        return self.start.replace(year=self.start.year + 3 + (month - 1) // 12, month=(month - 1) % 12 + 1)


@dataclass
class DemoTables:
    cases: pd.DataFrame
    parties: pd.DataFrame
    areas: pd.DataFrame
    truth: pd.DataFrame
    meta: dict = field(default_factory=dict)


def _check(config: DemoConfig) -> None:
    if config.n_cases < 1:
        raise DisputeRiskError(f"n_cases must be >= 1, got {config.n_cases}")
    if config.export_day() <= config.start:
        raise DisputeRiskError(f"export_date must be after start {config.start}, got {config.export_day()}")
    calendar.spring_festival(config.start.year)
    calendar.spring_festival(config.export_day().year + 1)  # days after a festival look ahead a year


def _amount_text(rnd_values: np.ndarray, amount: np.ndarray) -> list[str]:
    out = []
    for a, r in zip(amount.tolist(), rnd_values.tolist(), strict=True):
        if a != a:
            out.append("")
        elif a >= 10_000 and r < 0.5:
            out.append(f"{'约' if r < 0.2 else ''}{round(a / 10_000, 1):g}万元")
        else:
            out.append(f"{int(a)}元")
    return out


def _narratives(
    rng: np.random.Generator,
    writer: NarrativeWriter,
    start: np.datetime64,
    areas: AreaUniverse,
    cases: Cases,
    parties: Parties,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    # Long on purpose: the per-case loop that hands each case's recorded facts to the writer; each
    # line maps one export column to one narrative slot, read best side by side.
    n = len(cases.t)
    lag = np.minimum(rng.geometric(0.4, size=n) - 1, 20)  # the event usually precedes its registration
    event_day = start.astype("datetime64[D]") + (cases.t // DAY - lag).astype("timedelta64[D]")
    month = (event_day.astype("datetime64[M]").astype(int) % 12 + 1).tolist()
    dom = ((event_day - event_day.astype("datetime64[M]")).astype(int) + 1).tolist()
    year = (event_day.astype("datetime64[Y]").astype(int) + 1970).tolist()
    date_style = rng.random(n).tolist()
    amounts = _amount_text(rng.random(n), cases.amount)
    n_people = mechanism.people_count(cases, parties).tolist()
    town_of = areas.unit_town[cases.unit].tolist()
    slots, is_org, kinds = parties.slots.tolist(), parties.is_org, parties.org_kind
    denied = np.zeros(n, dtype=np.int64)
    distract = np.zeros(n, dtype=np.int64)
    texts: list[str] = []
    combos = [tuple(c for k, c in enumerate(params.CUES) if m >> k & 1) for m in range(1 << len(params.CUES))]
    cue_names = [combos[m] for m in (cases.cues @ (1 << np.arange(len(params.CUES)))).tolist()]
    calls = np.nan_to_num(cases.calls).astype(int).tolist()
    meds = np.nan_to_num(cases.mediations).astype(int).tolist()
    for i in range(n):
        unit, town_i = int(cases.unit[i]), town_of[i]
        place = areas.town_place[town_i] if cases.town_level[i] else areas.unit_place[unit]
        labels, tags = [], None
        for p in slots[i]:
            if p < 0:
                continue
            if is_org[p]:
                labels.append(
                    writer.org_label(
                        kinds[p],
                        p,
                        areas.town_place[town_i],
                        areas.unit_place[unit],
                        bool(areas.unit_urban[unit]),
                    )
                )
            else:
                labels.append(person_label(p))
                mask = int(parties.key_mask[p])
                if mask and tags is None:
                    tags = (labels[-1], KEY_GROUPS[(mask & -mask).bit_length() - 1])
        a = labels[0]
        b = labels[1] if len(labels) > 1 else "对方"
        c = labels[2] if len(labels) > 2 else "保险公司"
        if a == b:
            a, b = a[0] + "某甲", a[0] + "某乙"
        b_party = slots[i][1]
        b_male = None if b_party < 0 or is_org[b_party] else parties.gender[b_party] == GENDERS[0]
        s = date_style[i]
        date_text = (
            f"{month[i]}月{dom[i]}日"
            if s < 0.7
            else f"{year[i]}年{month[i]}月{dom[i]}日"
            if s < 0.85
            else f"{month[i]}月{dom[i]}号"
        )
        cat = CATEGORIES[cases.category[i]]
        source = SOURCES[cases.source[i]]
        text, denied[i], distract[i] = writer.write(
            category=cat,
            source=source,
            a=a,
            b=b,
            c=c,
            a_org=bool(is_org[slots[i][0]]),
            b_org=b_party >= 0 and bool(is_org[b_party]),
            b_male=b_male,
            place=place,
            town=areas.town_place[town_i],
            date=date_text,
            amount=amounts[i],
            n_people=n_people[i],
            group=bool(cases.group[i]),
            follow_up=bool(cases.parent[i] >= 0),
            calls=calls[i],
            mediations=meds[i],
            cues=cue_names[i],
            key_group=tags,
            neg_rate=float(params.NEGATION_RATE[cases.category[i]])
            * (1.5 if source == "110警情转办" else 1.0),
            distract_rate=float(params.DISTRACTOR_RATE[cases.category[i]]),
        )
        texts.append(text)
    return texts, denied, distract


def build_demo_tables(config: DemoConfig) -> DemoTables:
    """Everything in memory; ``write_demo_tables`` puts it on disk."""
    _check(config)
    seeds = np.random.SeedSequence(config.seed).spawn(6)
    rng_area, rng_case, rng_people, rng_mech, rng_text, rng_rows = (np.random.default_rng(s) for s in seeds)
    areas = (
        real_areas(rng_area, config.areas_path, config.population_path)
        if config.areas_path
        else synthetic_city(rng_area)
    )
    start = np.datetime64(config.start, "s")
    days = np.arange(np.datetime64(config.start, "D"), np.datetime64(config.export_day(), "D"))
    cases = sample_cases(rng_case, areas, days, config.n_cases)
    parties = assign_parties(rng_people, areas, cases.category, cases.unit, cases.parent)
    town = areas.unit_town[cases.unit]
    outcome = mechanism.simulate(rng_mech, cases, parties, town, len(areas.town_codes))
    writer = NarrativeWriter(int(rng_text.integers(0, 2**62)))
    texts, denied, distract = _narratives(rng_text, writer, start, areas, cases, parties)
    ids = tables.case_ids(start, cases)
    export_s = int(len(days) * DAY)
    case_frame = tables.cases_table(
        ids, start, areas, cases, parties, outcome, np.array(texts, dtype=object), export_s
    )
    party_frame = tables.parties_table(rng_rows, ids, start, cases, parties)
    result = DemoTables(
        cases=case_frame,
        parties=party_frame,
        areas=tables.areas_table(areas),
        truth=tables.truth_table(ids, start, cases, outcome, denied, distract),
    )
    result.meta = tables.summary(config, result, outcome, export_s)
    return result


def write_demo_tables(result: DemoTables, out_dir: Path, fmt: str = "csv") -> list[Path]:
    if fmt not in FORMATS:
        raise DisputeRiskError(f"format must be one of {FORMATS}, got {fmt!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ("cases", "parties", "areas"):
        frame = getattr(result, name)
        path = out_dir / f"{name}.{fmt}"
        if fmt == "csv":
            frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
        else:
            _typed(name, frame).to_parquet(path, index=False)
        written.append(path)
    truth_path = out_dir / "truth.csv"
    _write_truth(result.truth, truth_path)
    meta_path = out_dir / "generator.json"
    meta_path.write_text(
        json.dumps(result.meta, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return [*written, truth_path, meta_path]


def _write_truth(truth: pd.DataFrame, path: Path) -> None:
    """33 mostly numeric columns: Arrow's writer is ~6x faster than pandas here (not a contract file)."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    table = pa.Table.from_pandas(truth.replace("", None), preserve_index=False).replace_schema_metadata(None)
    pa_csv.write_csv(table, path)


def _typed(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Parquet keeps types: timestamps, booleans, nullable integers and floats instead of text."""
    out = frame.replace("", None).infer_objects()
    numeric = {
        "cases": ("amount_yuan", "n_parties", "n_people", "police_calls_before", "mediation_attempts"),
        "parties": ("age",),
        "areas": ("population",),
    }[name]
    for column in numeric:
        out[column] = pd.to_numeric(out[column]).astype("Float64" if column == "amount_yuan" else "Int64")
    if name == "cases":
        out["registered_at"] = pd.to_datetime(out["registered_at"])
        out["escalated_at"] = pd.to_datetime(out["escalated_at"])
        out["escalated"] = out["escalated"] == "true"
    return out


def generate_demo_data(out_dir: Path, config: DemoConfig, fmt: str = "csv") -> DemoTables:
    result = build_demo_tables(config)
    write_demo_tables(result, Path(out_dir), fmt)
    return result
