"""Logging for the command-line entry points (packages never configure logging themselves)."""

from __future__ import annotations

import logging
import os


def setup_logging(level: str | None = None) -> None:
    logging.basicConfig(
        level=(level or os.environ.get("RISK_LOG_LEVEL", "WARNING")).upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Offline deployments: no telemetry, and no jieba chatter on every start.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    logging.getLogger("jieba").setLevel(logging.WARNING)
