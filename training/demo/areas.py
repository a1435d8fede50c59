"""Where disputes are registered: a synthetic city shaped like 统计用区划代码, or a real code file.

Code structure (NBS): city ``CCCC00000000``, county ``CCCCCC000000``, town ``CCCCCCTTT000``,
village ``CCCCCCTTTVVV``. County numbers follow the NBS habit (01-20 市辖区, 21-80 县, 81-99
县级市), town numbers 001-099 街道, 100-199 镇, 200-299 乡, village numbers 001-199 社区居委会,
200-399 村委会. The synthetic city's prefix 3290 is not a real city.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from features import area_codes
from features.errors import ContractError
from features.schema import AREA_COLUMNS

SYNTHETIC_CITY = "3290"
_HEAD = list("东西南北中新长清青石金白黄龙凤马柳桃梅松安平和兴宁丰永太双高大小上下前后古望乐仁义广福顺庆泰华")
_TAIL = list("河山桥湖庄集港塘坝口沟岭湾营园埠堡寨林洲泉溪阳田岗店墩圩滩坊亭陵城关闸渡镇")


@dataclass(frozen=True)
class AreaUniverse:
    """The area table to export plus what the sampler needs about registration units (villages)."""

    frame: pd.DataFrame  # contract columns: area_code, name, level, parent_code, population
    unit_codes: np.ndarray  # 12-digit codes of villages/communities (registration units)
    unit_place: list[str]  # short names for narratives (东市社区, 进鲜港村)
    unit_urban: np.ndarray  # bool: 社区/居委会 rather than 村
    unit_weight: np.ndarray  # relative registration volume (population where known)
    unit_town: np.ndarray  # index into town_codes
    town_codes: np.ndarray
    town_place: list[str]


def _unique_names(rng: np.random.Generator, n: int, taken: set[str]) -> list[str]:
    names: list[str] = []
    while len(names) < n:
        name = _HEAD[rng.integers(len(_HEAD))] + _TAIL[rng.integers(len(_TAIL))]
        if name not in taken:
            taken.add(name)
            names.append(name)
    return names


def synthetic_city(rng: np.random.Generator) -> AreaUniverse:
    """One city, 6-10 counties, ~12 towns each, ~15 villages per town, with populations."""
    # Long on purpose: the synthetic city is built level by level (counties, towns, villages, grids)
    # with the code structure of 统计用区划代码; one function keeps the numbering rules together.
    rows: list[tuple[str, str, str, str | None, float]] = []
    taken: set[str] = set()
    city_name = _unique_names(rng, 1, taken)[0] + "市"
    city = SYNTHETIC_CITY + "00000000"
    n_districts, n_counties, n_cities = (
        int(rng.integers(2, 5)),
        int(rng.integers(2, 4)),
        int(rng.integers(1, 3)),
    )
    county_specs = (
        [(f"{2 + i:02d}", "区") for i in range(n_districts)]
        + [(f"{21 + i:02d}", "县") for i in range(n_counties)]
        + [(f"{81 + i:02d}", "市") for i in range(n_cities)]
    )
    county_names = _unique_names(rng, len(county_specs), taken)
    village_rows: list[tuple[str, str, bool, float, int]] = []
    town_rows: list[tuple[str, str]] = []
    county_rows = []
    for (number, suffix), cname in zip(county_specs, county_names, strict=True):
        ccode = SYNTHETIC_CITY + number
        urban_county = suffix == "区"
        n_streets = int(rng.integers(5, 10)) if urban_county else int(rng.integers(1, 4))
        n_towns = int(rng.integers(2, 5)) if urban_county else int(rng.integers(7, 13))
        n_xiang = 0 if urban_county else int(rng.integers(0, 4))
        towns = (
            [(f"{1 + i:03d}", "街道") for i in range(n_streets)]
            + [(f"{100 + i:03d}", "镇") for i in range(n_towns)]
            + [(f"{200 + i:03d}", "乡") for i in range(n_xiang)]
        )
        county_pop = 0.0
        for (tnum, tsuffix), tname in zip(towns, _unique_names(rng, len(towns), taken), strict=True):
            tcode = ccode + tnum
            town_index = len(town_rows)
            town_rows.append((tcode + "000", tname + tsuffix))
            n_comm = int(rng.integers(6, 14)) if tsuffix == "街道" else int(rng.integers(0, 4))
            n_vill = 0 if tsuffix == "街道" else int(rng.integers(8, 22))
            town_pop = 0.0
            names = _unique_names(rng, n_comm + n_vill, set())
            for k, vname in enumerate(names):
                urban = k < n_comm
                vnum = 1 + k if urban else 200 + (k - n_comm)
                pop = float(np.round(rng.lognormal(np.log(6500 if urban else 2300), 0.45)))
                suffix_v = "社区居委会" if urban else "村委会"
                village_rows.append((f"{tcode}{vnum:03d}", vname + suffix_v, urban, pop, town_index))
                rows.append((f"{tcode}{vnum:03d}", vname + suffix_v, "village", tcode + "000", pop))
                town_pop += pop
            rows.append((tcode + "000", tname + tsuffix, "town", ccode + "000000", town_pop))
            county_pop += town_pop
        county_rows.append((ccode + "000000", cname + suffix, "county", city, county_pop))
    rows.extend(county_rows)
    rows.append((city, city_name, "city", None, sum(r[4] for r in county_rows)))
    columns = list(zip(*rows, strict=True))
    frame = pd.DataFrame(
        {
            name: pd.Series(values, dtype=object if name != "population" else float)
            for name, values in zip(AREA_COLUMNS, columns, strict=True)
        }
    )
    frame = frame.sort_values("area_code", kind="stable").reset_index(drop=True)
    return AreaUniverse(
        frame=frame,
        unit_codes=np.array([v[0] for v in village_rows]),
        unit_place=[_place(v[1]) for v in village_rows],
        unit_urban=np.array([v[2] for v in village_rows]),
        unit_weight=np.array([v[3] for v in village_rows]),
        unit_town=np.array([v[4] for v in village_rows]),
        town_codes=np.array([t[0] for t in town_rows]),
        town_place=[t[1] for t in town_rows],
    )


def _place(name: str) -> str:
    """东市社区居委会 -> 东市社区, 进鲜港村委会 -> 进鲜港村: how people write the place."""
    for long, short in (
        ("社区居民委员会", "社区"),
        ("社区居委会", "社区"),
        ("居委会", "社区"),
        ("村民委员会", "村"),
        ("村委会", "村"),
    ):
        if name.endswith(long):
            return name[: -len(long)] + short
    return name


def _read_area_file(path: Path, population_path: Path | None) -> pd.DataFrame:
    """The contract-shaped area frame (features.areas validates the file); a parent outside the
    file (the NBS file's province codes) is blanked, making that row a root of the export."""
    from features.areas import load_area_codes

    frame = load_area_codes(path, population_path)
    known = set(frame["area_code"])
    frame["parent_code"] = [p if p in known else None for p in frame["parent_code"]]
    return frame


def real_areas(rng: np.random.Generator, path: Path, population_path: Path | None = None) -> AreaUniverse:
    """Any code file: villages are the registration units (towns when a file stops there)."""
    frame = _read_area_file(path, population_path).sort_values("area_code", kind="stable")
    frame = frame.reset_index(drop=True)
    levels = frame["level"].to_numpy()
    unit_level = "village" if (levels == "village").any() else "town"
    if not (levels == unit_level).any():
        raise ContractError(
            f"area file needs village or town rows, got levels {sorted(set(levels))}",
            file=str(path),
            column="level",
        )
    units = frame[levels == unit_level]
    towns = frame[levels == "town"] if unit_level == "village" else units
    town_pos = {code: i for i, code in enumerate(towns["area_code"])}
    unit_town = np.array(
        [
            town_pos.get(p if unit_level == "village" else c, -1)
            for c, p in zip(units["area_code"], units["parent_code"], strict=True)
        ]
    )
    if (unit_town < 0).any():
        bad = units["area_code"].to_numpy()[unit_town < 0][0]
        raise ContractError(
            f"{unit_level} {bad} has no town parent in the area file", file=str(path), column="parent_code"
        )
    # volume: known population, else the county's population shared out, else a typical village
    county_pop = frame.set_index("area_code")["population"].to_dict()
    county = [area_codes.county_of(c) for c in units["area_code"]]
    per_county = pd.Series(county).value_counts().to_dict()
    base = []
    for code, pop in zip(county, units["population"], strict=True):
        known = county_pop.get(code, np.nan)
        base.append(pop if pop == pop else known / per_county[code] if known == known else 2500.0)
    names = units["name"].astype(str).tolist()
    urban = np.array([("社区" in n or "居委会" in n or n.endswith("街道")) for n in names])
    return AreaUniverse(
        frame=frame,
        unit_codes=units["area_code"].to_numpy(dtype=object).astype(str),
        unit_place=[_place(n) for n in names],
        unit_urban=urban,
        unit_weight=np.asarray(base, dtype=float) * rng.lognormal(0.0, 0.4, size=len(units)),
        unit_town=unit_town,
        town_codes=towns["area_code"].to_numpy(dtype=object).astype(str),
        town_place=towns["name"].astype(str).tolist(),
    )
