"""Who is champion: MLflow registry aliases ``champion`` and ``previous`` (stages are deprecated),
and the history of who held ``champion`` when, kept as a tag on each version (the registry
itself keeps no history of an alias). A running API follows the ``champion`` alias (hot reload),
so moving it is the deployment."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from training.registry import CHAMPION

PREVIOUS = "previous"
PERIODS_TAG = "champion_periods"  # JSON list of {"from": ISO time, "to": ISO time or null, "by": how}


def _client() -> Any:
    from mlflow import MlflowClient

    return MlflowClient()


def alias_version(name: str, alias: str) -> str | None:
    """The version holding ``alias``, None when no version does."""
    from mlflow.exceptions import MlflowException

    try:
        return str(_client().get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def champion_periods(name: str, version: str) -> list[dict[str, Any]]:
    """When ``version`` held champion, oldest first."""
    tags = _client().get_model_version(name, version).tags
    return list(json.loads(tags.get(PERIODS_TAG, "[]")))


def _mark(name: str, version: str, *, start: bool, at: datetime, how: str) -> None:
    periods = champion_periods(name, version)
    if start:
        periods.append({"from": at.isoformat(), "to": None, "by": how})
    elif periods and periods[-1]["to"] is None:
        periods[-1]["to"] = at.isoformat()
    _client().set_model_version_tag(name, version, PERIODS_TAG, json.dumps(periods))


def promote(name: str, version: str, *, how: str = "retrain", at: datetime | None = None) -> str | None:
    """Make ``version`` the champion; the old champion becomes ``previous``. Returns the old one."""
    at = at or datetime.now(UTC)
    client = _client()
    old = alias_version(name, CHAMPION)
    if old == version:
        return old
    # previous first: should the champion move fail, nothing points the API at a new model yet
    if old is not None:
        client.set_registered_model_alias(name, PREVIOUS, old)
        _mark(name, old, start=False, at=at, how=how)
    client.set_registered_model_alias(name, CHAMPION, version)
    _mark(name, version, start=True, at=at, how=how)
    return old


def rollback(name: str, *, at: datetime | None = None) -> tuple[str, str]:
    """Move ``champion`` back to ``previous`` (and ``previous`` to the version rolled back from,
    so a second rollback undoes the first). Returns (from version, to version)."""
    current, before = alias_version(name, CHAMPION), alias_version(name, PREVIOUS)
    if current is None or before is None:
        from features.errors import DisputeRiskError

        raise DisputeRiskError(
            f"rollback needs both a champion and a previous version of {name}, got champion={current} previous={before}"
        )
    promote(name, before, how="rollback", at=at)
    return current, before
