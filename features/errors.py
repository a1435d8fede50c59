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

    def __reduce__(self) -> tuple[object, ...]:
        return (_contract_error, (str(self), self.file, self.column))


class RecordError(DisputeRiskError):
    """One record breaks the data contract; ``field`` and ``value`` name what is wrong."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        super().__init__(f"{field}: {reason}, got {value!r}")
        self.field = field
        self.value = value
        self.reason = reason

    def __reduce__(self) -> tuple[type, tuple[str, object, str]]:
        # picklable with its three arguments: a worker process (Dask, a process pool) raises it whole
        return (type(self), (self.field, self.value, self.reason))


class NotFittedError(DisputeRiskError):
    """A transformer or model was used before it was fitted."""


def _contract_error(message: str, file: str | None, column: str | None) -> ContractError:
    return ContractError(message, file=file, column=column)
