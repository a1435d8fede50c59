"""Same arguments, same bytes; another seed, another dataset."""

from __future__ import annotations

from training.demo.generate import DemoConfig, generate_demo_data

FILES = ("cases.csv", "parties.csv", "areas.csv", "truth.csv", "generator.json")


def _files(folder, names=FILES):
    return {name: (folder / name).read_bytes() for name in names}


def test_same_seed_writes_byte_identical_files(tmp_path):
    generate_demo_data(tmp_path / "a", DemoConfig(n_cases=800, seed=21))
    generate_demo_data(tmp_path / "b", DemoConfig(n_cases=800, seed=21))
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def test_another_seed_writes_another_dataset(tmp_path):
    generate_demo_data(tmp_path / "a", DemoConfig(n_cases=800, seed=21))
    generate_demo_data(tmp_path / "b", DemoConfig(n_cases=800, seed=22))
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert all(a[name] != b[name] for name in FILES)


def test_parquet_output_is_deterministic_too(tmp_path):
    names = ("cases.parquet", "parties.parquet", "areas.parquet")
    generate_demo_data(tmp_path / "a", DemoConfig(n_cases=400, seed=4), fmt="parquet")
    generate_demo_data(tmp_path / "b", DemoConfig(n_cases=400, seed=4), fmt="parquet")
    assert _files(tmp_path / "a", names) == _files(tmp_path / "b", names)
