"""Rules on an intake case that only the API can apply: the clock (a case cannot be registered in
the future) and the party list sent beside ``n_parties``. The contract's record rules are in
``features.records``; these run after them, on the same request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from features.errors import RecordError
from features.fields import shanghai
from serving.inputs import CaseIn


@dataclass(frozen=True)
class IntakeLimits:
    now: datetime  # aware
    clock_tolerance: timedelta  # how far another machine's clock may run ahead of ours

    @property
    def latest_registration(self) -> datetime:
        """The latest registered_at accepted, as naive Shanghai wall time (the contract's)."""
        return (self.now + self.clock_tolerance).astimezone(shanghai()).replace(tzinfo=None)


def check(case_in: CaseIn, case: dict[str, Any], where: str, limits: IntakeLimits) -> list[RecordError]:
    """The broken rules, fields named as in the request body (``where`` prefixes them)."""
    errors = []
    if case_in.parties and case_in.n_parties != len(case_in.parties):
        errors.append(
            RecordError(
                f"{where}n_parties",
                case_in.n_parties,
                f"must equal the number of parties listed ({len(case_in.parties)})",
            )
        )
    registered = case.get("registered_at")
    if isinstance(registered, datetime) and registered > limits.latest_registration:
        minutes = limits.clock_tolerance.total_seconds() / 60
        errors.append(
            RecordError(
                f"{where}registered_at",
                case_in.registered_at,
                f"must not lie in the future (more than {minutes:g} minutes ahead of the server's clock)",
            )
        )
    return errors
