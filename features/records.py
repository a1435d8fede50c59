"""Record and table rules of the data contract: which fields each table has, the rules across
fields (the outcome), and the one normalisation of 来源渠道 and 纠纷类别 (an unseen value is 其他
with a warning, never an error). The intake API checks one record with ``check_case``; the
loader applies the same rules a column at a time with ``validate_frame`` (tests compare both).
Everything downstream (features, model, queue) assumes records that came through here.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Mapping
from datetime import datetime

import numpy as np
import pandas as pd

from features.errors import RecordError
from features.fields import (
    Boolean,
    Code,
    DateTime,
    Field,
    Integer,
    Invalid,
    Number,
    Text,
    as_text,
    factorize,
    parse_column,
)
from features.schema import (
    AREA_LEVELS,
    CASE_AREA_LEVELS,
    CASE_ID_MAX_CHARS,
    CATEGORIES,
    GENDERS,
    NARRATIVE_MAX_CHARS,
    OTHER,
    PARTY_TYPES,
    ROLES,
    SOURCES,
)

CASE_FIELDS: dict[str, Field] = {
    "case_id": Text(max_len=CASE_ID_MAX_CHARS),
    "registered_at": DateTime(),
    "area_code": Code(levels=CASE_AREA_LEVELS),
    "grid_code": Text(required=False),
    "source": Text(),
    "category": Text(),
    "narrative": Text(max_len=NARRATIVE_MAX_CHARS),
    "amount_yuan": Number(),
    "n_parties": Integer(minimum=1),
    "n_people": Integer(minimum=1),
    "police_calls_before": Integer(required=False),
    "mediation_attempts": Integer(required=False),
}
OUTCOME_FIELDS: dict[str, Field] = {
    "escalated": Boolean(),
    "escalated_at": DateTime(required=False),
    "criminal_charge": Text(required=False),
}
PARTY_FIELDS: dict[str, Field] = {
    "case_id": Text(max_len=CASE_ID_MAX_CHARS),
    "party_id": Text(),
    "role": Text(choices=ROLES),
    "party_type": Text(choices=PARTY_TYPES),
    "gender": Text(required=False, choices=GENDERS),
    "age": Integer(required=False, maximum=120),
    "key_groups": Text(required=False, missing=""),
}
AREA_FIELDS: dict[str, Field] = {
    "area_code": Code(),
    "name": Text(),
    "level": Text(choices=AREA_LEVELS),
    "parent_code": Code(required=False),
    "population": Number(),
}


# ---- the one normalisation --------------------------------------------------------------------
VOCABULARIES: dict[str, tuple[str, ...]] = {"category": CATEGORIES, "source": SOURCES}


def normalised(name: str, value: str) -> str:
    """An unseen 来源渠道 or 纠纷类别 is 其他 (the contract: not an error).

    >>> normalised("category", "邻里纠纷"), normalised("category", "快递纠纷")
    ('邻里纠纷', '其他')
    """
    return value if value in VOCABULARIES[name] else OTHER


def unseen_warning(name: str, value: str, rows: int | None = None) -> str:
    """The warning an unseen value gives, in one wording for the loader and the API."""
    count = "" if rows is None else f" ({rows} rows)"
    return f"{name} {value!r} is not in the data contract; treated as {OTHER}{count}"


def normalise_record(values: dict[str, object]) -> None:
    """Normalise ``values`` in place, keeping each raw value as ``<name>_raw``."""
    for name in VOCABULARIES:
        if name in values:
            raw = str(values[name])
            values[f"{name}_raw"], values[name] = raw, normalised(name, raw)


def record_warnings(values: Mapping[str, object]) -> list[str]:
    """The warnings of one normalised record (``table_warnings`` of a one-row table).

    >>> values = {"category": "快递纠纷", "source": "群众来访"}
    >>> normalise_record(values)
    >>> record_warnings(values)
    ["category '快递纠纷' is not in the data contract; treated as 其他"]
    """
    return [
        unseen_warning(name, str(values[f"{name}_raw"]))
        for name in VOCABULARIES
        if f"{name}_raw" in values and values[f"{name}_raw"] != values[name]
    ]


def normalise_columns(columns: dict[str, pd.Series]) -> None:
    """``normalise_record`` on whole columns, in place: each distinct value through ``normalised``."""
    for name in VOCABULARIES:
        raw = columns[name]
        codes, uniques = factorize(raw)
        mapped = np.array([normalised(name, v) if isinstance(v, str) else v for v in uniques], dtype=object)
        columns[f"{name}_raw"], columns[name] = raw, pd.Series(mapped[codes], index=raw.index, dtype=object)


def table_warnings(cases: pd.DataFrame) -> list[str]:
    """One warning per unseen value kept in a cases table, with its number of rows."""
    out = []
    for name in VOCABULARIES:
        if f"{name}_raw" in cases:
            raw = cases[f"{name}_raw"]
            counts = Counter(raw[raw.ne(cases[name]) & raw.notna()])
            out += [unseen_warning(name, value, n) for value, n in sorted(counts.items())]
    return out


def _check(record: Mapping[str, object], fields: Mapping[str, Field]) -> tuple[dict, list[RecordError]]:
    values: dict[str, object] = {}
    errors: list[RecordError] = []
    for name, rule in fields.items():
        raw = record.get(name)
        try:
            values[name] = rule.parse(as_text(raw))
        except Invalid as exc:
            errors.append(RecordError(name, raw, exc.reason))
    return values, errors


def check_case(record: Mapping[str, object]) -> tuple[dict, list[RecordError]]:
    """Check one case (field -> raw value: strings as in a CSV, or Python values such as 12.5,
    30 or a datetime) against the contract. Returns the typed values and every broken rule; the
    values are complete only when the list is empty. The outcome fields are checked (and
    returned) only when the record has an ``escalated`` key."""
    with_outcome = "escalated" in record
    values, errors = _check(record, CASE_FIELDS | OUTCOME_FIELDS if with_outcome else CASE_FIELDS)
    normalise_record(values)
    if with_outcome:
        broken = {error.field for error in errors}
        reason = outcome_problem(values, broken)
        if reason:
            errors.append(RecordError("escalated_at", record.get("escalated_at"), reason))
    return values, errors


def outcome_problem(values: Mapping[str, object], broken: set[str]) -> str | None:
    """The cross-field rule of the outcome: escalated_at is required iff escalated, and not
    before registered_at. Not applied while escalated or escalated_at is itself broken."""
    if "escalated" in broken or "escalated_at" in broken:
        return None
    escalated, at, registered = values["escalated"], values["escalated_at"], values.get("registered_at")
    if escalated and at is None:
        return "required when escalated is true"
    if not escalated and at is not None:
        return "must be empty when escalated is false"
    if escalated and isinstance(registered, datetime) and at < registered:  # type: ignore[operator]
        return "must not be before registered_at"
    return None


def check_party(record: Mapping[str, object]) -> tuple[dict, list[RecordError]]:
    """Check one party row (see ``check_case`` for the conventions)."""
    return _check(record, PARTY_FIELDS)


def check_area(record: Mapping[str, object]) -> tuple[dict, list[RecordError]]:
    """Check one area row (see ``check_case`` for the conventions)."""
    return _check(record, AREA_FIELDS)


# ---- a table, a column at a time ----------------------------------------------------------------
_CHECKS = {"cases": check_case, "parties": check_party, "areas": check_area}


def fields_for(kind: str, columns: Collection[str]) -> dict[str, Field]:
    """The field rules of table ``kind``; the outcome's only when the table has ``escalated``."""
    if kind == "cases":
        return CASE_FIELDS | OUTCOME_FIELDS if "escalated" in columns else dict(CASE_FIELDS)
    return dict(PARTY_FIELDS if kind == "parties" else AREA_FIELDS)


def validate_frame(
    kind: str, frame: pd.DataFrame, *, vectorised: bool = True
) -> tuple[pd.DataFrame, list[tuple[int, RecordError]]]:
    """Apply the per-record rules of table ``kind`` to every row of ``frame`` (raw values).
    Returns the typed rows that pass (index = row position in ``frame``) and (position, error)
    pairs. ``vectorised=False`` runs ``check_*`` on every row: slower, and must agree exactly."""
    frame = frame.reset_index(drop=True)
    fields = fields_for(kind, frame.columns)
    columns: dict[str, pd.Series] = {}
    flagged = np.ones(len(frame), dtype=bool)
    if vectorised:
        flagged = _flag(kind, fields, frame, columns)
    passed: dict[int, dict] = {}
    errors: list[tuple[int, RecordError]] = []
    positions = np.flatnonzero(flagged)
    for position, record in zip(positions, frame.iloc[positions].to_dict("records"), strict=True):
        values, problems = _CHECKS[kind](record)  # the definition decides every flagged row
        if problems:
            errors.extend((int(position), problem) for problem in problems)
        else:
            passed[int(position)] = values
    return _assemble(kind, fields, frame, columns, ~flagged, passed), errors


def _flag(
    kind: str, fields: Mapping[str, Field], frame: pd.DataFrame, columns: dict[str, pd.Series]
) -> np.ndarray:
    """Rows that break a rule, found a column at a time; fills ``columns`` with the typed values."""
    broken: dict[str, np.ndarray] = {}
    empty = pd.Series("", index=frame.index, dtype=object)
    for name, rule in fields.items():
        values, broken[name] = parse_column(rule, frame[name] if name in frame.columns else empty)
        columns[name] = pd.Series(values, index=frame.index, dtype=values.dtype)  # no str inference
    if kind == "cases":
        normalise_columns(columns)
    flagged = np.zeros(len(frame), dtype=bool)
    for mask in broken.values():
        flagged |= mask
    if "escalated" in fields:  # the vectorised twin of validate.outcome_problem
        ok = ~broken["escalated"] & ~broken["escalated_at"]
        escalated, at = columns["escalated"], columns["escalated_at"]
        yes, no, has_at = ok & escalated.eq(True), ok & escalated.eq(False), at.notna()
        before = yes & has_at & at.lt(columns["registered_at"])
        flagged |= ((yes & ~has_at) | (no & has_at) | before).to_numpy(dtype=bool)
    return flagged


def _assemble(
    kind: str,
    fields: Mapping[str, Field],
    frame: pd.DataFrame,
    columns: Mapping[str, pd.Series],
    unflagged: np.ndarray,
    passed: Mapping[int, dict],
) -> pd.DataFrame:
    """The rows that pass, in frame order, with the design's dtypes and column order: contract
    columns (+ source_raw/category_raw after the case columns), outcome columns when present,
    then unknown extra columns as read. An unflagged row takes its values from ``columns`` (the
    column-wise parse), a row that passed the record check from ``passed``; each part is given
    its column's dtype on its own and the two are laid side by side by position."""
    names = list(fields)
    if kind == "cases":
        names[len(CASE_FIELDS) : len(CASE_FIELDS)] = ["source_raw", "category_raw"]
    checked = np.zeros(len(frame), dtype=bool)
    checked[list(passed)] = True
    kept = unflagged | checked
    if not checked.any():  # the index pandas gives a RangeIndex masked (a range when it is one)
        index = frame.index[unflagged] if unflagged.any() else pd.Index([], dtype="int64")
    else:
        index = pd.Index(np.flatnonzero(kept), dtype="int64")
    records = pd.DataFrame.from_dict(passed, orient="index") if passed else None
    direct = slice(None) if unflagged.all() else unflagged  # a slice takes no copy
    out = {}
    for name in names:
        rule = fields.get(name, Text())
        parts = []
        if unflagged.any():
            parts.append((unflagged[kept], _direct_dtype(rule, columns[name].to_numpy()[direct])))
        if records is not None:
            parts.append((checked[kept], _as_dtype(rule, records[name]).to_numpy()))
        if not parts:
            out[name] = _as_dtype(rule, pd.Series(None, index=index, dtype=object))
            continue
        if len(parts) == 1:
            values = parts[0][1]
        else:
            values = np.empty(len(index), dtype=parts[0][1].dtype)
            for where, part in parts:
                values[where] = part
        out[name] = pd.Series(values, index=index, dtype=values.dtype, copy=False)
    for name in [c for c in frame.columns if c not in fields]:
        out[name] = frame[name].reindex(index).astype(object)
    # copy=False: each column stays the array it is (pandas would copy the object columns into
    # one block, a pass over millions of objects; the values and dtypes are the same)
    return pd.DataFrame(out, index=index, copy=False)


def _direct_dtype(rule: Field, values: np.ndarray) -> np.ndarray:
    """``_as_dtype`` of column-wise parsed values, which hold no missing marker but the rule's own
    (``parse_column`` gives a text str or ``Text.missing``, a code str or None, a date-time
    datetime64[ns]): the object columns need no filling, the others only their dtype."""
    if isinstance(rule, Text | Code):
        return values
    return _as_dtype(rule, pd.Series(values, dtype=values.dtype)).to_numpy()


def _as_dtype(rule: Field, column: pd.Series) -> pd.Series:
    if isinstance(rule, DateTime):
        return pd.to_datetime(column).astype("datetime64[ns]")
    if isinstance(rule, Number) or (isinstance(rule, Integer) and not rule.required):
        return column.astype("float64")
    if isinstance(rule, Integer):
        return column.astype("int64")
    if isinstance(rule, Boolean):
        return column.astype(bool)
    missing = rule.missing if isinstance(rule, Text) else None
    assert isinstance(rule, Text | Code)
    return column.astype(object).where(column.notna(), missing)


def nested_tables(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Contract cases with their parties nested in a ``parties`` column (a list of records or its
    JSON) -> the typed, normalised (cases, parties) tables, through the same rules as a file.
    The first broken rule raises its RecordError (a scoring call has no rejects file)."""
    cases_in = frame.drop(columns=["parties"], errors="ignore").reset_index(drop=True)
    cases, errors = validate_frame("cases", cases_in)
    rows: list[dict[str, object]] = []
    for case_id, nested in zip(
        cases_in.get("case_id", []), frame.get("parties", [None] * len(frame)), strict=True
    ):
        items = json.loads(nested) if isinstance(nested, str) else list(nested if nested is not None else [])
        rows.extend({**dict(p), "case_id": case_id} for p in items)
    parties_in = (
        pd.DataFrame(rows, columns=list(PARTY_FIELDS)) if rows else pd.DataFrame(columns=list(PARTY_FIELDS))
    )
    parties, party_errors = validate_frame("parties", parties_in)
    if errors or party_errors:
        raise (errors or party_errors)[0][1]
    return cases.reset_index(drop=True), parties.reset_index(drop=True)
