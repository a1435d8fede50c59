"""The history feeder: scored cases reach the model's history in batches, off the request path."""

from __future__ import annotations

from serving.history_feed import HistoryFeeder
from serving.metrics import Metrics


class BatchModel:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def observe_many(self, cases, parties) -> None:
        self.batches.append([c["case_id"] for c in cases])


class OneByOneModel:
    def __init__(self, fail_on: str | None = None) -> None:
        self.seen: list[str] = []
        self.fail_on = fail_on

    def observe(self, case, parties) -> None:
        if case["case_id"] == self.fail_on:
            raise ValueError("bad case")
        self.seen.append(case["case_id"])


def test_cases_that_accumulated_go_to_observe_many_as_one_batch() -> None:
    feeder, model = HistoryFeeder(Metrics()), BatchModel()
    for i in range(5):
        feeder.submit(model, {"case_id": f"C{i}"}, [])
    feeder.start()
    feeder.wait_idle()
    feeder.stop()
    assert model.batches == [["C0", "C1", "C2", "C3", "C4"]]


def test_each_case_goes_to_its_own_model_and_a_failure_stops_nothing() -> None:
    metrics = Metrics()
    feeder, old, new = HistoryFeeder(metrics), OneByOneModel(fail_on="C1"), OneByOneModel()
    feeder.start()
    for i, model in enumerate([old, old, new]):
        feeder.submit(model, {"case_id": f"C{i}"}, [])
    feeder.wait_idle()
    feeder.submit(new, {"case_id": "C3"}, [])
    feeder.stop()  # applies what is pending first
    assert (old.seen, new.seen) == (["C0"], ["C2", "C3"])


def test_a_full_queue_drops_and_counts_instead_of_blocking_a_request() -> None:
    metrics = Metrics()
    feeder = HistoryFeeder(metrics, max_pending=2)
    for i in range(3):
        feeder.submit(BatchModel(), {"case_id": f"C{i}"}, [])
    assert metrics.registry.get_sample_value("risk_history_dropped_total") == 1.0
