"""Prometheus metrics, one registry per app (so several apps in one test process do not
collide on the global registry)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# Scoring answers in milliseconds; the buckets resolve the 50 ms target finely.
_LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.02,
    0.03,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "risk_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["method", "route", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.scores = Counter(
            "risk_scores_total", "Cases scored, by final warning level", ["level"], registry=self.registry
        )
        self.flags = Counter(
            "risk_hard_flags_total", "Hard red flags fired, by rule", ["flag"], registry=self.registry
        )
        self.items_opened = Counter(
            "risk_items_opened_total", "Supervision items opened, by level", ["level"], registry=self.registry
        )
        self.reloads = Counter(
            "risk_model_reloads_total", "Model (re)loads, by result", ["result"], registry=self.registry
        )
        self.history_facts_written = Counter(
            "risk_history_facts_written_total",
            "Scored cases' history facts committed by the group-commit writer (those written with an "
            "item are in the item's transaction and not counted here)",
            registry=self.registry,
        )
        self.history_facts_applied = Counter(
            "risk_history_facts_applied_total",
            "History facts applied to the current model's history by the follower",
            registry=self.registry,
        )
        self.history_follow_errors = Counter(
            "risk_history_follow_errors_total",
            "Polls of the history facts that failed (the next poll tries again)",
            registry=self.registry,
        )
        self.history_lag = Gauge(
            "risk_history_lag_seconds",
            "Seconds since the follower last read every committed history fact (-1: not following)",
            registry=self.registry,
        )
        self.model_info = Gauge(
            "risk_model_info", "The model being served (value 1)", ["name", "version"], registry=self.registry
        )

    def set_model(self, name: str, version: str | None) -> None:
        self.model_info.clear()
        self.model_info.labels(name, version or "unknown").set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
