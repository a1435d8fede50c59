"""training.model_card: every section is there and carries the numbers it was given."""

from __future__ import annotations

import numpy as np
import pytest

from training.calibrate import choose_thresholds, threshold_report
from training.evaluate import calibration_table, evaluate, paired_auc_difference
from training.metric_tables import slice_metrics
from training.model_card import SECTIONS, ModelCardInfo, Window, render_model_card


def make_info(*, demo_data: bool = True) -> ModelCardInfo:
    rng = np.random.default_rng(0)
    p = rng.beta(1, 40, size=3_000)
    y = (rng.random(len(p)) < p).astype(int)
    checklist = np.clip(p + rng.normal(0, 0.02, len(p)), 0, 1)
    category = np.where(np.arange(len(p)) < 2_950, "婚恋家庭", "医疗纠纷")
    thresholds = choose_thresholds(p, y)
    return ModelCardInfo(
        model_name="dispute-escalation",
        version="7",
        created_at="2025-03-01",
        data_source="demo data (seed 7)",
        demo_data=demo_data,
        horizon_days=90,
        windows=[
            Window("train", "2021-01-01", "2023-06-30", 41_234, 612),
            Window("test", "2024-01-01", "2024-09-30", 3_000, int(y.sum())),
        ],
        n_censored=1_777,
        feature_families={
            "cues": "escalation cues in the narrative (threat, weapon, ...)",
            "history": "earlier cases and escalations of the same parties",
        },
        model_key="lightgbm",
        metrics={"lightgbm": evaluate(y, p, n_boot=100), "checklist": evaluate(y, checklist, n_boot=100)},
        auc_differences={"checklist": paired_auc_difference(y, p, checklist, n_boot=100)},
        slices={"category": slice_metrics(y, p, category, min_n=100).to_dict("records")},
        thresholds=threshold_report(p, y, thresholds).to_dict("records"),
        calibration=calibration_table(y, p).to_dict("records"),
        calibration_method="isotonic",
        reproduce=["risk demo --out data/demo --seed 7", "risk train data/demo --horizon 90"],
    )


def test_card_has_every_section_in_order():
    card = render_model_card(make_info())
    positions = [card.index(f"\n## {name}\n") for name in SECTIONS]
    assert positions == sorted(positions)
    assert card.startswith("# Model card: dispute-escalation 7")


def test_card_carries_the_numbers_it_was_given():
    info = make_info()
    card = render_model_card(info)
    auc = info.metrics["lightgbm"]["roc_auc"]
    assert f"{auc[0]:.3f} ({auc[1]:.3f}–{auc[2]:.3f})" in card
    assert f"{info.metrics['checklist']['pr_auc'][0]:.3f} (" in card
    diff = info.auc_differences["checklist"]
    assert f"{diff[0]:+.3f} (95% CI {diff[1]:+.3f} to {diff[2]:+.3f})" in card
    for window in info.windows:
        assert f"| {window.name} | {window.start} | {window.end} | {window.n} | {window.n_pos} |" in card
    assert "1777 right-censored cases" in card
    assert "within 90 days" in card
    for row in info.thresholds[:-1]:
        assert f"| {row['level']} | {row['threshold']:.4f} | {row['target_share']:.1%} |" in card
        assert f"| {row['precision_at_or_above']:.3f} | {row['recall_at_or_above']:.3f} |" in card
    assert "| 无 | — | — |" in card
    for row in info.calibration:
        assert (
            f"| {row['n']} | {row['n_pos']} | {row['mean_predicted']:.4f} | {row['observed_rate']:.4f} |"
            in card
        )
    for name in info.feature_families:
        assert f"**{name}**" in card
    assert "risk train data/demo --horizon 90" in card


def test_card_flags_small_slices_with_their_n():
    card = render_model_card(make_info())
    small = next(line for line in card.splitlines() if line.startswith("| 医疗纠纷 |"))
    big = next(line for line in card.splitlines() if line.startswith("| 婚恋家庭 |"))
    assert "| 50 |" in small and "small n (< 100)" in small
    assert "| 2950 |" in big and "small n" not in big


def test_card_states_use_and_demo_warning():
    demo = render_model_card(make_info(demo_data=True))
    real = render_model_card(make_info(demo_data=False))
    assert "never** an\nautomatic decision about a person" in demo
    assert "synthetic demo data" in demo and "synthetic" not in real


@pytest.mark.parametrize(
    "verdict_diff, verdict",
    [
        ((0.05, 0.02, 0.08), "the model ranks better"),
        ((0.01, -0.02, 0.04), "not distinguishable"),
        ((-0.05, -0.08, -0.02), "the baseline ranks better"),
    ],
)
def test_card_states_whether_the_model_beats_the_baseline(verdict_diff, verdict):
    info = make_info()
    card = render_model_card(
        ModelCardInfo(**{**info.__dict__, "auc_differences": {"checklist": verdict_diff}})
    )
    line = next(line for line in card.splitlines() if "minus checklist" in line)
    assert verdict in line
