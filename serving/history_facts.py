"""History facts: what the as-of history learns from intake, kept in the queue database.

A fact is a row of ``history_facts`` (serving.tables.HistoryFact), appended in the transaction
that answers: a scored case ("case": time, area, each party's pseudonymous id, type and key
groups, plus 110 calls, mediations and the non-negated cue counts, never the narrative, names or
free text) or a 民转刑 close ("escalation": the case and when it turned criminal). Replayed in
id order over the model's history as trained, the facts rebuild the history a server scores
against, in any process, after a restart or a model swap (serving.history_follower).

Only facts after the model's history cut-off (``metadata["as_of"]``, the training as-of date)
are applied: a case registered by then is in the export the model was trained on, and so is
an escalation known by then. The same rule holds for replay and for following, so a server that
replays after a restart ends with the history of one that followed all along.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Connection, and_, insert, or_, select, true

from features.schema import DEFAULT_TIMEZONE
from serving.tables import HistoryFact

CASE, ESCALATION = "case", "escalation"
# What replay and following read of a fact: the history's inputs, not the kept extras.
COLUMNS = (
    HistoryFact.id,
    HistoryFact.kind,
    HistoryFact.case_id,
    HistoryFact.registered_at,
    HistoryFact.area_code,
    HistoryFact.parties,
    HistoryFact.escalated_at,
)


def _count(value: Any) -> int | None:
    """A contract count as stored: None for unknown (NaN or missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value)


def case_fact(
    case: Mapping[str, Any], parties: Sequence[Mapping[str, Any]], cues: Mapping[str, int], now: datetime
) -> dict[str, Any]:
    """The fact row of one checked case (``serving.scoring.CheckedCase`` values)."""
    return {
        "kind": CASE,
        "case_id": case["case_id"],
        "registered_at": case["registered_at"],
        "area_code": case["area_code"],
        "parties": [[str(p["party_id"]), str(p["party_type"]), p.get("key_groups") or ""] for p in parties],
        "police_calls_before": _count(case.get("police_calls_before")),
        "mediation_attempts": _count(case.get("mediation_attempts")),
        "cues": {family: int(n) for family, n in cues.items() if n},
        "escalated_at": None,
        "recorded_at": now,
    }


def escalation_fact(case_id: str, escalated_at: datetime, now: datetime) -> dict[str, Any]:
    """The fact row of a 民转刑 close; ``escalated_at`` aware, stored as Shanghai wall time as
    the contract's times are."""
    local = pd.Timestamp(escalated_at).tz_convert(DEFAULT_TIMEZONE).tz_localize(None).to_pydatetime()
    return {
        "kind": ESCALATION,
        "case_id": case_id,
        "registered_at": None,
        "area_code": None,
        "parties": None,
        "police_calls_before": None,
        "mediation_attempts": None,
        "cues": None,
        "escalated_at": local,
        "recorded_at": now,
    }


def append(conn: Connection, facts: Sequence[Mapping[str, Any]]) -> None:
    """Append ``facts`` in the connection's transaction (one executemany)."""
    if facts:
        conn.execute(insert(HistoryFact), list(facts))


# ---- the cut-off ----------------------------------------------------------------------------------


def cut_off(metadata: Mapping[str, Any]) -> datetime | None:
    """The model's history cut-off as naive Shanghai time; None when the model does not say
    (then every fact is applied)."""
    value = metadata.get("as_of")
    if value in (None, ""):
        return None
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(DEFAULT_TIMEZONE).tz_localize(None)
    return stamp.to_pydatetime()


def after_cut_sql(cut: datetime | None) -> ColumnElement[bool]:
    """``after_cut`` as SQL, for replay to read only what it will apply (both time columns are
    indexed; a case fact has no escalated_at and an escalation fact no registered_at)."""
    if cut is None:
        return true()
    return or_(
        and_(HistoryFact.kind == CASE, HistoryFact.registered_at > cut),
        and_(HistoryFact.kind == ESCALATION, HistoryFact.escalated_at > cut),
    )


def after_cut(row: Any, cut: datetime | None) -> bool:
    """Whether a fact is news to a model with this cut-off (the one rule; see the module doc)."""
    if cut is None:
        return True
    at = row.registered_at if row.kind == CASE else row.escalated_at
    return at is not None and at > cut


# ---- facts as history updates ---------------------------------------------------------------------


@dataclass
class FactBatch:
    """Facts in the shape ``LiveHistory.apply`` takes: new cases first, then escalations."""

    cases: list[dict[str, Any]] = field(default_factory=list)
    parties: list[list[dict[str, Any]]] = field(default_factory=list)
    escalations: list[tuple[str, datetime]] = field(default_factory=list)
    n_facts: int = 0  # rows read, applied or not

    def __len__(self) -> int:
        return len(self.cases) + len(self.escalations)


def batch_of(rows: Iterable[Any], cut: datetime | None) -> FactBatch:
    """The facts after ``cut``, a case id once (its first fact: a re-score adds nothing to the
    history, which keeps the case as first registered)."""
    batch, seen = FactBatch(), set()
    for row in rows:
        batch.n_facts += 1
        if not after_cut(row, cut):
            continue
        if row.kind == ESCALATION:
            batch.escalations.append((row.case_id, row.escalated_at))
        elif row.case_id not in seen:
            seen.add(row.case_id)
            batch.cases.append(
                {"case_id": row.case_id, "registered_at": row.registered_at, "area_code": row.area_code}
            )
            batch.parties.append(
                [{"party_id": p[0], "party_type": p[1], "key_groups": p[2]} for p in row.parties or ()]
            )
    return batch


# ---- where a history stands in the facts table ----------------------------------------------------

# An id below the newest one read but not seen yet is a transaction still in flight (PostgreSQL
# hands out ids at INSERT, and transactions commit in any order) or one rolled back. It is asked
# for again at every poll until it shows, or until it is older than any of our transactions can
# last (statements time out at 30 s by default): then it was rolled back.
GAP_SECONDS = 300.0
MAX_GAPS = 1000  # an IN list of at most this many ids; more missing at once means rollbacks
TAIL_IDS = 10_000  # at replay, ids this far below the newest may still be in flight


class FactCursor:
    """Which facts a history has read: every id up to ``high`` except ``gaps`` (id -> when it was
    first missed, ``time.monotonic``). ``lock`` serialises reading and applying for its history."""

    def __init__(self, cut: datetime | None) -> None:
        self.cut = cut
        self.high = 0
        self.gaps: dict[int, float] = {}
        self.lock = threading.Lock()
        self.applied = 0  # facts after the cut-off taken into the history
        self.skipped = 0  # escalations of cases the history does not hold
        self.caught_up_at: float | None = None  # time.monotonic() when it last read everything

    def start(self, top: int, present: Iterable[int], now: float) -> None:
        """Begin after id ``top``; ids of the tail below it not ``present`` (yet) are gaps."""
        self.high = top
        missing = set(range(max(top - TAIL_IDS, 0) + 1, top + 1)).difference(present)
        self.gaps = dict.fromkeys(sorted(missing)[-MAX_GAPS:], now)

    def unread(self) -> ColumnElement[bool]:
        """The facts not read yet."""
        newer = HistoryFact.id > self.high
        return or_(newer, HistoryFact.id.in_(sorted(self.gaps))) if self.gaps else newer

    def advance(self, ids: Sequence[int], now: float) -> None:
        """Mark ``ids`` (ascending) as read; ids skipped over become gaps; old gaps expire."""
        for i in ids:
            if i > self.high:
                self.gaps.update(dict.fromkeys(range(max(self.high + 1, i - MAX_GAPS), i), now))
                self.high = i
            else:
                self.gaps.pop(i, None)
        expired = [i for i, since in self.gaps.items() if now - since > GAP_SECONDS]
        for i in expired:
            del self.gaps[i]
        while len(self.gaps) > MAX_GAPS:
            del self.gaps[min(self.gaps)]


def read_unread(conn: Connection, cursor: FactCursor, limit: int) -> Sequence[Any]:
    """Up to ``limit`` facts the cursor has not read, by id."""
    return conn.execute(select(*COLUMNS).where(cursor.unread()).order_by(HistoryFact.id).limit(limit)).all()
