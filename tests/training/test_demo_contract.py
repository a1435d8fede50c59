"""The demo export loads through the contract loader with zero rejects (synthetic and real areas)."""

from __future__ import annotations

import pandas as pd
import pytest

from features.contract import load_dataset
from training.demo.generate import DemoConfig, generate_demo_data


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_demo_export_loads_with_zero_rejects(tmp_path, fmt):
    generate_demo_data(tmp_path, DemoConfig(n_cases=1500, seed=9), fmt=fmt)
    dataset = load_dataset(tmp_path, write_rejects=False)
    assert dataset.rejects.empty, dataset.rejects.head().to_dict("records")
    assert len(dataset.cases) == 1500
    assert dataset.cases["escalated"].any()
    assert dataset.parties["case_id"].isin(dataset.cases["case_id"]).all()


@pytest.mark.shared_data
def test_real_area_file_drives_the_export(tmp_path, shared_data):
    areas_file = shared_data / "area_codes.csv"
    generate_demo_data(tmp_path, DemoConfig(n_cases=1500, seed=1, areas_path=areas_file))
    dataset = load_dataset(tmp_path, write_rejects=False)
    assert dataset.rejects.empty, dataset.rejects.head().to_dict("records")
    real = pd.read_csv(areas_file, dtype=str)
    assert len(dataset.areas) == len(real)
    assert dataset.cases["area_code"].isin(real.loc[real["level"].isin(["village", "town"]), "code"]).all()
    assert dataset.cases["area_code"].str[:4].nunique() == 5  # all five cities get cases
