"""The history feeder: scored cases reach the model's history in batches, off the request path."""

from __future__ import annotations

from serving.history_feed import HistoryFeeder
from serving.metrics import Metrics


class BatchHistory:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def observe_many(self, cases, parties) -> None:
        self.batches.append([c["case_id"] for c in cases])


class FailingHistory:
    def __init__(self, fail_on: str | None = None) -> None:
        self.seen: list[str] = []
        self.fail_on = fail_on

    def observe_many(self, cases, parties) -> None:
        if any(case["case_id"] == self.fail_on for case in cases):
            raise ValueError("bad case")
        self.seen += [case["case_id"] for case in cases]


def test_cases_that_accumulated_go_to_observe_many_as_one_batch() -> None:
    feeder, model = HistoryFeeder(Metrics()), BatchHistory()
    for i in range(5):
        feeder.submit(model, {"case_id": f"C{i}"}, [])
    feeder.start()
    feeder.wait_idle()
    feeder.stop()
    assert model.batches == [["C0", "C1", "C2", "C3", "C4"]]


def test_each_case_goes_to_its_own_history_and_a_failure_stops_nothing() -> None:
    metrics = Metrics()
    feeder, old, new = HistoryFeeder(metrics), FailingHistory(fail_on="C1"), FailingHistory()
    for i, history in enumerate([old, old, new]):
        feeder.submit(history, {"case_id": f"C{i}"}, [])
    feeder.start()
    feeder.wait_idle()
    feeder.submit(new, {"case_id": "C3"}, [])
    feeder.stop()  # applies what is pending first
    assert (old.seen, new.seen) == ([], ["C2", "C3"])  # the old history's failed batch is lost, alone
    assert metrics.registry.get_sample_value("risk_history_observed_total") == 2.0


def test_a_full_queue_drops_and_counts_instead_of_blocking_a_request() -> None:
    metrics = Metrics()
    feeder = HistoryFeeder(metrics, max_pending=2)
    for i in range(3):
        feeder.submit(BatchHistory(), {"case_id": f"C{i}"}, [])
    assert metrics.registry.get_sample_value("risk_history_dropped_total") == 1.0
