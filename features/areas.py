"""The area hierarchy (省 > 市 > 县 > 镇 > 村) as an ``AreaTree``, and a reader for area-code files.

The tree is precomputed once: a parent index, children lists and a pre-order walk, so that
``descendants`` is a slice of the walk and ``is_within`` two comparisons, whatever the size.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from features import area_codes
from features.errors import ContractError, RecordError
from features.fields import Invalid, Number
from features.readers import RawTable, read_file
from features.records import check_area
from features.schema import AREA_COLUMNS, AREA_LEVELS, AREA_REQUIRED

__all__ = ["AreaTree", "load_area_codes"]


def load_area_codes(path: str | Path, population_path: str | Path | None = None) -> pd.DataFrame:
    """Read an area-code file, contract-shaped (``area_code,name,level,parent_code[,population]``)
    or NBS-shaped (``code,name,level,parent_code``), CSV or Parquet, as the ``areas`` table.
    Parents are kept as given; one that is not in the file makes a root of the area (``AreaTree``).

    ``population_path`` (columns ``code`` or ``area_code``, and ``population``) fills population,
    replacing the file's own values where it has one. A file with a bad row is a ContractError.
    """
    raw = _read_codes(Path(path))
    file = raw.file
    if raw.malformed:
        line, got, _ = raw.malformed[0]
        raise ContractError(
            f"{file}: line {line}: row has {got} fields, the header has {len(raw.columns)}", file=file
        )
    rows = []
    for line, record in zip(raw.lines, raw.frame.to_dict("records"), strict=True):
        values, errors = check_area(record)
        if errors:
            raise ContractError(f"{file}: line {line}: {errors[0]}", file=file, column=errors[0].field)
        rows.append(values)
    areas = pd.DataFrame(rows, columns=list(AREA_COLUMNS))
    duplicated = areas["area_code"].duplicated()
    if duplicated.any():
        code = areas.loc[duplicated, "area_code"].iloc[0]
        raise ContractError(f"{file}: duplicate area_code {code!r}", file=file, column="area_code")
    if population_path is not None:
        known = areas["area_code"].map(_read_population(Path(population_path)))
        areas["population"] = known.where(known.notna(), areas["population"])
    return typed_areas(areas)


def population_of(areas: pd.DataFrame) -> dict[str, float]:
    """area_code -> resident population, for the areas whose population is known.

    >>> population_of(pd.DataFrame({"area_code": ["320612000000", "320612001000"], "population": [1258739.0, None]}))
    {'320612000000': 1258739.0}
    """
    known = areas.dropna(subset=["population"])
    return dict(zip(known["area_code"].astype(str), known["population"].astype(float), strict=True))


def typed_areas(areas: pd.DataFrame) -> pd.DataFrame:
    """The design's dtypes: codes and names as str (``None`` where missing), population float."""
    out = areas.copy()
    for column in ("area_code", "name", "level", "parent_code"):
        out[column] = out[column].astype(object).where(out[column].notna(), None)
    out["population"] = out["population"].astype("float64")
    return out


def _read_codes(path: Path) -> RawTable:
    raw = read_file(path)
    if "area_code" not in raw.frame.columns and "code" in raw.frame.columns:
        raw.frame = raw.frame.rename(columns={"code": "area_code"})
    for column in sorted(AREA_REQUIRED, key=AREA_COLUMNS.index):
        if column not in raw.frame.columns:
            raise ContractError(
                f"{raw.file}: missing required column {column!r}", file=raw.file, column=column
            )
    return raw


def _read_population(path: Path) -> pd.Series:
    raw = read_file(path)
    code = "area_code" if "area_code" in raw.frame.columns else "code"
    if code not in raw.frame.columns or "population" not in raw.frame.columns:
        column = "population" if code in raw.frame.columns else "code"
        raise ContractError(f"{raw.file}: missing required column {column!r}", file=raw.file, column=column)
    values: dict[str, float] = {}
    rule = Number(required=True)
    for line, key, text in zip(
        raw.lines, raw.frame[code].str.strip(), raw.frame["population"].str.strip(), strict=True
    ):
        try:
            if not area_codes.is_valid(key) or key in values:
                raise Invalid(f"code must be 12 digits and appear once, got {key!r}")
            values[key] = rule.parse(text)
        except Invalid as exc:
            raise ContractError(
                f"{raw.file}: line {line}: {exc.reason}", file=raw.file, column="population"
            ) from None
    return pd.Series(values, dtype="float64")


class AreaTree:
    """Lookups over an area hierarchy. An area whose parent is empty or not in the table is a root
    (the NBS file has no province rows, so its cities are roots). Build with ``from_frame``.

    >>> tree = AreaTree.from_frame(pd.DataFrame({
    ...     "area_code": ["320612000000", "320612001000", "320612001001"],
    ...     "name": ["通州区", "金沙街道", "东市社区"],
    ...     "level": ["county", "town", "village"],
    ...     "parent_code": ["320600000000", "320612000000", "320612001000"],
    ... }))
    >>> tree.ancestors("320612001001"), tree.ancestor_at("320612001001", "town")
    (['320612001000', '320612000000'], '320612001000')
    >>> tree.is_within("320612001001", "320612000000"), tree.descendants("320612000000")
    (True, ['320612001000', '320612001001'])
    """

    def __init__(
        self,
        codes: list[str],
        names: list[str],
        levels: list[str],
        parents: list[str | None],
        populations: np.ndarray,
    ) -> None:
        self._codes, self._names, self._levels, self._population = codes, names, levels, populations
        self._index = {code: i for i, code in enumerate(codes)}
        if len(self._index) != len(codes):
            raise ContractError("areas: duplicate area_code in the hierarchy", column="area_code")
        self._parent = [self._index.get(p, -1) if p else -1 for p in parents]
        self._cycles: list[str] = []
        self._walk()
        self._by_level = {
            level: sorted(c for c, lv in zip(codes, levels, strict=True) if lv == level)
            for level in set(levels)
        }

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> AreaTree:
        """From an ``areas`` table (area_code, name, level, optional parent_code and population)."""
        missing = [c for c in ("area_code", "name", "level") if c not in frame.columns]
        if missing:
            raise ContractError(f"areas: missing required column {missing[0]!r}", column=missing[0])
        parents = (
            frame["parent_code"] if "parent_code" in frame.columns else pd.Series(None, index=frame.index)
        )
        population = (
            frame["population"] if "population" in frame.columns else pd.Series(np.nan, index=frame.index)
        )
        return cls(
            [str(c) for c in frame["area_code"]],
            [str(n) for n in frame["name"]],
            [str(lv) for lv in frame["level"]],
            [p if isinstance(p, str) and p else None for p in parents],
            pd.to_numeric(population, errors="coerce").to_numpy(dtype="float64"),
        )

    def _walk(self) -> None:
        """Pre-order walk from the roots; a cycle (no root above it) is cut at its smallest code."""
        n = len(self._codes)
        self._children: list[list[int]] = [[] for _ in range(n)]
        for i in sorted(range(n), key=self._codes.__getitem__):
            if self._parent[i] >= 0:
                self._children[self._parent[i]].append(i)
        self._order: list[int] = []
        self._tin, self._tout = np.full(n, -1), np.full(n, -1)
        for root in sorted((i for i in range(n) if self._parent[i] < 0), key=self._codes.__getitem__):
            self._visit(root)
        for start in sorted(range(n), key=self._codes.__getitem__):
            if self._tin[start] >= 0:
                continue
            path, seen, i = [], set(), start
            while i not in seen:  # every unvisited chain ends in a cycle (it never reaches a root)
                seen.add(i)
                path.append(i)
                i = self._parent[i]
            cycle = path[path.index(i) :]
            cut = min(cycle, key=self._codes.__getitem__)
            shown = " -> ".join(self._codes[j] for j in [*cycle, cycle[0]])
            self._cycles.append(f"cycle {shown}: {self._codes[cut]} treated as a root")
            self._children[self._parent[cut]].remove(cut)
            self._parent[cut] = -1
            self._visit(cut)

    def _visit(self, root: int) -> None:
        stack = [(root, False)]
        while stack:
            i, done = stack.pop()
            if done:
                self._tout[i] = len(self._order)
                continue
            self._tin[i] = len(self._order)
            self._order.append(i)
            stack.append((i, True))
            stack.extend((child, False) for child in reversed(self._children[i]))

    def _i(self, code: str) -> int:
        try:
            return self._index[code]
        except KeyError:
            raise RecordError("area_code", code, "is not in the area table") from None

    def __contains__(self, code: object) -> bool:
        return code in self._index

    def __len__(self) -> int:
        return len(self._codes)

    def __iter__(self) -> Iterator[str]:
        return iter(self._codes)

    def level(self, code: str) -> str:
        return self._levels[self._i(code)]

    def name(self, code: str) -> str:
        return self._names[self._i(code)]

    def population(self, code: str) -> float | None:
        value = float(self._population[self._i(code)])
        return None if math.isnan(value) else value

    def parent(self, code: str) -> str | None:
        p = self._parent[self._i(code)]
        return None if p < 0 else self._codes[p]

    def ancestors(self, code: str) -> list[str]:
        """Nearest first, ending at the root (excluding ``code`` itself)."""
        out, p = [], self._parent[self._i(code)]
        while p >= 0:
            out.append(self._codes[p])
            p = self._parent[p]
        return out

    def children(self, code: str) -> list[str]:
        return [self._codes[c] for c in self._children[self._i(code)]]

    def descendants(self, code: str) -> list[str]:
        """Every area below ``code`` (not ``code`` itself), in pre-order."""
        i = self._i(code)
        return [self._codes[j] for j in self._order[self._tin[i] + 1 : self._tout[i]]]

    def ancestor_at(self, code: str, level: str) -> str | None:
        """``code`` itself or its ancestor at ``level`` (the town of a village), None if there is none."""
        if self.level(code) == level:
            return code
        return next((a for a in self.ancestors(code) if self._levels[self._index[a]] == level), None)

    def is_within(self, code: str, ancestor: str) -> bool:
        """True when ``code`` is ``ancestor`` or lies below it."""
        i, a = self._i(code), self._i(ancestor)
        return bool(self._tin[a] <= self._tin[i] < self._tout[a])

    def codes(self, level: str | None = None) -> list[str]:
        """All codes, or those at ``level``, sorted."""
        return sorted(self._codes) if level is None else list(self._by_level.get(level, []))

    def problems(self) -> list[str]:
        """Consistency findings: cycles, unknown levels, a level that is not one below the parent's,
        a code that does not match its level's structure or its parent's prefix."""
        out = list(self._cycles)
        for i, code in enumerate(self._codes):
            level = self._levels[i]
            if level not in AREA_LEVELS:
                out.append(f"{code}: unknown level {level!r}")
                continue
            if area_codes.is_valid(code) and area_codes.level_of(code) != level:
                out.append(
                    f"{code}: level {level!r} does not match the code's structure ({area_codes.level_of(code)})"
                )
            p = self._parent[i]
            if p < 0 or self._levels[p] not in AREA_LEVELS:
                continue
            parent, parent_level = self._codes[p], self._levels[p]
            if parent_level != _expected_parent_level(code, level):
                out.append(
                    f"{code}: level {level!r} is not one below its parent {parent}'s level {parent_level!r}"
                )
            prefix = parent[: area_codes.GROUP_END[parent_level]]
            if not code.startswith(prefix):
                out.append(f"{code}: does not start with its parent {parent}'s prefix {prefix}")
        return out


def _expected_parent_level(code: str, level: str) -> str:
    """The level a parent must have: what the code's digits say (a 东莞 town sits under its
    city), or simply the level above when the digits disagree with the declared level."""
    fits = area_codes.is_valid(code) and area_codes.level_of(code) == level
    structural = area_codes.parent_of(code) if fits else None
    if structural is not None:
        return area_codes.level_of(structural)
    return AREA_LEVELS[max(AREA_LEVELS.index(level) - 1, 0)]
