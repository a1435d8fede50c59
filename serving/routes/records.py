"""What the queue gives back: closing outcomes as feedback labels for retraining, and the audit
log. Both are limited to the caller's area, whatever its role."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from features.fields import parse_datetime
from features.personal_data import mask_personal
from serving import queries
from serving.deps import Admin, Analyst, RuntimeDep, SessionDep
from serving.field_types import AuditAction, DateTimeText
from serving.queue import SHANGHAI
from serving.routes.items import MAX_ID
from serving.schemas import AuditPage, EventOut, FeedbackLabel, error_responses

router = APIRouter(prefix="/v1", tags=["records"], responses=error_responses(401, 403, 422))

_CSV_DOC = {
    "description": "the labels; as CSV (UTF-8, header row) with format=csv",
    "content": {
        "text/csv": {
            "schema": {"type": "string"},
            "example": "case_id,outcome,closed_at,escalated,escalated_at,criminal_charge\n"
            "X1,化解,2025-03-03T09:00:00+08:00,false,,\n",
        }
    },
}


@router.get("/feedback", response_model=list[FeedbackLabel], responses={200: _CSV_DOC})
def feedback(
    user: Analyst,
    session: SessionDep,
    since: Annotated[
        DateTimeText | None, Query(description="closed at or after (ISO-8601; no offset = Shanghai time)")
    ] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Any:
    """Closed items as outcome labels in contract terms (case_id, outcome, closed_at, escalated,
    escalated_at, criminal_charge), limited to the caller's area."""
    since_at = None if since is None else parse_datetime(since, "since").replace(tzinfo=SHANGHAI)
    rows = queries.feedback_labels(session, scope=user.area_code, since=since_at)
    for row in rows:
        if row["criminal_charge"] is not None:
            row["criminal_charge"] = mask_personal(row["criminal_charge"])
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
    item_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    key_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    action: AuditAction | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_ID, description="at most page_max (200) are served")] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> AuditPage:
    """Who read or changed which item or key, newest first; a scoped admin sees its area only."""
    limit = min(limit, rt.settings.page_max)
    total, rows = queries.audit_entries(
        session,
        scope=user.area_code,
        item_id=item_id,
        key_id=key_id,
        action=action,
        limit=limit,
        offset=offset,
    )
    return AuditPage(total=total, limit=limit, offset=offset, entries=[EventOut.of(e) for e in rows])
