"""Domain exceptions. ``serving/errors.py`` alone turns them into HTTP responses."""

from __future__ import annotations


class DisputeRiskError(ValueError):
    """Base of every error this project raises on purpose."""


class ContractError(DisputeRiskError):
    """A whole file or dataset cannot be used (unreadable, wrong encoding, missing column)."""

    def __init__(self, message: str, *, file: str | None = None, column: str | None = None) -> None:
        super().__init__(message)
        self.file = file
        self.column = column


class RecordError(DisputeRiskError):
    """One record breaks the data contract; ``field`` and ``value`` name what is wrong."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        super().__init__(f"{field}: {reason}, got {value!r}")
        self.field = field
        self.value = value
        self.reason = reason


class NotFittedError(DisputeRiskError):
    """A transformer or model was used before it was fitted."""
