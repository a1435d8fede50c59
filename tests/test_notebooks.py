"""Notebooks are executed so that they cannot rot: top to bottom on small data, failing on any cell
error (their asserts included) and on a chart that lost its Chinese glyphs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
# NOTEBOOK_CASES per notebook: small enough for the suite (both together ~1 minute on 2 cores), large
# enough for what each one asserts (the exploration's checks of the generator hold from ~20k cases).
SMALL_DATA = {
    "1.0-demo-data-exploration.ipynb": 20_000,
    "2.0-model-evaluation.ipynb": 8_000,
}


def test_every_notebook_has_a_small_data_size() -> None:
    assert {path.name for path in NOTEBOOKS} == set(SMALL_DATA)


def test_committed_notebooks_hold_no_outputs() -> None:
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        assert all(not cell.outputs and cell.execution_count is None for cell in code), path.name


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTEBOOK_CASES", str(SMALL_DATA[path.name]))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the kernel inherits both
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    stderr = "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stderr")
    assert "missing from font" not in stderr, stderr  # matplotlib's "Glyph ... missing from font(s)"
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 5
