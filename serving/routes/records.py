"""What the queue gives back: closing outcomes as feedback labels for retraining, and the
audit log."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from features.errors import RecordError
from features.fields import parse_datetime
from serving import audit, queries
from serving.deps import Admin, Analyst, RuntimeDep, SessionDep
from serving.errors import InvalidInput
from serving.queue import SHANGHAI
from serving.schemas import AuditPage, EventOut, FeedbackLabel

router = APIRouter(prefix="/v1", tags=["records"])


@router.get("/feedback", response_model=list[FeedbackLabel])
def feedback(
    user: Analyst,
    session: SessionDep,
    since: Annotated[
        str | None, Query(description="closed at or after (ISO-8601; no offset = Shanghai time)")
    ] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Any:
    """Closed items as outcome labels in contract terms (case_id, outcome, closed_at, escalated,
    escalated_at, criminal_charge), limited to the caller's area."""
    since_at = None
    if since is not None:
        try:
            since_at = parse_datetime(since, "since").replace(tzinfo=SHANGHAI)
        except RecordError as exc:
            raise InvalidInput([exc]) from None
    rows = queries.feedback_labels(session, scope=user.area_code, since=since_at)
    if format == "json":
        return rows
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=queries.FEEDBACK_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(
        {k: ("" if v is None else str(v).lower() if isinstance(v, bool) else v) for k, v in r.items()}
        for r in rows
    )
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="feedback_labels.csv"'},
    )


@router.get("/audit", response_model=AuditPage)
def audit_log(
    user: Admin,
    session: SessionDep,
    rt: RuntimeDep,
    item_id: int | None = None,
    key_id: int | None = None,
    action: str | None = None,
    limit: Annotated[int, Query(ge=1)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AuditPage:
    """Who read or changed which item, newest first."""
    if limit > rt.settings.page_max:
        raise InvalidInput([RecordError("limit", limit, f"must be at most {rt.settings.page_max}")])
    total, rows = audit.search(
        session, item_id=item_id, key_id=key_id, action=action, limit=limit, offset=offset
    )
    return AuditPage(total=total, limit=limit, offset=offset, entries=[EventOut.of(e) for e in rows])
